#include "mamsign/base/error.h"

#include <array>
#include <cstdio>
#include <utility>

namespace mamsign {
namespace {

constexpr std::array<std::pair<Reason, std::string_view>, 47> kNames{{
    {Reason::MalformedSignature, "MALFORMED_SIGNATURE"},
    {Reason::SignatureMissing, "SIGNATURE_MISSING"},
    {Reason::DataMissing, "DATA_MISSING"},
    {Reason::UnsupportedAlgorithm, "UNSUPPORTED_ALGORITHM"},
    {Reason::ContentModified, "CONTENT_MODIFIED"},
    {Reason::BadSignature, "BAD_SIGNATURE"},
    {Reason::SignerNotFound, "SIGNER_NOT_FOUND"},
    {Reason::UntrustedChain, "UNTRUSTED_CHAIN"},
    {Reason::CertExpired, "CERT_EXPIRED"},
    {Reason::CertNotYetValid, "CERT_NOT_YET_VALID"},
    {Reason::CertRevoked, "CERT_REVOKED"},
    {Reason::RevocationUnknown, "REVOCATION_UNKNOWN"},
    {Reason::RevocationStale, "REVOCATION_STALE"},
    {Reason::InvalidSubject, "INVALID_SUBJECT"},
    {Reason::WrongRole, "WRONG_ROLE"},
    {Reason::WrongKeyUsage, "WRONG_KEY_USAGE"},
    {Reason::PolicyMismatch, "POLICY_MISMATCH"},
    {Reason::FileNameInvalid, "FILE_NAME_INVALID"},
    {Reason::SignerMismatch, "SIGNER_MISMATCH"},
    {Reason::FileRenamed, "FILE_RENAMED"},
    {Reason::FormatNotAllowed, "FORMAT_NOT_ALLOWED"},
    {Reason::TimestampInvalid, "TIMESTAMP_INVALID"},
    {Reason::TimestampUntrusted, "TIMESTAMP_UNTRUSTED"},
    {Reason::TimestampMissing, "TIMESTAMP_MISSING"},
    {Reason::TimestampUnavailable, "TIMESTAMP_UNAVAILABLE"},
    {Reason::IoError, "IO_ERROR"},
    {Reason::FileChanged, "FILE_CHANGED"},
    {Reason::InvalidCertificate, "INVALID_CERTIFICATE"},
    {Reason::KeyMismatch, "KEY_MISMATCH"},
    {Reason::SignatureExists, "SIGNATURE_EXISTS"},
    {Reason::InvalidInput, "INVALID_INPUT"},
    {Reason::IdSyntax, "ID_SYNTAX"},
    {Reason::IdUnknown, "ID_UNKNOWN"},
    {Reason::NotNetworkOperator, "NOT_NETWORK_OPERATOR"},
    {Reason::WrongUsage, "WRONG_USAGE"},
    {Reason::PairMismatch, "PAIR_MISMATCH"},
    {Reason::NoUseridMismatch, "NO_USERID_MISMATCH"},
    {Reason::MpxnInvalid, "MPXN_INVALID"},
    {Reason::WrongNetworkOperator, "WRONG_NETWORK_OPERATOR"},
    {Reason::RowMalformed, "ROW_MALFORMED"},
    {Reason::ColumnMissing, "COLUMN_MISSING"},
    {Reason::ColumnDuplicated, "COLUMN_DUPLICATED"},
    {Reason::CsvMalformed, "CSV_MALFORMED"},
    {Reason::GroupNotMigrated, "GROUP_NOT_MIGRATED"},
    {Reason::NoRegistration, "NO_REGISTRATION"},
    {Reason::CsrInvalid, "CSR_INVALID"},
    {Reason::SubjectMismatch, "SUBJECT_MISMATCH"},
}};

constexpr std::array<Reason, kNames.size()> make_all() {
  std::array<Reason, kNames.size()> all{};
  for (std::size_t i = 0; i < kNames.size(); ++i) all[i] = kNames[i].first;
  return all;
}
constexpr auto kAll = make_all();

}  // namespace

std::string_view reason_name(Reason reason) {
  for (const auto& [r, name] : kNames) {
    if (r == reason) return name;
  }
  return "UNKNOWN";
}

std::optional<Reason> reason_from_name(std::string_view name) {
  for (const auto& [r, n] : kNames) {
    if (n == name) return r;
  }
  return std::nullopt;
}

std::span<const Reason> all_reasons() { return kAll; }

std::string printable(std::string_view text, std::size_t max_chars) {
  std::string out = "\"";
  std::size_t shown = 0;
  for (unsigned char c : text) {
    if (shown >= max_chars) {
      out += "...";
      break;
    }
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c >= 0x20 && c < 0x7F) {
      out += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02X", c);
      out += buf;
    }
    ++shown;
  }
  out += '"';
  return out;
}

}  // namespace mamsign
