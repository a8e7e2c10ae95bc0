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

Result<CertIdReport> CertIdChecker::check(CsvReader& reader, const std::filesystem::path& name,
                                          const FindingSink& sink) const {
  CertIdReport report;
  report.file = name;
  CsvRecord header;
  auto got = reader.next(header);
  if (!got) return std::move(got).error();
  const auto& cols = options_.columns;
  std::optional<Error> duplicated;
  auto find = [&](const std::string& wanted) -> std::optional<std::size_t> {
    const auto at = columns_named(header, wanted);
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
  const auto mpxn_col = *got ? find(cols.mpxn) : std::nullopt;
  const auto no_col = *got ? find(cols.network_operator) : std::nullopt;
  const auto ds_col = *got ? find(cols.ds) : std::nullopt;
  const auto ka_col = *got ? find(cols.ka) : std::nullopt;
  // A plain index (npos: no such column) keeps GCC's maybe-uninitialized analysis quiet.
  const std::size_t group_col = (*got ? find(cols.group) : std::nullopt).value_or(std::string::npos);
  if (duplicated) return *duplicated;
  if (!mpxn_col || !no_col || !ds_col || !ka_col) {
    std::string missing;
    for (const auto& [col, wanted] : {std::pair{mpxn_col, cols.mpxn}, std::pair{no_col, cols.network_operator},
                                      std::pair{ds_col, cols.ds}, std::pair{ka_col, cols.ka}}) {
      if (!col) missing += (missing.empty() ? "" : ", ") + wanted;
    }
    std::string found;
    for (const auto& h : header.fields) found += (found.empty() ? "" : ", ") + printable(h, 40);
    return make_error(Reason::ColumnMissing, name.string() + ": no column named " + missing +
                                                 (*got ? " (case does not matter); the header has: " + found
                                                       : ": the file is empty, there is no header row"));
  }

  const Usage kUsage[2] = {Usage::DigitalSignature, Usage::KeyAgreement};
  const std::size_t kCol[2] = {*ds_col, *ka_col};

  std::set<const OrgCert*> named;  // bounded by the store, not by the rows
  CsvRecord row;
  for (;;) {
    auto more = reader.next(row);
    if (!more) return std::move(more).error();
    if (!*more) break;
    if (std::all_of(row.fields.begin(), row.fields.end(), [](const std::string& f) { return trim(f).empty(); }))
      continue;
    ++report.rows_checked;
    std::vector<Finding> found;
    const std::string mpxn_text =
        row.fields.size() > *mpxn_col ? std::string(trim(row.fields[*mpxn_col])) : std::string();
    auto add = [&](std::size_t col, Reason code, std::string message, Severity severity = Severity::Error) {
      Finding f;
      f.line = row.line;
      f.mpxn = mpxn_text;
      f.column = col < header.fields.size() ? std::string(trim(header.fields[col])) : std::string();
      f.id = col < row.fields.size() ? std::string(trim(row.fields[col])) : std::string();
      f.code = code;
      f.severity = severity;
      f.message = std::move(message);
      found.push_back(std::move(f));
    };

    if (row.fields.size() != header.fields.size()) {
      // A shifted row (an unquoted comma, a lost cell) would put the wrong cell under each header.
      Finding f;
      f.line = row.line;
      f.mpxn = mpxn_text;
      f.code = Reason::RowMalformed;
      f.message = "the row has " + std::to_string(row.fields.size()) + " cells, the header " +
                  std::to_string(header.fields.size()) + ": its cells cannot be matched to the columns";
      found.push_back(std::move(f));
    } else {
      const auto mpxn = parse_mpxn(mpxn_text);
      if (!mpxn) add(*mpxn_col, Reason::MpxnInvalid, mpxn.error().message);
      // Gas meter points carry no network-operator certificates; electricity ones must.
      const bool needs_ids = !mpxn || mpxn->kind == MpxnKind::Mpan;

      if (group_col != std::string::npos && iequals(trim(row.fields[group_col]), "EC")) {
        add(group_col, Reason::GroupNotMigrated, "GroupID EC: the DCC does not migrate this installation",
            Severity::Note);
      }

      std::optional<Eui64> user_id;
      const std::string_view user_text = trim(row.fields[*no_col]);
      if (!user_text.empty()) {
        auto e = Eui64::parse(user_text);
        if (e) {
          user_id = *e;
        } else {
          add(*no_col, Reason::IdSyntax, "the network operator User ID: " + e.error().message);
        }
      } else if (needs_ids) {
        add(*no_col, Reason::IdSyntax, "no network operator User ID on an electricity meter point");
      }

      const std::vector<Eui64>* expected = nullptr;
      bool registration_known = true;
      if (options_.registration && mpxn) {
        expected = options_.registration->expected_for(*mpxn);
        registration_known = expected != nullptr;
      }

      OrgCertPtr resolved[2];
      for (int k = 0; k < 2; ++k) {
        const std::size_t col = kCol[k];
        const std::string_view text = trim(row.fields[col]);
        const std::string usage(usage_name(kUsage[k]));
        if (text.empty()) {
          if (needs_ids) add(col, Reason::IdSyntax, "no certificate ID (a " + usage + " certificate is required)");
          continue;
        }
        auto id = parse_certificate_id(text);
        if (!id) {
          add(col, Reason::IdSyntax, id.error().message);
          continue;
        }
        const auto candidates = store_->by_serial(*id);
        if (candidates.empty()) {
          add(col, Reason::IdUnknown, "no certificate with ID " + *id + " in the certificate store");
          continue;
        }
        // Several certificates may share a serial (different issuers): the one with the fewest errors speaks.
        std::optional<std::vector<Finding>> best;
        OrgCertPtr best_cert;
        for (const auto& cert : candidates) {
          const auto before = found.size();
          if (!cert->role() || *cert->role() != profile_.network_operator_role) {
            add(col, Reason::NotNetworkOperator,
                "certificate " + *id + " belongs to " + (cert->eui64() ? cert->eui64()->to_string() : cert->subject()) +
                    " with role " + role_text(*cert) + ", not " + role_code(profile_.network_operator_role) +
                    " (network operator)");
          }
          if (!cert->has_only_usage(kUsage[k])) {
            add(col, Reason::WrongUsage,
                "the " + header.fields[col] + " column needs a " + usage + " certificate; certificate " + *id +
                    " has keyUsage " + cert->key_usage_text());
          }
          const auto& problems = certificate_problems(*cert);
          if (named.insert(cert.get()).second && !problems.revocation.issuer.empty()) {
            report.revocation_unchecked += !problems.revocation.checked;
            report.revocation_stale += problems.revocation.checked && problems.revocation.stale;
          }
          for (const auto& v : problems.profile) add(col, v.reason, "certificate " + *id + ": " + v.message);
          if (!problems.chain) add(col, problems.chain.error().reason, problems.chain.error().message);
          if (user_id && cert->eui64() && *cert->eui64() != *user_id) {
            add(col, Reason::NoUseridMismatch,
                "certificate " + *id + " belongs to " + cert->eui64()->to_string() +
                    ", but the row's network operator User ID is " + user_id->to_string());
          }
          if (expected && cert->eui64() &&
              std::find(expected->begin(), expected->end(), *cert->eui64()) == expected->end()) {
            std::string registered;
            for (const auto& e : *expected) registered += (registered.empty() ? "" : " or ") + e.to_string();
            add(col, Reason::WrongNetworkOperator,
                "certificate " + *id + " belongs to network operator " + cert->eui64()->to_string() + ", but " +
                    mpxn_text + " is registered to " + registered);
          }
          std::vector<Finding> mine(found.begin() + static_cast<std::ptrdiff_t>(before), found.end());
          found.resize(before);
          if (!best || mine.size() < best->size()) {
            best = std::move(mine);
            best_cert = cert;
          }
        }
        found.insert(found.end(), best->begin(), best->end());
        resolved[k] = best_cert;
      }

      if (resolved[0] && resolved[1] && resolved[0]->eui64() && resolved[1]->eui64() &&
          *resolved[0]->eui64() != *resolved[1]->eui64()) {
        add(*ka_col, Reason::PairMismatch,
            "the DS certificate belongs to " + resolved[0]->eui64()->to_string() + ", the KA certificate to " +
                resolved[1]->eui64()->to_string() + ": both must be the same network operator's");
      }
      if (options_.registration && mpxn && !registration_known && (resolved[0] || resolved[1])) {
        add(*mpxn_col, Reason::NoRegistration,
            "no registration data for " + mpxn_text +
                (mpxn->kind == MpxnKind::Mpan ? " or its distributor " + mpxn->distributor_id() : std::string()),
            Severity::Note);
      }
    }
    const bool has_error =
        std::any_of(found.begin(), found.end(), [](const Finding& f) { return f.severity == Severity::Error; });
    if (has_error) ++report.rows_with_errors;
    for (const auto& f : found) {
      ++report.counts[f.code];
      report.error_findings += f.severity == Severity::Error;
      sink(f);
    }
  }
  return report;
}

}  // namespace mamsign
