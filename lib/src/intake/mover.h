// Internal: moving a group of verified files out of the inbox exactly once. The group is written down
// first (LEDGER.pending), then each file's result is written and its files renamed, the file system is
// synced, the ledger appended and the pending file removed. apply_pending is the same code at a restart:
// whatever a crash interrupted, it completes from what is on disk, and never records a file twice.
#pragma once

#include "mamsign/base/error.h"
#include "mamsign/intake/ledger.h"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace mamsign::intake {

struct MoveItem {
  std::string id;                            // unique; the ledger entry carries it
  std::filesystem::path data_from, data_to;  // empty for a signature alone
  std::filesystem::path sig_from, sig_to;    // empty for a data file alone
  std::filesystem::path result_to;           // FILE.result.json
  std::string result_text;                   // what it holds
  std::string entry;                         // the ledger entry (one JSON object on one line, carrying id)
  std::string outcome, reason, summary;      // for the log line and the counters
  // The result already written beside result_to, to be renamed there (not in the journal: at a restart
  // the result is written again).
  std::filesystem::path result_temp;
};

struct Pending {
  std::uint64_t ledger_bytes = 0;  // the ledger's size when the group was written down
  std::vector<MoveItem> items;
};

std::filesystem::path pending_path(const std::filesystem::path& ledger);
// Durably (fsync'd file and folder).
Status write_pending(const std::filesystem::path& ledger, const Pending& pending);
// None when there is no pending file.
Result<std::optional<Pending>> read_pending(const std::filesystem::path& ledger);

struct Applied {
  std::vector<char> moved;           // per item (1: moved): its files are in their destination and it is in the ledger
  std::uint64_t recorded = 0;        // entries appended now (at a restart, fewer than the items moved before)
  std::vector<std::size_t> clashes;  // items not moved: a name they go to was taken (nothing replaced)
  Status status;                     // the first failure; the pending file stays until a retry succeeds
  std::vector<std::string> notes;
};

// Completes the group: results written, files renamed (never over anything), the file system synced
// (`sync_dir`: any folder on it), entries appended for the items moved and not yet recorded, the pending
// file removed. Stops at the first failure (a full disk): the items before it are moved and recorded, the
// rest left in the inbox. `fresh`: the group was just written down and nothing of it moved yet (the
// normal path, which need not look where each file is); otherwise (a restart, a retry) each item's state is
// read from the disk and the ledger.
Applied apply_pending(const Pending& pending, Ledger& ledger, const std::filesystem::path& sync_dir, bool fresh);

}  // namespace mamsign::intake
