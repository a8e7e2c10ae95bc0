// SHA-256 over a file's exact bytes, streamed through a fixed buffer: constant memory for any size.
#pragma once

#include <openssl/evp.h>

#include "mamsign/base/error.h"
#include "mamsign/base/io.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace mamsign {

// SHA-256 as OpenSSL 3 wants it for speed: fetched once (EVP_sha256() is looked up again on every use).
const EVP_MD* sha256_md();

using Sha256 = std::array<std::uint8_t, 32>;

Result<Sha256> sha256_file(const std::filesystem::path& path);
Sha256 sha256_bytes(std::string_view bytes);

// The file's digest after undoing one of the changes a file suffers between systems, and what that
// change was, said as what happened after signing: "line endings were changed from CRLF to LF".
struct DigestVariant {
  std::string change;
  Sha256 digest;
};

// The file's digest, and the digests of the file with its final line end removed or one added (as
// variants), from the same single pass: they cost a copy of the hash state, not a second read.
struct FileDigest {
  Sha256 digest{};
  std::vector<DigestVariant> final_line_end;
};
Result<FileDigest> sha256_file_and_ends(const std::filesystem::path& path);

// Every variant that differs from the file as it is: CRLF<->LF (the direction the first chunk shows), a
// UTF-8 BOM added or removed, both, and each of those with the final line end removed or added; computed
// in one more pass over the file, the variants hashed side by side on several threads.
// `with_file_as_is`: also the final-line-end variants of the unchanged file (sha256_file_and_ends has
// them already, so a caller holding those leaves them out and saves a whole hash of the file).
Result<std::vector<DigestVariant>> sha256_variants(const std::filesystem::path& path, bool with_file_as_is = true);

}  // namespace mamsign
