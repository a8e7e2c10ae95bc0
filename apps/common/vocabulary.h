// One vocabulary for every app: the words a result is shown with, in text and in JSON. A new app takes
// its words from here, so that the same outcome never reads differently in two tools.
#pragma once

#include "mamsign/base/error.h"

#include <string_view>

namespace mamsign::app {

enum class Verb { Sign, Verify };

// Text: "FAILED" (verify) or "REFUSED" (sign); "ERROR" whenever an input could not be read (IO_ERROR,
// FILE_CHANGED).
constexpr std::string_view failure_word(Verb verb, Reason reason) {
  if (is_input_error(reason)) return "ERROR";
  return verb == Verb::Sign ? "REFUSED" : "FAILED";
}

// JSON "result" of a failure: "invalid" (verify) or "refused" (sign); "error" for an unreadable input.
constexpr std::string_view failure_result(Verb verb, Reason reason) {
  if (is_input_error(reason)) return "error";
  return verb == Verb::Sign ? "refused" : "invalid";
}

// Outcomes: the JSON "result" and the summary's word.
inline constexpr std::string_view kValid = "valid";
inline constexpr std::string_view kSigned = "signed";
inline constexpr std::string_view kSkipped = "skipped";
inline constexpr std::string_view kOk = "OK";

}  // namespace mamsign::app
