#include "mamsign/smki/certificate_id.h"

#include "mamsign/base/ossl.h"

#include <openssl/err.h>

#include <algorithm>
#include <cctype>

namespace mamsign {
namespace {

constexpr std::size_t kHexDigits = 32;

Error id_error(std::string_view text, const std::string& problem) {
  return make_error(Reason::IdSyntax, "expected a certificate ID of up to 32 hex digits (16 octets), found " +
                                          printable(text) + ": " + problem);
}

}  // namespace

Result<std::string> parse_certificate_id(std::string_view text, IdBase base) {
  if (text.empty()) return id_error(text, "it is empty");
  if (text.size() > 128) return id_error(text, "it is far too long");
  if (base == IdBase::Decimal) {
    if (!std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return id_error(text, "a decimal ID holds digits only");
    }
    BIGNUM* raw = nullptr;
    const std::string digits(text);
    if (BN_dec2bn(&raw, digits.c_str()) == 0) return id_error(text, "not a decimal number");
    BignumPtr bn(raw);
    if (BN_num_bytes(bn.get()) > 16) return id_error(text, "it is larger than 16 octets");
    OsslStringPtr hex(BN_bn2hex(bn.get()));
    std::string out = std::string(hex.get()) == "0" ? "" : hex.get();
    if (out.empty()) return id_error(text, "a serial number is never zero");
    return std::string(kHexDigits - out.size(), '0') + out;
  }
  // Separators go between octets: "0A:1B" or "0a 1b" ("A:1B" too: a leading zero dropped), never "0A::1B".
  std::string hex;
  char separator = 0;
  std::size_t group = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (std::isxdigit(static_cast<unsigned char>(c))) {
      hex += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      ++group;
      continue;
    }
    if (c == ':' || c == ' ') {
      if (separator != 0 && c != separator) return id_error(text, "it mixes ':' and ' '");
      if (group != 2 && !(hex.size() == group && group == 1)) {
        return id_error(text, "a separator must come after every two hex digits");
      }
      if (i + 1 == text.size()) return id_error(text, "it ends with a separator");
      separator = c;
      group = 0;
      continue;
    }
    return id_error(text, "character " + std::to_string(i + 1) + " is not a hex digit");
  }
  if (separator != 0 && group != 2) return id_error(text, "a separator must come after every two hex digits");
  hex.erase(0, std::min(hex.find_first_not_of('0'), hex.size()));
  if (hex.empty()) return id_error(text, "a serial number is never zero");
  if (hex.size() > kHexDigits) return id_error(text, "it is longer than 16 octets");
  return std::string(kHexDigits - hex.size(), '0') + hex;
}

}  // namespace mamsign
