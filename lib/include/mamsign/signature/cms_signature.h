// The default container of SPEC section 4: a detached CMS SignedData (RFC 5652), DER, one signer,
// signed attributes contentType, messageDigest, signingTime, ESS signingCertificateV2 and the file's
// base name in ESS contentHints (contentDescription).
#pragma once

#include "mamsign/signature/digest.h"
#include "mamsign/base/error.h"
#include "mamsign/smki/org_cert.h"
#include "mamsign/base/ossl.h"

#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mamsign {

struct CmsSignRequest {
  Sha256 digest;           // SHA-256 of the file's bytes
  std::string bound_name;  // the file's base name, bound in contentHints
  EVP_PKEY* key = nullptr;
  const OrgCert* signer = nullptr;
  std::vector<OrgCertPtr> chain;  // embedded after the signer's certificate (the OCA)
  std::time_t signing_time = 0;
};

// DER bytes of the signature, made through OpenSSL's CMS API. The reference CmsSignatureMaker is tested
// against: same structure, same signed attributes, same certificates.
Result<std::string> make_cms_signature(const CmsSignRequest& request);

// The same signature, made fast for batches: everything that does not change from file to file (the
// certificates, the SignerIdentifier, the algorithm identifiers, the contentType and signingCertificateV2
// attributes) is encoded once; per file only the signing time, the digest, the bound name and the
// signature are encoded, each by OpenSSL's ASN.1 templates. Thread-safe (sign is const).
class CmsSignatureMaker {
 public:
  static Result<CmsSignatureMaker> create(const OrgCert& signer, const std::vector<OrgCertPtr>& chain);
  Result<std::string> sign(EVP_PKEY* key, const Sha256& digest, std::string_view bound_name,
                           std::time_t signing_time) const;

 private:
  std::string sid_;                                                          // IssuerAndSerialNumber, DER
  std::string content_type_attribute_;                                       // Attribute contentType = id-data, DER
  std::string signing_certificate_attribute_;                                // Attribute signingCertificateV2, DER
  std::vector<std::string> certificates_;                                    // DER: the signer's, then the chain's
  std::string digest_algorithm_, signature_algorithm_, encap_content_info_;  // DER
};

// `cms_der` with `token_der` (an RFC 3161 TimeStampToken, a ContentInfo) added to its one SignerInfo as
// the unsigned attribute id-aa-signatureTimeStampToken (RFC 3161 Appendix A, CAdES-T). The signed part
// is not touched: MalformedSignature when the SignerInfo is not DER (re-encoding it would change bytes
// the signature covers), when it holds a token already, or when the signature is not one of ours to
// read (not SignedData, not exactly one signer).
Result<std::string> add_timestamp_token(std::string_view cms_der, std::string_view token_der);

// A parsed signature from anyone (ours, `openssl cms -sign`, other producers). Read with OpenSSL's ASN.1
// templates part by part (ContentInfo, SignedData, the SignerInfo, its attributes): the certificates are
// looked up in a cache before any is decoded, and nothing is decoded twice.
class CmsSignature {
 public:
  // MalformedSignature: not one ContentInfo, not SignedData, a version RFC 5652 does not allow, more
  // than 16 certificates, attached content, not exactly one signer, content type other than id-data,
  // signed attributes that are not DER, required signed attributes missing or malformed.
  // UnsupportedAlgorithm: digest other than SHA-256, signature other than ECDSA.
  // Embedded certificates are taken from `cache` when it has them (a batch verifies many files signed
  // by one certificate).
  static Result<CmsSignature> parse(std::string_view der, CertificateCache* cache = nullptr);

  bool has_signed_attributes() const noexcept { return message_digest_.has_value(); }
  const std::optional<Sha256>& message_digest() const noexcept { return message_digest_; }
  const std::optional<std::time_t>& signing_time() const noexcept { return signing_time_; }
  const std::optional<std::string>& bound_name() const noexcept { return bound_name_; }
  const std::vector<OrgCertPtr>& certificates() const noexcept { return certificates_; }
  // The ContentInfo or SignedData is BER (indefinite or longer-than-needed lengths), as Bouncy Castle
  // streams it: accepted, since the signature covers only the signed attributes, which must be DER.
  bool is_ber() const noexcept { return ber_; }
  // The unsigned attribute id-aa-signatureTimeStampToken: the token's DER (a ContentInfo), if present.
  // MalformedSignature at parse when it is there twice or is not a SEQUENCE.
  const std::optional<std::string>& timestamp_token() const noexcept { return timestamp_token_; }
  // SHA-256 of the SignerInfo's signature value (the OCTET STRING's contents): what a timestamp over the
  // signature hashes (RFC 3161 Appendix A).
  Sha256 signature_value_digest() const;

  // Whether the signer identifier (issuer and serial, or subject key identifier) names `cert`.
  bool identifies(const OrgCert& cert) const;
  // The embedded certificate the signer identifier names, if any.
  OrgCertPtr embedded_signer() const;
  // "issuer CN=..., serial 0A1B..." or "subject key identifier 01ab...": for messages.
  std::string signer_id_text() const;
  // The issuer and serial the signer identifier names (both null for a subject key identifier).
  X509_NAME* sid_issuer() const;
  const ASN1_INTEGER* sid_serial() const;

  // With signed attributes: the signature over them, with `signer`'s key. Without: the signature
  // over `content_digest` directly. Also checks ESS signingCertificate(V2) when present.
  Status verify_signature(const OrgCert& signer, const Sha256& content_digest);
  // The signature value alone over `digest` (no signed attributes): for diagnosing a modified file.
  bool verifies_content_digest(const OrgCert& signer, const Sha256& digest) const;

 private:
  std::shared_ptr<void> si_;  // the SignerInfo, decoded by OpenSSL's ASN.1 templates (lib/src/signature/cms_asn1.h)
  std::optional<Sha256> message_digest_;
  std::optional<std::time_t> signing_time_;
  std::optional<std::string> bound_name_;
  std::vector<OrgCertPtr> certificates_;
  std::string signed_attributes_;  // the signed attributes' DER (SET tag) as the signature covers them
  std::optional<std::string> timestamp_token_;
  bool ber_ = false;
};

}  // namespace mamsign
