// A run that ends before its first result still answers a script that asked for JSON: one object,
// schema mamsign/run-error/1 (docs/schema/run-error.schema.json), with the reason and the message that
// standard error gave. Every app's main() runs through run_main(), which also turns an exception that
// escaped into an error (exit 3), never a crash.
#pragma once

#include "mamsign/base/error.h"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace mamsign::app {

// The reason code of a run that stopped at a usage error (exit 2): not a file's reason, the run's.
inline constexpr std::string_view kUsageReason = "USAGE";
// --require-files, and no file to work on (exit 1).
inline constexpr std::string_view kNoFilesReason = "NO_FILES";

// Keeps the first error said on standard error (complain() calls this; warnings and notes are not
// errors), with its reason when the caller knows it.
void note_run_error(std::optional<std::string_view> reason, const std::string& message);

// {"schema": "mamsign/run-error/1", "version", "program", "result": "usage"|"error"|"failed", "reason",
// "message", "exit_code"}.
nlohmann::ordered_json run_error_json(const std::string& program, std::string_view reason, const std::string& message,
                                      int exit_code);

// Runs `run`; then, when the command line asked for --json, the run ends with a failure and nothing was
// written on standard output, writes the run-error object. Returns the exit code.
int run_main(const char* program, int argc, char** argv, int (*run)(int, char**));

}  // namespace mamsign::app
