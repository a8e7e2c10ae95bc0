// mam-sign's parts: the flags main.cpp declares, the signer made once from them (signer_setup.cpp), and
// each file's result line (render.cpp).
#pragma once

#include "common/app_common.h"
#include "common/batch_ui.h"
#include "common/key_flags.h"
#include "common/tsa_flags.h"

#include "mamsign/signer.h"

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace sign_app {

namespace app = mamsign::app;

inline constexpr const char* kProgram = "mam-sign";

struct Flags {
  std::string cert, format = "cms", out, profile;
  app::KeyFlags keys;
  std::vector<std::string> chain, trust, crl;
  bool force = false, no_name_check = false, json_output = false, skip_signed = false, sync = false,
       print_profile = false, timestamp_only = false;
  app::TsaFlags tsa;
  app::RevocationFlags revocation;
  app::BatchFlags batch;
};

// What happened to one file, and how it is shown.
struct FileReport {
  std::string file;
  mamsign::Result<mamsign::SignOutcome> outcome;
};

// The signer from --key, --cert, --chain, --trust and --crl (the certificate, key and chain loaded, trust
// read, everything about the signer checked once). nullopt, having said why and set `exit_code` (3 for a
// signer that cannot sign, 2 for flags that do not fit), when it cannot sign: no file is then started.
std::optional<mamsign::Signer> make_signer(Flags& f, const mamsign::Profile& profile, int& exit_code);

// Temporaries an earlier, killed run left in the folders this run writes to, removed before it writes.
// `hidden_in_folder`: the hidden names already listed per folder (not listed again).
void remove_stale_temporaries_for(const std::vector<std::filesystem::path>& files, const mamsign::SignOptions& options,
                                  const std::map<std::filesystem::path, std::vector<std::string>>& hidden_in_folder);

// mam-sign --timestamp-only FILE.p7s...: a timestamp added to each signature that has none (no key
// needed). Returns the exit code.
int run_timestamp_only(Flags& f, const mamsign::Profile& profile);

// The timestamp as the result shows it: ", timestamp 2026-...Z by URL" / JSON {gen_time, tsa, url,
// policy, serial, trusted}, or null.
std::string timestamp_text(const mamsign::SignOutcome& outcome);
nlohmann::ordered_json timestamp_json(const mamsign::SignOutcome& outcome);

// The result's line on standard output: JSON (schema mamsign/sign-result/1), or text made safe.
std::string render(const FileReport& r, const mamsign::Signer* signer, const mamsign::Profile& profile,
                   mamsign::SignatureFormat format, bool as_json);

}  // namespace sign_app
