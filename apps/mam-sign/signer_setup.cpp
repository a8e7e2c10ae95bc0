// The signer mam-sign makes once, before any file: its certificate, key and chain loaded, the trust
// anchors and CRLs read, the pair checked; and the temporaries of a killed run cleared before writing.
#include "sign_app.h"

#include "mamsign/base/atomic_file.h"
#include "mamsign/keys/key_source.h"

#include <ctime>
#include <set>

namespace sign_app {

using namespace mamsign;

namespace {

struct SignerParts {
  OrgCertPtr cert;
  EvpPkeyPtr key;
  std::vector<OrgCertPtr> chain;
};

// The certificate first when it is named: a token key takes its public key from it. Then the key, and
// the certificate from the key's bundle or token when none was named; then the chain (the bundle's
// first, then --chain).
std::optional<SignerParts> signer_parts(const Flags& f, int& exit_code) {
  exit_code = app::kExitUnreadable;
  SignerParts parts;
  if (!f.cert.empty()) {
    auto loaded = app::load_certificate(kProgram, "certificate", f.cert, f.keys);
    if (!loaded) return std::nullopt;
    parts.cert = *loaded;
  }
  auto key = app::open_key(kProgram, f.keys, parts.cert ? parts.cert->x509() : nullptr);
  if (!key) return std::nullopt;
  if (!parts.cert) {
    if (key->certificate.empty()) {
      app::complain_usage(kProgram, "--cert is required: " + key->description + " holds no certificate for its key",
                          kProgram);
      exit_code = app::kExitUsage;
      return std::nullopt;
    }
    parts.cert = OrgCert::from_der(key->certificate);
    if (!parts.cert) {
      app::complain(kProgram, "certificate: the certificate in " + key->description + " is not an X.509 certificate");
      return std::nullopt;
    }
  }
  for (const auto& der : key->chain) {
    if (auto c = OrgCert::from_der(der)) parts.chain.push_back(c);
  }
  for (const auto& path : f.chain) {
    auto loaded = OrgCert::load(path);
    if (!loaded) {
      app::complain(kProgram, "chain: " + loaded.error().message);
      return std::nullopt;
    }
    parts.chain.push_back(*loaded);
  }
  parts.key = std::move(key->key);
  return parts;
}

// The trust anchors and CRLs to judge the signer by (given, or the config directory's); false, having
// said why and set `exit_code`, when they cannot be read or CRLs come without anchors. `trust` stays
// null when there are none.
bool signing_trust(Flags& f, const Profile& profile, std::shared_ptr<TrustStore>& trust, int& exit_code) {
  f.trust = app::trust_or_default(f.trust);
  if (!f.trust.empty()) f.crl = app::crls_or_default(f.crl);
  if (!f.trust.empty()) {
    trust = app::load_trust(kProgram, f.trust, f.crl, profile);
    exit_code = app::kExitUnreadable;
    return trust != nullptr;
  }
  exit_code = app::kExitUsage;
  if (!f.crl.empty()) {
    app::complain(kProgram, "--crl needs --trust: a CRL is checked against the trust anchors that issued it");
    return false;
  }
  if (profile.require_crl) {
    app::complain(kProgram,
                  "--require-crl needs --trust and --crl: revocation is checked along the chain to the SMKI root");
    return false;
  }
  return true;
}

// What the operator should know about a signer that can sign: what was not checked.
void warn_about(const Signer& signer, bool with_trust) {
  if (!with_trust) {
    app::complain(kProgram,
                  "warning: without --trust the certificate's chain to the SMKI root and its revocation are not "
                  "checked; the DCC will check both");
    return;
  }
  if (!signer.revocation()) return;
  const RevocationStatus& rev = *signer.revocation();
  if (!rev.checked) {
    app::complain(kProgram, "warning: revocation not checked: no CRL of " + rev.issuer +
                                " was given (--crl; --require-crl makes this a refusal)");
  }
  for (const auto& note : rev.notes) app::complain(kProgram, "warning: " + note);
}

}  // namespace

std::optional<Signer> make_signer(Flags& f, const Profile& profile, int& exit_code) {
  auto parts = signer_parts(f, exit_code);
  if (!parts) return std::nullopt;
  std::shared_ptr<TrustStore> trust;
  if (!signing_trust(f, profile, trust, exit_code)) return std::nullopt;
  // Everything about the signer (key, certificate, profile, role, validity, chain, revocation) is
  // judged once, here: a signer that cannot sign is one setup error (exit 3, nothing signed), never
  // the same refusal repeated for each of 500 files.
  auto signer = Signer::create(std::move(parts->key), parts->cert, std::move(parts->chain), profile, std::time(nullptr),
                               trust.get());
  if (!signer) {
    app::complain(kProgram,
                  std::string(reason_name(signer.error().reason)) + ": " + signer.error().message +
                      "; nothing was signed (the signer is checked once, before any file: see --key, --cert, "
                      "--trust and --crl)",
                  signer.error().reason);
    exit_code = app::kExitUnreadable;
    return std::nullopt;
  }
  exit_code = app::kExitOk;
  warn_about(*signer, trust != nullptr);
  return std::move(*signer);
}

void remove_stale_temporaries_for(const std::vector<std::filesystem::path>& files, const SignOptions& options,
                                  const std::map<std::filesystem::path, std::vector<std::string>>& hidden_in_folder) {
  std::set<std::filesystem::path> folders;
  for (const auto& file : files) folders.insert(options.out ? options.out->parent_path() : file.parent_path());
  for (const auto& folder : folders) {
    const auto listed = hidden_in_folder.find(folder);  // its hidden names are known: not listed again
    remove_stale_temporaries(folder, listed != hidden_in_folder.end() ? &listed->second : nullptr);
  }
}

}  // namespace sign_app
