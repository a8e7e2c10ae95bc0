#include "mamsign/smki/file_name.h"

#include "mamsign/base/times.h"

#include <algorithm>
#include <cstdio>

namespace mamsign {
namespace {

constexpr std::size_t kMaxS1spChars = 32;
constexpr std::size_t kMaxExtensionChars = 16;

bool is_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_alnum(char c) { return is_letter(c) || (c >= '0' && c <= '9'); }

std::string shape(const std::string& prefix) { return prefix + "_<S1SP>_<EUI-64>_<YYYYMMDD>_<HHMMSS>[.ext]"; }

Error name_error(std::string_view name, const std::string& expected, std::string_view problem) {
  return make_error(Reason::FileNameInvalid, printable(name) + " is not a migration file name: expected " + expected +
                                                 "; " + std::string(problem));
}

bool parse_fixed_digits(std::string_view s, int& a, int& b, int& c, std::size_t first) {
  // s holds 4+2+2 (date, first=4) or 2+2+2 (time, first=2) digits.
  if (s.size() != first + 4) return false;
  if (!std::all_of(s.begin(), s.end(), [](char ch) { return ch >= '0' && ch <= '9'; })) return false;
  auto num = [&](std::size_t pos, std::size_t n) {
    int v = 0;
    for (std::size_t i = pos; i < pos + n; ++i) v = v * 10 + (s[i] - '0');
    return v;
  };
  a = num(0, first);
  b = num(first, 2);
  c = num(first + 2, 2);
  return true;
}

}  // namespace

std::time_t MigrationFileName::timestamp() const { return utc_time(year, month, day, hour, minute, second); }

std::string MigrationFileName::timestamp_text() const { return format_iso8601(timestamp()); }

Result<MigrationFileName> parse_migration_file_name(std::string_view name, const std::vector<std::string>& prefixes) {
  // Longest prefix first, so that "MA" does not claim a name meant for "MA_DORMANT".
  std::vector<std::string> ordered = prefixes;
  std::sort(ordered.begin(), ordered.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  const std::string* prefix = nullptr;
  for (const auto& p : ordered) {
    if (name.size() > p.size() && name.substr(0, p.size()) == p && name[p.size()] == '_') {
      prefix = &p;
      break;
    }
  }
  if (prefix == nullptr) {
    std::string list;
    for (const auto& p : prefixes) list += (list.empty() ? "" : ", ") + p + "_";
    return name_error(name, shape("<PREFIX>"), "it does not start with one of " + list);
  }
  const std::string expected = shape(*prefix);
  std::string_view rest = name.substr(prefix->size() + 1);

  std::vector<std::string_view> parts;
  for (std::size_t start = 0;;) {
    const std::size_t us = rest.find('_', start);
    parts.push_back(rest.substr(start, us == std::string_view::npos ? std::string_view::npos : us - start));
    if (us == std::string_view::npos) break;
    start = us + 1;
  }
  if (parts.size() != 4) {
    return name_error(name, expected,
                      "after " + *prefix + "_ it has " + std::to_string(parts.size()) + " '_'-separated parts, not 4");
  }

  MigrationFileName out;
  out.prefix = *prefix;

  const std::string_view s1sp = parts[0];
  if (s1sp.empty() || s1sp.size() > kMaxS1spChars || !std::all_of(s1sp.begin(), s1sp.end(), is_letter)) {
    return name_error(name, expected, "the S1SP token " + printable(s1sp) + " is not 1 to 32 letters");
  }
  out.s1sp = std::string(s1sp);

  auto eui = Eui64::parse(parts[1]);
  if (!eui) return name_error(name, expected, "the EUI-64 part is wrong: " + eui.error().message);
  out.eui64 = *eui;

  if (!parse_fixed_digits(parts[2], out.year, out.month, out.day, 4)) {
    return name_error(name, expected, "the date " + printable(parts[2]) + " is not 8 digits YYYYMMDD");
  }
  if (!is_valid_date(out.year, out.month, out.day)) {
    return name_error(name, expected, "the date " + printable(parts[2]) + " does not exist");
  }

  std::string_view time = parts[3];
  const std::size_t dot = time.find('.');
  if (dot != std::string_view::npos) {
    const std::string_view ext = time.substr(dot + 1);
    if (ext.empty() || ext.size() > kMaxExtensionChars || !std::all_of(ext.begin(), ext.end(), is_alnum)) {
      return name_error(name, expected, "the extension " + printable(ext) + " is not 1 to 16 letters or digits");
    }
    out.extension = std::string(ext);
    time = time.substr(0, dot);
  }
  if (!parse_fixed_digits(time, out.hour, out.minute, out.second, 2)) {
    return name_error(name, expected, "the time " + printable(time) + " is not 6 digits HHMMSS");
  }
  if (out.hour > 23 || out.minute > 59 || out.second > 59) {
    return name_error(name, expected, "the time " + printable(time) + " does not exist");
  }
  return out;
}

}  // namespace mamsign
