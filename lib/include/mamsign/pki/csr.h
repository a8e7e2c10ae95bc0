// Organisation Certificate Signing Requests (PKCS#10) in the structure of SEC Appendix M (SMKI Interface
// Design Specification), Appendix F; and the check of the certificate that comes back, which SEC L11.5-L11.7
// deem accepted unless rejected at once. docs/csr.md lists every rule with its id.
#pragma once

#include "mamsign/pki/cert_builder.h"
#include "mamsign/base/error.h"
#include "mamsign/smki/eui64.h"
#include "mamsign/smki/org_cert.h"
#include "mamsign/base/ossl.h"
#include "mamsign/smki/profile.h"
#include "mamsign/pki/trust_store.h"

#include <openssl/x509.h>

#include <ctime>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mamsign {

using X509ReqPtr = OsslPtr<X509_REQ, X509_REQ_free>;

// "02", "2", "0x02" or a role's name ("supplier", "network-operator", "network operator", ...).
std::optional<std::uint8_t> parse_role(std::string_view text);
// "ds", "digitalSignature", "ka", "keyAgreement" (any case).
std::optional<Usage> parse_usage(std::string_view text);

// What to request. The defaults are Appendix F; every knob can break one rule, for tests.
struct CsrSpec {
  std::optional<std::string> common_name;
  std::optional<std::string> ou;  // the role code as written: "02"
  Eui64 eui64;
  EuiEncoding eui_encoding = EuiEncoding::BitString64;
  bool key_usage_present = true;
  bool key_usage_critical = true;
  std::uint32_t key_usage = KU_DIGITAL_SIGNATURE;  // KU_* bits
  bool sha1 = false;                               // sign with ecdsa-with-SHA1 (wrong)
  long version = 0;                                // X509_REQ version field: 0 is v1
};

// A CSR signed by `key` (a file key or a key on a token), as DER.
Result<std::string> build_csr(const CsrSpec& spec, EVP_PKEY* key);
std::string csr_pem(std::string_view der);

// One departure from Appendix F: the rule's id (docs/csr.md), what it wants, what the CSR has.
struct CsrFinding {
  std::string rule;
  std::string expected;
  std::string found;
};

class CertificateRequest {
 public:
  // Any encoding the DCC's portal takes: DER; PEM with BEGIN CERTIFICATE REQUEST or BEGIN NEW CERTIFICATE
  // REQUEST; base64 without headers, on one line or broken at any width, with LF or CRLF. INVALID_INPUT
  // for anything else (the message says what was found), trailing bytes included. At most 64 KiB.
  static Result<CertificateRequest> read(std::string_view bytes);
  static Result<CertificateRequest> load(const std::filesystem::path& path);

  // Every departure from Appendix F, in the order of docs/csr.md; empty when the CSR is as it must be.
  std::vector<CsrFinding> check() const;
  bool self_signature_verifies() const;

  const X509_REQ* request() const noexcept { return req_.get(); }
  EVP_PKEY* public_key() const;  // null when the key cannot be decoded
  const std::string& der() const noexcept { return der_; }
  const std::string& encoding() const noexcept { return encoding_; }  // "DER", "PEM (CERTIFICATE REQUEST), CRLF", ...
  std::optional<std::uint8_t> role() const;
  std::optional<Eui64> eui64() const;
  std::optional<std::string> common_name() const;
  std::optional<Usage> usage() const;  // the one requested usage, when exactly one is
  std::string key_text() const;        // "EC P-256", "EC P-384", "RSA 2048", ...
  std::string subject() const;

 private:
  X509ReqPtr req_;
  std::string der_;
  std::string encoding_;
};

// "Accept or reject this certificate now": every reason to reject it, empty to accept.
struct AcceptOptions {
  Profile profile = Profile::defaults();
  std::time_t now = 0;
  const TrustStore* trust = nullptr;  // when given: the chain to the anchors, and revocation
  EVP_PKEY* key = nullptr;            // when given: the certificate is this key's
};
struct AcceptVerdict {
  std::vector<Error> reasons;      // KEY_MISMATCH, WRONG_ROLE, SUBJECT_MISMATCH, WRONG_KEY_USAGE, the profile's,
                                   // CERT_NOT_YET_VALID / CERT_EXPIRED, UNTRUSTED_CHAIN, CERT_REVOKED, ...
  std::vector<std::string> notes;  // facts that are not reasons (a different CN, revocation not checked)
  bool accept() const { return reasons.empty(); }
};
AcceptVerdict judge_issued_certificate(const CertificateRequest& csr, const OrgCert& cert,
                                       const AcceptOptions& options);

}  // namespace mamsign
