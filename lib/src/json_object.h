// Internal: the one place the library turns outside JSON text (a profile, registration data) into a
// JSON object, with errors that name where the text came from.
#pragma once

#include "mamsign/error.h"

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace mamsign::detail {

inline Result<nlohmann::json> parse_json_object(std::string_view text, std::string_view origin) {
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    return make_error(Reason::InvalidInput, std::string(origin) + ": not valid JSON: " + e.what());
  }
  if (!doc.is_object()) return make_error(Reason::InvalidInput, std::string(origin) + ": expected a JSON object");
  return doc;
}

}  // namespace mamsign::detail
