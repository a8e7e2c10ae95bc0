// Output files appear whole or not at all: written to a temporary beside the target, then renamed.
// Temporaries have a recognisable name (".<target>.mamsign-tmp.<pid>.<random>") so they are never
// mistaken for signatures, and a later run removes those whose process is gone (even after kill -9).
#pragma once

#include "mamsign/base/error.h"

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace mamsign {

enum class Replace { No, Yes };

struct WriteOptions {
  Replace replace = Replace::No;
  bool sync = false;   // fsync the file and its folder before returning (survives power loss)
  mode_t mode = 0644;  // before umask; private keys use 0600
  // The files the output was made from: the target is never one of them (the same device and inode),
  // whatever its name says, so no output ever replaces its own input.
  std::vector<std::filesystem::path> inputs;
};

// SignatureExists when the target exists and Replace::No; InvalidInput when the target is one of
// `inputs` or its path holds a NUL byte; IoError for anything the system refuses.
Status write_file_atomically(const std::filesystem::path& target, std::string_view bytes,
                             const WriteOptions& options = {});

// write_file_atomically in its two steps, for callers that write outputs on several threads and make
// them appear later, in an order of their own: the temporary beside `target` (written and, with sync,
// fsync'd), then its rename to `target` (the temporary is removed if that fails). A temporary never
// published is removed by remove_stale_temporaries once its process is gone.
Result<std::filesystem::path> write_temporary(const std::filesystem::path& target, std::string_view bytes,
                                              const WriteOptions& options = {});
Status publish_temporary(const std::filesystem::path& temp, const std::filesystem::path& target,
                         const WriteOptions& options = {});

// True for names this library gives its temporaries.
bool is_temporary_name(std::string_view file_name);

// Removes the temporaries in `folder` left by processes that no longer run; returns how many. With
// `names` (the folder's hidden entries, as a listing just found them), only those are considered and the
// folder is not listed again.
std::size_t remove_stale_temporaries(const std::filesystem::path& folder,
                                     const std::vector<std::string>* names = nullptr);

}  // namespace mamsign
