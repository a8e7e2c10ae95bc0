// The apps' side of batch work: stopping cleanly on SIGINT/SIGTERM, a progress line on a terminal, the
// summary on standard error, and the flags every batch command shares.
#pragma once

#include "common/app_common.h"
#include "common/output.h"
#include "mamsign/batch.h"
#include "mamsign/base/error.h"

#include <CLI/CLI.hpp>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <iostream>
#include <optional>
#include <map>
#include <string>
#include <vector>

namespace mamsign::app {

struct BatchFlags {
  std::vector<std::string> files;
  std::vector<std::string> from;
  bool null_separated = false;
  bool recursive = false;
  unsigned jobs = 0;  // 0: the cores available
  bool fail_fast = false;
  bool quiet = false;          // only failures and errors: no success lines, no summary on a clean run
  bool require_files = false;  // (or the profile's require_files) no file to work on is exit 1, not 0
  // Set by the app, not flags: --json (results are JSON, the run ends with a summary/1 line), and
  // whether a signature without its data file is a DATA_MISSING result (mam-verify).
  bool json = false;
  bool data_of_lone_signatures = false;
};

// --recursive, --from, --null, --jobs (unless `with_jobs` is false), --fail-fast, --quiet,
// --require-files and the FILE... positionals.
void add_batch_flags(CLI::App& app, BatchFlags& flags, const std::string& files_help, bool with_jobs = true);

// Expands the flags into files; warnings about skipped paths go to standard error. An error is said
// there too and gives the exit code to return: no input named at all, --null without --from, or a
// signature named without its data file, is a usage error; folders and lists that hold no file give an
// empty list (a cron job over an empty outbox is "0 files", exit 0 unless --require-files).
// `hidden_in_folder`, when given, receives Inputs::hidden_in_folder.
std::optional<std::vector<std::filesystem::path>> collect(
    const std::string& program, const BatchFlags& flags, int& exit_code,
    std::map<std::filesystem::path, std::vector<std::string>>* hidden_in_folder = nullptr);

// SIGINT and SIGTERM set the returned flag: the batch takes no new files, finishes those in flight and
// ends with exit code 130 or 143 (interrupted_exit_code).
const std::atomic<bool>& install_stop_handlers();
int interrupted_exit_code();  // 0 when no signal came
// After SIGINT/SIGTERM, files in flight get this long to finish; then the run ends without them. A
// second signal ends it at once.
inline constexpr std::chrono::seconds kStopGrace{5};
// Called while waiting for results: ends the process (flushing standard output first) once a stop
// signal is older than kStopGrace.
void end_if_stop_is_overdue();

// A progress line on standard error, only when it is a terminal and not --quiet, at most 4 times a second.
class Progress {
 public:
  Progress(std::size_t total, bool enabled);
  void update(std::size_t done);
  // Before a result goes to standard output: erases the line if both share a terminal.
  void before_output();
  void clear();

 private:
  std::size_t total_;
  bool enabled_;
  bool stdout_is_terminal_;
  bool shown_ = false;
  std::chrono::steady_clock::time_point start_, last_;
};

// Counts for the summary.
struct Tally {
  std::size_t files = 0;
  std::map<std::string, std::size_t> outcomes;  // "OK", "signed", "skipped"
  std::map<Reason, std::size_t> failures;
  std::map<std::string, std::size_t> results;  // by the JSON word: "valid", "invalid", "signed", "error", ...
};

// "mam-verify: 10000 files: 9998 OK, 2 failed (CONTENT_MODIFIED 1, BAD_SIGNATURE 1) in 0.41 s, 24390 files/s"
void print_summary(const std::string& program, const Tally& tally, std::size_t total, double seconds,
                   const std::string& failed_word);
// The same as one JSON object, schema mamsign/summary/1 (docs/schema/summary.schema.json): the last
// line of every --json run.
nlohmann::ordered_json summary_json(const std::string& program, const Tally& tally, std::size_t total, double seconds);

// A run with no file to work on: "0 files" on standard error (what `verb` would have done), the JSON
// summary with --json; exit 1 with --require-files, else 0.
int no_files(const std::string& program, const BatchFlags& flags, const std::string& verb);

// What one file's result counts as: an outcome ("OK", "signed", "skipped") or a failure, and the line
// that shows it on standard output (text made safe, or JSON).
struct Verdict {
  std::string outcome;
  std::optional<Reason> failure;
  std::string line;
  std::string result;    // the JSON "result" word, for the summary's counts
  bool not_run = false;  // the file was not started: results could no longer be written
};

// Says on standard error that results could not be written (and how many were), for exit code 3.
void report_output_failure(const std::string& program);

// Runs `work` over the files on --jobs threads, each result rendered by `render` on the same thread
// (so rendering runs in parallel too; it must be thread-safe), writes the lines in input order (with
// --quiet only failures' lines), shows progress, prints the summary (on standard error; with --quiet
// only when something failed; with --json also as the last line on standard output), and returns the
// exit code: 130/143 when interrupted, else the worst of the files' (3 for IO_ERROR, 1 for any other
// failure).
template <class R>
int run_batch(const std::string& program, const std::vector<std::filesystem::path>& files, const BatchFlags& flags,
              const std::string& failed_word, const std::function<R(std::size_t)>& work,
              const std::function<Verdict(const R&)>& render) {
  const auto& stop = install_stop_handlers();
  Progress progress(files.size(), !flags.quiet);
  Tally tally;
  int exit_code = 0;
  const auto started = std::chrono::steady_clock::now();
  BatchOptions batch;
  batch.jobs = flags.jobs != 0 ? flags.jobs : available_cores();
  batch.stop = &stop;
  if (flags.fail_fast) batch.read_ahead = batch.jobs;
  batch.on_tick = [&](std::size_t done) {
    progress.update(done);
    end_if_stop_is_overdue();
  };
  Output& out = Output::standard();
  // Results leave in batches (see Output::hold): one write for a run of ready results, flushed when the
  // run is delivered (and at each tick), so a reader still sees each result soon after it is known.
  out.hold(true);
  batch.after_delivery = [&] { out.flush(); };
  // Once results cannot be written, no file is started whose result would be lost (a signature that no
  // result line names); the files already in flight finish and are counted.
  const std::function<Verdict(std::size_t)> work_and_render = [&](std::size_t i) {
    if (out.failed()) return Verdict{"", std::nullopt, "", "", true};
    return render(work(i));
  };
  const std::function<bool(std::size_t, Verdict&)> deliver = [&](std::size_t i, Verdict& verdict) {
    if (verdict.not_run) return false;
    // Counted whether or not its line can still be written: the file was processed (a signature made
    // is in the summary even when its result line was lost).
    ++tally.files;
    if (verdict.failure) {
      ++tally.failures[*verdict.failure];
      exit_code = std::max(exit_code, is_input_error(*verdict.failure) ? 3 : 1);
    } else {
      ++tally.outcomes[verdict.outcome];
    }
    ++tally.results[verdict.result];
    if (flags.quiet && !verdict.failure) return true;  // -q: a success says nothing
    progress.before_output();
    if (out.failed() || !out.line(verdict.line)) return false;
    progress.update(i + 1);
    return !verdict.failure || !flags.fail_fast;
  };
  run_ordered(files.size(), work_and_render, deliver, batch);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (flags.json && !out.failed()) out.line(json_line(summary_json(program, tally, files.size(), seconds)));
  out.hold(false);
  progress.clear();
  const bool clean = exit_code == 0 && interrupted_exit_code() == 0 && !out.failed() && tally.files == files.size();
  if (!flags.quiet || !clean) print_summary(program, tally, files.size(), seconds, failed_word);
  if (out.failed()) {
    report_output_failure(program);
    return 3;
  }
  if (const int code = interrupted_exit_code()) return code;
  return exit_code;
}

}  // namespace mamsign::app
