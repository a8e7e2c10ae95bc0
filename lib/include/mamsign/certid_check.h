// The network-operator certificate-ID check (TMAD 4.47/4.48, SPEC section 6): every certificate ID an
// MA file names is proven against a certificate store and the trust anchors, and every finding is
// reported with its line, MPxN, column, ID and code.
#pragma once

#include "mamsign/pki/cert_store.h"
#include "mamsign/smki/csv.h"
#include "mamsign/base/error.h"
#include "mamsign/smki/profile.h"
#include "mamsign/smki/registration.h"
#include "mamsign/pki/trust_store.h"

#include <condition_variable>
#include <ctime>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <stop_token>
#include <string>
#include <unordered_map>
#include <vector>

namespace mamsign {

// Header names, matched case-insensitively. `group` is optional in the file; the others are required.
struct CertIdColumns {
  std::string mpxn = "MPxN";
  std::string network_operator = "NetworkOperatorUserID";
  std::string ds = "NODSCertificateID";
  std::string ka = "NOKACertificateID";
  std::string group = "GroupID";
};

enum class Severity { Error, Note };

struct Finding {
  std::size_t line = 0;
  std::string mpxn;    // the row's MPxN cell as written
  std::string column;  // the header name as written in the file ("" for the whole row)
  std::string id;      // the cell's value
  Reason code = Reason::IdSyntax;
  Severity severity = Severity::Error;
  std::string message;
};

struct CertIdReport {
  std::filesystem::path file;
  std::size_t rows_checked = 0;
  std::size_t rows_with_errors = 0;
  std::size_t error_findings = 0;
  std::map<Reason, std::size_t> counts;  // per code, notes included
  // Distinct certificates the file names whose issuing CA had no CRL given, or only a stale one.
  std::size_t revocation_unchecked = 0;
  std::size_t revocation_stale = 0;
  // Filled only by the collecting overloads; the streaming ones hand each finding to the sink instead.
  std::vector<Finding> findings;
  std::size_t errors() const noexcept { return error_findings; }
};

// Receives each finding as it is found, in file order: memory does not grow with their number.
using FindingSink = std::function<void(const Finding&)>;

struct CertIdOptions {
  std::time_t at = 0;                        // certificates are judged at this instant
  std::optional<Registration> registration;  // with it, WRONG_NETWORK_OPERATOR
  CertIdColumns columns;
  CsvLimits limits;
  // Threads checking one file, the row pass among them. With more than one, the others read the file
  // ahead for the certificate IDs it names and validate those certificates from the last one back while
  // the rows are checked from the first: each certificate is still validated once, and the report is the
  // same whatever the number.
  unsigned threads = 1;
};

class CertIdChecker {
 public:
  CertIdChecker(std::shared_ptr<const CertStore> store, std::shared_ptr<const TrustStore> trust, Profile profile,
                CertIdOptions options);

  // File-level failures: IoError, CsvMalformed, ColumnMissing (the message lists the headers found),
  // ColumnDuplicated. Findings go to `sink` as they are found (a file of a million bad rows streams).
  Result<CertIdReport> check_file(const std::filesystem::path& path, const FindingSink& sink) const;
  Result<CertIdReport> check(CsvReader& reader, const std::filesystem::path& name, const FindingSink& sink) const;
  // The same, every finding kept in the report's `findings` (for small files and tests).
  Result<CertIdReport> check_file(const std::filesystem::path& path) const;
  Result<CertIdReport> check(CsvReader& reader, const std::filesystem::path& name) const;

  // What is wrong with a certificate whatever row names it: its profile (keyUsage aside, which the
  // column judges), then its chain, validity and revocation at the check time. Computed once per
  // certificate, then reused.
  struct CertificateProblems {
    std::vector<Error> profile;
    Status chain;
    RevocationStatus revocation;
  };
  const CertificateProblems& certificate_problems(const OrgCert& cert) const;
  // How many chain validations have run (each certificate at most once).
  std::size_t chain_validations() const;

 private:
  struct CachedProblems {
    bool ready = false;  // false: a thread is computing them
    CertificateProblems problems;
  };
  // certificate_problems; when `wait` is false and another thread is computing them, nullptr at once.
  const CertificateProblems* problems_of(const OrgCert& cert, bool wait) const;
  // The helpers' work (options_.threads > 1): the file's certificate IDs, then their certificates'
  // problems from the last back, until `stop`.
  void validate_ahead(const std::filesystem::path& path, unsigned helpers, std::stop_token stop) const;

  // The parts of check(), in certid_check.cpp: where the columns are, one row's findings, one
  // certificate-ID cell and one certificate that it may name.
  struct Columns;
  struct RowFindings;
  Result<Columns> resolve_columns(const CsvRecord& header, bool has_header, const std::filesystem::path& name) const;
  void check_row(const Columns& cols, RowFindings& row, std::set<const OrgCert*>& named, CertIdReport& report) const;
  OrgCertPtr check_id_cell(const Columns& cols, RowFindings& row, int which, const std::optional<Eui64>& user_id,
                           const std::vector<Eui64>* expected, std::set<const OrgCert*>& named,
                           CertIdReport& report) const;
  void judge_candidate(RowFindings& row, std::size_t col, int which, const std::string& id, const OrgCert& cert,
                       const std::optional<Eui64>& user_id, const std::vector<Eui64>* expected,
                       std::set<const OrgCert*>& named, CertIdReport& report) const;

  std::shared_ptr<const CertStore> store_;
  std::shared_ptr<const TrustStore> trust_;
  Profile profile_;
  CertIdOptions options_;
  mutable std::mutex mutex_;
  mutable std::condition_variable computed_;  // a certificate's problems became ready
  mutable std::unordered_map<const OrgCert*, CachedProblems> problems_cache_;
};

std::string_view severity_name(Severity severity);  // "error", "note"

}  // namespace mamsign
