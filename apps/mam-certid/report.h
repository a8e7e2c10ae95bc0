// One MA file's report from `mam-certid check`: its findings as a table or one JSON object
// (schema mamsign/certid-file/2), streamed as they are found, to standard output or to a spool.
#pragma once

#include "certid_app.h"
#include "common/output.h"

#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

namespace certid_app {

// Where one file's report goes: straight to standard output (written as it is found), or, when several
// files are checked at once, to an unnamed temporary file that is copied out in input order. Either way
// memory does not grow with the findings, and the report is one block: whole on standard output, or
// (a failed write) cut back to where it began.
class ReportSink {
 public:
  // `spooled`: to a temporary file (several jobs); else straight out.
  explicit ReportSink(bool spooled) : spooled_(spooled), spool_(spooled ? std::tmpfile() : nullptr) {
    if (!spooled) app::Output::standard().begin_line();
    spool_failed_ = spooled && spool_ == nullptr;
  }
  ReportSink(const ReportSink&) = delete;
  ReportSink& operator=(const ReportSink&) = delete;
  ~ReportSink() {
    if (spool_ != nullptr) std::fclose(spool_);
  }

  void put(std::string_view bytes) {
    if (!spooled_) {
      app::Output::standard().part(bytes);
    } else if (spool_ == nullptr || std::fwrite(bytes.data(), 1, bytes.size(), spool_) != bytes.size()) {
      spool_failed_ = true;
    }
  }
  void text(std::string_view line) { put(app::safe_text(line) + "\n"); }
  bool spooled() const noexcept { return spooled_; }

  // The report is complete: a spool is copied to standard output. False when the output failed.
  bool finish() {
    app::Output& out = app::Output::standard();
    if (!spooled_) return out.end_block();
    if (spool_failed_ || std::fflush(spool_) != 0) {
      // Said, and the run ends with exit 3: a report that was not kept is never passed off as written.
      app::complain(kProgram, "cannot write a temporary file for a report (is $TMPDIR or /tmp full or read-only?)");
      failed_ = true;
      return false;
    }
    std::rewind(spool_);
    out.begin_line();
    char buffer[64 * 1024];
    for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, spool_)) > 0;) {
      if (!out.part(std::string_view(buffer, n))) return false;
    }
    return out.end_block();
  }

 private:
  bool spooled_;
  std::FILE* spool_;
  bool spool_failed_ = false;

 public:
  bool failed_ = false;  // the report was lost before it reached standard output
};

// What checking one file came to.
struct FileVerdict {
  std::optional<mamsign::Reason> failure;  // the file could not be checked
  bool findings = false;                   // error findings
};

// Checks one file, writing its report to `out` as the findings arrive.
FileVerdict check_one(const mamsign::CertIdChecker& checker, ReportSink& out, const std::string& file,
                      const mamsign::Profile& profile, bool as_json);

// A file that could not be checked at all, reported as its whole result.
void render_file_error(ReportSink& out, const std::string& file, const mamsign::Error& e,
                       const mamsign::Profile& profile, bool as_json);

}  // namespace certid_app
