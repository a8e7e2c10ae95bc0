#include "common/key_flags.h"

#include "common/app_common.h"
#include "common/output.h"

#include "mamsign/base/times.h"

#include <set>

namespace mamsign::app {
namespace {

using json = nlohmann::ordered_json;

Pkcs11Options pkcs11_options(const KeyFlags& f) {
  Pkcs11Options o;
  if (!f.pkcs11_module.empty()) o.module = f.pkcs11_module;
  o.pin = secret_source(f.pin_file, f.pin_env);
  return o;
}

std::string id_hex(const std::string& id) {
  return to_hex(reinterpret_cast<const std::uint8_t*>(id.data()), id.size());
}

// "EUI-64 90-B3-D5-1F-30-01-00-00, role 02 (supplier), digitalSignature, valid to 2045-..."
std::string certificate_words(const OrgCert& cert) {
  std::string s = cert.eui64() ? "EUI-64 " + cert.eui64()->to_string() : "no SMKI EUI-64";
  s += cert.role() ? ", role " + role_code(*cert.role()) + " (" + std::string(role_name(*cert.role())) + ")"
                   : ", no role";
  s += ", " + cert.key_usage_text() + ", valid " + format_iso8601(cert.not_before()) + " to " +
       format_iso8601(cert.not_after());
  s += ", subject " + cert.subject();
  return s;
}

json certificate_json(const TokenObject& o) {
  json j;
  j["label"] = o.label;
  j["id"] = id_hex(o.id);
  j["uri"] = o.uri;
  auto cert = OrgCert::from_der(o.certificate);
  j["certificate"] = cert ? signer_json(*cert) : json(nullptr);
  return j;
}

}  // namespace

void add_key_flags(CLI::App& app, KeyFlags& f, bool with_list_keys, const std::string& key_role) {
  app.add_option("--key", f.key,
                 key_role +
                     ": a key file (PEM or DER, PKCS#8 encrypted or not, or traditional EC), a "
                     "PKCS#12 bundle (.p12/.pfx), or a PKCS#11 URI such as 'pkcs11:token=SMKI;object=supplier-ds'")
      ->option_text("KEY");
  app.add_option("--pass-file", f.pass_file,
                 "read the passphrase of a key file or PKCS#12 bundle from the first line of FILE")
      ->option_text("FILE");
  app.add_option("--pass-env", f.pass_env,
                 "read the passphrase of a key file or PKCS#12 bundle from environment variable VAR")
      ->option_text("VAR");
  app.add_option("--pin-file", f.pin_file, "read the token's user PIN from the first line of FILE (a pkcs11: key)")
      ->option_text("FILE");
  app.add_option("--pin-env", f.pin_env, "read the token's user PIN from environment variable VAR (a pkcs11: key)")
      ->option_text("VAR");
  app.add_option("--pkcs11-module", f.pkcs11_module,
                 "the PKCS#11 module (.so) of the token (default: $MAMSIGN_PKCS11_MODULE, else the p11-kit proxy)")
      ->option_text("PATH");
  if (with_list_keys) {
    f.list_keys_option =
        app.add_option(
               "--list-keys", f.list_keys,
               "list the tokens of the module, their private keys and certificates, each with the URI to give --key; "
               "a URI narrows the list (logs in with --pin-file/--pin-env or at the prompt, to show private keys)")
            ->expected(0, 1)
            ->option_text("[URI]");
  }
}

bool check_key_flags(const std::string& program, const KeyFlags& f) {
  if (!f.pass_file.empty() && !f.pass_env.empty()) {
    complain(program, "give the passphrase one way: --pass-file or --pass-env, not both");
    return false;
  }
  if (!f.pin_file.empty() && !f.pin_env.empty()) {
    complain(program, "give the PIN one way: --pin-file or --pin-env, not both");
    return false;
  }
  const bool token = is_pkcs11_uri(f.key);
  if (!f.key.empty() && !token && (!f.pin_file.empty() || !f.pin_env.empty())) {
    complain(program, std::string(f.pin_file.empty() ? "--pin-env" : "--pin-file") +
                          " is a token's PIN, but --key names a file; a key file's or bundle's passphrase is given "
                          "with --pass-file or --pass-env");
    return false;
  }
  if (token && (!f.pass_file.empty() || !f.pass_env.empty())) {
    complain(program, std::string(f.pass_file.empty() ? "--pass-env" : "--pass-file") +
                          " is a key file's passphrase, but --key names a token; its PIN is given with --pin-file or "
                          "--pin-env");
    return false;
  }
  // A URI that cannot be used (pin-value in it, an unknown attribute) is a command-line mistake.
  for (const auto& [flag, value] :
       {std::pair<const char*, const std::string*>{"--key", &f.key}, {"--list-keys", &f.list_keys}}) {
    if (!is_pkcs11_uri(*value)) continue;
    auto uri = parse_pkcs11_uri(*value);
    if (!uri) {
      complain(program, std::string(flag) + ": " + uri.error().message);
      return false;
    }
    if (uri->has_pin_value) {
      complain(program,
               std::string(flag) +
                   ": the PKCS#11 URI carries pin-value: a PIN on the command line is visible "
                   "to every user of this machine (ps, shell history); remove it and give the PIN with --pin-file "
                   "FILE, --pin-env VAR or at the terminal prompt");
      return false;
    }
  }
  if (f.list_keys_given() && !f.list_keys.empty() && !is_pkcs11_uri(f.list_keys)) {
    complain(program, "--list-keys takes a pkcs11: URI (or nothing, for every token), not \"" + f.list_keys + "\"");
    return false;
  }
  return true;
}

std::optional<SigningKey> open_key(const std::string& program, const KeyFlags& f, const X509* certificate) {
  KeySourceOptions options;
  options.passphrase = secret_source(f.pass_file, f.pass_env);
  options.pkcs11 = pkcs11_options(f);
  auto key = open_signing_key(f.key, options, certificate);
  if (!key) {
    const bool named = key.error().reason == Reason::KeyMismatch || key.error().reason == Reason::UnsupportedAlgorithm;
    complain(program,
             "key: " + (named ? std::string(reason_name(key.error().reason)) + ": " : std::string()) +
                 key.error().message + (key.error().reason == Reason::KeyMismatch ? "; nothing was signed" : ""),
             key.error().reason);
    return std::nullopt;
  }
  if (!key->passphrase_used && (!f.pass_file.empty() || !f.pass_env.empty())) {
    complain(program, std::string("warning: ") + (f.pass_file.empty() ? "--pass-env" : "--pass-file") +
                          " was given, but " + f.key +
                          " is not encrypted: the passphrase was not used (store the key encrypted)");
  }
  return std::move(*key);
}

std::optional<OrgCertPtr> load_certificate(const std::string& program, const std::string& what,
                                           const std::string& where, const KeyFlags& f) {
  if (is_pkcs11_uri(where)) {
    auto uri = parse_pkcs11_uri(where);
    if (!uri) {
      complain(program, what + ": " + uri.error().message);
      return std::nullopt;
    }
    auto der = read_token_certificate(*uri, pkcs11_options(f));
    if (!der) {
      complain(program, what + ": " + der.error().message, der.error().reason);
      return std::nullopt;
    }
    auto cert = OrgCert::from_der(*der);
    if (!cert) {
      complain(program, what + ": the token's object " + uri->describe() + " is not an X.509 certificate");
      return std::nullopt;
    }
    return cert;
  }
  auto cert = OrgCert::load(where);
  if (!cert) {
    complain(program, what + ": " + cert.error().message, cert.error().reason);
    return std::nullopt;
  }
  return *cert;
}

int list_keys(const std::string& program, const KeyFlags& f, bool as_json) {
  Pkcs11Uri filter;
  if (!f.list_keys.empty()) {
    auto uri = parse_pkcs11_uri(f.list_keys);
    if (!uri) {
      complain(program, "--list-keys: " + uri.error().message);
      return kExitUsage;
    }
    filter = std::move(*uri);
  }
  Pkcs11Options options = pkcs11_options(f);
  const bool login = options.pin.kind != PassphraseSource::Kind::None || filter.pin_source.has_value();
  auto listing = list_token_objects(filter, options, login);
  if (!listing) {
    complain(program, "--list-keys: " + listing.error().message);
    return kExitUnreadable;
  }
  json out = json_object("key-list");
  out["module"] = listing->module;
  out["library"] = listing->library;
  out["tokens"] = json::array();
  if (!as_json) print("module " + listing->module + " (" + listing->library + ")");
  if (listing->tokens.empty() && !as_json)
    print("  no token matches" + std::string(f.list_keys.empty() ? "" : " " + f.list_keys));
  for (const auto& token : listing->tokens) {
    json t;
    t["slot"] = token.slot_id;
    t["label"] = token.label;
    t["manufacturer"] = token.manufacturer;
    t["model"] = token.model;
    t["serial"] = token.serial;
    t["uri"] = token.uri;
    t["login_required"] = token.login_required;
    t["logged_in"] = token.logged_in;
    t["pin_state"] = token.pin_state.empty() ? json(nullptr) : json(token.pin_state);
    t["keys"] = json::array();
    t["certificates"] = json::array();
    if (!as_json) {
      print("token \"" + token.label + "\" (" + token.manufacturer + " " + token.model + ", serial " + token.serial +
            ", slot " + std::to_string(token.slot_id) + "): " + token.uri);
      if (!token.pin_state.empty()) print("  user PIN: " + token.pin_state);
      if (token.login_required && !token.logged_in) {
        print("  (not logged in: private keys show after a login; give --pin-file FILE or --pin-env VAR)");
      }
    }
    std::set<std::string> ids_with_key;
    for (const auto& o : token.objects) {
      if (o.kind == TokenObject::Kind::PrivateKey) ids_with_key.insert(o.id);
    }
    std::set<std::string> shown_certificates;
    for (const auto& key : token.objects) {
      if (key.kind != TokenObject::Kind::PrivateKey) continue;
      json k;
      k["label"] = key.label;
      k["id"] = id_hex(key.id);
      k["key_type"] = key.key_type;
      k["uri"] = key.uri;
      k["certificate"] = nullptr;
      if (!as_json) {
        print("  private key \"" + key.label + "\", id " + id_hex(key.id) + ", " + key.key_type +
              (key.key_type == "EC P-256" ? "" : " (not usable: the profile requires EC P-256)"));
      }
      for (const auto& cert : token.objects) {
        if (cert.kind != TokenObject::Kind::Certificate || key.id.empty() || cert.id != key.id) continue;
        shown_certificates.insert(cert.uri);
        k["certificate"] = certificate_json(cert);
        if (!as_json) {
          auto parsed = OrgCert::from_der(cert.certificate);
          print("    certificate \"" + cert.label +
                "\": " + (parsed ? certificate_words(*parsed) : std::string("not an X.509 certificate")));
        }
        break;
      }
      if (!as_json) print("    --key '" + key.uri + "'");
      t["keys"].push_back(std::move(k));
    }
    for (const auto& cert : token.objects) {
      if (cert.kind != TokenObject::Kind::Certificate || shown_certificates.count(cert.uri) != 0) continue;
      t["certificates"].push_back(certificate_json(cert));
      if (!as_json) {
        auto parsed = OrgCert::from_der(cert.certificate);
        print("  certificate \"" + cert.label + "\", id " + id_hex(cert.id) + ": " +
              (parsed ? certificate_words(*parsed) : std::string("not an X.509 certificate")) +
              (ids_with_key.count(cert.id) ? "" : " (no private key with its id is visible)"));
        print("    --cert '" + cert.uri + "'");
      }
    }
    out["tokens"].push_back(std::move(t));
  }
  if (as_json) print_json(out);
  return with_output_checked(program, kExitOk);
}

std::string key_help() {
  return "Keys: --key takes a key file, a PKCS#12 bundle (its certificate and chain are used when --cert and --chain\n"
         "are left out) or a PKCS#11 URI (RFC 7512) naming a key on a token or HSM; --list-keys shows every key with\n"
         "its URI, and the certificate with the key's id on the token is used when --cert is left out. Secrets never\n"
         "go on the command line: a passphrase comes from --pass-file or --pass-env, a PIN from --pin-file or\n"
         "--pin-env, else the terminal prompt; a URI with pin-value is refused. A wrong PIN is tried once, never\n"
         "again (tokens lock after a few). docs/hsm.md walks through SoftHSM2 and names the real modules.\n";
}

}  // namespace mamsign::app
