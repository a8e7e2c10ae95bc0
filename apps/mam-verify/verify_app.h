// mam-verify's parts: the flags (main.cpp), the result line (render.cpp), and the intake mode with its
// ledger check (watch.cpp).
#pragma once

#include "common/app_common.h"
#include "common/batch_ui.h"

#include "mamsign/pki/trust_store.h"
#include "mamsign/verifier.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace mamsign::verify_app {

inline const char* const kProgram = "mam-verify";

// --watch and what goes with it (docs/intake.md).
struct WatchFlags {
  std::string inbox, accepted, rejected, ledger, metrics, check_ledger;
  std::string settle = "2s", pair_timeout = "10m", rescan = "60s";
};

struct Flags {
  std::vector<std::string> trust, crl, cert_store;
  std::string sig, cert, profile;
  std::optional<std::string> at;
  std::vector<std::string> tsa_trust;
  bool no_name_check = false, json_output = false, print_profile = false, require_timestamp = false;
  app::RevocationFlags revocation;
  app::BatchFlags batch;
  WatchFlags watch;
};

// The result's line on standard output: JSON (mamsign/verify-result/1), or text made safe.
std::string render(const VerifyResult& r, const Profile& profile, bool as_json);

void declare_watch_flags(CLI::App& app, WatchFlags& w);
// Usage errors of --watch (a folder missing, files named beside it); none when the flags make sense.
std::optional<std::string> watch_usage_error(const Flags& f);
// --check-ledger FILE: exit 0 and OK, or 1 naming the first broken line (3: cannot be read).
int run_check_ledger(const std::string& ledger, bool json);
// --watch: runs until SIGTERM (exit 0); 2 or 3 when it cannot start.
int run_watch(const Flags& f, const Profile& profile, const VerifyOptions& options, std::shared_ptr<TrustStore> trust);

}  // namespace mamsign::verify_app
