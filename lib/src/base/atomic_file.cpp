#include "mamsign/base/atomic_file.h"

#include "mamsign/base/io.h"

#include <openssl/rand.h>

#include <algorithm>
#include <cerrno>
#include <iterator>
#include <csignal>
#include <cstdio>
#include <fcntl.h>
#include <sys/stat.h>
#include <pthread.h>
#include <limits>
#include <string>
#include <unistd.h>

namespace mamsign {
namespace {

constexpr std::string_view kMarker = ".mamsign-tmp.";

Error write_error(const std::filesystem::path& target, const std::string& problem) {
  return make_error(Reason::IoError, "cannot write " + target.string() + ": " + problem);
}

// This process's id, asked once (and again in a forked child): temporaries carry it.
pid_t own_pid() {
  static pid_t pid = [] {
    pthread_atfork(nullptr, nullptr, [] { pid = ::getpid(); });
    return ::getpid();
  }();
  return pid;
}

// 48 random bits for a temporary's name: uniqueness, not secrecy, is what matters (O_EXCL catches any
// collision), so a per-thread generator seeded once from the system's RNG does, without a trip to
// OpenSSL's RNG (and its fork check) per file.
std::string random_hex() {
  thread_local std::uint64_t state = [] {
    std::uint64_t seed = 0;
    if (RAND_bytes(reinterpret_cast<unsigned char*>(&seed), sizeof seed) != 1) {
      seed =
          static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(&seed)) ^ static_cast<std::uint64_t>(own_pid());
    }
    return seed | 1;
  }();
  // xorshift64*
  state ^= state >> 12;
  state ^= state << 25;
  state ^= state >> 27;
  const std::uint64_t v = state * 0x2545F4914F6CDD1DULL;
  char buf[16];
  std::snprintf(buf, sizeof buf, "%012llx", static_cast<unsigned long long>(v >> 16));
  return buf;
}

bool write_all(int fd, std::string_view bytes) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    done += static_cast<std::size_t>(n);
  }
  return true;
}

void sync_folder(const std::filesystem::path& folder) {
  const int fd = ::open(folder.empty() ? "." : folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

// InvalidInput when `target` (as the rename would see it) is the same file as one of `inputs`.
Status check_not_an_input(const std::filesystem::path& target, const std::vector<std::filesystem::path>& inputs) {
  if (inputs.empty()) return Status::ok();
  struct stat at {};
  if (::lstat(target.c_str(), &at) != 0) return Status::ok();  // nothing there to replace
  for (const auto& input : inputs) {
    struct stat in {};
    if (::stat(input.c_str(), &in) == 0 && in.st_dev == at.st_dev && in.st_ino == at.st_ino) {
      return make_error(Reason::InvalidInput, "refusing to write " + target.string() + ": it is the input " +
                                                  input.string() + " itself; nothing was written");
    }
  }
  return Status::ok();
}

}  // namespace

Result<std::filesystem::path> write_temporary(const std::filesystem::path& target, std::string_view bytes,
                                              const WriteOptions& options) {
  // A NUL in the path would make the kernel write to the name before it ("F\0.p7s" is F).
  if (target.native().find('\0') != std::string::npos) {
    return make_error(Reason::InvalidInput, "refusing to write " + printable(target.native()) +
                                                ": the path holds a NUL byte; nothing was written");
  }
  // ".<target>.mamsign-tmp.<pid>.<random>" must fit a file name (255 bytes) whenever the target does:
  // the target's part is cut to 200 bytes (the marker, pid and random part take at most 36).
  std::string temp_name(1, '.');
  temp_name.append(target.filename().string().substr(0, 200)).append(kMarker).append(std::to_string(own_pid()));
  temp_name.append(1, '.').append(random_hex());
  std::filesystem::path temp = target.parent_path() / temp_name;

  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, options.mode);
  if (fd < 0) return write_error(target, errno_text(errno));
  bool ok = write_all(fd, bytes);
  int err = ok ? 0 : errno;
  if (ok && options.sync && ::fsync(fd) != 0) {
    ok = false;
    err = errno;
  }
  if (::close(fd) != 0 && ok) {
    ok = false;
    err = errno;
  }
  if (!ok) {
    ::unlink(temp.c_str());
    return write_error(target, errno_text(err));
  }
  return temp;
}

Status publish_temporary(const std::filesystem::path& temp, const std::filesystem::path& target,
                         const WriteOptions& options) {
  int err = 0;
  // Just before the rename, so that a target swapped for the input while writing is still found.
  if (auto st = check_not_an_input(target, options.inputs); !st) {
    ::unlink(temp.c_str());
    return st;
  }
  if (options.replace == Replace::Yes) {
    if (::rename(temp.c_str(), target.c_str()) != 0) {
      err = errno;
      ::unlink(temp.c_str());
      return write_error(target, errno_text(err));
    }
  } else {
    // Never replace: the rename fails if the target appeared meanwhile.
    int rc = ::renameat2(AT_FDCWD, temp.c_str(), AT_FDCWD, target.c_str(), RENAME_NOREPLACE);
    if (rc != 0 && (errno == EINVAL || errno == ENOSYS)) {
      // File systems without RENAME_NOREPLACE: link() fails on an existing target just the same.
      rc = ::link(temp.c_str(), target.c_str());
      if (rc == 0) ::unlink(temp.c_str());
    }
    if (rc != 0) {
      err = errno;
      ::unlink(temp.c_str());
      if (err == EEXIST) {
        return make_error(Reason::SignatureExists, target.string() + " already exists; use --force to replace it");
      }
      return write_error(target, errno_text(err));
    }
  }
  if (options.sync) sync_folder(target.parent_path());
  return Status::ok();
}

Status write_file_atomically(const std::filesystem::path& target, std::string_view bytes, const WriteOptions& options) {
  auto temp = write_temporary(target, bytes, options);
  if (!temp) return std::move(temp).error();
  return publish_temporary(*temp, target, options);
}

bool is_temporary_name(std::string_view name) {
  return !name.empty() && name.front() == '.' && name.find(kMarker) != std::string_view::npos;
}

std::size_t remove_stale_temporaries(const std::filesystem::path& folder, const std::vector<std::string>* names) {
  // Names first, removals after: a folder is not changed while it is being read.
  std::vector<std::string> temporaries;
  if (names != nullptr) {
    std::copy_if(names->begin(), names->end(), std::back_inserter(temporaries), is_temporary_name);
  } else {
    for_each_entry(folder, [&](std::string_view name, unsigned char, int) {
      if (is_temporary_name(name)) temporaries.emplace_back(name);
    });
  }
  std::size_t removed = 0;
  std::error_code ec;
  for (const auto& name : temporaries) {
    // ".<target>.mamsign-tmp.<pid>.<random>": the owner is gone when kill(pid, 0) says ESRCH.
    const std::size_t at = name.rfind(kMarker);
    const std::string rest = name.substr(at + kMarker.size());
    const std::size_t dot = rest.find('.');
    if (dot == std::string::npos) continue;
    const std::string digits = rest.substr(0, dot);
    char* end = nullptr;
    const long pid = std::strtol(digits.c_str(), &end, 10);
    if (digits.empty() || *end != '\0' || pid <= 0 || pid > std::numeric_limits<pid_t>::max()) continue;
    if (pid != own_pid() && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) {
      if (std::filesystem::remove(folder / name, ec)) ++removed;
    }
  }
  return removed;
}

}  // namespace mamsign
