// Instants as the tools show and accept them: ISO 8601 in UTC.
#pragma once

#include "mamsign/error.h"

#include <openssl/asn1.h>

#include <ctime>
#include <optional>
#include <string>
#include <string_view>

namespace mamsign {

// Accepts YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS[.fff]] with 'Z', +HH:MM, -HH:MM or no zone (read as UTC);
// 'T' may be a space. Rejects impossible dates and times.
Result<std::time_t> parse_iso8601(std::string_view text);
// 2026-11-28T12:00:00Z
std::string format_iso8601(std::time_t t);
std::optional<std::time_t> to_time_t(const ASN1_TIME* t);
bool is_valid_date(int year, int month, int day);

}  // namespace mamsign
