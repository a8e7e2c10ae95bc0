// Instants as the tools show and accept them: ISO 8601 in UTC.
#pragma once

#include "mamsign/base/error.h"

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
// The instant of a civil date and time in UTC (no range checks: is_valid_date first).
std::time_t utc_time(int year, int month, int day, int hour = 0, int minute = 0, int second = 0);

// A length of time: a whole number with a unit, "90s", "30m", "12h", "7d" ("0" alone is zero). At
// most 366 days. InvalidInput otherwise, saying what is accepted.
Result<std::time_t> parse_duration(std::string_view text);
// "0s", "90s", "30m", "12h", "7d": the largest unit that divides it.
std::string format_duration(std::time_t seconds);

}  // namespace mamsign
