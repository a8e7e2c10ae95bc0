#include "mamsign/base/io.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace mamsign {
namespace {

Error io_error(std::string_view what, const std::filesystem::path& path, const std::string& problem) {
  return make_error(Reason::IoError, "cannot read " + std::string(what) + " " + path.string() + ": " + problem);
}

constexpr off_t kSequentialHintBytes = 1 << 20;

SequentialFile::Stamp stamp_of(const struct stat& st) {
  SequentialFile::Stamp s;
  s.dev = static_cast<std::uint64_t>(st.st_dev);
  s.ino = static_cast<std::uint64_t>(st.st_ino);
  s.size = static_cast<std::uint64_t>(st.st_size);
  s.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  s.ctime_ns = static_cast<std::int64_t>(st.st_ctim.tv_sec) * 1000000000 + st.st_ctim.tv_nsec;
  return s;
}

std::string mode_text(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

}  // namespace

Status check_path_bytes(std::string_view path, std::string_view what) {
  if (path.find('\0') == std::string_view::npos) return Status::ok();
  return make_error(Reason::IoError, "cannot read " + std::string(what) + " " + printable(path) +
                                         ": the path holds a NUL byte, which no file name can hold");
}

namespace {

// Each folder (or file) from `at` up to the root: InvalidInput when one is writable by its group or by
// everyone (a sticky folder such as /tmp excepted), or when an entry of a sticky folder others may write
// is neither root's nor this user's.
Status check_up_to_root(std::filesystem::path at, const std::filesystem::path& named, const std::filesystem::path& real,
                        std::string_view what) {
  const uid_t me = ::geteuid();
  auto refuse = [&](const std::filesystem::path& where, const std::string& problem) {
    return make_error(Reason::InvalidInput,
                      "refusing " + std::string(what) + " " + named.string() + ": " +
                          (where == real ? std::string("it ") : where.string() + ", a folder above it, ") + problem +
                          "; what decides trust must be writable only by its owner and root");
  };
  for (int depth = 0; depth < 4096; ++depth) {
    struct stat st {};
    if (::stat(at.c_str(), &st) != 0) {
      return make_error(Reason::IoError,
                        "cannot read " + std::string(what) + " " + named.string() + ": " + errno_text(errno));
    }
    const bool sticky = S_ISDIR(st.st_mode) && (st.st_mode & S_ISVTX) != 0;
    if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0 && !sticky) {
      return refuse(at, "is writable by " + std::string((st.st_mode & S_IWOTH) != 0 ? "everyone" : "its group") +
                            " (mode " + mode_text(st.st_mode) + "; chmod go-w " + at.string() + ")");
    }
    if (!at.has_relative_path()) return Status::ok();  // the root folder, checked
    // A sticky folder others may write (/tmp) lets them create entries, not replace ours: an entry in
    // one must be root's or this user's.
    struct stat parent {};
    const std::filesystem::path up = at.parent_path();
    if (::stat(up.c_str(), &parent) == 0 && (parent.st_mode & S_ISVTX) != 0 &&
        (parent.st_mode & (S_IWGRP | S_IWOTH)) != 0 && st.st_uid != 0 && st.st_uid != me) {
      return refuse(at, "is owned by another user (uid " + std::to_string(st.st_uid) + ") in " + up.string() +
                            ", a folder others may write");
    }
    at = up;
  }
  return refuse(at, "lies deeper than any real path");
}

}  // namespace

Status check_not_writable_by_others(const std::filesystem::path& path, std::string_view what) {
  if (auto st = check_path_bytes(path.native(), what); !st) return st;
  std::error_code ec;
  const std::filesystem::path real = std::filesystem::canonical(path, ec);
  if (ec)
    return make_error(Reason::IoError, "cannot read " + std::string(what) + " " + path.string() + ": " + ec.message());
  // Along the real path, and along the folders of the path as named: a symbolic link's own folder
  // decides what the link points to.
  if (auto st = check_up_to_root(real, path, real, what); !st) return st;
  const std::filesystem::path named_folder = std::filesystem::absolute(path, ec).parent_path();
  if (ec)
    return make_error(Reason::IoError, "cannot read " + std::string(what) + " " + path.string() + ": " + ec.message());
  return check_up_to_root(named_folder, path, real, what);
}

Status SequentialFile::check_unchanged() const {
  struct stat now {};
  if (::fstat(fd_, &now) != 0) return io_error("file", path_, errno_text(errno));
  const Stamp after = stamp_of(now);
  std::string what;
  if (after.size != stamp_.size) {
    what = "its size went from " + std::to_string(stamp_.size) + " to " + std::to_string(after.size) + " bytes";
  } else if (after.mtime_ns != stamp_.mtime_ns || after.ctime_ns != stamp_.ctime_ns) {
    what = "it was written to or its status changed";
  } else {
    struct stat named {};
    if (::stat(path_.c_str(), &named) != 0) {
      what = "its name is gone (" + errno_text(errno) + ")";
    } else if (static_cast<std::uint64_t>(named.st_dev) != stamp_.dev ||
               static_cast<std::uint64_t>(named.st_ino) != stamp_.ino) {
      what = "its name now names another file";
    }
  }
  if (what.empty()) return Status::ok();
  return make_error(Reason::FileChanged, path_.string() + " changed while it was being read: " + what);
}

Result<SequentialFile> SequentialFile::open_pipe(const std::filesystem::path& path, std::string_view what) {
  if (auto bad = check_path_bytes(path.native(), what); !bad) return std::move(bad).error();
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return io_error(what, path, errno_text(errno));
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISFIFO(st.st_mode)) {
    ::close(fd);
    return io_error(what, path, "it changed while it was opened");
  }
  return SequentialFile(fd, Stamp{}, path);
}

Status check_readable_file(const std::filesystem::path& path, std::string_view what) {
  if (auto st = check_regular_file(path, what); !st) return st;
  if (::access(path.c_str(), R_OK) != 0) return io_error(what, path, errno_text(errno));
  return Status::ok();
}

Status check_regular_file(const std::filesystem::path& path, std::string_view what) {
  if (auto bad = check_path_bytes(path.native(), what); !bad) return bad;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return io_error(what, path, errno_text(errno));
  if (!S_ISREG(st.st_mode)) {
    const char* kind = S_ISDIR(st.st_mode)                          ? "a folder"
                       : S_ISFIFO(st.st_mode)                       ? "a FIFO"
                       : S_ISSOCK(st.st_mode)                       ? "a socket"
                       : S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) ? "a device"
                                                                    : "something else";
    return io_error(what, path, std::string("it is ") + kind + ", not a regular file");
  }
  return Status::ok();
}

std::string errno_text(int err) {
  char buf[256];
  // GNU strerror_r returns a pointer to the message, which may or may not be buf.
  return strerror_r(err, buf, sizeof buf);
}

Result<SequentialFile> SequentialFile::open(const std::filesystem::path& path, std::string_view what,
                                            Readable readable) {
  // A pipe given for a secret is opened as a pipe is: waiting for its writer. (Opened without blocking,
  // a FIFO whose writer has not come yet would read as empty.)
  if (auto bad = check_path_bytes(path.native(), what); !bad) return std::move(bad).error();
  struct stat named {};
  if (readable == Readable::RegularFileOrPipe && ::stat(path.c_str(), &named) == 0 && S_ISFIFO(named.st_mode)) {
    return open_pipe(path, what);
  }
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer, before any check could run.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) return io_error(what, path, errno_text(errno));
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return io_error(what, path, errno_text(err));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return io_error(what, path,
                    S_ISDIR(st.st_mode)                          ? "it is a directory"
                    : S_ISFIFO(st.st_mode)                       ? "it is a FIFO (named pipe), not a regular file"
                    : S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) ? "it is a device, not a regular file"
                    : S_ISSOCK(st.st_mode)                       ? "it is a socket, not a regular file"
                                                                 : "it is not a regular file");
  }
  // A regular file reads the same with O_NONBLOCK (Linux ignores it for regular files), so it stays set:
  // two fcntl calls less per file. The read-ahead hint is worth its call only for large files.
  if (st.st_size > kSequentialHintBytes) posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  return SequentialFile(fd, stamp_of(st), path);
}

SequentialFile::SequentialFile(SequentialFile&& other) noexcept
    : fd_(other.fd_), size_(other.size_), stamp_(other.stamp_), path_(std::move(other.path_)) {
  other.fd_ = -1;
}

SequentialFile& SequentialFile::operator=(SequentialFile&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    size_ = other.size_;
    stamp_ = other.stamp_;
    path_ = std::move(other.path_);
    other.fd_ = -1;
  }
  return *this;
}

SequentialFile::~SequentialFile() {
  if (fd_ >= 0) ::close(fd_);
}

Result<std::size_t> SequentialFile::read(std::span<std::uint8_t> buffer) {
  std::size_t total = 0;
  while (total < buffer.size()) {
    const ssize_t n = ::read(fd_, buffer.data() + total, buffer.size() - total);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      return io_error("file", path_, errno_text(errno));
    }
    total += static_cast<std::size_t>(n);
  }
  return total;
}

Result<std::string> read_small_file(const std::filesystem::path& path, std::size_t max_bytes, std::string_view what) {
  auto file = SequentialFile::open(path, what);
  if (!file) return std::move(file).error();
  // The size stat reported is a hint, not a promise: read until the end, one byte past the limit at
  // most, so "exactly at the limit" and "larger" are told apart whatever the file does meanwhile.
  const std::size_t limit = max_bytes + 1;
  std::string out;
  std::size_t chunk = static_cast<std::size_t>(std::min<std::uint64_t>(file->size_at_open(), max_bytes)) + 1;
  for (;;) {
    const std::size_t have = out.size();
    const std::size_t want = std::min(chunk, limit - have);
    out.resize(have + want);
    auto n = file->read(std::span(reinterpret_cast<std::uint8_t*>(out.data()) + have, want));
    if (!n) return std::move(n).error();
    out.resize(have + *n);
    if (*n < want || out.size() >= limit) break;
    chunk = 64 * 1024;
  }
  if (out.size() > max_bytes) {
    return make_error(Reason::InvalidInput, std::string(what) + " " + path.string() + " is larger than " +
                                                std::to_string(max_bytes) + " bytes");
  }
  return out;
}

Result<std::vector<std::filesystem::path>> list_files(const std::filesystem::path& folder, bool recursive,
                                                      std::string_view what, std::vector<std::string>* hidden_names,
                                                      bool (*skip)(std::string_view name)) {
  auto hidden = [](const std::filesystem::path& p) {
    const std::string name = p.filename().string();
    return !name.empty() && name.front() == '.';
  };
  std::vector<std::filesystem::path> out;
  std::error_code ec;
  if (recursive) {
    std::filesystem::recursive_directory_iterator it(folder, std::filesystem::directory_options::skip_permission_denied,
                                                     ec);
    for (; !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      if (hidden(it->path())) {
        if (it->is_directory(ec)) it.disable_recursion_pending();
        continue;
      }
      if ((skip == nullptr || !skip(it->path().filename().string())) && it->is_regular_file(ec))
        out.push_back(it->path());
    }
  } else {
    // Names sorted as strings, then made paths: the same order as sorting the paths (one folder), without
    // a path built and split for every entry and every comparison.
    std::vector<std::string> names;
    const int err = for_each_entry(folder, [&](std::string_view name, unsigned char type, int dir_fd) {
      if (name.front() == '.') {
        if (hidden_names != nullptr) hidden_names->emplace_back(name);
      } else if ((skip == nullptr || !skip(name)) && is_regular_entry(dir_fd, name, type)) {
        names.emplace_back(name);
      }
    });
    if (err != 0)
      return make_error(Reason::IoError,
                        "cannot read " + std::string(what) + " folder " + folder.string() + ": " + errno_text(err));
    std::sort(names.begin(), names.end());
    out.reserve(names.size());
    for (const auto& name : names) out.push_back(folder / name);
    return out;
  }
  if (ec)
    return make_error(Reason::IoError,
                      "cannot read " + std::string(what) + " folder " + folder.string() + ": " + ec.message());
  std::sort(out.begin(), out.end());
  return out;
}

int for_each_entry(const std::filesystem::path& folder,
                   const std::function<void(std::string_view name, unsigned char type, int dir_fd)>& fn) {
  DIR* dir = ::opendir(folder.empty() ? "." : folder.c_str());
  if (dir == nullptr) return errno;
  const int dir_fd = ::dirfd(dir);
  int err = 0;
  for (;;) {
    errno = 0;
    const dirent* entry = ::readdir(dir);
    if (entry == nullptr) {
      err = errno;
      break;
    }
    const std::string_view name(entry->d_name);
    if (name == "." || name == "..") continue;
    fn(name, entry->d_type, dir_fd);
  }
  ::closedir(dir);
  return err;
}

bool is_regular_entry(int dir_fd, std::string_view name, unsigned char type) {
  if (type == DT_REG) return true;
  if (type != DT_LNK && type != DT_UNKNOWN) return false;
  struct stat st {};
  return ::fstatat(dir_fd, std::string(name).c_str(), &st, 0) == 0 && S_ISREG(st.st_mode);
}

}  // namespace mamsign
