// CmsSignature once parsed (cms_parse.cpp): which certificate its signer identifier names, and whether
// its signature verifies with that certificate's key (over the signed attributes, with ESS
// signingCertificate naming the same certificate, or over the content digest alone).
#include "mamsign/signature/cms_signature.h"

#include "signature/cms_asn1.h"
#include "mamsign/signature/digest.h"
#include "mamsign/signature/raw_signature.h"

#include <openssl/err.h>

namespace mamsign {

using namespace cms_detail;

namespace {

const MAMSIGN_SIGNER_ID* signer_id(const std::shared_ptr<void>& si) {
  return si ? static_cast<const MAMSIGN_SIGNER_INFO_IN*>(si.get())->sid : nullptr;
}

const ASN1_OCTET_STRING* signature_value(const std::shared_ptr<void>& si) {
  return si ? static_cast<const MAMSIGN_SIGNER_INFO_IN*>(si.get())->signature : nullptr;
}

const STACK_OF(X509_ATTRIBUTE) * signed_attributes(const std::shared_ptr<void>& si) {
  return si ? static_cast<const MAMSIGN_SIGNER_INFO_IN*>(si.get())->signed_attrs : nullptr;
}

}  // namespace

bool CmsSignature::identifies(const OrgCert& cert) const {
  const MAMSIGN_SIGNER_ID* sid = signer_id(si_);
  if (sid == nullptr) return false;
  if (sid->type == 0) {
    const MAMSIGN_ISSUER_SERIAL* is = sid->d.issuer_serial;
    return X509_NAME_cmp(is->issuer, X509_get_issuer_name(cert.x509())) == 0 &&
           ASN1_INTEGER_cmp(is->serial, X509_get0_serialNumber(cert.x509())) == 0;
  }
  const ASN1_OCTET_STRING* skid = X509_get0_subject_key_id(cert.x509());
  return skid != nullptr && ASN1_OCTET_STRING_cmp(sid->d.key_id, skid) == 0;
}

OrgCertPtr CmsSignature::embedded_signer() const {
  for (const auto& c : certificates_) {
    if (identifies(*c)) return c;
  }
  return nullptr;
}

X509_NAME* CmsSignature::sid_issuer() const {
  const MAMSIGN_SIGNER_ID* sid = signer_id(si_);
  return sid != nullptr && sid->type == 0 ? sid->d.issuer_serial->issuer : nullptr;
}

const ASN1_INTEGER* CmsSignature::sid_serial() const {
  const MAMSIGN_SIGNER_ID* sid = signer_id(si_);
  return sid != nullptr && sid->type == 0 ? sid->d.issuer_serial->serial : nullptr;
}

std::string CmsSignature::signer_id_text() const {
  const MAMSIGN_SIGNER_ID* sid = signer_id(si_);
  if (sid == nullptr) return "no signer identifier";
  if (sid->type != 0) {
    return "subject key identifier " +
           to_hex(ASN1_STRING_get0_data(sid->d.key_id), static_cast<std::size_t>(ASN1_STRING_length(sid->d.key_id)));
  }
  BignumPtr bn(ASN1_INTEGER_to_BN(sid->d.issuer_serial->serial, nullptr));
  OsslStringPtr hex(bn ? BN_bn2hex(bn.get()) : nullptr);
  return "serial " + std::string(hex ? hex.get() : "?") + " from issuer " + name_text(sid->d.issuer_serial->issuer);
}

Sha256 CmsSignature::signature_value_digest() const {
  const auto* si = static_cast<const MAMSIGN_SIGNER_INFO_IN*>(si_.get());
  return sha256_bytes(std::string_view(reinterpret_cast<const char*>(ASN1_STRING_get0_data(si->signature)),
                                       static_cast<std::size_t>(ASN1_STRING_length(si->signature))));
}

Status CmsSignature::verify_signature(const OrgCert& signer, const Sha256& content_digest) {
  if (!has_signed_attributes()) {
    if (verifies_content_digest(signer, content_digest)) return Status::ok();
    return make_error(Reason::BadSignature, "the signature does not verify");
  }
  // The signature covers the DER of the signed attributes, as received and checked to be DER by parse():
  // SHA-256 of them, verified with the signer's key on a context kept per thread (what
  // CMS_SignerInfo_verify does, without looking SHA-256 and ECDSA up again for every file).
  const ASN1_OCTET_STRING* sig = signature_value(si_);
  EVP_PKEY* key = X509_get0_pubkey(signer.x509());
  Sha256 attrs_digest{};
  EVP_PKEY_CTX* ctx = key != nullptr ? verifying_context(key) : nullptr;
  const bool verified =
      sig != nullptr && ctx != nullptr && !signed_attributes_.empty() &&
      EVP_Digest(signed_attributes_.data(), signed_attributes_.size(), attrs_digest.data(), nullptr, sha256_md(),
                 nullptr) == 1 &&
      EVP_PKEY_verify(ctx, ASN1_STRING_get0_data(sig), static_cast<std::size_t>(ASN1_STRING_length(sig)),
                      attrs_digest.data(), attrs_digest.size()) == 1;
  ERR_clear_error();
  if (!verified) {
    return make_error(
        Reason::BadSignature,
        "the ECDSA signature over the signed attributes does not verify with the key of " + signer.describe());
  }
  // ESS signingCertificate(V2), when present, must name this very certificate.
  // The check is a function of the attribute's bytes and the certificate alone, and a batch sees the
  // same pair file after file: the last pair that passed is remembered per thread.
  struct Passed {
    std::string attributes;
    Fingerprint signer{};
  };
  thread_local Passed passed;
  std::string ess_attributes;
  for (int nid : {NID_id_smime_aa_signingCertificateV2, NID_id_smime_aa_signingCertificate}) {
    const int at = X509at_get_attr_by_NID(signed_attributes(si_), nid, -1);
    X509_ATTRIBUTE* attr = at >= 0 ? X509at_get_attr(signed_attributes(si_), at) : nullptr;
    ess_attributes += attr != nullptr ? der_of(attr, i2d_X509_ATTRIBUTE) : std::string("-");
  }
  if (!ess_attributes.empty() && ess_attributes == passed.attributes && signer.fingerprint() == passed.signer) {
    return Status::ok();
  }
  ESS_SIGNING_CERT_V2* v2 = nullptr;
  ESS_SIGNING_CERT* v1 = nullptr;
  EssSigningCertV2Ptr v2_owner;
  EssSigningCertPtr v1_owner;
  for (auto [nid, is_v2] :
       {std::pair{NID_id_smime_aa_signingCertificateV2, true}, std::pair{NID_id_smime_aa_signingCertificate, false}}) {
    auto attr = single_attribute(signed_attributes(si_), nid, is_v2 ? "signingCertificateV2" : "signingCertificate");
    if (!attr) return std::move(attr).error();
    if (*attr == nullptr) continue;
    if (ASN1_TYPE_get(*attr) != V_ASN1_SEQUENCE) return malformed("signingCertificate is not a SEQUENCE");
    const ASN1_STRING* seq = (*attr)->value.sequence;
    const auto* sp = ASN1_STRING_get0_data(seq);
    if (is_v2) {
      v2_owner.reset(d2i_ESS_SIGNING_CERT_V2(nullptr, &sp, ASN1_STRING_length(seq)));
      v2 = v2_owner.get();
    } else {
      v1_owner.reset(d2i_ESS_SIGNING_CERT(nullptr, &sp, ASN1_STRING_length(seq)));
      v1 = v1_owner.get();
    }
    if ((is_v2 && v2 == nullptr) || (!is_v2 && v1 == nullptr)) {
      ERR_clear_error();
      return malformed("the signingCertificate attribute cannot be parsed");
    }
  }
  if (v1 != nullptr || v2 != nullptr) {
    X509StackPtr chain(sk_X509_new_null());
    X509_up_ref(signer.x509());
    sk_X509_push(chain.get(), signer.x509());
    if (OSSL_ESS_check_signing_certs(v1, v2, chain.get(), 0) <= 0) {
      ERR_clear_error();
      return make_error(Reason::BadSignature,
                        "the signed signingCertificate attribute names another certificate than " + signer.describe());
    }
  }
  passed.attributes = std::move(ess_attributes);
  passed.signer = signer.fingerprint();
  return Status::ok();
}

bool CmsSignature::verifies_content_digest(const OrgCert& signer, const Sha256& digest) const {
  const ASN1_OCTET_STRING* sig = signature_value(si_);
  EVP_PKEY* key = X509_get0_pubkey(signer.x509());
  if (sig == nullptr || key == nullptr) return false;
  return verify_digest_signature(key,
                                 std::string_view(reinterpret_cast<const char*>(ASN1_STRING_get0_data(sig)),
                                                  static_cast<std::size_t>(ASN1_STRING_length(sig))),
                                 digest);
}
}  // namespace mamsign
