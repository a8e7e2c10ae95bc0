// mam-certid: proves the Network Operator certificate IDs in migration files (TMAD 4.47/4.48) against an
// SMKI certificate store and the trust anchors, and answers "whose certificate is this ID?".
#include "common/app_common.h"
#include "common/batch_ui.h"
#include "common/output.h"

#include "mamsign/certid_check.h"
#include "mamsign/smki/certificate_id.h"
#include "mamsign/base/times.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <unistd.h>
#include <functional>
#include <memory>
#include <iomanip>
#include <iostream>
#include <sstream>

namespace {

using namespace mamsign;
using json = nlohmann::ordered_json;

const char* const kProgram = "mam-certid";

struct Flags {
  std::vector<std::string> store, trust, crl, ids;
  app::BatchFlags batch;
  std::string registration, profile;
  std::optional<std::string> at;
  CertIdColumns columns;
  bool json_output = false, decimal = false;
  app::RevocationFlags revocation;
};

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
  j["code"] = std::string(reason_name(f.code));  // the same as "reason", kept for scripts written before it
  j["severity"] = std::string(severity_name(f.severity));
  j["message"] = f.message;
  return j;
}

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

void render_file_error(ReportSink& out, const std::string& file, const Error& e, const Profile& profile, bool as_json) {
  if (as_json) {
    json j = app::json_object("certid-file");
    app::path_json(j, "file", file);
    j["profile"] = app::profile_json(profile);
    j["error"] = {{"reason", std::string(reason_name(e.reason))}, {"message", e.message}};
    out.put(app::json_line(j) + "\n");
  } else {
    out.text(file + ": " + std::string(reason_name(e.reason)) + ": " + e.message +
             app::notes_text(app::with_profile_note({}, profile)));
  }
}

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
               << std::setw(34) << "ID" << std::setw(24) << "CODE" << "MESSAGE";
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
    json j = app::json_object("certid-file");
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
    std::string summary = "  " + std::to_string(r.rows_checked) + " rows checked, " + std::to_string(r.rows_with_errors) + " with errors";
    for (const auto& [code, n] : r.counts) summary += "; " + std::string(reason_name(code)) + " " + std::to_string(n);
    out_.text(summary + (r.errors() == 0 ? ": clean" : ""));
    if (!profile_.file.empty()) out_.text("  note: " + profile_.change_note());
    if (r.revocation_unchecked > 0) {
      out_.text("  note: revocation not checked for " + std::to_string(r.revocation_unchecked) +
                " certificate(s): no CRL of their issuing CA was given (--crl; --require-crl makes this an error)");
    }
    if (r.revocation_stale > 0) {
      out_.text("  note: " + std::to_string(r.revocation_stale) + " certificate(s) were checked against a CRL past its nextUpdate");
    }
  }

 private:
  ReportSink& out_;
  std::string file_;
  const Profile& profile_;
  bool json_;
  std::size_t count_ = 0;
};

// What checking one file came to.
struct FileVerdict {
  std::optional<Reason> failure;  // the file could not be checked
  bool findings = false;          // error findings
};

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

json cert_json(const OrgCert& c, const std::optional<Status>& chain, const std::optional<RevocationStatus>& revocation) {
  json j = app::signer_json(c);
  j["revocation"] = app::revocation_json(revocation);
  j["chain"] = chain ? json(*chain ? "valid" : std::string(reason_name(chain->error().reason))) : json(nullptr);
  j["chain_message"] = chain && !*chain ? json(chain->error().message) : json(nullptr);
  json problems = json::array();
  for (const auto& v : c.check_profile(Profile::defaults())) {
    problems.push_back({{"code", std::string(reason_name(v.reason))}, {"message", v.message}});
  }
  j["profile_problems"] = problems;
  return j;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "mam-certid: prove the Network Operator certificate IDs in SMETS1 migration files (TMAD 4.47/4.48).\n"
      "Each ID must name a network operator's (role 03) certificate of the right usage (DS column:\n"
      "digitalSignature, KA column: keyAgreement), both of the row's network operator User ID, valid, unrevoked,\n"
      "chaining to the SMKI root and OCA, and (with --registration) registered for the row's MPxN.",
      kProgram};
  app.set_version_flag("--version", app::version_text(kProgram));
  app.require_subcommand(1);
  Flags f;

  auto* check = app.add_subcommand("check", "check the certificate IDs of MA files; report every finding");
  check->add_option("--store,--cert-store", f.store, "(required) the certificate store: a folder (searched recursively) of PEM, DER or bundles; repeatable")
      ->allow_extra_args(false)
      ->option_text("DIR");
  check->add_option("--trust", f.trust, "(required unless /etc/mamsign/trust exists) SMKI root and OCA certificates: files, bundles or folders; repeatable")
      ->allow_extra_args(false)
      ->option_text("PATH");
  check->add_option("--crl", f.crl, "CRL files or folders; repeatable")->allow_extra_args(false)->option_text("PATH");
  app::add_revocation_flags(*check, f.revocation);
  check->add_option("--registration", f.registration, "JSON: MPAN distributor IDs and MPxNs to network-operator EUI-64s")
      ->option_text("FILE");
  app::add_at_option(*check, f.at, "judge certificates at this ISO 8601 time instead of now");
  check->add_option("--ds-column", f.columns.ds, "header of the DS certificate ID column")->capture_default_str();
  check->add_option("--ka-column", f.columns.ka, "header of the KA certificate ID column")->capture_default_str();
  check->add_option("--mpxn-column", f.columns.mpxn, "header of the MPxN column")->capture_default_str();
  check->add_option("--no-column", f.columns.network_operator, "header of the network operator User ID column")
      ->capture_default_str();
  check->add_option("--group-column", f.columns.group, "header of the GroupID column (optional in the file)")
      ->capture_default_str();
  check->add_option("--profile", f.profile, "a JSON profile overriding the built-in one (docs/profile.md)")->option_text("FILE");
  check->add_flag("--json", f.json_output,
                  "one JSON object per file: {schema, version, file, findings: [{line, mpxn, column, id, reason, severity, "
                  "message}], rows_checked, rows_with_errors, counts, revocation}");
  // One file's findings stream as they are found; several files are checked on --jobs threads.
  app::add_batch_flags(*check, f.batch, "the MA files (CSV) to check, or folders of them");
  check->footer(
      "Example:\n"
      "  mam-certid check --store keys-example/store --trust keys-example/trust --crl keys-example/crl \\\n"
      "      --registration testdata/registration.json testdata/MA_cgI_70-B3-D5-1F-30-00-A0-08_20190407_182503.csv\n\n"
      "Columns are found by header name, case-insensitively, in any order. Exit codes: 0 no error findings,\n"
      "1 at least one error finding, 2 usage error (also a missing column), 3 an input could not be read.");

  auto* show = app.add_subcommand("show", "whose certificate is this ID? serial, EUI-64, role, usage, validity, chain");
  show->add_option("--store,--cert-store", f.store, "(required) the certificate store; repeatable")->allow_extra_args(false)->option_text("DIR");
  show->add_option("--trust", f.trust, "trust anchors, to say whether each chains; repeatable")
      ->allow_extra_args(false)
      ->option_text("PATH");
  show->add_option("--crl", f.crl, "CRLs, to say whether each is revoked; repeatable")->allow_extra_args(false)->option_text("PATH");
  app::add_revocation_flags(*show, f.revocation);
  app::add_at_option(*show, f.at, "judge at this ISO 8601 time instead of now");
  show->add_flag("--decimal", f.decimal, "the IDs are decimal serial numbers");
  show->add_flag("--json", f.json_output,
                 "one JSON object per certificate: {schema, version, id, found, certificate: {eui64, role, role_name, serial, "
                 "subject, issuer, key_usage, not_before, not_after, revocation, chain, chain_message, profile_problems}}");
  show->add_option("ids", f.ids, "certificate IDs (hex; ':' or ' ' between octets and leading zeros optional)")
      ->option_text("ID...");
  show->footer(
      "Example:\n  mam-certid show --store keys-example/store --trust keys-example/trust 1234\n"
      "Exit codes: 0 every ID found, 1 an ID is unknown or malformed, 2 usage error, 3 an input could not be read.");
  app.footer(
      "Exit codes:\n"
      "  0  check: no error findings (notes allowed); show: every ID found\n"
      "  1  check: at least one error finding; show: an ID is unknown or malformed\n"
      "  2  usage error (also a missing column in an MA file)\n"
      "  3  an input could not be read (an MA file, a malformed CSV, the store, the trust anchors)\n"
      "Run 'mam-certid check --help' or 'mam-certid show --help' for each command's options.");

  if (auto code = app::parse(app, argc, argv)) return *code;

  auto loaded_profile = app::load_profile(kProgram, f.profile);
  if (!loaded_profile) return app::kExitUnreadable;
  if (!app::apply_revocation_flags(kProgram, f.revocation, *loaded_profile)) return app::kExitUsage;
  const Profile& profile = *loaded_profile;
  const auto parsed_at = app::parse_at(kProgram, f.at);
  if (!parsed_at) return app::kExitUsage;
  const std::time_t at = *parsed_at;
  if (f.store.empty()) {
    app::complain_usage(kProgram, "--store is required", std::string("mam-certid ") + (check->parsed() ? "check" : "show"));
    return app::kExitUsage;
  }
  f.trust = app::trust_or_default(f.trust);
  f.crl = app::crls_or_default(f.crl);
  if (check->parsed()) {
    if (f.trust.empty()) {
      app::complain(kProgram, "--trust is required: give the SMKI root and OCA certificates (or put them in " + app::config_dir().string() + "/trust)");
      return app::kExitUsage;
    }
  } else if (f.ids.empty()) {
    app::complain_usage(kProgram, "no certificate IDs to show", "mam-certid show");
    return app::kExitUsage;
  }

  // --jobs threads (default: the cores available) index the store, then check the files.
  const unsigned threads = f.batch.jobs != 0 ? f.batch.jobs : available_cores();
  const auto store = app::load_store(kProgram, f.store, threads);
  if (!store) return app::kExitUnreadable;
  std::shared_ptr<TrustStore> trust;
  if (!f.trust.empty()) {
    trust = app::load_trust(kProgram, f.trust, f.crl, profile);
    if (!trust) return app::kExitUnreadable;
  }

  if (show->parsed()) {
    int exit_code = app::kExitOk;
    for (const auto& text : f.ids) {
      auto id = parse_certificate_id(text, f.decimal ? IdBase::Decimal : IdBase::Hex);
      const auto certs = id ? store->by_serial(*id) : std::vector<OrgCertPtr>{};
      if (!id || certs.empty()) {
        exit_code = app::kExitFailed;
        const std::string message = id ? "no certificate with ID " + *id + " in the store" : id.error().message;
        if (f.json_output) {
          json j = app::json_object("certid-show");
          j["id"] = text;
          j["found"] = false;
          j["message"] = message;
          app::print_json(j);
        } else {
          app::print(text + ": " + message);
        }
        continue;
      }
      for (const auto& c : certs) {
        std::optional<Status> chain;
        std::optional<RevocationStatus> revocation;
        if (trust) {
          revocation.emplace();
          chain = trust->verify(*c, at, {}, &*revocation);
        }
        if (f.json_output) {
          json j = app::json_object("certid-show");
          j["id"] = text;
          j["found"] = true;
          j["certificate"] = cert_json(*c, chain, revocation);
          app::print_json(j);
          continue;
        }
        app::print(*id);
        app::print("  EUI-64     " + (c->eui64() ? c->eui64()->to_string() : std::string("(none)")));
        app::print("  role       " + (c->role() ? role_code(*c->role()) + " " + std::string(role_name(*c->role())) : "(none)"));
        app::print("  usage      " + c->key_usage_text());
        app::print("  valid      " + format_iso8601(c->not_before()) + " to " + format_iso8601(c->not_after()));
        app::print("  subject    " + c->subject());
        app::print("  issuer     " + c->issuer());
        if (chain) {
          app::print("  chain      " + (*chain ? "valid at " + format_iso8601(at)
                                                        : std::string(reason_name(chain->error().reason)) + ": " +
                                                              chain->error().message));
          const auto rj = app::revocation_json(revocation);
          app::print("  revocation " + (rj["checked"] == true ? "checked against " + rj["crl"].get<std::string>() +
                                                                         (rj["stale"] == true ? " (stale: past its nextUpdate)" : "")
                                                                   : std::string("not checked (no CRL of its issuing CA; give --crl)")));
          for (const auto& note : revocation->notes) app::print("  note       " + note);
        } else {
          app::print("  chain      not checked (give --trust)");
        }
        for (const auto& v : c->check_profile(profile)) {
          app::print("  profile    " + std::string(reason_name(v.reason)) + ": " + v.message);
        }
      }
    }
    return app::with_output_checked(kProgram, exit_code);
  }

  CertIdOptions options;
  options.at = at;
  options.columns = f.columns;
  if (!f.registration.empty()) {
    auto reg = Registration::load(f.registration);
    if (!reg) {
      app::complain(kProgram, "--registration: " + reg.error().message);
      return app::kExitUnreadable;
    }
    options.registration = std::move(*reg);
  }
  int exit_code = app::kExitOk;
  const auto files = app::collect(kProgram, f.batch, exit_code);
  if (!files) return exit_code;
  if (files->empty()) {
    app::complain(kProgram, "0 files: the folders and lists given hold no file to check");
    return app::kExitOk;
  }
  // One file per thread, and what is left over validates the certificates a file names ahead of its
  // rows (one file on two cores: the rows on one, the certificates on both).
  const unsigned jobs = static_cast<unsigned>(std::min<std::size_t>(threads, files->size()));
  options.threads = std::max(1u, threads / jobs);
  const CertIdChecker checker(store, trust, profile, options);
  const auto& stop = app::install_stop_handlers();
  const auto started = std::chrono::steady_clock::now();
  app::Tally tally;
  // Each file's report is delivered in input order; with several jobs it waits in a spool file.
  struct Checked {
    std::unique_ptr<ReportSink> sink;
    FileVerdict verdict;
  };
  const std::function<Checked(std::size_t)> work = [&](std::size_t i) {
    Checked c;
    c.sink = std::make_unique<ReportSink>(jobs > 1);
    try {
      c.verdict = check_one(checker, *c.sink, (*files)[i].string(), profile, f.json_output);
    } catch (const std::exception& e) {
      render_file_error(*c.sink, (*files)[i].string(), make_error(Reason::IoError, std::string("internal error: ") + e.what()), profile, f.json_output);
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
    ++tally.files;
    const bool written = c.sink->finish();
    if (c.sink->failed_) exit_code = std::max(exit_code, int(app::kExitUnreadable));
    if (c.verdict.failure) {
      const Reason r = *c.verdict.failure;
      exit_code = std::max(exit_code, r == Reason::ColumnMissing || r == Reason::ColumnDuplicated ? int(app::kExitUsage)
                                                                                                  : int(app::kExitUnreadable));
      ++tally.failures[r];
    } else if (c.verdict.findings) {
      exit_code = std::max(exit_code, int(app::kExitFailed));
      ++tally.outcomes["with findings"];
    } else {
      ++tally.outcomes["clean"];
    }
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
  if (files->size() > 1 || app::interrupted_exit_code() != 0) {
    app::print_summary(kProgram, tally, files->size(),
                       std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(), "not checked");
  }
  // The store, the checked certificates and their results are left to the operating system: freeing
  // 10,000 certificates one by one took 0.13 s of a 2 s run. std::exit still flushes every stream and
  // runs OpenSSL's cleanup; only main's own objects are not destroyed.
  if (const int code = app::interrupted_exit_code(); code != 0 && !app::Output::standard().failed()) std::exit(code);
  std::exit(app::with_output_checked(kProgram, exit_code));
}
