// The ledger's chain and head: reading and checking them (check_ledger, Ledger::open) and appending.
#include "mamsign/intake/ledger.h"

#include "base/json_object.h"
#include "mamsign/base/atomic_file.h"
#include "mamsign/base/io.h"
#include "mamsign/signature/digest.h"
#include "mamsign/smki/org_cert.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

namespace mamsign {
namespace {

constexpr std::size_t kMaxLine = 4u << 20;  // a verify result is a few KiB; a longer line is not ours
constexpr std::size_t kMaxHead = 4096;
const std::string kZero(64, '0');

std::string line_hash(std::string_view line) { return to_hex(sha256_bytes(line)); }

Error io_error(const std::filesystem::path& p, const std::string& what, int err) {
  return make_error(Reason::IoError, p.string() + ": " + what + ": " + errno_text(err));
}

Result<std::string> read_range(int fd, std::uint64_t from, std::uint64_t to, const std::filesystem::path& p) {
  std::string out(static_cast<std::size_t>(to - from), '\0');
  std::size_t done = 0;
  while (done < out.size()) {
    const ssize_t n = ::pread(fd, out.data() + done, out.size() - done, static_cast<off_t>(from + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return io_error(p, "cannot read", errno);
    if (n == 0) return make_error(Reason::IoError, p.string() + ": shorter than expected while reading");
    done += static_cast<std::size_t>(n);
  }
  return out;
}

Result<LedgerHead> read_head(const std::filesystem::path& ledger) {
  const auto path = ledger_head_path(ledger);
  auto text = read_small_file(path, kMaxHead, "the ledger's head");
  if (!text) return std::move(text).error();
  auto doc = detail::parse_json_object(*text, path.string());
  if (!doc) return std::move(doc).error();
  LedgerHead h;
  const auto& j = *doc;
  const auto entries = j.find("entries");
  const auto bytes = j.find("bytes");
  const auto last = j.find("last_sha256");
  if (entries == j.end() || !entries->is_number_unsigned() || bytes == j.end() || !bytes->is_number_unsigned() ||
      last == j.end() || !last->is_string() || last->get<std::string>().size() != 64) {
    return make_error(Reason::InvalidInput,
                      path.string() + ": not a ledger head (entries, bytes and a 64-digit last_sha256 expected)");
  }
  h.entries = entries->get<std::uint64_t>();
  h.bytes = bytes->get<std::uint64_t>();
  h.last_sha256 = last->get<std::string>();
  return h;
}

// What one line says of its place in the chain; an error message when it is not an entry at all.
struct LineFacts {
  std::uint64_t seq = 0;
  std::string prev;
};
Result<LineFacts> line_facts(std::string_view line, std::uint64_t number) {
  auto doc = detail::parse_json_object(line, "line " + std::to_string(number));
  if (!doc) return std::move(doc).error();
  const auto seq = doc->find("seq");
  const auto prev = doc->find("prev");
  if (seq == doc->end() || !seq->is_number_unsigned() || prev == doc->end() || !prev->is_string()) {
    return make_error(Reason::InvalidInput, "line " + std::to_string(number) + ": no seq and prev");
  }
  return LineFacts{seq->get<std::uint64_t>(), prev->get<std::string>()};
}

// The chain over `text` (complete lines from line `first`, the one before hashing to `prev`): the first
// line that breaks it, 0 when none. Lines are numbered from 1; an edited line shows as the next line's
// prev not matching, and is named itself.
struct ChainWalk {
  std::uint64_t lines = 0;
  std::string last;
  std::uint64_t bad = 0;
  std::string why;
};
ChainWalk walk_chain(std::string_view text, std::uint64_t first, std::string prev) {
  ChainWalk w;
  w.last = std::move(prev);
  std::size_t at = 0;
  while (at < text.size()) {
    const std::size_t nl = text.find('\n', at);
    const std::uint64_t number = first + w.lines;
    if (nl == std::string_view::npos) {
      w.bad = number;
      w.why = "line " + std::to_string(number) + " is incomplete (no newline): cut off mid-write";
      return w;
    }
    const std::string_view line = text.substr(at, nl - at);
    auto facts = line_facts(line, number);
    if (!facts) {
      w.bad = number;
      w.why = facts.error().message;
      return w;
    }
    if (facts->seq != number) {
      w.bad = number;
      w.why = "line " + std::to_string(number) + " says it is entry " + std::to_string(facts->seq) +
              ": a line before it was deleted, or lines were reordered";
      return w;
    }
    if (facts->prev != w.last) {
      w.bad = number > 1 ? number - 1 : number;
      w.why = number > 1 ? "line " + std::to_string(number - 1) + " was changed: line " + std::to_string(number) +
                               " records another SHA-256 for it"
                         : "line 1 does not start the chain (its prev is not zero)";
      return w;
    }
    w.last = line_hash(line);
    ++w.lines;
    at = nl + 1;
  }
  return w;
}

// The lines of an open file, read through a buffer: each with its newline (the last may have none). A
// line whose text reaches `max` bytes is handed back cut, with too_long() set; a read error ends it.
class LineReader {
 public:
  LineReader(int fd, std::size_t max) : fd_(fd), max_(max) {}
  bool next(std::string& line) {
    line.clear();
    while (true) {
      if (at_ == end_ && !fill()) return !line.empty();
      const char* start = buf_.data() + at_;
      const auto* nl = static_cast<const char*>(std::memchr(start, '\n', end_ - at_));
      const std::size_t n = nl != nullptr ? static_cast<std::size_t>(nl - start) + 1 : end_ - at_;
      line.append(start, n);
      at_ += n;
      const std::size_t text = line.size() - (nl != nullptr ? 1 : 0);
      if (text >= max_) {
        too_long_ = true;
        return true;
      }
      if (nl != nullptr) return true;
    }
  }
  bool too_long() const noexcept { return too_long_; }
  int error() const noexcept { return error_; }

 private:
  bool fill() {
    at_ = end_ = 0;
    ssize_t n = 0;
    do {
      n = ::read(fd_, buf_.data(), buf_.size());
    } while (n < 0 && errno == EINTR);
    if (n < 0) error_ = errno;
    if (n <= 0) return false;
    end_ = static_cast<std::size_t>(n);
    return true;
  }
  int fd_;
  std::size_t max_;
  std::array<char, 64 * 1024> buf_{};
  std::size_t at_ = 0, end_ = 0;
  bool too_long_ = false;
  int error_ = 0;
};

}  // namespace

std::filesystem::path ledger_head_path(const std::filesystem::path& ledger) {
  return std::filesystem::path(ledger.string() + ".head");
}

LedgerCheck check_ledger(const std::filesystem::path& file) {
  LedgerCheck c;
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    c.message = file.string() + ": cannot open: " + errno_text(errno);
    return c;
  }
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  // A watcher holds an exclusive lock for as long as it runs.
  const bool watcher_running = ::flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
  LineReader lines(fd, kMaxLine);
  std::string text;  // a line with its newline (the last may have none)
  std::string prev = kZero;
  std::uint64_t number = 0, bytes = 0;
  // Line by line through a buffer, bounded: a year's ledger is not read into memory at once.
  while (lines.next(text)) {
    ++number;
    if (lines.too_long()) {
      c.bad_line = number;
      c.message = "line " + std::to_string(number) + " is longer than 4 MiB: not a ledger entry";
      return c;
    }
    const ChainWalk w = walk_chain(text, number, prev);
    if (w.bad != 0) {
      c.entries = number - 1;
      c.bad_line = w.bad;
      c.message = w.why;
      return c;
    }
    prev = w.last;
    bytes += text.size();
  }
  if (lines.error() != 0) {
    c.message = file.string() + ": cannot read: " + errno_text(lines.error());
    return c;
  }
  c.entries = number;
  auto head = read_head(file);
  if (!head) {
    c.message = head.error().message;
    return c;
  }
  const std::string counts = "the ledger has " + std::to_string(c.entries) + " entries (" + std::to_string(bytes) +
                             " bytes), its head says " + std::to_string(head->entries) + " (" +
                             std::to_string(head->bytes) + " bytes)";
  if (head->entries > c.entries || head->bytes > bytes) {
    c.bad_line = c.entries + 1;
    c.message = counts + ": lines were cut off the end";
    return c;
  }
  if (head->entries < c.entries) {
    if (!watcher_running) {
      c.bad_line = head->entries + 1;
      c.message = counts + ": lines were added after the head, and no watcher is running to write it";
      return c;
    }
    c.notes.push_back(counts + ": a running watcher writes the head just after each append");
  } else if (head->last_sha256 != prev || head->bytes != bytes) {
    c.bad_line = c.entries;
    c.message = "line " + std::to_string(c.entries) + " is not the last line the head records: it was changed";
    return c;
  }
  c.ok = true;
  c.message = std::to_string(c.entries) + " entries, chain and head intact, last sha256 " + prev;
  return c;
}

Result<std::unique_ptr<Ledger>> Ledger::open(const std::filesystem::path& file, std::vector<std::string>& notes) {
  if (auto s = check_path_bytes(file.string(), "--ledger"); !s) return s.error();
  const int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (fd < 0) return io_error(file, "cannot open the ledger", errno);
  std::unique_ptr<Ledger> ledger(new Ledger(file, fd));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    return make_error(Reason::InvalidInput,
                      file.string() + ": another watcher holds this ledger: one ledger, one watcher");
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) return io_error(file, "cannot stat", errno);
  const auto size = static_cast<std::uint64_t>(st.st_size);
  const bool head_exists = std::filesystem::exists(ledger_head_path(file));
  if (!head_exists) {
    if (size != 0) {
      return make_error(Reason::InvalidInput, file.string() + ": the ledger has no head (" +
                                                  ledger_head_path(file).string() +
                                                  "): it was removed; mam-verify --check-ledger says what is left");
    }
    if (auto s = ledger->write_head(); !s) return s.error();
    notes.push_back("a new ledger: " + file.string());
    return ledger;
  }
  auto head = read_head(file);
  if (!head) return std::move(head).error();
  if (size < head->bytes) {
    return make_error(Reason::InvalidInput, file.string() + ": " + std::to_string(size) + " bytes, but its head says " +
                                                std::to_string(head->bytes) +
                                                ": lines were cut off the end; mam-verify --check-ledger");
  }
  // The head's last line must be the ledger's line ending at head.bytes.
  if (head->bytes > 0) {
    const std::uint64_t from = head->bytes > kMaxLine ? head->bytes - kMaxLine : 0;
    auto tail = read_range(fd, from, head->bytes, file);
    if (!tail) return std::move(tail).error();
    std::string_view t = *tail;
    if (t.empty() || t.back() != '\n') {
      return make_error(Reason::InvalidInput, file.string() + ": the head's end is not the end of a line");
    }
    t.remove_suffix(1);
    const std::size_t nl = t.rfind('\n');
    const std::string_view last = nl == std::string_view::npos ? t : t.substr(nl + 1);
    if (line_hash(last) != head->last_sha256) {
      return make_error(Reason::InvalidInput, file.string() + ": its line " + std::to_string(head->entries) +
                                                  " is not the one its head records: it was changed; "
                                                  "mam-verify --check-ledger");
    }
  }
  ledger->head_ = *head;
  if (size > head->bytes) {
    auto after = read_range(fd, head->bytes, size, file);
    if (!after) return std::move(after).error();
    ChainWalk w = walk_chain(*after, head->entries + 1, head->last_sha256);
    std::uint64_t good_bytes = 0;
    {
      // The bytes of the complete, chained lines.
      std::size_t at = 0;
      for (std::uint64_t i = 0; i < w.lines; ++i) at = after->find('\n', at) + 1;
      good_bytes = at;
    }
    const bool torn_tail = w.bad != 0 && after->find('\n', good_bytes) == std::string::npos;
    if (w.bad != 0 && !torn_tail) {
      return make_error(Reason::InvalidInput, file.string() + ": after its head: " + w.why);
    }
    if (torn_tail) {
      const auto cut = head->bytes + good_bytes;
      if (::ftruncate(fd, static_cast<off_t>(cut)) != 0 || ::fdatasync(fd) != 0) {
        return io_error(file, "cannot cut off the torn last line", errno);
      }
      notes.push_back("cut off a torn last line (" + std::to_string(size - cut) +
                      " bytes) left by a crash mid-append; its files are recovered from the pending journal");
    }
    ledger->head_.entries += w.lines;
    ledger->head_.bytes += good_bytes;
    if (w.lines > 0) {
      ledger->head_.last_sha256 = w.last;
      notes.push_back("the head caught up with " + std::to_string(w.lines) +
                      " entries written before a crash: " + file.string());
    }
    if (auto s = ledger->write_head(); !s) return s.error();
  }
  return ledger;
}

Ledger::~Ledger() {
  if (fd_ >= 0) ::close(fd_);
}

Status Ledger::write_head() {
  const std::string text = "{\"schema\":\"mamsign/ledger-head/1\",\"entries\":" + std::to_string(head_.entries) +
                           ",\"bytes\":" + std::to_string(head_.bytes) + ",\"last_sha256\":\"" + head_.last_sha256 +
                           "\"}\n";
  WriteOptions o;
  o.replace = Replace::Yes;
  o.sync = true;
  o.mode = 0640;
  return write_file_atomically(ledger_head_path(path_), text, o);
}

Status Ledger::append(const std::vector<std::string>& entries) {
  if (entries.empty()) return Status::ok();
  std::string out;
  LedgerHead next = head_;
  for (const auto& e : entries) {
    if (e.size() < 3 || e.front() != '{' || e.back() != '}' || e.find('\n') != std::string::npos) {
      return make_error(Reason::InvalidInput, "a ledger entry must be one JSON object on one line");
    }
    ++next.entries;
    std::string line = "{\"schema\":\"mamsign/ledger-entry/1\",\"seq\":" + std::to_string(next.entries) +
                       ",\"prev\":\"" + next.last_sha256 + "\"," + e.substr(1);
    next.last_sha256 = line_hash(line);
    out += line;
    out += '\n';
  }
  next.bytes += out.size();
  std::size_t done = 0;
  int err = 0;
  while (done < out.size()) {
    const ssize_t n = ::write(fd_, out.data() + done, out.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      err = n < 0 ? errno : EIO;
      break;
    }
    done += static_cast<std::size_t>(n);
  }
  if (err == 0 && ::fdatasync(fd_) != 0) err = errno;
  if (err != 0) {
    // Nothing of a failed append stays: a later append must not follow half a line.
    if (::ftruncate(fd_, static_cast<off_t>(head_.bytes)) == 0) (void)::fdatasync(fd_);
    return io_error(path_, "cannot append to the ledger", err);
  }
  head_ = next;
  return write_head();
}

Result<std::vector<std::string>> Ledger::lines_after(std::uint64_t offset) const {
  struct stat st {};
  if (::fstat(fd_, &st) != 0) return io_error(path_, "cannot stat", errno);
  const auto size = static_cast<std::uint64_t>(st.st_size);
  if (offset > size) return std::vector<std::string>{};
  auto text = read_range(fd_, offset, size, path_);
  if (!text) return std::move(text).error();
  std::vector<std::string> lines;
  std::size_t at = 0;
  while (at < text->size()) {
    const std::size_t nl = text->find('\n', at);
    if (nl == std::string::npos) break;
    lines.push_back(text->substr(at, nl - at));
    at = nl + 1;
  }
  return lines;
}

}  // namespace mamsign
