// Meter point numbers: the MPAN core (electricity, 13 digits with a check digit, first two digits the
// distributor ID) and the MPRN (gas, 6 to 10 digits, no check digit). SPEC section 2.
#pragma once

#include "mamsign/base/error.h"

#include <string>
#include <string_view>

namespace mamsign {

enum class MpxnKind { Mpan, Mprn };

struct Mpxn {
  MpxnKind kind;
  std::string digits;
  // The MPAN's distributor ID (its first two digits); empty for an MPRN.
  std::string distributor_id() const { return kind == MpxnKind::Mpan ? digits.substr(0, 2) : std::string(); }
};

// MpxnInvalid, with a message saying what is wrong (and the check digit expected for a 13-digit MPAN).
Result<Mpxn> parse_mpxn(std::string_view text);

// The check digit of an MPAN core whose first twelve digits are `first12` (digits only).
int mpan_check_digit(std::string_view first12);

}  // namespace mamsign
