#include "report.h"

#include "mamsign/smki/certificate_id.h"

#include <iomanip>
#include <sstream>

namespace certid_app {

using namespace mamsign;
using json = nlohmann::ordered_json;

namespace {

// A table cell: non-printable bytes escaped, cut to `width` characters.
std::string cell(const std::string& text, std::size_t width) {
  std::string p = printable(text, width);
  return p.substr(1, p.size() - 2);  // without printable's quotes
}

json finding_json(const Finding& f) {
  json j;  // inside the file's object, which carries the schema
  j["line"] = f.line;
  j["mpxn"] = f.mpxn;
  j["column"] = f.column;
  j["id"] = f.id;
  j["reason"] = std::string(reason_name(f.code));
  j["severity"] = std::string(severity_name(f.severity));
  j["message"] = f.message;
  return j;
}

}  // namespace

void render_file_error(ReportSink& out, const std::string& file, const Error& e, const Profile& profile, bool as_json) {
  if (as_json) {
    json j = app::json_object("certid-file", 2);
    app::path_json(j, "file", file);
    j["profile"] = app::profile_json(profile);
    j["error"] = {{"reason", std::string(reason_name(e.reason))}, {"message", e.message}};
    out.put(app::json_line(j) + "\n");
  } else {
    out.text(file + ": " + std::string(reason_name(e.reason)) + ": " + e.message +
             app::notes_text(app::with_profile_note({}, profile)));
  }
}

namespace {

// One file's result, written as its findings arrive: neither the text table nor the JSON object is held
// whole in memory (a file of a million bad rows streams).
class ReportWriter {
 public:
  ReportWriter(ReportSink& out, const std::string& file, const Profile& profile, bool as_json)
      : out_(out), file_(file), profile_(profile), json_(as_json) {}

  void finding(const Finding& f) {
    if (json_) {
      if (count_ == 0) out_.put(opening());
      out_.put((count_ == 0 ? "" : ",") + app::json_line(finding_json(f)));
    } else {
      if (count_ == 0) {
        out_.text(file_);
        std::ostringstream header;
        header << std::left << "  " << std::setw(6) << "LINE" << std::setw(15) << "MPXN" << std::setw(23) << "COLUMN"
               << std::setw(34) << "ID" << std::setw(24) << "CODE"
               << "MESSAGE";
        out_.text(header.str());
      }
      std::ostringstream row;
      row << std::left << "  " << std::setw(6) << f.line << std::setw(14) << cell(f.mpxn, 13) << " " << std::setw(22)
          << cell(f.column, 21) << " " << std::setw(33) << cell(f.id, 32) << " " << std::setw(23)
          << (std::string(reason_name(f.code)) + (f.severity == Severity::Note ? " (note)" : "")) << " " << f.message;
      out_.text(row.str());
    }
    ++count_;
  }

  // `{"file":...,"findings":[`, the start of the file's JSON object.
  std::string opening() const {
    json j = app::json_object("certid-file", 2);
    app::path_json(j, "file", file_);
    j["profile"] = app::profile_json(profile_);
    const std::string head = app::json_line(j);
    return head.substr(0, head.size() - 1) + ",\"findings\":[";
  }

  // The check of the file ended early: its JSON object, if begun, is closed with the error.
  void fail(const Error& e) {
    if (count_ == 0 || !json_) {
      render_file_error(out_, file_, e, profile_, json_);
      return;
    }
    json tail;
    tail["error"] = {{"reason", std::string(reason_name(e.reason))}, {"message", e.message}};
    out_.put("]," + app::json_line(tail).substr(1) + "\n");
  }

  void end(const CertIdReport& r) {
    if (json_) {
      if (count_ == 0) out_.put(opening());
      json tail;
      tail["rows_checked"] = r.rows_checked;
      tail["rows_with_errors"] = r.rows_with_errors;
      tail["counts"] = json::object();
      for (const auto& [code, n] : r.counts) tail["counts"][std::string(reason_name(code))] = n;
      tail["revocation"] = {{"checked", r.revocation_unchecked == 0},
                            {"certificates_unchecked", r.revocation_unchecked},
                            {"certificates_stale_crl", r.revocation_stale}};
      out_.put("]," + app::json_line(tail).substr(1) + "\n");  // the tail's members close the file's object
      return;
    }
    if (count_ == 0) out_.text(file_);
    std::string summary =
        "  " + std::to_string(r.rows_checked) + " rows checked, " + std::to_string(r.rows_with_errors) + " with errors";
    for (const auto& [code, n] : r.counts) summary += "; " + std::string(reason_name(code)) + " " + std::to_string(n);
    out_.text(summary + (r.errors() == 0 ? ": clean" : ""));
    if (!profile_.file.empty()) out_.text("  note: " + profile_.change_note());
    if (r.revocation_unchecked > 0) {
      out_.text("  note: revocation not checked for " + std::to_string(r.revocation_unchecked) +
                " certificate(s): no CRL of their issuing CA was given (--crl; --require-crl makes this an error)");
    }
    if (r.revocation_stale > 0) {
      out_.text("  note: " + std::to_string(r.revocation_stale) +
                " certificate(s) were checked against a CRL past its nextUpdate");
    }
  }

 private:
  ReportSink& out_;
  std::string file_;
  const Profile& profile_;
  bool json_;
  std::size_t count_ = 0;
};

}  // namespace

FileVerdict check_one(const CertIdChecker& checker, ReportSink& out, const std::string& file, const Profile& profile,
                      bool as_json) {
  ReportWriter writer(out, file, profile, as_json);
  auto report = checker.check_file(file, [&](const Finding& finding) { writer.finding(finding); });
  if (!report) {
    // Findings already written stay (a CSV error further down the file ends its check there).
    writer.fail(report.error());
    return {report.error().reason, false};
  }
  writer.end(*report);
  return {std::nullopt, report->errors() > 0};
}

}  // namespace certid_app
