// `mam-certid show`: whose certificate is this ID? Serial, EUI-64, role, usage, validity, chain and
// revocation, and the profile's problems with it; text or JSON (schema mamsign/certid-show/2).
#include "certid_app.h"

#include "common/output.h"

#include "mamsign/base/times.h"
#include "mamsign/smki/certificate_id.h"

namespace certid_app {

using namespace mamsign;
using json = nlohmann::ordered_json;

namespace {

json cert_json(const OrgCert& c, const std::optional<Status>& chain, const std::optional<RevocationStatus>& revocation,
               const Profile& profile) {
  json j = app::signer_json(c);
  j["revocation"] = app::revocation_json(revocation);
  j["chain"] = chain ? json(*chain ? "valid" : std::string(reason_name(chain->error().reason))) : json(nullptr);
  j["chain_message"] = chain && !*chain ? json(chain->error().message) : json(nullptr);
  json problems = json::array();
  for (const auto& v : c.check_profile(profile)) {
    problems.push_back({{"reason", std::string(reason_name(v.reason))}, {"message", v.message}});
  }
  j["profile_problems"] = problems;
  return j;
}

// The ID was malformed or names no certificate in the store.
void print_not_found(const std::string& text, const std::string& message, bool as_json) {
  if (as_json) {
    json j = app::json_object("certid-show", 2);
    j["id"] = text;
    j["found"] = false;
    j["message"] = message;
    app::print_json(j);
  } else {
    app::print(text + ": " + message);
  }
}

void print_certificate(const std::string& id, const OrgCert& c, const std::optional<Status>& chain,
                       const std::optional<RevocationStatus>& revocation, const Setup& setup) {
  app::print(id);
  app::print("  EUI-64     " + (c.eui64() ? c.eui64()->to_string() : std::string("(none)")));
  app::print("  role       " + (c.role() ? role_code(*c.role()) + " " + std::string(role_name(*c.role())) : "(none)"));
  app::print("  usage      " + c.key_usage_text());
  app::print("  valid      " + format_iso8601(c.not_before()) + " to " + format_iso8601(c.not_after()));
  app::print("  subject    " + c.subject());
  app::print("  issuer     " + c.issuer());
  if (chain) {
    app::print("  chain      " +
               (*chain ? "valid at " + format_iso8601(setup.at)
                       : std::string(reason_name(chain->error().reason)) + ": " + chain->error().message));
    const auto rj = app::revocation_json(revocation);
    app::print("  revocation " + (rj["checked"] == true
                                      ? "checked against " + rj["crl"].get<std::string>() +
                                            (rj["stale"] == true ? " (stale: past its nextUpdate)" : "")
                                      : std::string("not checked (no CRL of its issuing CA; give --crl)")));
    for (const auto& note : revocation->notes) app::print("  note       " + note);
  } else {
    app::print("  chain      not checked (give --trust)");
  }
  for (const auto& v : c.check_profile(setup.profile)) {
    app::print("  profile    " + std::string(reason_name(v.reason)) + ": " + v.message);
  }
}

}  // namespace

int run_show(const Flags& f, const Setup& setup) {
  int exit_code = app::kExitOk;
  for (const auto& text : f.ids) {
    auto id = parse_certificate_id(text, f.decimal ? IdBase::Decimal : IdBase::Hex);
    const auto certs = id ? setup.store->by_serial(*id) : std::vector<OrgCertPtr>{};
    if (!id || certs.empty()) {
      exit_code = app::kExitFailed;
      print_not_found(text, id ? "no certificate with ID " + *id + " in the store" : id.error().message, f.json_output);
      continue;
    }
    for (const auto& c : certs) {
      std::optional<Status> chain;
      std::optional<RevocationStatus> revocation;
      if (setup.trust) {
        revocation.emplace();
        chain = setup.trust->verify(*c, setup.at, {}, &*revocation);
      }
      if (!f.json_output) {
        print_certificate(*id, *c, chain, revocation, setup);
        continue;
      }
      json j = app::json_object("certid-show", 2);
      j["id"] = text;
      j["found"] = true;
      j["certificate"] = cert_json(*c, chain, revocation, setup.profile);
      app::print_json(j);
    }
  }
  return app::with_output_checked(kProgram, exit_code);
}

}  // namespace certid_app
