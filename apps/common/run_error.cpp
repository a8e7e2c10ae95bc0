#include "common/run_error.h"

#include "common/app_common.h"
#include "common/output.h"

#include <cstring>
#include <exception>
#include <mutex>

namespace mamsign::app {
namespace {

struct RunError {
  std::optional<std::string> reason;
  std::string message;
};

std::mutex g_mutex;
std::optional<RunError> g_first;

// Whether the command line holds --json as an option (not after "--", where it would be a file name).
bool asks_for_json(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--") == 0) return false;
    if (std::strcmp(argv[i], "--json") == 0) return true;
  }
  return false;
}

// The reason a run's exit code means when no caller named one.
std::string reason_for(int code) {
  if (code == kExitUsage) return std::string(kUsageReason);
  if (code == kExitUnreadable) return std::string(reason_name(Reason::IoError));
  return std::string(reason_name(Reason::InvalidInput));
}

}  // namespace

void note_run_error(std::optional<std::string_view> reason, const std::string& message) {
  const std::lock_guard lock(g_mutex);
  if (g_first && (g_first->reason || !reason)) return;
  // A later message with a reason (the signer's CERT_EXPIRED) names the cause better than an earlier
  // one without; otherwise the first error said is the run's.
  if (!g_first) g_first = RunError{std::nullopt, message};
  if (reason) g_first = RunError{std::string(*reason), message};
}

int run_main(const char* program, int argc, char** argv, int (*run)(int, char**)) {
  int code = kExitUnreadable;
  try {
    code = run(argc, argv);
  } catch (const std::exception& e) {
    complain(program, std::string("internal error: ") + e.what() + " (exit code 3)");
  } catch (...) {
    complain(program, "internal error (exit code 3)");
  }
  const bool interrupted = code == kExitInterrupted || code == kExitTerminated;
  Output& out = Output::standard();
  if (code == kExitOk || interrupted || !asks_for_json(argc, argv) || out.lines_written() != 0 || out.failed()) {
    return code;
  }
  RunError error;
  {
    const std::lock_guard lock(g_mutex);
    error = g_first.value_or(RunError{std::nullopt, "the run ended with exit code " + std::to_string(code)});
  }
  if (!print_json(run_error_json(program, error.reason.value_or(reason_for(code)), error.message, code))) {
    return kExitUnreadable;
  }
  return code;
}

nlohmann::ordered_json run_error_json(const std::string& program, std::string_view reason, const std::string& message,
                                      int exit_code) {
  nlohmann::ordered_json j = json_object("run-error");
  j["program"] = program;
  j["result"] = exit_code == kExitUsage ? "usage" : exit_code == kExitFailed ? "failed" : "error";
  j["reason"] = std::string(reason);
  j["message"] = message;
  j["exit_code"] = exit_code;
  return j;
}

}  // namespace mamsign::app
