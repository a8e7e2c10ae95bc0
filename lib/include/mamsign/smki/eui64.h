// EUI-64 identifiers: SEC User IDs, device IDs and the x500UniqueIdentifier of SMKI certificates.
#pragma once

#include "mamsign/base/error.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace mamsign {

// Which of the eight octets (index 0 = first) decide that two User IDs belong to the same SEC party
// (MAM 7.2.2). The project's default: the first seven (SPEC section 2).
using PartyOctets = std::array<bool, 8>;
inline constexpr PartyOctets kDefaultPartyOctets{true, true, true, true, true, true, true, false};

class Eui64 {
 public:
  using Octets = std::array<std::uint8_t, 8>;

  Eui64() = default;
  explicit Eui64(const Octets& octets) : octets_(octets) {}

  // Accepts 16 hex digits, bare or as eight pairs separated by one kind of separator ('-', ':' or
  // ' '), in either case. Anything else is an error whose message shows the input.
  static Result<Eui64> parse(std::string_view text);

  const Octets& octets() const noexcept { return octets_; }
  // Canonical text: 70-B3-D5-1F-30-00-A0-08.
  std::string to_string() const;
  // The party this ID belongs to, with the octets that do not count shown as "xx":
  // 70-B3-D5-1F-30-00-A0-xx.
  std::string party_string(const PartyOctets& party = kDefaultPartyOctets) const;
  bool same_party(const Eui64& other, const PartyOctets& party = kDefaultPartyOctets) const noexcept;

  friend bool operator==(const Eui64&, const Eui64&) = default;
  friend auto operator<=>(const Eui64&, const Eui64&) = default;

 private:
  Octets octets_{};
};

}  // namespace mamsign

template <>
struct std::hash<mamsign::Eui64> {
  std::size_t operator()(const mamsign::Eui64& e) const noexcept {
    std::uint64_t v = 0;
    for (auto o : e.octets()) v = (v << 8) | o;
    return std::hash<std::uint64_t>{}(v);
  }
};
