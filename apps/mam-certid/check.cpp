// `mam-certid check`: the certificate IDs of MA files, one file per --jobs thread, each file's report
// delivered in input order, and the run counted into one exit code and a summary.
#include "certid_app.h"
#include "report.h"

#include "common/batch_ui.h"

#include "mamsign/batch.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <memory>

namespace certid_app {

using namespace mamsign;

namespace {

// The checker's options from the flags; null (having said why) when the registration cannot be read.
std::optional<CertIdOptions> checker_options(const Flags& f, const Setup& setup) {
  CertIdOptions options;
  options.at = setup.at;
  options.columns = f.columns;
  if (!f.registration.empty()) {
    auto reg = Registration::load(f.registration);
    if (!reg) {
      app::complain(kProgram, "--registration: " + reg.error().message);
      return std::nullopt;
    }
    options.registration = std::move(*reg);
  }
  return options;
}

// One file's report on its way to standard output, and what its check came to.
struct Checked {
  std::unique_ptr<ReportSink> sink;
  FileVerdict verdict;
};

// What one file's verdict adds to the run: a missing or doubled column is a usage error (exit 2), a file
// that could not be checked exit 3, error findings exit 1.
void count(const FileVerdict& verdict, app::Tally& tally, int& exit_code) {
  ++tally.files;
  if (verdict.failure) {
    const Reason r = *verdict.failure;
    const bool usage = r == Reason::ColumnMissing || r == Reason::ColumnDuplicated;
    exit_code = std::max(exit_code, int(usage ? app::kExitUsage : app::kExitUnreadable));
    ++tally.failures[r];
    ++tally.results[usage ? "usage" : "error"];
  } else if (verdict.findings) {
    exit_code = std::max(exit_code, int(app::kExitFailed));
    ++tally.outcomes["with findings"];
    ++tally.results["with_findings"];
  } else {
    ++tally.outcomes["clean"];
    ++tally.results["clean"];
  }
}

}  // namespace

int run_check(const Flags& f, const Setup& setup) {
  auto options = checker_options(f, setup);
  if (!options) return app::kExitUnreadable;
  int exit_code = app::kExitOk;
  app::BatchFlags batch_flags = f.batch;
  batch_flags.json = f.json_output;
  batch_flags.require_files = batch_flags.require_files || setup.profile.require_files;
  const auto files = app::collect(kProgram, batch_flags, exit_code);
  if (!files) return exit_code;
  if (files->empty()) return app::no_files(kProgram, batch_flags, "check");
  // One file per thread, and what is left over validates the certificates a file names ahead of its
  // rows (one file on two cores: the rows on one, the certificates on both).
  const unsigned jobs = static_cast<unsigned>(std::min<std::size_t>(setup.threads, files->size()));
  options->threads = std::max(1u, setup.threads / jobs);
  const CertIdChecker checker(setup.store, setup.trust, setup.profile, *options);
  const auto& stop = app::install_stop_handlers();
  const auto started = std::chrono::steady_clock::now();
  app::Tally tally;
  // Each file's report is delivered in input order; with several jobs it waits in a spool file.
  const std::function<Checked(std::size_t)> work = [&](std::size_t i) {
    Checked c;
    // -q shows only files with findings or errors: each report waits in a spool until that is known.
    c.sink = std::make_unique<ReportSink>(jobs > 1 || f.batch.quiet);
    const std::string file = (*files)[i].string();
    try {
      c.verdict = check_one(checker, *c.sink, file, setup.profile, f.json_output);
    } catch (const std::exception& e) {
      render_file_error(*c.sink, file, make_error(Reason::IoError, std::string("internal error: ") + e.what()),
                        setup.profile, f.json_output);
      c.verdict = {Reason::IoError, false};
    }
    return c;
  };
  // One job writes its report to standard output as it goes: a progress line on the same terminal would
  // cut into it, so then it is shown only when standard output goes elsewhere.
  app::Progress progress(files->size(), !f.batch.quiet && (jobs > 1 || ::isatty(STDOUT_FILENO) == 0));
  const std::function<bool(std::size_t, Checked&)> deliver = [&](std::size_t i, Checked& c) {
    progress.before_output();
    progress.update(i + 1);
    const bool clean = !c.verdict.failure && !c.verdict.findings;
    const bool written = f.batch.quiet && clean && c.sink->spooled() ? true : c.sink->finish();
    if (c.sink->failed_) exit_code = std::max(exit_code, int(app::kExitUnreadable));
    count(c.verdict, tally, exit_code);
    // Nothing more is checked whose result would be lost, or (--fail-fast) after a failure.
    return written && !(f.batch.fail_fast && exit_code != app::kExitOk);
  };
  BatchOptions batch;
  batch.jobs = jobs;
  batch.stop = &stop;
  // One job writes straight to standard output from its thread: it may not run ahead of the delivery of
  // the file before (nor may anything, with --fail-fast, run far past a failure).
  if (jobs == 1 || f.batch.fail_fast) batch.read_ahead = jobs;
  batch.on_tick = [&](std::size_t done) {
    progress.update(done);
    app::end_if_stop_is_overdue();
  };
  run_ordered(files->size(), work, deliver, batch);
  progress.clear();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (f.json_output && !app::Output::standard().failed()) {
    app::print_json(app::summary_json(kProgram, tally, files->size(), seconds));
  }
  const bool clean_run = exit_code == app::kExitOk && app::interrupted_exit_code() == 0 && tally.files == files->size();
  if (!f.batch.quiet || !clean_run) app::print_summary(kProgram, tally, files->size(), seconds, "not checked");
  // The store, the checked certificates and their results are left to the operating system: freeing
  // 10,000 certificates one by one took 0.13 s of a 2 s run. std::exit still flushes every stream and
  // runs OpenSSL's cleanup; only main's own objects are not destroyed.
  if (const int code = app::interrupted_exit_code(); code != 0 && !app::Output::standard().failed()) std::exit(code);
  std::exit(app::with_output_checked(kProgram, exit_code));
}

}  // namespace certid_app
