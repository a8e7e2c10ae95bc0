// SMKI Organisation Certificates (SPEC section 3): the fields the tools need, read once, and the profile
// check that returns every violation with its reason code.
#pragma once

#include "mamsign/base/error.h"
#include "mamsign/smki/eui64.h"
#include "mamsign/base/ossl.h"
#include "mamsign/base/text.h"
#include "mamsign/smki/profile.h"

#include <array>
#include <cstdint>
#include <ctime>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace mamsign {

using Fingerprint = std::array<std::uint8_t, 32>;  // SHA-256 of the certificate's DER

enum class Usage { DigitalSignature, KeyAgreement };
std::string_view usage_name(Usage usage);  // "digitalSignature", "keyAgreement"

class OrgCert {
 public:
  // Reads every field up front; never fails on a certificate OpenSSL could parse (a missing or
  // malformed field is recorded and reported by check_profile).
  explicit OrgCert(X509Ptr cert);

  // A file holding one certificate, PEM or DER.
  static Result<std::shared_ptr<const OrgCert>> load(const std::filesystem::path& path);
  // One DER certificate, exactly (nothing after it); null when the bytes are not one.
  static std::shared_ptr<const OrgCert> from_der(std::string_view der);
  // Every certificate in a buffer: a PEM bundle (other PEM blocks are skipped) or one DER certificate.
  // `origin` names the source in messages.
  static Result<std::vector<std::shared_ptr<const OrgCert>>> parse_all(std::string_view bytes, std::string_view origin);

  X509* x509() const noexcept { return cert_.get(); }
  const Fingerprint& fingerprint() const noexcept { return fingerprint_; }

  // Serial as the SMKI repository shows it: upper-case hex, at least 32 digits.
  const std::string& serial() const noexcept { return serial_; }
  const std::string& issuer() const noexcept { return issuer_; }    // "CN=..., OU=02, x500UniqueIdentifier=#0309..."
  const std::string& subject() const noexcept { return subject_; }  // "CN=..., OU=02, x500UniqueIdentifier=#0309..."
  const std::optional<std::string>& common_name() const noexcept { return common_name_; }
  // The subject OU as a role code, when it is exactly two hex digits.
  const std::optional<std::uint8_t>& role() const noexcept { return role_; }
  // The EUI-64 of x500UniqueIdentifier, when it is a BIT STRING of exactly 64 bits.
  const std::optional<Eui64>& eui64() const noexcept { return eui64_; }
  // keyUsage says exactly this one usage (digitalSignature or keyAgreement) and nothing else.
  bool has_only_usage(Usage usage) const noexcept;
  // "digitalSignature", "keyAgreement", "digitalSignature, keyAgreement", "none"...
  std::string key_usage_text() const;
  const std::vector<std::string>& policy_oids() const noexcept { return policy_oids_; }
  const std::string& key_algorithm() const noexcept { return key_algorithm_; }  // "EC prime256v1"
  const std::string& signature_algorithm() const noexcept { return signature_algorithm_; }
  std::time_t not_before() const noexcept { return not_before_; }
  std::time_t not_after() const noexcept { return not_after_; }
  bool is_ca() const noexcept;

  // Every violation of SPEC section 3 that does not depend on who uses the certificate, in a fixed
  // order: UNSUPPORTED_ALGORITHM, INVALID_CERTIFICATE, INVALID_SUBJECT, WRONG_KEY_USAGE,
  // POLICY_MISMATCH. The role and which usage is wanted are checked by the caller.
  std::vector<Error> check_profile(const Profile& profile) const;
  // CERT_EXPIRED / CERT_NOT_YET_VALID at `at`, or OK.
  Status check_validity(std::time_t at) const;

  // "70-B3-D5-1F-30-00-A0-08 (role 02 supplier, serial 0A1B...)": how messages name a certificate.
  std::string describe() const;

 private:
  X509Ptr cert_;
  Fingerprint fingerprint_{};
  std::string serial_;
  bool serial_ok_ = false;
  std::string serial_problem_;
  std::string issuer_, subject_;
  std::optional<std::string> common_name_;
  std::optional<std::uint8_t> role_;
  std::string subject_problem_;  // empty when OU and x500UniqueIdentifier are as the profile wants
  std::optional<Eui64> eui64_;
  bool key_usage_present_ = false;
  bool key_usage_critical_ = false;
  std::uint32_t key_usage_ = 0;
  std::vector<std::string> policy_oids_;
  bool policies_present_ = false;
  bool policies_critical_ = false;
  std::string key_algorithm_;
  bool key_is_p256_uncompressed_ = false;
  std::string signature_algorithm_;
  bool signature_is_ecdsa_sha256_ = false;
  std::time_t not_before_ = 0, not_after_ = 0;
  std::uint32_t extension_flags_ = 0;
  long version_ = 0;
};

using OrgCertPtr = std::shared_ptr<const OrgCert>;

// Certificates met again and again (the signer's, embedded in every file it signed), parsed once and
// shared, keyed by their DER bytes. Thread-safe; holds at most `capacity` certificates.
class CertificateCache {
 public:
  explicit CertificateCache(std::size_t capacity = 4096) : capacity_(capacity) {}
  // The certificate of these DER bytes, or null if they are not one.
  OrgCertPtr get(std::string_view der);

 private:
  std::size_t capacity_;
  std::mutex mutex_;
  std::unordered_map<std::string, OrgCertPtr> certs_;
};

// The field readers OrgCert is built from, shared with the certificate store's index.
// A serial as 32 (or more) upper-case hex digits, "-" first when negative.
std::string serial_text(const ASN1_INTEGER* serial);
// The subject's EUI-64: exactly one x500UniqueIdentifier, a BIT STRING of exactly 64 bits. Otherwise
// nullopt, and `problem` (if given) says what is wrong.
std::optional<Eui64> subject_eui64(const X509_NAME* subject, std::string* problem = nullptr);
// KU_* bits as words: "digitalSignature", "digitalSignature, keyAgreement", or "none".
std::string key_usage_words(std::uint32_t key_usage);
// A name as messages show it: "CN=..., OU=02, x500UniqueIdentifier=#0309...".
std::string name_text(const X509_NAME* name);

// SHA-256 of a DER encoding: the fingerprint OrgCert::fingerprint() gives for the same bytes.
Fingerprint sha256_fingerprint(std::string_view der);

}  // namespace mamsign
