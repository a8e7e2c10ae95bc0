// mam-csr: the Organisation key and certificate lifecycle: make a CSR in the structure of SEC Appendix M,
// Appendix F; check any CSR against it; accept or reject the certificate that comes back (SEC L11.5-L11.7);
// show a CSR or a certificate in SMKI terms.
#include "common/app_common.h"
#include "common/key_flags.h"
#include "common/output.h"

#include "mamsign/base/atomic_file.h"
#include "mamsign/pki/cert_builder.h"
#include "mamsign/pki/csr.h"
#include "mamsign/base/times.h"

#include <unistd.h>

#include <iostream>

namespace {

using namespace mamsign;
using json = nlohmann::ordered_json;

const char* const kProgram = "mam-csr";
constexpr std::size_t kMinNewPassphrase = 8;

struct Flags {
  // new
  std::string role, eui, usage, cn, new_key, out;
  bool no_encrypt = false, der = false, force = false;
  app::KeyFlags keys;
  // check, show
  std::vector<std::string> files;
  // accept
  std::string csr, cert, profile;
  std::optional<std::string> at;
  std::vector<std::string> trust, crl;
  app::RevocationFlags revocation;
  bool json_output = false;
};

std::string role_words(std::uint8_t role) { return role_code(role) + " (" + std::string(role_name(role)) + ")"; }

json subject_json(const CertificateRequest& csr) {
  json j;
  j["cn"] = csr.common_name() ? json(*csr.common_name()) : json(nullptr);
  j["role"] = csr.role() ? json(role_code(*csr.role())) : json(nullptr);
  j["role_name"] = csr.role() ? json(std::string(role_name(*csr.role()))) : json(nullptr);
  j["eui64"] = csr.eui64() ? json(csr.eui64()->to_string()) : json(nullptr);
  return j;
}

// "role 02 (supplier), EUI-64 70-B3-D5-1F-30-00-A0-08, digitalSignature, EC P-256, CN "Example Supplier A""
std::string request_words(const CertificateRequest& csr) {
  std::string s = csr.role() ? "role " + role_words(*csr.role()) : std::string("no valid role");
  s += csr.eui64() ? ", EUI-64 " + csr.eui64()->to_string() : std::string(", no valid EUI-64");
  s += csr.usage() ? ", " + std::string(usage_name(*csr.usage())) : std::string(", no single usage");
  s += ", " + csr.key_text();
  if (csr.common_name()) s += ", CN \"" + *csr.common_name() + "\"";
  return s;
}

// ---------------------------------------------------------------------------------------------------

int run_new(const Flags& f) {
  const auto role = parse_role(f.role);
  if (!role) {
    app::complain_usage(kProgram, "--role takes a Remote Party Role code (02) or name (supplier, network-operator, ...), not \"" +
                                      f.role + "\"", "mam-csr new");
    return app::kExitUsage;
  }
  auto eui = Eui64::parse(f.eui);
  if (!eui) {
    app::complain_usage(kProgram, "--eui: " + eui.error().message, "mam-csr new");
    return app::kExitUsage;
  }
  const auto usage = parse_usage(f.usage);
  if (!usage) {
    app::complain_usage(kProgram, "--usage takes ds (digitalSignature) or ka (keyAgreement), not \"" + f.usage + "\"", "mam-csr new");
    return app::kExitUsage;
  }
  if (f.keys.key.empty() == f.new_key.empty()) {
    app::complain_usage(kProgram, "give the key to certify with --key, or --new-key FILE to generate one (one of them)", "mam-csr new");
    return app::kExitUsage;
  }
  if (!f.cn.empty() && f.cn.size() > 64) {
    app::complain_usage(kProgram, "--cn is at most 64 characters (X.520's upper bound for commonName)", "mam-csr new");
    return app::kExitUsage;
  }
  if (f.no_encrypt && f.new_key.empty()) {
    app::complain_usage(kProgram, "--no-encrypt is for --new-key", "mam-csr new");
    return app::kExitUsage;
  }
  if (!f.new_key.empty() && (!f.keys.pin_file.empty() || !f.keys.pin_env.empty())) {
    app::complain_usage(kProgram, "--new-key writes a key file; --pin-file and --pin-env are for a pkcs11: --key", "mam-csr new");
    return app::kExitUsage;
  }
  if (!f.new_key.empty() && f.no_encrypt && (!f.keys.pass_file.empty() || !f.keys.pass_env.empty())) {
    app::complain_usage(kProgram, "--no-encrypt and a passphrase contradict each other", "mam-csr new");
    return app::kExitUsage;
  }
  if (!app::check_key_flags(kProgram, f.keys)) return app::kExitUsage;
  std::error_code ec;
  if (f.out != "-" && !f.force && std::filesystem::exists(std::filesystem::symlink_status(f.out, ec))) {
    app::complain(kProgram, f.out + " already exists; choose another --out or give --force to replace it");
    return app::kExitUsage;
  }

  EvpPkeyPtr key;
  if (!f.new_key.empty()) {
    // Refused before anything is generated: a key file is never replaced.
    if (std::filesystem::exists(std::filesystem::symlink_status(f.new_key, ec))) {
      app::complain(kProgram, f.new_key + " already exists; a key is never written over (choose another --new-key)");
      return app::kExitUsage;
    }
    SecretString passphrase;
    if (!f.no_encrypt) {
      auto secret = read_secret(secret_source(f.keys.pass_file, f.keys.pass_env),
                                {"the new key " + f.new_key + " is written encrypted", "New passphrase for " + f.new_key + ": ",
                                 "--pass-file FILE or --pass-env VAR, or refuse the protection with --no-encrypt",
                                 "passphrase", true});
      if (!secret) {
        app::complain(kProgram, secret.error().message);
        return secret.error().reason == Reason::IoError ? app::kExitUnreadable : app::kExitUsage;
      }
      if (secret->value().size() < kMinNewPassphrase) {
        app::complain(kProgram, "the passphrase for " + f.new_key + " is shorter than 8 characters; choose a longer one");
        return app::kExitUsage;
      }
      passphrase = std::move(*secret);
    }
    auto generated = generate_key(KeyType::P256);
    if (!generated) {
      app::complain(kProgram, generated.error().message);
      return app::kExitFailed;
    }
    auto pem = private_key_pem(generated->get(), f.no_encrypt ? nullptr : &passphrase.value());
    if (!pem) {
      app::complain(kProgram, pem.error().message);
      return app::kExitFailed;
    }
    SecretString pem_text(std::move(*pem));
    if (auto st = write_file_atomically(f.new_key, pem_text.value(), {Replace::No, true, 0600, {}}); !st) {
      app::complain(kProgram, "cannot write the new key: " + st.error().message);
      return app::kExitUnreadable;
    }
    key = std::move(*generated);
    app::complain(kProgram, "wrote the new P-256 key " + f.new_key + " (mode 0600, " +
                                (f.no_encrypt ? std::string("NOT encrypted, as --no-encrypt asked") : std::string("encrypted: PKCS#8, AES-256")) + ")");
  } else {
    auto opened = app::open_key(kProgram, f.keys, nullptr);
    if (!opened) return app::kExitUnreadable;
    key = std::move(opened->key);
  }

  CsrSpec spec;
  if (!f.cn.empty()) spec.common_name = f.cn;
  spec.ou = role_code(*role);
  spec.eui64 = *eui;
  spec.key_usage = *usage == Usage::DigitalSignature ? KU_DIGITAL_SIGNATURE : KU_KEY_AGREEMENT;
  auto der = build_csr(spec, key.get());
  if (!der) {
    app::complain(kProgram, "cannot make the CSR: " + der.error().message);
    return der.error().reason == Reason::IoError ? app::kExitUnreadable : app::kExitFailed;
  }
  // What is written is checked as any CSR is: it must conform, or nothing is written.
  auto made = CertificateRequest::read(*der);
  if (!made) {
    app::complain(kProgram, "internal error: the CSR made does not read back: " + made.error().message);
    return app::kExitFailed;
  }
  if (const auto findings = made->check(); !findings.empty()) {
    for (const auto& finding : findings) {
      app::complain(kProgram, "the CSR would break " + finding.rule + ": expected " + finding.expected + ", found " + finding.found);
    }
    app::complain(kProgram, "nothing was written");
    return app::kExitFailed;
  }
  const std::string bytes = f.der ? *der : csr_pem(*der);
  if (f.out == "-") {
    if (f.der && ::isatty(STDOUT_FILENO)) {
      app::complain(kProgram, "--der to a terminal: give --out FILE, or redirect standard output");
      return app::kExitUsage;
    }
    std::cout.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    std::cout.flush();
    if (!std::cout) return app::with_output_checked(kProgram, app::kExitUnreadable);
  } else if (auto st = write_file_atomically(f.out, bytes, {f.force ? Replace::Yes : Replace::No, true, 0644, {}}); !st) {
    app::complain(kProgram, "cannot write the CSR: " + st.error().message);
    return app::kExitUnreadable;
  }
  app::complain(kProgram, (f.out == "-" ? std::string("wrote the CSR") : "wrote " + f.out) + ": " + request_words(*made) +
                              "; it conforms to Appendix F (check it any time with mam-csr check)");
  return app::kExitOk;
}

// ---------------------------------------------------------------------------------------------------

int run_check(const Flags& f) {
  int exit_code = app::kExitOk;
  for (const auto& file : f.files) {
    auto csr = CertificateRequest::load(file);
    json j = app::json_object("csr-check");
    app::path_json(j, "file", file);
    if (!csr) {
      const bool unreadable = csr.error().reason == Reason::IoError;
      exit_code = std::max(exit_code, unreadable ? int(app::kExitUnreadable) : int(app::kExitFailed));
      const Reason reason = unreadable ? Reason::IoError : Reason::CsrInvalid;
      if (f.json_output) {
        j["result"] = unreadable ? "error" : "invalid";
        j["reason"] = std::string(reason_name(reason));
        j["message"] = csr.error().message;
        j["encoding"] = nullptr;
        j["subject"] = nullptr;
        j["usage"] = nullptr;
        j["key"] = nullptr;
        j["self_signature"] = nullptr;
        j["findings"] = json::array();
        app::print_json(j);
      } else {
        app::print(file + ": " + (unreadable ? "ERROR " : "FAILED ") + std::string(reason_name(reason)) + ": " + csr.error().message);
      }
      continue;
    }
    const auto findings = csr->check();
    if (!findings.empty()) exit_code = std::max(exit_code, int(app::kExitFailed));
    if (f.json_output) {
      j["result"] = findings.empty() ? "valid" : "invalid";
      j["reason"] = findings.empty() ? json(nullptr) : json("CSR_INVALID");
      j["message"] = findings.empty() ? std::string("conforms to SEC Appendix M, Appendix F")
                                      : std::to_string(findings.size()) + " departures from SEC Appendix M, Appendix F";
      j["encoding"] = csr->encoding();
      j["subject"] = subject_json(*csr);
      j["usage"] = csr->usage() ? json(std::string(usage_name(*csr->usage()))) : json(nullptr);
      j["key"] = csr->key_text();
      j["self_signature"] = csr->self_signature_verifies();
      j["findings"] = json::array();
      for (const auto& finding : findings) {
        j["findings"].push_back({{"rule", finding.rule}, {"expected", finding.expected}, {"found", finding.found}});
      }
      app::print_json(j);
      continue;
    }
    if (findings.empty()) {
      app::print(file + ": OK: " + request_words(*csr) + "; self-signature verifies (" + csr->encoding() + ")");
    } else {
      app::print(file + ": FAILED CSR_INVALID: " + std::to_string(findings.size()) + " departure" +
                 (findings.size() == 1 ? "" : "s") + " from SEC Appendix M, Appendix F (" + csr->encoding() + "); self-signature " +
                 (csr->self_signature_verifies() ? "verifies" : "does NOT verify"));
      for (const auto& finding : findings) {
        app::print("  " + finding.rule + ": expected " + finding.expected + "; found " + finding.found);
      }
    }
  }
  return app::with_output_checked(kProgram, exit_code);
}

// ---------------------------------------------------------------------------------------------------

int run_accept(const Flags& f) {
  auto loaded_profile = app::load_profile(kProgram, f.profile);
  if (!loaded_profile) return app::kExitUnreadable;
  if (!app::apply_revocation_flags(kProgram, f.revocation, *loaded_profile)) return app::kExitUsage;
  const auto at = app::parse_at(kProgram, f.at);
  if (!at) return app::kExitUsage;
  if (!app::check_key_flags(kProgram, f.keys)) return app::kExitUsage;
  auto csr = CertificateRequest::load(f.csr);
  if (!csr) {
    app::complain(kProgram, "--csr " + f.csr + ": " + csr.error().message);
    return app::kExitUnreadable;
  }
  auto cert = OrgCert::load(f.cert);
  if (!cert) {
    app::complain(kProgram, "--cert: " + cert.error().message);
    return app::kExitUnreadable;
  }
  std::vector<std::string> trust_paths = app::trust_or_default(f.trust);
  std::vector<std::string> crl_paths = trust_paths.empty() ? f.crl : app::crls_or_default(f.crl);
  std::shared_ptr<TrustStore> trust;
  if (!trust_paths.empty()) {
    trust = app::load_trust(kProgram, trust_paths, crl_paths, *loaded_profile);
    if (!trust) return app::kExitUnreadable;
  } else if (!crl_paths.empty()) {
    app::complain(kProgram, "--crl needs --trust: a CRL is checked against the trust anchors that issued it");
    return app::kExitUsage;
  }
  std::optional<SigningKey> key;
  if (!f.keys.key.empty()) {
    key = app::open_key(kProgram, f.keys, nullptr);
    if (!key) return app::kExitUnreadable;
  }
  AcceptOptions options;
  options.profile = *loaded_profile;
  options.now = *at;
  options.trust = trust.get();
  options.key = key ? key->key.get() : nullptr;
  const AcceptVerdict verdict = judge_issued_certificate(*csr, **cert, options);
  if (f.json_output) {
    json j = app::json_object("csr-accept");
    app::path_json(j, "csr", f.csr);
    app::path_json(j, "certificate", f.cert);
    j["result"] = verdict.accept() ? "accept" : "reject";
    j["reasons"] = json::array();
    for (const auto& r : verdict.reasons) j["reasons"].push_back({{"reason", std::string(reason_name(r.reason))}, {"message", r.message}});
    j["notes"] = verdict.notes;
    j["issued"] = app::signer_json(**cert);
    j["at"] = format_iso8601(*at);
    app::print_json(j);
  } else if (verdict.accept()) {
    app::print("ACCEPT: " + (*cert)->describe() + " is the certificate " + f.csr + " asked for: " + request_words(*csr) +
               "; it passes the Organisation Certificate profile and is valid now" +
               (trust ? std::string(" and chains to the trust anchors") : std::string()));
  } else {
    app::print("REJECT: " + (*cert)->describe() + ": " + std::to_string(verdict.reasons.size()) + " reason" +
               (verdict.reasons.size() == 1 ? "" : "s") + " (reject it now: SEC L11.5-L11.7 deem a certificate not rejected "
               "at once accepted)");
    for (const auto& r : verdict.reasons) app::print("  " + std::string(reason_name(r.reason)) + ": " + r.message);
  }
  if (!f.json_output) {
    for (const auto& note : verdict.notes) app::print("  note: " + note);
  }
  return app::with_output_checked(kProgram, verdict.accept() ? app::kExitOk : app::kExitFailed);
}

// ---------------------------------------------------------------------------------------------------

int run_show(const Flags& f) {
  int exit_code = app::kExitOk;
  for (const auto& file : f.files) {
    json j = app::json_object("csr-show");
    app::path_json(j, "file", file);
    auto csr = CertificateRequest::load(file);
    if (csr) {
      const auto findings = csr->check();
      if (f.json_output) {
        j["kind"] = "request";
        j["encoding"] = csr->encoding();
        j["subject"] = csr->subject();
        j["smki"] = subject_json(*csr);
        j["usage"] = csr->usage() ? json(std::string(usage_name(*csr->usage()))) : json(nullptr);
        j["key"] = csr->key_text();
        j["self_signature"] = csr->self_signature_verifies();
        j["departures"] = findings.size();
        j["certificate"] = nullptr;
        app::print_json(j);
      } else {
        app::print(file + ": certificate signing request (" + csr->encoding() + ")");
        app::print("  subject    " + csr->subject());
        app::print("  role       " + (csr->role() ? role_words(*csr->role()) : std::string("none (the OU is not a role code)")));
        app::print("  EUI-64     " + (csr->eui64() ? csr->eui64()->to_string() : std::string("none (no 64-bit uniqueIdentifier)")));
        app::print("  usage      " + (csr->usage() ? std::string(usage_name(*csr->usage())) : std::string("not exactly one of digitalSignature, keyAgreement")));
        app::print("  key        " + csr->key_text());
        app::print(std::string("  signature  ") + (csr->self_signature_verifies() ? "verifies" : "does NOT verify"));
        app::print("  Appendix F " + (findings.empty() ? std::string("conforms")
                                                       : std::to_string(findings.size()) + " departures (mam-csr check " + file + ")"));
      }
      continue;
    }
    auto cert = OrgCert::load(file);
    if (!cert) {
      exit_code = std::max(exit_code, int(app::kExitUnreadable));
      app::complain(kProgram, file + ": neither a CSR (" + csr.error().message + ") nor a certificate (" + cert.error().message + ")");
      continue;
    }
    const OrgCert& c = **cert;
    if (f.json_output) {
      j["kind"] = "certificate";
      j["encoding"] = nullptr;
      j["subject"] = c.subject();
      j["smki"] = {{"cn", c.common_name() ? json(*c.common_name()) : json(nullptr)},
                   {"role", c.role() ? json(role_code(*c.role())) : json(nullptr)},
                   {"role_name", c.role() ? json(std::string(role_name(*c.role()))) : json(nullptr)},
                   {"eui64", c.eui64() ? json(c.eui64()->to_string()) : json(nullptr)}};
      j["usage"] = c.key_usage_text();
      j["key"] = c.key_algorithm();
      j["self_signature"] = nullptr;
      j["departures"] = c.check_profile(Profile::defaults()).size();
      j["certificate"] = app::signer_json(c);
      app::print_json(j);
      continue;
    }
    const auto problems = c.check_profile(Profile::defaults());
    app::print(file + ": certificate");
    app::print("  subject    " + c.subject());
    app::print("  role       " + (c.role() ? role_words(*c.role()) : std::string("none (the OU is not a role code)")));
    app::print("  EUI-64     " + (c.eui64() ? c.eui64()->to_string() : std::string("none (no 64-bit x500UniqueIdentifier)")));
    app::print("  usage      " + c.key_usage_text());
    app::print("  key        " + c.key_algorithm());
    app::print("  validity   " + format_iso8601(c.not_before()) + " to " + format_iso8601(c.not_after()));
    app::print("  serial     " + c.serial());
    app::print("  issuer     " + c.issuer());
    app::print("  profile    " + (problems.empty() ? std::string("conforms to the Organisation Certificate profile")
                                                   : std::to_string(problems.size()) + " problems, first: " +
                                                         std::string(reason_name(problems.front().reason)) + ": " + problems.front().message));
  }
  return app::with_output_checked(kProgram, exit_code);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "mam-csr: an SMKI Organisation key's certificate lifecycle. Make its Certificate Signing Request in the\n"
      "structure of SEC Appendix M (SMKI Interface Design Specification), Appendix F; check any CSR against\n"
      "it; when the certificate comes back, accept or reject it at once (SEC L11.5-L11.7 deem a certificate\n"
      "not rejected immediately accepted); show a CSR or certificate in SMKI terms. Walkthrough: docs/csr.md.",
      kProgram};
  app.set_version_flag("--version", app::version_text(kProgram));
  app.require_subcommand(1);
  Flags f;

  auto* make = app.add_subcommand("new", "make a CSR for a key (a file, a PKCS#12 bundle, a pkcs11: URI) or a new key");
  make->add_option("--role", f.role, "(required) the Remote Party Role: a code (02) or a name (supplier, network-operator, ...)")
      ->option_text("ROLE");
  make->add_option("--eui", f.eui, "(required) the EUI-64 of the subject (the supplier's User ID), e.g. 70-B3-D5-1F-30-00-A0-08")
      ->option_text("EUI-64");
  make->add_option("--usage", f.usage, "(required) ds (digitalSignature: signs migration files) or ka (keyAgreement)")
      ->option_text("ds|ka");
  make->add_option("--cn", f.cn, "a commonName for the subject (optional; at most 64 characters)")->option_text("NAME");
  app::add_key_flags(*make, f.keys, false, "the key to certify");
  make->add_option("--new-key", f.new_key,
                   "instead of --key: generate a P-256 key and write it to FILE (mode 0600, never over an existing file), "
                   "encrypted with the passphrase from --pass-file, --pass-env or the prompt")
      ->option_text("FILE");
  make->add_flag("--no-encrypt", f.no_encrypt, "with --new-key: write the key unencrypted (refuses the protection explicitly)");
  make->add_option("--out", f.out, "(required) where to write the CSR ('-' for standard output); never over an existing "
                                   "file without --force")
      ->option_text("FILE");
  make->add_flag("--der", f.der, "write DER instead of PEM");
  make->add_flag("--force", f.force, "replace an existing --out file");
  make->footer(
      "Examples:\n"
      "  mam-csr new --role supplier --eui 70-B3-D5-1F-30-00-A0-08 --usage ds --cn 'Example Supplier A' \\\n"
      "      --new-key supplier-ds.key --pass-file supplier-ds.pass --out supplier-ds.csr\n"
      "  mam-csr new --role 02 --eui 70-B3-D5-1F-30-00-A0-08 --usage ds --key 'pkcs11:token=SMKI;object=supplier-ds' \\\n"
      "      --pin-file pin --out supplier-ds.csr\n"
      "What is written is checked against Appendix F first; nothing is written that does not conform.\n"
      "Exit codes: 0 written, 1 could not make it, 2 usage error, 3 an input could not be read or the output written.");

  auto* check = app.add_subcommand("check", "report every departure of CSRs from Appendix F, and whether each self-signature verifies");
  check->add_flag("--json", f.json_output,
                  "one JSON object per file: {schema, version, file, result, reason, message, encoding, subject, usage, key, "
                  "self_signature, findings: [{rule, expected, found}]}");
  check->add_option("files", f.files, "CSR files: DER, PEM (CERTIFICATE REQUEST or NEW CERTIFICATE REQUEST), or base64")
      ->option_text("FILE...")
      ->required();
  check->footer("Rules and their ids (F1-F12): docs/csr.md.\n"
                "Exit codes: 0 every CSR conforms, 1 a CSR departs from Appendix F (or is not a CSR), 2 usage error, 3 a\n"
                "file could not be read.");

  auto* accept = app.add_subcommand("accept", "accept or reject an issued certificate now: is it what the CSR asked for?");
  accept->add_option("--csr", f.csr, "(required) the CSR the certificate was issued from")->option_text("FILE");
  accept->add_option("--cert", f.cert, "(required) the issued certificate (PEM or DER)")->option_text("CERT");
  accept->add_option("--trust", f.trust, "SMKI root and OCA: the certificate must chain to them; repeatable (default: "
                                         "/etc/mamsign/trust when it exists)")
      ->allow_extra_args(false)
      ->option_text("PATH");
  accept->add_option("--crl", f.crl, "with --trust: CRLs, so a revoked certificate is rejected; repeatable")
      ->allow_extra_args(false)
      ->option_text("PATH");
  app::add_revocation_flags(*accept, f.revocation);
  app::add_key_flags(*accept, f.keys, false, "the key the certificate must be for (optional)");
  app::add_at_option(*accept, f.at, "judge at this ISO 8601 time instead of now");
  accept->add_option("--profile", f.profile, "a JSON profile overriding the built-in one (docs/profile.md)")->option_text("FILE");
  accept->add_flag("--json", f.json_output, "one JSON object: {schema, version, csr, certificate, result, reasons, notes, issued, at}");
  accept->footer(
      "Example:\n"
      "  mam-csr accept --csr supplier-ds.csr --cert supplier-ds.pem --trust keys-example/trust --crl keys-example/crl\n"
      "Prints ACCEPT, or REJECT with every reason: the key, the role, the EUI-64, the usage, the profile, the\n"
      "validity now (or when it begins), the chain and revocation.\n"
      "Exit codes: 0 accept, 1 reject, 2 usage error, 3 an input could not be read.");

  auto* show = app.add_subcommand("show", "print CSRs or certificates in SMKI terms: role, EUI-64, usage, key, validity");
  show->add_flag("--json", f.json_output, "one JSON object per file");
  show->add_option("files", f.files, "CSR or certificate files")->option_text("FILE...")->required();
  show->footer("Exit codes: 0 shown, 2 usage error, 3 a file is neither a CSR nor a certificate, or cannot be read.");

  app.footer(
      "Commands:\n"
      "  new     make a CSR (Appendix F) for a key, or for a new key it generates\n"
      "  check   every departure of a CSR from Appendix F\n"
      "  accept  ACCEPT or REJECT an issued certificate against its CSR, now\n"
      "  show    a CSR or certificate in SMKI terms\n" +
      app::key_help() +
      "Exit codes: 0 done / conforms / accept, 1 departs / reject, 2 usage error, 3 an input could not be read.\n"
      "Run 'mam-csr COMMAND --help' for each command's options.");

  if (auto code = app::parse(app, argc, argv)) return *code;
  try {
    if (make->parsed()) {
      for (const auto& [value, flag] : {std::pair{&f.role, "--role"}, {&f.eui, "--eui"}, {&f.usage, "--usage"}, {&f.out, "--out"}}) {
        if (value->empty()) {
          app::complain_usage(kProgram, std::string(flag) + " is required", "mam-csr new");
          return app::kExitUsage;
        }
      }
      return run_new(f);
    }
    if (check->parsed()) return run_check(f);
    if (accept->parsed()) {
      if (f.csr.empty() || f.cert.empty()) {
        app::complain_usage(kProgram, "--csr and --cert are required", "mam-csr accept");
        return app::kExitUsage;
      }
      return run_accept(f);
    }
    return run_show(f);
  } catch (const std::exception& e) {
    app::complain(kProgram, std::string("internal error: ") + e.what());
    return app::kExitUnreadable;
  }
}
