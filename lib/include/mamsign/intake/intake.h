// The DCC's intake: a watched inbox whose files are verified as they arrive and moved, each exactly once,
// with its signature and its result, to an accepted or a rejected folder, and recorded in the ledger
// (ledger.h). docs/intake.md has when a file is taken, the order of writes and renames that survives a
// crash at any moment, the ledger's format and the metrics.
#pragma once

#include "mamsign/base/error.h"

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace mamsign {

struct IntakeOptions {
  std::filesystem::path inbox, accepted, rejected;  // one file system: moves are renames
  std::filesystem::path ledger;                     // with ledger.head and ledger.pending beside it
  std::filesystem::path metrics;                    // Prometheus text file; empty: none
  std::chrono::milliseconds settle{2000};           // a file written in place is taken once unchanged this long
  std::chrono::milliseconds pair_timeout{std::chrono::minutes(10)};  // half a pair waits this long
  std::chrono::milliseconds rescan{std::chrono::minutes(1)};         // the inbox is listed again this often
  std::chrono::milliseconds metrics_interval{std::chrono::seconds(5)};
  unsigned jobs = 0;                                // verifying threads; 0: one per core
  std::vector<std::filesystem::path> reload_watch;  // trust and CRL paths: a change reloads them
  std::string log_prefix = "mam-verify: ";          // each log line starts with it
};

// What the app says of one file.
struct IntakeVerdict {
  bool accepted = false;
  std::string reason;       // the reason code; empty when accepted
  std::string result_json;  // the verify result: one JSON object on one line
  std::string summary;      // for the log line: "OK [signer ...]", "FAILED BAD_SIGNATURE: ..."
};

struct IntakeHooks {
  // Verifies a data file (which may be missing: the result is DATA_MISSING) against `signature` (none:
  // SIGNATURE_MISSING). Called on several threads at once; must not throw.
  std::function<IntakeVerdict(const std::filesystem::path& data, const std::optional<std::filesystem::path>& signature)>
      judge;
  // Reads the trust anchors and CRLs again, on SIGHUP or when a reload_watch path changes; an error keeps
  // the ones in use. Returns what was loaded, for the log.
  std::function<Result<std::string>()> reload;
  // Prometheus lines of the app's own (the CRLs' ages), and warnings to log once each (a CRL gone stale).
  std::function<std::string()> metrics;
  std::function<std::vector<std::string>()> warnings;
};

// Runs until SIGTERM or SIGINT, then finishes the files in flight and returns. SIGHUP reloads; SIGUSR1
// logs a status line. Log lines go to `log`. An error is a configuration that cannot run: folders
// missing or on different file systems, a ledger that is refused (ledger.h), a pending group that cannot
// be completed.
Status run_intake(const IntakeOptions& options, const IntakeHooks& hooks, std::ostream& log);

// Names never taken from the inbox: hidden ("."), temporaries of transfer tools (.part, .tmp, .partial,
// .filepart, .crdownload, .swp, a trailing ~) and of this library.
bool is_transfer_temporary(std::string_view name);

}  // namespace mamsign
