// Bytes as text: lower-case hex, and whether bytes are well-formed UTF-8. Uses nothing else of ours.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace mamsign {

// Lower-case hex of bytes (digests in JSON, fingerprints in messages, names that are not UTF-8).
std::string to_hex(const std::uint8_t* data, std::size_t size);
inline std::string to_hex(std::string_view bytes) {
  return to_hex(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
}
template <std::size_t N>
std::string to_hex(const std::array<std::uint8_t, N>& a) {
  return to_hex(a.data(), a.size());
}

// Well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing past U+10FFFF). Control
// characters are well-formed; whether they may be shown is the caller's question.
bool is_utf8(std::string_view s);

}  // namespace mamsign
