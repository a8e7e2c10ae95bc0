// SHA-256 over a file's exact bytes, streamed through a fixed buffer: constant memory for any size.
#pragma once

#include "mamsign/error.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace mamsign {

using Sha256 = std::array<std::uint8_t, 32>;

// The read buffer of every streamed file (one per thread).
inline constexpr std::size_t kReadBufferBytes = 256 * 1024;

Result<Sha256> sha256_file(const std::filesystem::path& path);
Sha256 sha256_bytes(std::string_view bytes);

// The file's digest after undoing one of the changes a file suffers between systems, and what that
// change was, said as what happened after signing: "line endings were changed from CRLF to LF".
struct DigestVariant {
  std::string change;
  Sha256 digest;
};

// Every variant that differs from the file as it is (CRLF<->LF, a UTF-8 BOM added or removed, and
// both together), computed in one more pass over the file.
Result<std::vector<DigestVariant>> sha256_variants(const std::filesystem::path& path);

}  // namespace mamsign
