// Reading files from outside: always bounded, never trusting the size a file claims to have.
#pragma once

#include "mamsign/base/error.h"

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace mamsign {

// The read buffer of every streamed file (one per thread).
inline constexpr std::size_t kReadBufferBytes = 256 * 1024;

// A path that holds a NUL byte names another file than it says (the kernel stops at the NUL: "F\0.p7s"
// is "F"), so every path from outside is refused with one before it is used: IoError naming `what`.
Status check_path_bytes(std::string_view path, std::string_view what);

// Configuration that decides what is trusted (the profile, trust anchors, CRLs) must not be writable by
// others than its owner and root, as sudo and ssh require of theirs: InvalidInput when the file or a
// folder above it is group- or world-writable (a sticky folder such as /tmp is fine, but then the entry
// in it must be owned by root or by this user), naming the path, its mode and the chmod that mends it.
Status check_not_writable_by_others(const std::filesystem::path& path, std::string_view what);

// The whole of a small file (certificates, keys, signatures, profiles). IoError when it cannot be
// read or is not a regular file; InvalidInput when it is larger than `max_bytes`. `what` names the
// file's role in messages ("signature", "certificate").
Result<std::string> read_small_file(const std::filesystem::path& path, std::size_t max_bytes, std::string_view what);

// IoError unless `path` is a regular file this process may read, with the system's reason ("cannot read
// file X: No such file or directory") or "it is not a regular file": asked before anything is judged of
// a file, so that a path that cannot be read is IO_ERROR in every app, whatever its name.
Status check_readable_file(const std::filesystem::path& path, std::string_view what);
// The same without asking for permission (one system call less, for a caller that opens the file next
// and so learns of EACCES as an IoError anyway).
Status check_regular_file(const std::filesystem::path& path, std::string_view what);

// What may be read: a regular file, or (for secrets: `--pass-file <(...)`) also a pipe or FIFO.
enum class Readable { RegularFile, RegularFileOrPipe };

// A regular file read front to back through the caller's buffer, for files of any size.
class SequentialFile {
 public:
  // Opens without blocking and checks the kind before any read: a FIFO, a device or a folder where a
  // file is expected is an IoError at once, never a wait for a writer that does not come.
  static Result<SequentialFile> open(const std::filesystem::path& path, std::string_view what,
                                     Readable readable = Readable::RegularFile);
  SequentialFile(SequentialFile&& other) noexcept;
  SequentialFile& operator=(SequentialFile&& other) noexcept;
  SequentialFile(const SequentialFile&) = delete;
  SequentialFile& operator=(const SequentialFile&) = delete;
  ~SequentialFile();

  // Fills `buffer` unless the file ends first; returns the bytes read (0 at the end).
  Result<std::size_t> read(std::span<std::uint8_t> buffer);
  std::uint64_t size_at_open() const noexcept { return size_; }
  // After reading: FileChanged when the file's size, mtime or ctime differ from what they were at open,
  // or its path now names another file (replaced by a rename): the bytes read may mix two versions.
  Status check_unchanged() const;

  // What identifies a version of a file: device and inode, then size and the two times.
  struct Stamp {
    std::uint64_t dev = 0, ino = 0, size = 0;
    std::int64_t mtime_ns = 0, ctime_ns = 0;
  };

 private:
  static Result<SequentialFile> open_pipe(const std::filesystem::path& path, std::string_view what);
  SequentialFile(int fd, Stamp stamp, std::filesystem::path path)
      : fd_(fd), size_(stamp.size), stamp_(stamp), path_(std::move(path)) {}
  int fd_ = -1;
  std::uint64_t size_ = 0;
  Stamp stamp_;
  std::filesystem::path path_;
};

// The regular files in a folder (and its sub-folders with `recursive`), sorted; hidden files and folders
// are left out (their names go to `hidden` when given, without `recursive`: what a caller looking for
// its own temporaries needs, without listing the folder again), and so are files whose name `skip`
// (when given) says to leave out, before any path is made for them. IoError naming the folder as
// "<what> folder" when it cannot be listed.
Result<std::vector<std::filesystem::path>> list_files(const std::filesystem::path& folder, bool recursive,
                                                      std::string_view what, std::vector<std::string>* hidden = nullptr,
                                                      bool (*skip)(std::string_view name) = nullptr);

// Calls `fn(name, type, dir_fd)` for each entry of a folder but "." and "..", in the file system's order:
// `type` is the entry's DT_* type of <dirent.h> (DT_UNKNOWN when the file system does not say) and
// `dir_fd` the open folder, for asking more (is_regular_entry). Plain readdir: no path is built per entry
// (a listing of 2,000 files is mostly the kernel's own getdents time). Returns the errno of a
// folder that cannot be opened or read, 0 when all went well.
int for_each_entry(const std::filesystem::path& folder,
                   const std::function<void(std::string_view name, unsigned char type, int dir_fd)>& fn);

// Whether a folder entry is a regular file, following a symbolic link as stat does (a dangling link is
// not); the type from for_each_entry spares the system call when the file system gave it.
bool is_regular_entry(int dir_fd, std::string_view name, unsigned char type);

// "No such file or directory" for errno values, for messages.
std::string errno_text(int err);

}  // namespace mamsign
