#include "mamsign/base/times.h"

#include <cstdio>

namespace mamsign {
namespace {

// Reads exactly `n` digits at `pos`.
bool digits(std::string_view s, std::size_t pos, std::size_t n, int& out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const char c = s[pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  out = v;
  return true;
}

Error time_error(std::string_view text, std::string_view problem) {
  return make_error(Reason::InvalidInput,
                    "expected an ISO 8601 time such as 2026-11-28T12:00:00Z or 2026-11-28, found " + printable(text) +
                        ": " + std::string(problem));
}

}  // namespace

bool is_valid_date(int year, int month, int day) {
  if (year < 1 || month < 1 || month > 12 || day < 1) return false;
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  const int max = (month == 2 && leap) ? 29 : kDays[month - 1];
  return day <= max;
}

Result<std::time_t> parse_iso8601(std::string_view text) {
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!digits(text, 0, 4, year) || text.size() < 10 || text[4] != '-' || !digits(text, 5, 2, month) || text[7] != '-' ||
      !digits(text, 8, 2, day)) {
    return time_error(text, "the date is not YYYY-MM-DD");
  }
  if (!is_valid_date(year, month, day)) return time_error(text, "there is no such date");
  std::size_t pos = 10;
  long offset_seconds = 0;
  if (pos < text.size()) {
    if (text[pos] != 'T' && text[pos] != 't' && text[pos] != ' ') {
      return time_error(text, "expected 'T' after the date");
    }
    if (!digits(text, pos + 1, 2, hour) || pos + 3 >= text.size() || text[pos + 3] != ':' ||
        !digits(text, pos + 4, 2, minute)) {
      return time_error(text, "the time is not HH:MM[:SS]");
    }
    pos += 6;
    if (pos < text.size() && text[pos] == ':') {
      if (!digits(text, pos + 1, 2, second)) return time_error(text, "the seconds are not two digits");
      pos += 3;
      if (pos < text.size() && (text[pos] == '.' || text[pos] == ',')) {
        ++pos;  // fractions of a second are accepted and dropped
        const std::size_t start = pos;
        while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') ++pos;
        if (pos == start) return time_error(text, "no digits after the decimal point");
      }
    }
    if (hour > 23 || minute > 59 || second > 59) return time_error(text, "there is no such time of day");
    if (pos < text.size()) {
      const char z = text[pos];
      if ((z == 'Z' || z == 'z') && pos + 1 == text.size()) {
        pos += 1;
      } else if (z == '+' || z == '-') {
        int oh = 0, om = 0;
        if (!digits(text, pos + 1, 2, oh) || pos + 6 != text.size() || text[pos + 3] != ':' ||
            !digits(text, pos + 4, 2, om) || oh > 23 || om > 59) {
          return time_error(text, "the zone offset is not +HH:MM or -HH:MM");
        }
        offset_seconds = (oh * 3600L + om * 60L) * (z == '+' ? 1 : -1);
        pos = text.size();
      } else {
        return time_error(text, "unexpected text after the time");
      }
    }
  }
  return static_cast<std::time_t>(utc_time(year, month, day, hour, minute, second) - offset_seconds);
}

std::time_t utc_time(int year, int month, int day, int hour, int minute, int second) {
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  return timegm(&tm);
}

std::string format_iso8601(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[80];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

std::optional<std::time_t> to_time_t(const ASN1_TIME* t) {
  if (t == nullptr) return std::nullopt;
  std::tm tm{};
  if (ASN1_TIME_to_tm(t, &tm) != 1) return std::nullopt;
  return timegm(&tm);
}

Result<std::time_t> parse_duration(std::string_view text) {
  constexpr std::time_t kMax = 366 * 86400;
  auto bad = [&] {
    return make_error(Reason::InvalidInput,
                      "the duration " + printable(text, 32) +
                          " is not a whole number with a unit s, m, h or d (e.g. 90s, 30m, 12h, 7d), at most 366d");
  };
  if (text == "0") return std::time_t{0};
  if (text.size() < 2 || text.size() > 12) return bad();
  std::time_t unit = 0;
  switch (text.back()) {
    case 's': unit = 1; break;
    case 'm': unit = 60; break;
    case 'h': unit = 3600; break;
    case 'd': unit = 86400; break;
    default: return bad();
  }
  std::time_t n = 0;
  for (char c : text.substr(0, text.size() - 1)) {
    if (c < '0' || c > '9') return bad();
    n = n * 10 + (c - '0');
    if (n * unit > kMax) return bad();
  }
  return n * unit;
}

std::string format_duration(std::time_t seconds) {
  for (auto [unit, suffix] : {std::pair<std::time_t, char>{86400, 'd'}, {3600, 'h'}, {60, 'm'}}) {
    if (seconds != 0 && seconds % unit == 0) return std::to_string(seconds / unit) + suffix;
  }
  return std::to_string(seconds) + "s";
}

}  // namespace mamsign
