#include "common/batch_ui.h"

#include "common/app_common.h"
#include "common/run_error.h"

#include <csignal>
#include <cstdio>
#include <iostream>
#include <unistd.h>

namespace mamsign::app {
namespace {

std::atomic<bool> g_stop{false};
std::atomic<int> g_signal{0};

extern "C" void on_stop_signal(int sig) {
  // A second signal is the user insisting: end now (files in flight write to temporaries, which the
  // next run removes; a signature is never left partial under its own name).
  if (g_stop.exchange(true)) _exit(128 + sig);
  g_signal.store(sig);
}

// "1 file", "2 files".
std::string files_text(std::size_t n) { return std::to_string(n) + (n == 1 ? " file" : " files"); }

}  // namespace

void add_batch_flags(CLI::App& app, BatchFlags& flags, const std::string& files_help, bool with_jobs) {
  app.add_option("--from", flags.from, "read more FILEs from LIST, one path a line ('-': standard input); repeatable")
      ->allow_extra_args(false)
      ->option_text("LIST");
  app.add_flag("--null", flags.null_separated, "--from lists are NUL-separated, as find -print0 writes");
  app.add_flag("-r,--recursive", flags.recursive, "descend into the sub-folders of folder arguments");
  if (with_jobs) {
    app.add_option("-j,--jobs", flags.jobs, "threads (default: the cores available)")
        ->check(CLI::Range(1u, 1024u))
        ->option_text("N");
  }
  app.add_flag("--fail-fast", flags.fail_fast, "stop taking new files after the first failure");
  app.add_flag("-q,--quiet", flags.quiet,
               "print only failures and errors: no line for a success, no progress line, no summary unless "
               "something failed");
  app.add_flag("--require-files", flags.require_files,
               "no file to work on (an empty folder or list) is exit 1, not 0 (profile: require_files)");
  app.add_option("files", flags.files, files_help)->option_text("FILE|DIR...");
}

std::optional<std::vector<std::filesystem::path>> collect(
    const std::string& program, const BatchFlags& flags, int& exit_code,
    std::map<std::filesystem::path, std::vector<std::string>>* hidden_in_folder) {
  if (flags.files.empty() && flags.from.empty()) {
    complain_usage(program, "no files named: give files, folders, or --from LIST", program);
    exit_code = kExitUsage;
    return std::nullopt;
  }
  if (flags.null_separated && flags.from.empty()) {
    complain_usage(program, "--null says how --from lists are separated, but no --from was given", program);
    exit_code = kExitUsage;
    return std::nullopt;
  }
  InputOptions options;
  options.recursive = flags.recursive;
  options.null_separated = flags.null_separated;
  options.data_of_lone_signatures = flags.data_of_lone_signatures;
  auto inputs = collect_inputs(flags.files, flags.from, &std::cin, options);
  if (!inputs) {
    complain(program, inputs.error().message, inputs.error().reason);
    exit_code = exit_code_for(inputs.error().reason) == kExitUnreadable ? kExitUnreadable : kExitUsage;
    return std::nullopt;
  }
  for (const auto& s : inputs->skipped) complain(program, "warning: " + s);
  if (!inputs->named_signatures.empty()) {
    // The tools take data files and find each one's signature beside it: a signature named alone would
    // be skipped, and a run that checked nothing would look like success.
    auto said = [](const NamedSignature& named) {
      return named.signature.string() + " is a signature, not a data file: " +
             (named.data_exists ? "name its data file " + named.data.string() + " (its signature is found beside it)"
                                : "its data file " + named.data.string() + " is not there");
    };
    const auto& named = inputs->named_signatures;
    for (std::size_t i = 1; i < named.size(); ++i) text_line(std::cerr, program + ": " + said(named[i]));
    complain_usage(
        program,
        said(named.front()) +
            (named.size() == 1 ? std::string() : " (and " + std::to_string(named.size() - 1) + " more, above)") +
            "; nothing was done",
        program);
    exit_code = kExitUsage;
    return std::nullopt;
  }
  if (hidden_in_folder != nullptr) *hidden_in_folder = std::move(inputs->hidden_in_folder);
  return std::move(inputs->files);
}

const std::atomic<bool>& install_stop_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  return g_stop;
}

void report_output_failure(const std::string& program) {
  const Output& out = Output::standard();
  complain(program, "cannot write results to standard output: " + out.error() + "; " +
                        std::to_string(out.lines_written()) +
                        " result line(s) were written whole, the rest were not written (exit code 3)");
}

void end_if_stop_is_overdue() {
  static std::optional<std::chrono::steady_clock::time_point> stop_seen;
  if (!g_stop.load()) return;
  const auto now = std::chrono::steady_clock::now();
  if (!stop_seen) stop_seen = now;
  if (now - *stop_seen < kStopGrace) return;
  // A file in flight is stuck (a hung network mount, a device): the run ends anyway; every result
  // delivered was written already (results go straight to the file descriptor, unbuffered).
  Output::standard().flush();  // results held for a batched write go out before the end
  std::cerr << "\nstopped by signal; files still in flight after " << kStopGrace.count() << " s were abandoned"
            << std::endl;
  _exit(interrupted_exit_code());
}

int interrupted_exit_code() {
  const int sig = g_signal.load();
  return sig == 0 ? 0 : 128 + sig;
}

Progress::Progress(std::size_t total, bool enabled)
    : total_(total),
      enabled_(enabled && ::isatty(STDERR_FILENO) == 1),
      stdout_is_terminal_(::isatty(STDOUT_FILENO) == 1),
      start_(std::chrono::steady_clock::now()),
      last_(start_) {}

void Progress::update(std::size_t done) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  // At most four times a second, however fast files go by.
  if (now - last_ < std::chrono::milliseconds(250)) return;
  last_ = now;
  shown_ = true;
  const double seconds = std::chrono::duration<double>(now - start_).count();
  const double rate = seconds > 0 ? static_cast<double>(done) / seconds : 0;
  char line[160];
  if (rate > 0) {
    std::snprintf(line, sizeof line, "\r%zu/%zu files, %.0f files/s, %.0f s left ", done, total_, rate,
                  static_cast<double>(total_ - done) / rate);
  } else {
    std::snprintf(line, sizeof line, "\r%zu/%zu files ", done, total_);
  }
  std::cerr << line << std::flush;
}

void Progress::before_output() {
  if (stdout_is_terminal_) clear();
}

void Progress::clear() {
  if (shown_) std::cerr << "\r\033[K" << std::flush;
  shown_ = false;
}

nlohmann::ordered_json summary_json(const std::string& program, const Tally& tally, std::size_t total, double seconds) {
  nlohmann::ordered_json j = json_object("summary");
  j["program"] = program;
  j["files"] = tally.files;
  j["results"] = nlohmann::ordered_json::object();
  for (const auto& [result, n] : tally.results) j["results"][result] = n;
  j["reasons"] = nlohmann::ordered_json::object();
  for (const auto& [reason, n] : tally.failures) j["reasons"][std::string(reason_name(reason))] = n;
  j["not_processed"] = total - tally.files;
  j["interrupted"] = interrupted_exit_code() != 0;
  j["seconds"] = static_cast<double>(static_cast<long long>(seconds * 1000.0 + 0.5)) / 1000.0;
  j["files_per_second"] =
      seconds > 0
          ? static_cast<double>(static_cast<long long>(static_cast<double>(tally.files) / seconds * 10.0 + 0.5)) / 10.0
          : 0.0;
  return j;
}

int no_files(const std::string& program, const BatchFlags& flags, const std::string& verb) {
  const int code = flags.require_files ? kExitFailed : kExitOk;
  const std::string message = "0 files: the folders and lists given hold no file to " + verb;
  if (flags.require_files || !flags.quiet) {
    text_line(std::cerr, program + ": " + message + (flags.require_files ? " (--require-files: exit 1)" : ""));
  }
  if (flags.json) {
    if (flags.require_files) print_json(run_error_json(program, kNoFilesReason, message, code));
    print_json(summary_json(program, Tally{}, 0, 0.0));
  }
  return code;
}

void print_summary(const std::string& program, const Tally& tally, std::size_t total, double seconds,
                   const std::string& failed_word) {
  std::string line = program + ": " + files_text(tally.files);
  std::string parts;
  for (const auto& [what, n] : tally.outcomes) parts += (parts.empty() ? "" : ", ") + std::to_string(n) + " " + what;
  // Failures in two groups, in the words JSON uses: judged ("refused", "failed") and not judged because
  // an input could not be read ("error": IO_ERROR, FILE_CHANGED).
  for (const bool input_errors : {false, true}) {
    std::size_t count = 0;
    std::string why;
    for (const auto& [reason, n] : tally.failures) {
      if (is_input_error(reason) != input_errors) continue;
      count += n;
      why += (why.empty() ? "" : ", ") + std::string(reason_name(reason)) + " " + std::to_string(n);
    }
    if (count == 0) continue;
    parts += (parts.empty() ? "" : ", ") + std::to_string(count) + " " + (input_errors ? "error" : failed_word) + " (" +
             why + ")";
  }
  if (!parts.empty()) line += ": " + parts;
  char timing[96];
  std::snprintf(timing, sizeof timing, " in %.2f s, %.0f files/s", seconds,
                seconds > 0 ? static_cast<double>(tally.files) / seconds : 0.0);
  line += timing;
  if (tally.files < total) {
    line += std::string(interrupted_exit_code() != 0 ? "; interrupted: " : "; stopped: ") +
            files_text(total - tally.files) + " not processed";
  }
  std::cerr << line << "\n";
}

}  // namespace mamsign::app
