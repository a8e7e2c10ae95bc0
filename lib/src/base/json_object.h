// Internal: the one place the library turns outside JSON text (a profile, registration data) into
// values, with errors that name where the text came from. Outside JSON is bounded before anything
// recurses over it: nesting depth, and every exception nlohmann can throw (a number that overflows,
// bad UTF-8) becomes an InvalidInput error, never an abort.
#pragma once

#include "mamsign/base/error.h"

#include <nlohmann/json.hpp>

#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace mamsign::detail {

// Deeper than any file of ours needs (a profile or registration file is 3 levels deep); far below what
// would exhaust a stack in anything that walks the value.
inline constexpr int kMaxJsonDepth = 16;

// A value described for a message without walking it: "an array", "a string \"x\"", "the number 3".
inline std::string describe_json(const nlohmann::json& v) {
  switch (v.type()) {
    case nlohmann::json::value_t::object: return "an object";
    case nlohmann::json::value_t::array: return "an array";
    case nlohmann::json::value_t::string: return "the string " + printable(v.get_ref<const std::string&>(), 64);
    case nlohmann::json::value_t::null: return "null";
    case nlohmann::json::value_t::boolean: return v.get<bool>() ? "true" : "false";
    default: return "the number " + printable(v.dump(), 32);
  }
}

inline Error json_error(std::string_view origin, const std::string& problem) {
  return make_error(Reason::InvalidInput, std::string(origin) + ": " + problem);
}

// A JSON object from outside. InvalidInput: not JSON, not an object, nested deeper than kMaxJsonDepth,
// a key that appears twice in one object (JSON parsers disagree on which one wins: we take neither).
inline Result<nlohmann::json> parse_json_object(std::string_view text, std::string_view origin) {
  struct Refused {
    std::string why;
  };
  std::vector<std::set<std::string>> keys;  // the keys seen in each open object
  const nlohmann::json::parser_callback_t bound = [&](int depth, nlohmann::json::parse_event_t event,
                                                      nlohmann::json& parsed) {
    using E = nlohmann::json::parse_event_t;
    if (depth > kMaxJsonDepth) throw Refused{"nested deeper than " + std::to_string(kMaxJsonDepth) + " levels"};
    if (event == E::object_start) keys.emplace_back();
    if (event == E::object_end && !keys.empty()) keys.pop_back();
    if (event == E::key && !keys.empty() && !keys.back().insert(parsed.get<std::string>()).second) {
      throw Refused{"the key " + printable(parsed.get<std::string>(), 64) + " appears twice in one object"};
    }
    return true;
  };
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(text, bound);
  } catch (const Refused& r) {
    return json_error(origin, r.why);
  } catch (const nlohmann::json::exception& e) {
    return json_error(origin, std::string("not valid JSON: ") + e.what());
  }
  if (!doc.is_object()) return json_error(origin, "expected a JSON object, found " + describe_json(doc));
  return doc;
}

}  // namespace mamsign::detail
