// Certificate IDs: a certificate's serial as the SMKI repository shows it (SPEC section 2).
#pragma once

#include "mamsign/base/error.h"

#include <string>
#include <string_view>

namespace mamsign {

enum class IdBase { Hex, Decimal };

// Accepts up to 16 octets of hex in either case, with or without ':' or ' ' between octets and with or
// without leading zeros; decimal only when asked for. Returns the canonical form: 32 upper-case hex
// digits. IdSyntax otherwise, with a message that shows the input.
Result<std::string> parse_certificate_id(std::string_view text, IdBase base = IdBase::Hex);

}  // namespace mamsign
