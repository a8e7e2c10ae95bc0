// Errors as values: a stable reason code and a message for people. The library never throws its own
// errors through its interfaces and never prints; callers decide how to show a result.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace mamsign {

// Every code has a stable upper-case name (reason_name); docs/reason-codes.md says what each means
// and what a user should do about it.
enum class Reason {
  // Verifying a signature (SPEC section 5).
  MalformedSignature,
  SignatureMissing,
  // A signature (FILE.p7s, FILE.sig) whose data file FILE is not there: half a pair, verified as nothing.
  DataMissing,
  UnsupportedAlgorithm,
  ContentModified,
  BadSignature,
  SignerNotFound,
  UntrustedChain,
  CertExpired,
  CertNotYetValid,
  CertRevoked,
  // Revocation required (--require-crl) but no CRL from the signer's issuer, or only one past nextUpdate.
  RevocationUnknown,
  RevocationStale,
  InvalidSubject,
  WrongRole,
  WrongKeyUsage,
  PolicyMismatch,
  FileNameInvalid,
  SignerMismatch,
  FileRenamed,
  // A raw or attribute-less signature where the profile does not allow one, or over content that is
  // itself a DER structure (which such a signature cannot tell from a CMS signature's signed attributes).
  FormatNotAllowed,
  // RFC 3161 timestamps (docs/signing-profile.md, Timestamps): a token that is not a valid timestamp over
  // this signature; one whose TSA does not chain to the --tsa-trust anchors; none where one is required;
  // none to be had from any TSA while signing (the file is not signed).
  TimestampInvalid,
  TimestampUntrusted,
  TimestampMissing,
  TimestampUnavailable,
  IoError,
  // A file changed (size, mtime or ctime, or the name now another file) while it was read: nothing is
  // judged or written from bytes that may mix two versions of it. Like IO_ERROR, an input problem.
  FileChanged,
  // The certificate itself breaks the X.509 side of the profile (version, serial, CA flag, extensions).
  InvalidCertificate,
  // Signing: the private key is not the certificate's.
  KeyMismatch,
  // mam-csr: a CSR departs from SEC Appendix M Appendix F; an issued certificate's subject (EUI-64) is not
  // what its CSR asked for.
  CsrInvalid,
  SubjectMismatch,
  // Signing: a signature file is already there and may not be replaced.
  SignatureExists,
  // A configuration or input file that was read but does not make sense (profile, registration data).
  InvalidInput,
  // The network-operator certificate-ID check (SPEC section 6).
  IdSyntax,
  IdUnknown,
  NotNetworkOperator,
  WrongUsage,
  PairMismatch,
  NoUseridMismatch,
  MpxnInvalid,
  WrongNetworkOperator,
  RowMalformed,
  ColumnMissing,
  ColumnDuplicated,
  CsvMalformed,
  GroupNotMigrated,
  NoRegistration,
};

std::string_view reason_name(Reason reason);
// IO_ERROR and FILE_CHANGED: the input could not be read (whole and consistent), so nothing was judged.
// Apps show these as "ERROR" / "error" and exit 3.
constexpr bool is_input_error(Reason reason) { return reason == Reason::IoError || reason == Reason::FileChanged; }
std::optional<Reason> reason_from_name(std::string_view name);
// Every reason, in declaration order (for docs and tests).
std::span<const Reason> all_reasons();

struct Error {
  Reason reason;
  std::string message;
};

inline Error make_error(Reason reason, std::string message) { return Error{reason, std::move(message)}; }

// A value or an Error. Deliberately small: has_value / value / error, and implicit construction from
// either side so functions can `return value;` or `return make_error(...)`.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool has_value() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const& { return std::get<1>(v_); }
  Error&& error() && { return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, Error> v_;
};

// Success or an Error, for operations that produce nothing.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Error error) : error_(std::move(error)) {}  // NOLINT(google-explicit-constructor)
  static Status ok() { return {}; }

  bool has_value() const noexcept { return !error_.has_value(); }
  explicit operator bool() const noexcept { return has_value(); }
  const Error& error() const& { return *error_; }
  Error&& error() && { return std::move(*error_); }

 private:
  std::optional<Error> error_;
};

// Quotes untrusted text for a message: printable ASCII kept, everything else as \xNN, long input cut.
std::string printable(std::string_view text, std::size_t max_chars = 96);

}  // namespace mamsign
