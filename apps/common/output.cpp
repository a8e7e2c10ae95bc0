#include "common/output.h"

#include "mamsign/base/io.h"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <sys/stat.h>
#include <unistd.h>

namespace mamsign::app {

Output& Output::standard() {
  static Output* out = [] {
    std::signal(SIGXFSZ, SIG_IGN);
    return new Output(STDOUT_FILENO);
  }();
  return *out;
}

void Output::fail(int err) {
  error_ = errno_text(err);
  failed_.store(true, std::memory_order_release);
  // A regular file is cut back to where the line began (or, for held lines, to the end of the last
  // whole line that was written): a script never reads half a result.
  if (line_start_ >= 0) {
    [[maybe_unused]] const int rc = ::ftruncate(fd_, static_cast<off_t>(line_start_ + whole_written_));
  }
}

bool Output::write_all(std::string_view bytes) {
  std::size_t done = 0;
  whole_written_ = 0;
  while (done < bytes.size()) {
    if (counting_lines_) {
      const std::size_t end = bytes.substr(0, done).rfind('\n');
      whole_written_ = end == std::string_view::npos ? 0 : end + 1;
    }
    const ssize_t n = ::write(fd_, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail(errno);
      return false;
    }
    if (n == 0) {
      fail(EIO);
      return false;
    }
    done += static_cast<std::size_t>(n);
  }
  return true;
}

void Output::hold(bool held) {
  if (!held) flush();
  held_ = held && ::isatty(fd_) != 1;
}

bool Output::flush() {
  if (pending_.empty()) return !failed();
  if (failed()) {
    pending_.clear();
    pending_lines_ = 0;
    return false;
  }
  const std::size_t lines = pending_lines_;
  std::string bytes;
  bytes.swap(pending_);
  pending_lines_ = 0;
  begin_line();
  counting_lines_ = line_start_ >= 0;
  const bool ok = write_all(bytes);
  counting_lines_ = false;
  in_line_ = false;
  if (ok) {
    lines_ += lines;
  } else {
    // The lines that went out whole before the failure stay, and count.
    lines_ += static_cast<std::size_t>(
        std::count(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(whole_written_), '\n'));
  }
  whole_written_ = 0;
  return ok;
}

void Output::begin_line() {
  if (held_ && !pending_.empty()) flush();
  in_line_ = true;
  line_start_ = -1;
  struct stat st {};
  if (::fstat(fd_, &st) == 0 && S_ISREG(st.st_mode)) line_start_ = ::lseek(fd_, 0, SEEK_CUR);
}

bool Output::part(std::string_view text) {
  if (failed()) return false;
  return write_all(text);
}

bool Output::end_line() {
  const bool ok = part("\n");
  in_line_ = false;
  if (ok) ++lines_;
  return ok;
}

bool Output::end_block() {
  in_line_ = false;
  if (failed()) return false;
  ++lines_;
  return true;
}

bool Output::line(std::string_view text) {
  if (failed()) return false;
  if (held_) {
    pending_.append(text).push_back('\n');
    if (++pending_lines_ >= kHeldLines || pending_.size() >= 64 * 1024) return flush();
    return true;
  }
  begin_line();
  // One write for the whole line where it fits, so lines from a pipe reader's view stay whole too.
  std::string whole;
  whole.reserve(text.size() + 1);
  whole.append(text).push_back('\n');
  const bool ok = write_all(whole);
  in_line_ = false;
  if (ok) ++lines_;
  return ok;
}

}  // namespace mamsign::app
