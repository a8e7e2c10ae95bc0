// The intake's ledger: one JSON line per file moved out of the inbox, each carrying the SHA-256 of the
// line before it, and beside it FILE.head (entries, bytes, last line's SHA-256), replaced atomically after
// every append. Editing, deleting or reordering a line breaks the chain; cutting lines off the end no
// longer matches the head. docs/intake.md has the formats and the order of writes.
#pragma once

#include "mamsign/base/error.h"

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace mamsign {

struct LedgerHead {
  std::uint64_t entries = 0;
  std::uint64_t bytes = 0;                         // the ledger's size when the head was written
  std::string last_sha256 = std::string(64, '0');  // of the last line, without its newline
};

// FILE.head beside FILE.
std::filesystem::path ledger_head_path(const std::filesystem::path& ledger);

struct LedgerCheck {
  bool ok = false;
  std::uint64_t entries = 0;   // complete lines read
  std::uint64_t bad_line = 0;  // the first line found broken (1-based); 0 when ok or when only the head is
  std::string message;         // what is wrong, or what was checked
  std::vector<std::string> notes;
};

// Reads FILE and FILE.head from the start. A head behind the ledger is a failure, unless a watcher holds
// the ledger (it writes the head just after each append): then a note.
LedgerCheck check_ledger(const std::filesystem::path& file);

class Ledger {
 public:
  // Opens FILE (creating it and its head), locked for this process alone: a second watcher on the same
  // ledger is refused. Checks the lines the head does not yet cover against the chain, cuts off a torn last
  // line (a crash mid-append: its files are recovered from the pending journal), and catches the head up.
  // Refuses a ledger shorter than its head, a head whose last line is not the ledger's, or a chain broken
  // after the head. `notes` says what was repaired.
  static Result<std::unique_ptr<Ledger>> open(const std::filesystem::path& file, std::vector<std::string>& notes);
  ~Ledger();
  Ledger(const Ledger&) = delete;
  Ledger& operator=(const Ledger&) = delete;

  // Appends one line per entry (each a JSON object on one line; the ledger puts schema, seq and prev
  // first), fdatasync's them, then replaces the head. On failure nothing of it stays in the file.
  Status append(const std::vector<std::string>& entries);
  // The lines after byte `offset` (a head's bytes), for recovering a pending group.
  Result<std::vector<std::string>> lines_after(std::uint64_t offset) const;

  const LedgerHead& head() const noexcept { return head_; }
  const std::filesystem::path& path() const noexcept { return path_; }

 private:
  Ledger(std::filesystem::path path, int fd) : path_(std::move(path)), fd_(fd) {}
  Status write_head();
  std::filesystem::path path_;
  int fd_ = -1;
  LedgerHead head_;
};

}  // namespace mamsign
