#include "common/tsa_flags.h"

#include "common/app_common.h"

#include "mamsign/base/times.h"

namespace mamsign::app {

void add_tsa_trust_flag(CLI::App& app, std::vector<std::string>& trust, const std::string& help) {
  app.add_option("--tsa-trust", trust, help)->allow_extra_args(false)->option_text("PATH");
}

void add_tsa_flags(CLI::App& app, TsaFlags& f) {
  app.add_option("--tsa", f.urls,
                 "ask this RFC 3161 Time-Stamping Authority for a timestamp on every signature (http:// or "
                 "https://); repeatable: tried in order, the next when one fails (profile: tsa_urls)")
      ->allow_extra_args(false)
      ->option_text("URL");
  app.add_option("--tsa-timeout", f.timeout, "bound on each TSA request, connecting included (default 10s)")
      ->option_text("DUR");
  app.add_option("--tsa-retries", f.retries, "more attempts per TSA after a failure that may pass (default 3)")
      ->check(CLI::Range(0u, 10u))
      ->option_text("N");
  app.add_option("--tsa-policy", f.policy, "ask for this TSA policy OID and refuse a reply under another")
      ->option_text("OID");
  app.add_option("--tsa-ca", f.ca, "HTTPS: verify the TSA's server certificate against these CAs, not the system's")
      ->option_text("PEM");
  app.add_option("--tsa-client-cert", f.client_cert, "HTTPS: a TLS client certificate for a TSA that wants one")
      ->option_text("PEM");
  app.add_option("--tsa-client-key", f.client_key, "HTTPS: the client certificate's key (unencrypted PEM file)")
      ->option_text("PEM");
  app.add_option("--tsa-auth-file", f.auth_file,
                 "HTTP basic authentication for the TSA: the file's first line is user:password (never on the "
                 "command line)")
      ->option_text("FILE");
  add_tsa_trust_flag(app, f.trust,
                     "the TSA's trust anchors: a reply whose certificate does not chain to them is refused "
                     "(default: the config directory's tsa-trust/; without, the reply's signature is checked "
                     "but not its chain); repeatable");
}

std::shared_ptr<const TsaTrust> load_tsa_trust(const std::string& program, const std::vector<std::string>& paths,
                                               bool& ok) {
  ok = true;
  std::vector<std::filesystem::path> use(paths.begin(), paths.end());
  std::error_code ec;
  if (use.empty() && std::filesystem::is_directory(config_dir() / "tsa-trust", ec)) use = {config_dir() / "tsa-trust"};
  if (use.empty()) return nullptr;
  auto trust = TsaTrust::load(use);
  if (!trust) {
    complain(program, "--tsa-trust: " + trust.error().message, trust.error().reason);
    ok = false;
    return nullptr;
  }
  return *trust;
}

std::shared_ptr<const TsaClient> make_tsa_client(const std::string& program, const TsaFlags& f, const Profile& profile,
                                                 int& exit_code) {
  TsaOptions options;
  options.urls = !f.urls.empty() ? f.urls : profile.tsa_urls;
  if (options.urls.empty()) {
    exit_code = kExitOk;
    return nullptr;
  }
  auto timeout = parse_duration(f.timeout);
  if (!timeout || *timeout <= 0) {
    complain_usage(program,
                   "--tsa-timeout: " + (timeout ? std::string("must be more than 0s") : timeout.error().message),
                   program);
    exit_code = kExitUsage;
    return nullptr;
  }
  options.timeout = std::chrono::seconds(*timeout);
  options.retries = f.retries;
  if (!f.policy.empty()) options.policy = f.policy;
  options.ca_file = f.ca;
  options.client_cert = f.client_cert;
  options.client_key = f.client_key;
  options.auth_file = f.auth_file;
  bool ok = true;
  options.trust = load_tsa_trust(program, f.trust, ok);
  if (!ok) {
    exit_code = kExitUnreadable;
    return nullptr;
  }
  auto client = TsaClient::create(std::move(options));
  if (!client) {
    const bool usage = client.error().reason == Reason::InvalidInput;
    if (usage) {
      complain_usage(program, client.error().message, program);
    } else {
      complain(program, client.error().message, client.error().reason);
    }
    exit_code = usage ? kExitUsage : kExitUnreadable;
    return nullptr;
  }
  exit_code = kExitOk;
  return *client;
}

}  // namespace mamsign::app
