#include "mamsign/smki/mpxn.h"

#include <algorithm>

namespace mamsign {

int mpan_check_digit(std::string_view first12) {
  static constexpr int kPrimes[12] = {3, 5, 7, 13, 17, 19, 23, 29, 31, 37, 41, 43};
  int sum = 0;
  for (std::size_t i = 0; i < 12 && i < first12.size(); ++i) sum += (first12[i] - '0') * kPrimes[i];
  return sum % 11 % 10;
}

Result<Mpxn> parse_mpxn(std::string_view text) {
  const bool all_digits =
      !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (!all_digits) {
    return make_error(Reason::MpxnInvalid, "expected an MPAN core (13 digits) or an MPRN (6 to 10 digits), found " +
                                               printable(text) + ": it is not all digits");
  }
  if (text.size() == 13) {
    const int want = mpan_check_digit(text.substr(0, 12));
    const int have = text[12] - '0';
    if (want != have) {
      return make_error(Reason::MpxnInvalid, "MPAN core " + std::string(text) + " has check digit " +
                                                 std::to_string(have) + "; its first twelve digits give " +
                                                 std::to_string(want));
    }
    return Mpxn{MpxnKind::Mpan, std::string(text)};
  }
  if (text.size() >= 6 && text.size() <= 10) return Mpxn{MpxnKind::Mprn, std::string(text)};
  return make_error(Reason::MpxnInvalid, "expected an MPAN core (13 digits) or an MPRN (6 to 10 digits), found " +
                                             std::to_string(text.size()) + " digits: " + std::string(text));
}

}  // namespace mamsign
