// The RFC 3161 flags: mam-sign's --tsa and what a request needs, and the --tsa-trust anchors both
// mam-sign (to check a reply) and mam-verify (to trust a token's time) take.
#pragma once

#include "mamsign/smki/profile.h"
#include "mamsign/timestamp/timestamp_token.h"
#include "mamsign/timestamp/tsa_client.h"

#include <CLI/CLI.hpp>

#include <memory>
#include <string>
#include <vector>

namespace mamsign::app {

struct TsaFlags {
  std::vector<std::string> urls;
  std::string timeout = "10s";
  unsigned retries = 3;
  std::string policy, ca, client_cert, client_key, auth_file;
  std::vector<std::string> trust;
};

// --tsa-trust PATH (repeatable).
void add_tsa_trust_flag(CLI::App& app, std::vector<std::string>& trust, const std::string& help);
// --tsa, --tsa-timeout, --tsa-retries, --tsa-policy, --tsa-ca, --tsa-client-cert, --tsa-client-key,
// --tsa-auth-file and --tsa-trust.
void add_tsa_flags(CLI::App& app, TsaFlags& flags);

// The anchors --tsa-trust names, else config_dir()/tsa-trust when it exists; null (and `ok` true) when
// there are none. Said on standard error when they cannot be read (`ok` false: exit 3).
std::shared_ptr<const TsaTrust> load_tsa_trust(const std::string& program, const std::vector<std::string>& paths,
                                               bool& ok);

// The client the flags (or the profile's tsa_urls) ask for; null when no TSA is named. `exit_code` is set
// (2 for a flag that makes no sense, 3 for a file that cannot be read) when it cannot be made.
std::shared_ptr<const TsaClient> make_tsa_client(const std::string& program, const TsaFlags& flags,
                                                 const Profile& profile, int& exit_code);

}  // namespace mamsign::app
