#include "common/output.h"

#include "mamsign/io.h"

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
  // A regular file is cut back to where the line began: a script never reads half a result.
  if (line_start_ >= 0) {
    [[maybe_unused]] const int rc = ::ftruncate(fd_, static_cast<off_t>(line_start_));
  }
}

bool Output::write_all(std::string_view bytes) {
  std::size_t done = 0;
  while (done < bytes.size()) {
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

void Output::begin_line() {
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
