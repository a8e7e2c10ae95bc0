// `mam-csr accept`: the certificate that came back for a CSR, accepted or rejected at once (SEC L11.5-L11.7).
#include "csr_app.h"

#include "common/output.h"

#include "mamsign/base/times.h"
#include "mamsign/pki/csr.h"

namespace csr_app {

using namespace mamsign;

int run_accept(const Flags& f) {
  int exit_code = app::kExitOk;
  const auto loaded_profile = app::profile_for_run(kProgram, f.profile, f.revocation, false, exit_code);
  if (!loaded_profile) return exit_code;
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
    for (const auto& r : verdict.reasons)
      j["reasons"].push_back({{"reason", std::string(reason_name(r.reason))}, {"message", r.message}});
    j["notes"] = verdict.notes;
    j["issued"] = app::signer_json(**cert);
    j["at"] = format_iso8601(*at);
    app::print_json(j);
  } else if (verdict.accept()) {
    app::print("ACCEPT: " + (*cert)->describe() + " is the certificate " + f.csr + " asked for: " +
               request_words(*csr) + "; it passes the Organisation Certificate profile and is valid now" +
               (trust ? std::string(" and chains to the trust anchors") : std::string()));
  } else {
    app::print("REJECT: " + (*cert)->describe() + ": " + std::to_string(verdict.reasons.size()) + " reason" +
               (verdict.reasons.size() == 1 ? "" : "s") +
               " (reject it now: SEC L11.5-L11.7 deem a certificate not rejected "
               "at once accepted)");
    for (const auto& r : verdict.reasons) app::print("  " + std::string(reason_name(r.reason)) + ": " + r.message);
  }
  if (!f.json_output) {
    for (const auto& note : verdict.notes) app::print("  note: " + note);
  }
  return app::with_output_checked(kProgram, verdict.accept() ? app::kExitOk : app::kExitFailed);
}

}  // namespace csr_app
