#include "mamsign/certid_check.h"

#include "mamsign/smki/certificate_id.h"
#include "mamsign/smki/mpxn.h"
#include "mamsign/base/ossl.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <set>
#include <system_error>
#include <thread>

namespace mamsign {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The columns whose header is `wanted` (case and surrounding blanks aside), in order.
std::vector<std::size_t> columns_named(const CsvRecord& header, std::string_view wanted) {
  std::vector<std::size_t> at;
  for (std::size_t i = 0; i < header.fields.size(); ++i) {
    if (iequals(trim(header.fields[i]), wanted)) at.push_back(i);
  }
  return at;
}

std::string role_text(const OrgCert& c) {
  return c.role() ? role_code(*c.role()) + " (" + std::string(role_name(*c.role())) + ")" : std::string("unknown");
}

// Which certificates a column resolved to, and the findings about them.
struct Resolved {
  OrgCertPtr cert;
  std::vector<Finding> findings;
};

}  // namespace

std::string_view severity_name(Severity severity) { return severity == Severity::Error ? "error" : "note"; }

CertIdChecker::CertIdChecker(std::shared_ptr<const CertStore> store, std::shared_ptr<const TrustStore> trust,
                             Profile profile, CertIdOptions options)
    : store_(std::move(store)), trust_(std::move(trust)), profile_(std::move(profile)), options_(std::move(options)) {}

const CertIdChecker::CertificateProblems& CertIdChecker::certificate_problems(const OrgCert& cert) const {
  return *problems_of(cert, true);
}

const CertIdChecker::CertificateProblems* CertIdChecker::problems_of(const OrgCert& cert, bool wait) const {
  {
    std::unique_lock lock(mutex_);
    for (;;) {
      auto [it, mine] = problems_cache_.try_emplace(&cert);
      if (mine) break;  // ours to compute
      if (it->second.ready) return &it->second.problems;
      if (!wait) return nullptr;
      // Another thread is computing them: wait for it rather than validate the same chain twice, then
      // look again (the slot may be gone: its thread failed, and the work is this one's).
      computed_.wait(lock);
    }
  }
  CertificateProblems problems;
  try {
    for (auto& v : cert.check_profile(profile_)) {
      if (v.reason != Reason::WrongKeyUsage) problems.profile.push_back(std::move(v));
    }
    problems.chain = trust_->verify(cert, options_.at, {}, &problems.revocation);
  } catch (...) {
    // Nobody may wait for what will never come: the slot goes, and the next asker computes again.
    std::lock_guard lock(mutex_);
    problems_cache_.erase(&cert);
    computed_.notify_all();
    throw;
  }
  std::lock_guard lock(mutex_);
  // Map nodes stay put, so the pointer outlives later insertions.
  auto& slot = problems_cache_.at(&cert);
  slot.problems = std::move(problems);
  slot.ready = true;
  computed_.notify_all();
  return &slot.problems;
}

std::size_t CertIdChecker::chain_validations() const {
  std::lock_guard lock(mutex_);
  return static_cast<std::size_t>(std::count_if(problems_cache_.begin(), problems_cache_.end(),
                                                [](const auto& entry) { return entry.second.ready; }));
}

void CertIdChecker::validate_ahead(const std::filesystem::path& path, unsigned helpers, std::stop_token stop) const {
  try {
    const ThreadLibraryContext own_context;  // decoding beside the row pass, not against it
    // The certificate IDs the file names that the store holds, each once, in the order they first come.
    auto reader = CsvReader::open(path, options_.limits);
    if (!reader) return;
    CsvRecord row;
    auto got = reader->next(row);
    if (!got || !*got) return;
    const auto ds = columns_named(row, options_.columns.ds);
    const auto ka = columns_named(row, options_.columns.ka);
    if (ds.size() != 1 || ka.size() != 1) return;  // the row pass says what is wrong
    std::vector<std::string> ids;                  // bounded by the store, not by the rows
    std::set<std::string, std::less<>> seen;
    for (;;) {
      if (stop.stop_requested()) return;
      auto more = reader->next(row);
      if (!more || !*more) break;
      for (const std::size_t col : {ds.front(), ka.front()}) {
        if (col >= row.fields.size()) continue;
        auto id = parse_certificate_id(trim(row.fields[col]));
        if (id && store_->has_serial(*id) && seen.insert(*id).second) ids.push_back(std::move(*id));
      }
    }
    // From the last back: the row pass takes them from the first, so the two meet once, in the middle.
    std::atomic<std::size_t> left{ids.size()};
    auto validate = [&] {
      for (std::size_t n = left.load(); n > 0 && !stop.stop_requested();) {
        if (!left.compare_exchange_weak(n, n - 1)) continue;
        for (const auto& cert : store_->by_serial(ids[n - 1])) problems_of(*cert, false);
        n = left.load();
      }
    };
    std::vector<std::jthread> more_helpers;
    for (unsigned i = 1; i < helpers; ++i) {
      // (A thread that cannot be had throws system_error: the catch below, and the rows do the rest.)
      more_helpers.emplace_back([&] {
        try {
          const ThreadLibraryContext helper_context;
          validate();
        } catch (...) {
          // Left to the row pass, which computes what it needs itself.
        }
      });
    }
    validate();
  } catch (...) {
    // Only a head start is lost: the row pass computes what it needs itself.
  }
}

Result<CertIdReport> CertIdChecker::check_file(const std::filesystem::path& path, const FindingSink& sink) const {
  auto reader = CsvReader::open(path, options_.limits);
  if (!reader) return std::move(reader).error();
  // The certificates this thread builds are decoded in a library context of its own, apart from the
  // helpers' and from other files' threads (ossl.h).
  const ThreadLibraryContext own_context;
  // Helpers validate ahead of the rows; they are stopped and joined when the rows are done (or throw).
  std::jthread ahead;
  if (options_.threads > 1) {
    try {
      ahead = std::jthread([this, &path](std::stop_token stop) { validate_ahead(path, options_.threads - 1, stop); });
    } catch (const std::system_error&) {
      // No thread to be had: the row pass validates alone, as with one thread.
    }
  }
  return check(*reader, path, sink);
}

Result<CertIdReport> CertIdChecker::check_file(const std::filesystem::path& path) const {
  std::vector<Finding> all;
  auto report = check_file(path, [&](const Finding& f) { all.push_back(f); });
  if (report) report->findings = std::move(all);
  return report;
}

Result<CertIdReport> CertIdChecker::check(CsvReader& reader, const std::filesystem::path& name) const {
  std::vector<Finding> all;
  auto report = check(reader, name, [&](const Finding& f) { all.push_back(f); });
  if (report) report->findings = std::move(all);
  return report;
}

// Where a file's columns are, found by header name.
struct CertIdChecker::Columns {
  std::size_t mpxn = 0, network_operator = 0;
  std::size_t ids[2] = {0, 0};            // the DS and KA certificate-ID columns
  std::size_t group = std::string::npos;  // npos: the file has no GroupID column
};

// One row being checked: its cells and the findings so far.
struct CertIdChecker::RowFindings {
  const CsvRecord& header;
  const CsvRecord& row;
  std::string mpxn_text;
  std::vector<Finding> found;

  void add(std::size_t col, Reason code, std::string message, Severity severity = Severity::Error) {
    Finding f;
    f.line = row.line;
    f.mpxn = mpxn_text;
    f.column = col < header.fields.size() ? std::string(trim(header.fields[col])) : std::string();
    f.id = col < row.fields.size() ? std::string(trim(row.fields[col])) : std::string();
    f.code = code;
    f.severity = severity;
    f.message = std::move(message);
    found.push_back(std::move(f));
  }
};

namespace {

constexpr Usage kUsage[2] = {Usage::DigitalSignature, Usage::KeyAgreement};

}  // namespace

Result<CertIdChecker::Columns> CertIdChecker::resolve_columns(const CsvRecord& header, bool has_header,
                                                              const std::filesystem::path& name) const {
  const auto& want = options_.columns;
  std::optional<Error> duplicated;
  auto find = [&](const std::string& wanted) -> std::optional<std::size_t> {
    const auto at = has_header ? columns_named(header, wanted) : std::vector<std::size_t>{};
    if (at.empty()) return std::nullopt;
    // Two columns of one name: which one holds the IDs cannot be told, and checking one would call
    // whatever the other holds clean.
    if (at.size() > 1 && !duplicated) {
      duplicated =
          make_error(Reason::ColumnDuplicated, name.string() + ": the header names " + printable(wanted, 40) +
                                                   " twice (columns " + std::to_string(at[0] + 1) + " and " +
                                                   std::to_string(at[1] + 1) + "); one column each is expected");
    }
    return at.front();
  };
  const auto mpxn = find(want.mpxn), no = find(want.network_operator), ds = find(want.ds), ka = find(want.ka);
  const auto group = find(want.group);
  if (duplicated) return *duplicated;
  if (!mpxn || !no || !ds || !ka) {
    std::string missing;
    for (const auto& [col, wanted] : {std::pair{mpxn, want.mpxn}, std::pair{no, want.network_operator},
                                      std::pair{ds, want.ds}, std::pair{ka, want.ka}}) {
      if (!col) missing += (missing.empty() ? "" : ", ") + wanted;
    }
    std::string found;
    for (const auto& h : header.fields) found += (found.empty() ? "" : ", ") + printable(h, 40);
    return make_error(Reason::ColumnMissing, name.string() + ": no column named " + missing +
                                                 (has_header ? " (case does not matter); the header has: " + found
                                                             : ": the file is empty, there is no header row"));
  }
  Columns c;
  c.mpxn = *mpxn;
  c.network_operator = *no;
  c.ids[0] = *ds;
  c.ids[1] = *ka;
  // A plain index (npos: no such column) keeps GCC's maybe-uninitialized analysis quiet.
  c.group = group.value_or(std::string::npos);
  return c;
}

Result<CertIdReport> CertIdChecker::check(CsvReader& reader, const std::filesystem::path& name,
                                          const FindingSink& sink) const {
  CertIdReport report;
  report.file = name;
  CsvRecord header;
  auto got = reader.next(header);
  if (!got) return std::move(got).error();
  auto cols = resolve_columns(header, *got, name);
  if (!cols) return std::move(cols).error();

  std::set<const OrgCert*> named;  // bounded by the store, not by the rows
  CsvRecord row;
  for (;;) {
    auto more = reader.next(row);
    if (!more) return std::move(more).error();
    if (!*more) break;
    if (std::all_of(row.fields.begin(), row.fields.end(), [](const std::string& f) { return trim(f).empty(); }))
      continue;
    ++report.rows_checked;
    RowFindings checked{
        header, row, row.fields.size() > cols->mpxn ? std::string(trim(row.fields[cols->mpxn])) : std::string(), {}};
    check_row(*cols, checked, named, report);
    const bool has_error = std::any_of(checked.found.begin(), checked.found.end(),
                                       [](const Finding& f) { return f.severity == Severity::Error; });
    if (has_error) ++report.rows_with_errors;
    for (const auto& f : checked.found) {
      ++report.counts[f.code];
      report.error_findings += f.severity == Severity::Error;
      sink(f);
    }
  }
  return report;
}

void CertIdChecker::check_row(const Columns& cols, RowFindings& r, std::set<const OrgCert*>& named,
                              CertIdReport& report) const {
  const CsvRecord& row = r.row;
  if (row.fields.size() != r.header.fields.size()) {
    // A shifted row (an unquoted comma, a lost cell) would put the wrong cell under each header.
    Finding f;
    f.line = row.line;
    f.mpxn = r.mpxn_text;
    f.code = Reason::RowMalformed;
    f.message = "the row has " + std::to_string(row.fields.size()) + " cells, the header " +
                std::to_string(r.header.fields.size()) + ": its cells cannot be matched to the columns";
    r.found.push_back(std::move(f));
    return;
  }
  const auto mpxn = parse_mpxn(r.mpxn_text);
  if (!mpxn) r.add(cols.mpxn, Reason::MpxnInvalid, mpxn.error().message);
  // Gas meter points carry no network-operator certificates; electricity ones must.
  const bool needs_ids = !mpxn || mpxn->kind == MpxnKind::Mpan;
  if (cols.group != std::string::npos && iequals(trim(row.fields[cols.group]), "EC")) {
    r.add(cols.group, Reason::GroupNotMigrated, "GroupID EC: the DCC does not migrate this installation",
          Severity::Note);
  }
  std::optional<Eui64> user_id;
  const std::string_view user_text = trim(row.fields[cols.network_operator]);
  if (!user_text.empty()) {
    auto e = Eui64::parse(user_text);
    if (e) {
      user_id = *e;
    } else {
      r.add(cols.network_operator, Reason::IdSyntax, "the network operator User ID: " + e.error().message);
    }
  } else if (needs_ids) {
    r.add(cols.network_operator, Reason::IdSyntax, "no network operator User ID on an electricity meter point");
  }
  const std::vector<Eui64>* expected = nullptr;
  bool registration_known = true;
  if (options_.registration && mpxn) {
    expected = options_.registration->expected_for(*mpxn);
    registration_known = expected != nullptr;
  }
  OrgCertPtr resolved[2];
  for (int k = 0; k < 2; ++k) {
    const std::string_view text = trim(row.fields[cols.ids[k]]);
    if (text.empty()) {
      if (needs_ids) {
        r.add(cols.ids[k], Reason::IdSyntax,
              "no certificate ID (a " + std::string(usage_name(kUsage[k])) + " certificate is required)");
      }
      continue;
    }
    resolved[k] = check_id_cell(cols, r, k, user_id, expected, named, report);
  }
  if (resolved[0] && resolved[1] && resolved[0]->eui64() && resolved[1]->eui64() &&
      *resolved[0]->eui64() != *resolved[1]->eui64()) {
    r.add(cols.ids[1], Reason::PairMismatch,
          "the DS certificate belongs to " + resolved[0]->eui64()->to_string() + ", the KA certificate to " +
              resolved[1]->eui64()->to_string() + ": both must be the same network operator's");
  }
  if (options_.registration && mpxn && !registration_known && (resolved[0] || resolved[1])) {
    r.add(cols.mpxn, Reason::NoRegistration,
          "no registration data for " + r.mpxn_text +
              (mpxn->kind == MpxnKind::Mpan ? " or its distributor " + mpxn->distributor_id() : std::string()),
          Severity::Note);
  }
}

// One certificate-ID cell (`which`: 0 DS, 1 KA), not empty: the certificate it names, judged; null when
// it names none. Several certificates may share a serial (different issuers): the one with the fewest
// findings speaks.
OrgCertPtr CertIdChecker::check_id_cell(const Columns& cols, RowFindings& r, int which,
                                        const std::optional<Eui64>& user_id, const std::vector<Eui64>* expected,
                                        std::set<const OrgCert*>& named, CertIdReport& report) const {
  const std::size_t col = cols.ids[which];
  auto id = parse_certificate_id(trim(r.row.fields[col]));
  if (!id) {
    r.add(col, Reason::IdSyntax, id.error().message);
    return nullptr;
  }
  const auto candidates = store_->by_serial(*id);
  if (candidates.empty()) {
    r.add(col, Reason::IdUnknown, "no certificate with ID " + *id + " in the certificate store");
    return nullptr;
  }
  std::optional<std::vector<Finding>> best;
  OrgCertPtr best_cert;
  for (const auto& cert : candidates) {
    const auto before = r.found.size();
    judge_candidate(r, col, which, *id, *cert, user_id, expected, named, report);
    std::vector<Finding> mine(r.found.begin() + static_cast<std::ptrdiff_t>(before), r.found.end());
    r.found.resize(before);
    if (!best || mine.size() < best->size()) {
      best = std::move(mine);
      best_cert = cert;
    }
  }
  r.found.insert(r.found.end(), best->begin(), best->end());
  return best_cert;
}

// Everything wrong with `cert` as the certificate of this cell, added to the row's findings.
void CertIdChecker::judge_candidate(RowFindings& r, std::size_t col, int which, const std::string& id,
                                    const OrgCert& cert, const std::optional<Eui64>& user_id,
                                    const std::vector<Eui64>* expected, std::set<const OrgCert*>& named,
                                    CertIdReport& report) const {
  if (!cert.role() || *cert.role() != profile_.network_operator_role) {
    r.add(col, Reason::NotNetworkOperator,
          "certificate " + id + " belongs to " + (cert.eui64() ? cert.eui64()->to_string() : cert.subject()) +
              " with role " + role_text(cert) + ", not " + role_code(profile_.network_operator_role) +
              " (network operator)");
  }
  if (!cert.has_only_usage(kUsage[which])) {
    r.add(col, Reason::WrongUsage,
          "the " + r.header.fields[col] + " column needs a " + std::string(usage_name(kUsage[which])) +
              " certificate; certificate " + id + " has keyUsage " + cert.key_usage_text());
  }
  const auto& problems = certificate_problems(cert);
  if (named.insert(&cert).second && !problems.revocation.issuer.empty()) {
    report.revocation_unchecked += !problems.revocation.checked;
    report.revocation_stale += problems.revocation.checked && problems.revocation.stale;
  }
  for (const auto& v : problems.profile) r.add(col, v.reason, "certificate " + id + ": " + v.message);
  if (!problems.chain) r.add(col, problems.chain.error().reason, problems.chain.error().message);
  if (user_id && cert.eui64() && *cert.eui64() != *user_id) {
    r.add(col, Reason::NoUseridMismatch,
          "certificate " + id + " belongs to " + cert.eui64()->to_string() +
              ", but the row's network operator User ID is " + user_id->to_string());
  }
  if (expected && cert.eui64() && std::find(expected->begin(), expected->end(), *cert.eui64()) == expected->end()) {
    std::string registered;
    for (const auto& e : *expected) registered += (registered.empty() ? "" : " or ") + e.to_string();
    r.add(col, Reason::WrongNetworkOperator,
          "certificate " + id + " belongs to network operator " + cert.eui64()->to_string() + ", but " + r.mpxn_text +
              " is registered to " + registered);
  }
}

}  // namespace mamsign
