// Standard output that cannot lose results silently: every write is checked, a line is written whole
// or not at all (a regular file is cut back to where a failed line began), and the first failure is
// kept for the app to report (exit code 3).
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

namespace mamsign::app {

class Output {
 public:
  // The process's standard output. SIGXFSZ is ignored from here on, so that a file-size limit is a
  // write error (EFBIG) to report, not a silent death.
  static Output& standard();

  // `line` and a newline, whole or not at all. False once any write has failed (nothing more is written).
  bool line(std::string_view line);
  // A line written in parts (a streamed JSON object): begin, parts, end. A failure in any part cuts the
  // file back to where the line began.
  void begin_line();
  bool part(std::string_view text);
  bool end_line();
  // Ends a block written with begin_line() and part() whose parts carried their own newlines.
  bool end_block();

  // Held: whole lines wait in memory (up to kHeldLines or 64 KiB) and leave in one write at flush(); a
  // batch holds while it has results ready and flushes before it waits. Never held on a terminal. A
  // failed flush cuts a regular file back to where the held lines began: lines stay whole.
  void hold(bool held);
  bool flush();
  static constexpr std::size_t kHeldLines = 32;

  // Safe to ask from any thread (workers ask before they start a file whose result could not be written).
  bool failed() const noexcept { return failed_.load(std::memory_order_acquire); }
  // "No space left on device"
  const std::string& error() const noexcept { return error_; }
  std::uint64_t lines_written() const noexcept { return lines_; }

 private:
  explicit Output(int fd) : fd_(fd) {}
  bool write_all(std::string_view bytes);
  void fail(int err);
  int fd_;
  std::int64_t line_start_ = -1;  // offset where the current line began (regular files), or -1
  bool in_line_ = false;
  std::string error_;
  std::atomic<bool> failed_{false};
  std::uint64_t lines_ = 0;
  bool held_ = false;
  bool counting_lines_ = false;    // a held block is being written: track its whole lines
  std::size_t whole_written_ = 0;  // bytes of whole lines of the current block already written
  std::string pending_;
  std::size_t pending_lines_ = 0;
};

}  // namespace mamsign::app
