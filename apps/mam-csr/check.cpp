// `mam-csr check` (does a CSR follow Appendix F?) and `mam-csr show` (a CSR or certificate in SMKI terms),
// and the words about a request that every command uses.
#include "csr_app.h"

#include "common/output.h"

#include "mamsign/base/times.h"
#include "mamsign/pki/csr.h"

namespace csr_app {

using namespace mamsign;

std::string role_words(std::uint8_t role) { return role_code(role) + " (" + std::string(role_name(role)) + ")"; }

json subject_json(const CertificateRequest& csr) {
  json j;
  j["cn"] = csr.common_name() ? json(*csr.common_name()) : json(nullptr);
  j["role"] = csr.role() ? json(role_code(*csr.role())) : json(nullptr);
  j["role_name"] = csr.role() ? json(std::string(role_name(*csr.role()))) : json(nullptr);
  j["eui64"] = csr.eui64() ? json(csr.eui64()->to_string()) : json(nullptr);
  return j;
}

std::string request_words(const CertificateRequest& csr) {
  std::string s = csr.role() ? "role " + role_words(*csr.role()) : std::string("no valid role");
  s += csr.eui64() ? ", EUI-64 " + csr.eui64()->to_string() : std::string(", no valid EUI-64");
  s += csr.usage() ? ", " + std::string(usage_name(*csr.usage())) : std::string(", no single usage");
  s += ", " + csr.key_text();
  if (csr.common_name()) s += ", CN \"" + *csr.common_name() + "\"";
  return s;
}

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
        app::print(file + ": " + (unreadable ? "ERROR " : "FAILED ") + std::string(reason_name(reason)) + ": " +
                   csr.error().message);
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
                 (findings.size() == 1 ? "" : "s") + " from SEC Appendix M, Appendix F (" + csr->encoding() +
                 "); self-signature " + (csr->self_signature_verifies() ? "verifies" : "does NOT verify"));
      for (const auto& finding : findings) {
        app::print("  " + finding.rule + ": expected " + finding.expected + "; found " + finding.found);
      }
    }
  }
  return app::with_output_checked(kProgram, exit_code);
}

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
        app::print("  role       " +
                   (csr->role() ? role_words(*csr->role()) : std::string("none (the OU is not a role code)")));
        app::print("  EUI-64     " +
                   (csr->eui64() ? csr->eui64()->to_string() : std::string("none (no 64-bit uniqueIdentifier)")));
        app::print("  usage      " + (csr->usage() ? std::string(usage_name(*csr->usage()))
                                                   : std::string("not exactly one of digitalSignature, keyAgreement")));
        app::print("  key        " + csr->key_text());
        app::print(std::string("  signature  ") + (csr->self_signature_verifies() ? "verifies" : "does NOT verify"));
        app::print("  Appendix F " +
                   (findings.empty() ? std::string("conforms")
                                     : std::to_string(findings.size()) + " departures (mam-csr check " + file + ")"));
      }
      continue;
    }
    auto cert = OrgCert::load(file);
    if (!cert) {
      exit_code = std::max(exit_code, int(app::kExitUnreadable));
      app::complain(kProgram, file + ": neither a CSR (" + csr.error().message + ") nor a certificate (" +
                                  cert.error().message + ")");
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
    app::print("  EUI-64     " +
               (c.eui64() ? c.eui64()->to_string() : std::string("none (no 64-bit x500UniqueIdentifier)")));
    app::print("  usage      " + c.key_usage_text());
    app::print("  key        " + c.key_algorithm());
    app::print("  validity   " + format_iso8601(c.not_before()) + " to " + format_iso8601(c.not_after()));
    app::print("  serial     " + c.serial());
    app::print("  issuer     " + c.issuer());
    app::print("  profile    " + (problems.empty() ? std::string("conforms to the Organisation Certificate profile")
                                                   : std::to_string(problems.size()) + " problems, first: " +
                                                         std::string(reason_name(problems.front().reason)) + ": " +
                                                         problems.front().message));
  }
  return app::with_output_checked(kProgram, exit_code);
}

}  // namespace csr_app
