#include "mamsign/smki/eui64.h"

#include <cstdio>

namespace mamsign {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Error eui_error(std::string_view text, std::string_view problem) {
  return make_error(Reason::IdSyntax,
                    "expected an EUI-64 such as 70-B3-D5-1F-30-00-A0-08 (8 octets in hex, separated "
                    "by '-', ':' or ' ', or not at all), found " +
                        printable(text) + ": " + std::string(problem));
}

}  // namespace

Result<Eui64> Eui64::parse(std::string_view text) {
  Octets octets{};
  std::size_t step = 0;  // 2: bare hex digits; 3: pairs with a separator
  if (text.size() == 16) {
    step = 2;
  } else if (text.size() == 23) {
    step = 3;
  } else {
    return eui_error(text, std::to_string(text.size()) + " characters, not 16 or 23");
  }
  const char separator = step == 3 ? text[2] : '\0';
  if (step == 3 && separator != '-' && separator != ':' && separator != ' ') {
    return eui_error(text, "character 3 is not a separator");
  }
  for (std::size_t i = 0; i < 8; ++i) {
    const std::size_t at = i * step;
    const int hi = hex_value(text[at]);
    const int lo = hex_value(text[at + 1]);
    if (hi < 0 || lo < 0) {
      return eui_error(text, "octet " + std::to_string(i + 1) + " is not two hex digits");
    }
    octets[i] = static_cast<std::uint8_t>(hi * 16 + lo);
    if (step == 3 && i < 7 && text[at + 2] != separator) {
      return eui_error(text, "separators differ (first " + printable(std::string(1, separator)) + ", then " +
                                 printable(text.substr(at + 2, 1)) + ")");
    }
  }
  return Eui64(octets);
}

std::string Eui64::to_string() const {
  return party_string(PartyOctets{true, true, true, true, true, true, true, true});
}

std::string Eui64::party_string(const PartyOctets& party) const {
  std::string out;
  out.reserve(23);
  for (std::size_t i = 0; i < 8; ++i) {
    if (i) out += '-';
    if (party[i]) {
      char buf[3];
      std::snprintf(buf, sizeof buf, "%02X", octets_[i]);
      out += buf;
    } else {
      out += "xx";
    }
  }
  return out;
}

bool Eui64::same_party(const Eui64& other, const PartyOctets& party) const noexcept {
  for (std::size_t i = 0; i < 8; ++i) {
    if (party[i] && octets_[i] != other.octets_[i]) return false;
  }
  return true;
}

}  // namespace mamsign
