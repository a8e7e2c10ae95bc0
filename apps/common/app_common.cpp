#include "common/app_common.h"

#include "mamsign/eui64.h"
#include "mamsign/profile.h"
#include "mamsign/times.h"

#include <iostream>

namespace mamsign::app {

std::optional<int> parse(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << app.get_name() << ": " << e.what() << "\nRun '" << app.get_name() << " --help' for usage.\n";
    return kExitUsage;
  }
  return std::nullopt;
}

void complain(const std::string& program, const std::string& message) { std::cerr << program << ": " << message << "\n"; }

int exit_code_for(Reason reason) { return reason == Reason::IoError ? kExitUnreadable : kExitFailed; }

nlohmann::ordered_json time_json(const std::optional<std::time_t>& t) {
  return t ? nlohmann::ordered_json(format_iso8601(*t)) : nlohmann::ordered_json(nullptr);
}

nlohmann::ordered_json signer_json(const OrgCert& cert) {
  nlohmann::ordered_json j;
  j["eui64"] = cert.eui64() ? nlohmann::ordered_json(cert.eui64()->to_string()) : nlohmann::ordered_json(nullptr);
  j["role"] = cert.role() ? nlohmann::ordered_json(role_code(*cert.role())) : nlohmann::ordered_json(nullptr);
  j["role_name"] = cert.role() ? nlohmann::ordered_json(std::string(role_name(*cert.role()))) : nlohmann::ordered_json(nullptr);
  j["serial"] = cert.serial();
  j["subject"] = cert.subject();
  j["issuer"] = cert.issuer();
  j["key_usage"] = cert.key_usage_text();
  j["not_before"] = format_iso8601(cert.not_before());
  j["not_after"] = format_iso8601(cert.not_after());
  return j;
}

std::string signer_text(const OrgCert& cert) {
  std::string s = cert.eui64() ? cert.eui64()->to_string() : cert.subject();
  s += " (";
  if (cert.role()) s += "role " + role_code(*cert.role()) + " " + std::string(role_name(*cert.role())) + ", ";
  s += "serial " + cert.serial() + ", valid " + format_iso8601(cert.not_before()) + " to " + format_iso8601(cert.not_after()) + ")";
  return s;
}

std::string json_line(const nlohmann::ordered_json& j) { return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace); }

std::string exit_code_help(bool interrupts) {
  std::string s =
      "Exit codes:\n"
      "  0  every file succeeded\n"
      "  1  at least one file was refused or is invalid\n"
      "  2  usage error (the command line is wrong)\n"
      "  3  an input could not be read (a file, the key, the trust anchors, a profile)\n";
  if (interrupts) s += "  130, 143  interrupted by SIGINT or SIGTERM (files in flight finished, no partial output)\n";
  return s;
}

std::optional<Profile> load_profile(const std::string& program, const std::string& path) {
  if (path.empty()) return Profile::defaults();
  auto loaded = Profile::load(path);
  if (!loaded) {
    complain(program, loaded.error().message);
    return std::nullopt;
  }
  return std::move(*loaded);
}

std::optional<std::time_t> parse_at(const std::string& program, const std::string& text) {
  if (text.empty()) return std::time(nullptr);
  auto at = parse_iso8601(text);
  if (!at) {
    complain(program, "--at: " + at.error().message);
    return std::nullopt;
  }
  return *at;
}

std::shared_ptr<TrustStore> load_trust(const std::string& program, const std::vector<std::string>& trust,
                                       const std::vector<std::string>& crls, const Profile& profile) {
  auto store = TrustStore::load(std::vector<std::filesystem::path>(trust.begin(), trust.end()), profile);
  if (!store) {
    complain(program, "--trust: " + store.error().message);
    return nullptr;
  }
  if (!crls.empty()) {
    if (auto st = (*store)->add_crls(std::vector<std::filesystem::path>(crls.begin(), crls.end())); !st) {
      complain(program, "--crl: " + st.error().message);
      return nullptr;
    }
  }
  return *store;
}

std::shared_ptr<const CertStore> load_store(const std::string& program, const std::vector<std::string>& paths) {
  auto store = CertStore::load(std::vector<std::filesystem::path>(paths.begin(), paths.end()));
  if (!store) {
    complain(program, "--store: " + store.error().message);
    return nullptr;
  }
  for (const auto& p : (*store)->problems()) complain(program, "warning: a certificate store file was skipped: " + p.message);
  return *store;
}

void add_revocation_flags(CLI::App& app, RevocationFlags& flags) {
  app.add_flag("--require-crl", flags.require_crl,
               "revocation must be known: no CRL of the certificate's issuing CA is REVOCATION_UNKNOWN, a CRL past its "
               "nextUpdate REVOCATION_STALE (profile: require_crl)");
  app.add_option("--crl-grace", flags.crl_grace,
                 "how long past its nextUpdate a CRL still counts as current, e.g. 12h (default 0; profile: crl_grace)")
      ->option_text("DURATION");
}

bool apply_revocation_flags(const std::string& program, const RevocationFlags& flags, Profile& profile) {
  if (flags.require_crl) profile.require_crl = true;
  if (!flags.crl_grace.empty()) {
    auto grace = parse_duration(flags.crl_grace);
    if (!grace) {
      complain(program, "--crl-grace: " + grace.error().message);
      return false;
    }
    profile.crl_grace = *grace;
  }
  return true;
}

nlohmann::ordered_json revocation_json(const std::optional<RevocationStatus>& revocation) {
  using json = nlohmann::ordered_json;
  json j;
  const bool reached = revocation && !revocation->issuer.empty();
  j["checked"] = reached && revocation->checked;
  j["crl_issuer"] = reached ? json(revocation->issuer) : json(nullptr);
  j["crl"] = reached && revocation->checked ? json(revocation->crl) : json(nullptr);
  j["this_update"] = reached ? time_json(revocation->this_update) : json(nullptr);
  j["next_update"] = reached ? time_json(revocation->next_update) : json(nullptr);
  j["stale"] = reached && revocation->checked ? json(revocation->stale) : json(nullptr);
  j["issuer_checked"] = reached && revocation->issuer_checked ? json(*revocation->issuer_checked) : json(nullptr);
  return j;
}

std::string notes_text(const std::vector<std::string>& notes) {
  std::string s;
  for (const auto& n : notes) s += (s.empty() ? " (note: " : "; note: ") + n;
  return s.empty() ? s : s + ")";
}

}  // namespace mamsign::app
