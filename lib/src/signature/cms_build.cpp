// Building signatures: make_cms_signature with OpenSSL's CMS API (the reference, and for keys the
// streamlined path cannot take), and CmsSignatureMaker, which encodes once what never changes and per
// file only the signed attributes and the signature.
#include "mamsign/signature/cms_signature.h"

#include "signature/cms_asn1.h"
#include "mamsign/signature/digest.h"

#include <openssl/cms.h>
#include <openssl/err.h>

namespace mamsign {

using namespace cms_detail;

Result<std::string> make_cms_signature(const CmsSignRequest& request) {
  auto fail = [](const std::string& what) {
    return make_error(Reason::UnsupportedAlgorithm,
                      "cannot make the CMS signature: " + what + ": " + take_openssl_errors());
  };
  CmsPtr cms(CMS_sign(nullptr, nullptr, nullptr, nullptr, CMS_DETACHED | CMS_PARTIAL | CMS_BINARY));
  if (!cms) return fail("SignedData");
  // CMS_CADES adds ESS signingCertificateV2 (SHA-256 of the signer's certificate, with issuer and serial).
  CMS_SignerInfo* si = CMS_add1_signer(cms.get(), request.signer->x509(), request.key, EVP_sha256(),
                                       CMS_PARTIAL | CMS_NOSMIMECAP | CMS_CADES | CMS_BINARY);
  if (si == nullptr) return fail("signer");
  for (const auto& c : request.chain) {
    if (CMS_add1_cert(cms.get(), c->x509()) != 1) return fail("chain certificate");
  }
  // The content is never handed to OpenSSL: it was hashed once, streamed, and the digest goes in here.
  if (CMS_signed_add1_attr_by_NID(si, NID_pkcs9_contentType, V_ASN1_OBJECT, OBJ_nid2obj(NID_pkcs7_data), -1) != 1 ||
      CMS_signed_add1_attr_by_NID(si, NID_pkcs9_messageDigest, V_ASN1_OCTET_STRING, request.digest.data(),
                                  static_cast<int>(request.digest.size())) != 1) {
    return fail("contentType and messageDigest");
  }
  Asn1TimePtr when(ASN1_TIME_set(nullptr, request.signing_time));
  if (!when ||
      CMS_signed_add1_attr_by_NID(si, NID_pkcs9_signingTime, ASN1_STRING_type(when.get()), when.get(), -1) != 1) {
    return fail("signingTime");
  }
  auto hints = content_hints_der(request.bound_name);
  if (!hints) return std::move(hints).error();
  if (CMS_signed_add1_attr_by_NID(si, NID_id_smime_aa_contentHint, V_ASN1_SEQUENCE, hints->data(),
                                  static_cast<int>(hints->size())) != 1) {
    return fail("contentHints");
  }
  if (CMS_SignerInfo_sign(si) != 1) return fail("signing");
  unsigned char* der = nullptr;
  const int len = i2d_CMS_ContentInfo(cms.get(), &der);
  if (len <= 0) return fail("encoding");
  std::string out(reinterpret_cast<char*>(der), static_cast<std::size_t>(len));
  OPENSSL_free(der);
  return out;
}

namespace {

// An ANY holding a whole pre-encoded SEQUENCE (tag and length included, as ASN1_ANY keeps it).
ASN1_TYPE* any_sequence(const std::string& der) {
  ASN1_TYPE* any = ASN1_TYPE_new();
  ASN1_STRING* value = ASN1_STRING_type_new(V_ASN1_SEQUENCE);
  if (any == nullptr || value == nullptr || ASN1_STRING_set(value, der.data(), static_cast<int>(der.size())) != 1) {
    ASN1_TYPE_free(any);
    ASN1_STRING_free(value);
    return nullptr;
  }
  ASN1_TYPE_set(any, V_ASN1_SEQUENCE, value);
  return any;
}

std::string algorithm_der(int nid) {
  OsslPtr<X509_ALGOR, X509_ALGOR_free> alg(X509_ALGOR_new());
  if (!alg || X509_ALGOR_set0(alg.get(), OBJ_nid2obj(nid), V_ASN1_UNDEF, nullptr) != 1) return {};
  return der_of(alg.get(), i2d_X509_ALGOR);
}

using AttributePtr = OsslPtr<X509_ATTRIBUTE, X509_ATTRIBUTE_free>;

}  // namespace

Result<CmsSignatureMaker> CmsSignatureMaker::create(const OrgCert& signer, const std::vector<OrgCertPtr>& chain) {
  const auto fail = [](const std::string& what) {
    return make_error(Reason::UnsupportedAlgorithm,
                      "cannot prepare CMS signing: " + what + ": " + take_openssl_errors());
  };
  CmsSignatureMaker m;
  IssuerSerialPtr sid(MAMSIGN_ISSUER_SERIAL_new());
  if (!sid) return fail("SignerIdentifier");
  X509_NAME_free(sid->issuer);
  ASN1_INTEGER_free(sid->serial);
  sid->issuer = X509_NAME_dup(X509_get_issuer_name(signer.x509()));
  sid->serial = ASN1_INTEGER_dup(X509_get0_serialNumber(signer.x509()));
  m.sid_ =
      sid->issuer != nullptr && sid->serial != nullptr ? der_of(sid.get(), i2d_MAMSIGN_ISSUER_SERIAL) : std::string();
  if (m.sid_.empty()) return fail("SignerIdentifier");

  AttributePtr content_type(X509_ATTRIBUTE_create(NID_pkcs9_contentType, V_ASN1_OBJECT, OBJ_nid2obj(NID_pkcs7_data)));
  m.content_type_attribute_ = content_type ? der_of(content_type.get(), i2d_X509_ATTRIBUTE) : std::string();
  // ESS signingCertificateV2 (RFC 5035): SHA-256 of the signer's certificate with its issuer and serial,
  // made by OpenSSL's ESS code as CMS_add1_signer(CMS_CADES) makes it.
  EssSigningCertV2Ptr ess(OSSL_ESS_signing_cert_v2_new_init(EVP_sha256(), signer.x509(), nullptr, 1));
  const std::string ess_der = ess ? der_of(ess.get(), i2d_ESS_SIGNING_CERT_V2) : std::string();
  Asn1OctetStringPtr ess_value(ASN1_STRING_type_new(V_ASN1_SEQUENCE));
  if (ess_der.empty() || !ess_value ||
      ASN1_STRING_set(ess_value.get(), ess_der.data(), static_cast<int>(ess_der.size())) != 1) {
    return fail("signingCertificateV2");
  }
  AttributePtr signing_certificate(
      X509_ATTRIBUTE_create(NID_id_smime_aa_signingCertificateV2, V_ASN1_SEQUENCE, ess_value.get()));
  if (signing_certificate) (void)ess_value.release();  // owned by the attribute now
  m.signing_certificate_attribute_ =
      signing_certificate ? der_of(signing_certificate.get(), i2d_X509_ATTRIBUTE) : std::string();
  if (m.content_type_attribute_.empty() || m.signing_certificate_attribute_.empty()) return fail("signed attributes");

  m.digest_algorithm_ = algorithm_der(NID_sha256);
  m.signature_algorithm_ = algorithm_der(NID_ecdsa_with_SHA256);
  OsslPtr<MAMSIGN_CONTENT_INFO, MAMSIGN_CONTENT_INFO_free> encap(MAMSIGN_CONTENT_INFO_new());
  if (!encap) return fail("EncapsulatedContentInfo");
  ASN1_OBJECT_free(encap->content_type);
  encap->content_type = OBJ_nid2obj(NID_pkcs7_data);
  m.encap_content_info_ = der_of(encap.get(), i2d_MAMSIGN_CONTENT_INFO);
  if (m.digest_algorithm_.empty() || m.signature_algorithm_.empty() || m.encap_content_info_.empty()) {
    return fail("algorithm identifiers");
  }
  m.certificates_.push_back(der_of(signer.x509(), i2d_X509));
  for (const auto& c : chain) m.certificates_.push_back(der_of(c->x509(), i2d_X509));
  for (const auto& c : m.certificates_) {
    if (c.empty()) return fail("certificate");
  }
  return m;
}

Result<std::string> CmsSignatureMaker::sign(EVP_PKEY* key, const Sha256& digest, std::string_view bound_name,
                                            std::time_t signing_time) const {
  const auto fail = [](const std::string& what) {
    return make_error(Reason::UnsupportedAlgorithm,
                      "cannot make the CMS signature: " + what + ": " + take_openssl_errors());
  };
  // The signed attributes: two encoded once, three per file, each by OpenSSL; then the SET OF them.
  SignerInfoOutPtr si(MAMSIGN_SIGNER_INFO_OUT_new());
  if (!si) return fail("SignerInfo");
  Asn1OctetStringPtr md(ASN1_OCTET_STRING_new());
  Asn1TimePtr when(ASN1_TIME_set(nullptr, signing_time));
  auto hints = content_hints_der(bound_name);
  if (!hints) return std::move(hints).error();
  Asn1OctetStringPtr hints_value(ASN1_STRING_type_new(V_ASN1_SEQUENCE));
  if (!md || !when || !hints_value ||
      ASN1_OCTET_STRING_set(md.get(), digest.data(), static_cast<int>(digest.size())) != 1 ||
      ASN1_STRING_set(hints_value.get(), hints->data(), static_cast<int>(hints->size())) != 1) {
    return fail("signed attributes");
  }
  const auto attribute = [](int nid, int type, void* value) {
    // X509_ATTRIBUTE_create copies nothing: the attribute takes `value` and frees it with itself.
    AttributePtr attr(X509_ATTRIBUTE_create(nid, type, value));
    return attr ? der_of(attr.get(), i2d_X509_ATTRIBUTE) : std::string();
  };
  const int time_type = ASN1_STRING_type(when.get());  // UTCTime until 2049, then GeneralizedTime
  const std::string time_attribute = attribute(NID_pkcs9_signingTime, time_type, when.release());
  const std::string digest_attribute = attribute(NID_pkcs9_messageDigest, V_ASN1_OCTET_STRING, md.release());
  const std::string hints_attribute = attribute(NID_id_smime_aa_contentHint, V_ASN1_SEQUENCE, hints_value.release());
  sk_ASN1_TYPE_pop_free(si->signed_attrs, ASN1_TYPE_free);
  si->signed_attrs = sk_ASN1_TYPE_new_reserve(nullptr, 5);
  if (si->signed_attrs == nullptr) return fail("signed attributes");
  for (const std::string* der : {&content_type_attribute_, &time_attribute, &digest_attribute, &hints_attribute,
                                 &signing_certificate_attribute_}) {
    ASN1_TYPE* any = der->empty() ? nullptr : any_sequence(*der);
    if (any == nullptr || sk_ASN1_TYPE_push(si->signed_attrs, any) == 0) {
      ASN1_TYPE_free(any);
      return fail("signed attributes");
    }
  }
  // The signature covers the attributes as a DER SET OF, sorted: the encoding the SignerInfo carries
  // (there under the [0] tag).
  unsigned char* signed_der = nullptr;
  const int signed_len = ASN1_item_i2d(reinterpret_cast<ASN1_VALUE*>(si->signed_attrs), &signed_der,
                                       ASN1_ITEM_rptr(MAMSIGN_SIGNED_ATTRS_SORTED));
  if (signed_len <= 0) return fail("signed attributes");
  Sha256 attrs_digest{};
  const bool hashed = EVP_Digest(signed_der, static_cast<std::size_t>(signed_len), attrs_digest.data(), nullptr,
                                 sha256_md(), nullptr) == 1;
  OPENSSL_free(signed_der);
  if (!hashed) return fail("hashing the signed attributes");
  unsigned char sig[80];
  std::size_t sig_len = sizeof sig;
  EVP_PKEY_CTX* ctx = signing_context(key);
  if (ctx == nullptr || EVP_PKEY_sign(ctx, sig, &sig_len, attrs_digest.data(), attrs_digest.size()) != 1) {
    return fail("signing");
  }

  ASN1_INTEGER_set(si->version, 1);
  ASN1_TYPE_free(si->sid);
  ASN1_TYPE_free(si->digest_algorithm);
  ASN1_TYPE_free(si->signature_algorithm);
  si->sid = any_sequence(sid_);
  si->digest_algorithm = any_sequence(digest_algorithm_);
  si->signature_algorithm = any_sequence(signature_algorithm_);
  if (si->sid == nullptr || si->digest_algorithm == nullptr || si->signature_algorithm == nullptr ||
      ASN1_OCTET_STRING_set(si->signature, sig, static_cast<int>(sig_len)) != 1) {
    return fail("SignerInfo");
  }
  const std::string signer_info = der_of(si.get(), i2d_MAMSIGN_SIGNER_INFO_OUT);

  SignedDataPtr sd(MAMSIGN_SIGNED_DATA_new());
  if (!sd || signer_info.empty()) return fail("SignedData");
  ASN1_INTEGER_set(sd->version, 1);
  for (auto* field : {&sd->digest_algorithms, &sd->certificates, &sd->signer_infos}) {
    sk_ASN1_TYPE_pop_free(*field, ASN1_TYPE_free);
    *field = sk_ASN1_TYPE_new_null();
  }
  ASN1_TYPE_free(sd->encap_content_info);
  sd->encap_content_info = any_sequence(encap_content_info_);
  const auto push = [](STACK_OF(ASN1_TYPE) * stack, const std::string& der) {
    ASN1_TYPE* any = any_sequence(der);
    if (any == nullptr || stack == nullptr || sk_ASN1_TYPE_push(stack, any) == 0) {
      ASN1_TYPE_free(any);
      return false;
    }
    return true;
  };
  bool ok = sd->encap_content_info != nullptr && push(sd->digest_algorithms, digest_algorithm_) &&
            push(sd->signer_infos, signer_info);
  for (const auto& cert : certificates_) ok = ok && push(sd->certificates, cert);
  if (!ok) return fail("SignedData");
  const std::string signed_data = der_of(sd.get(), i2d_MAMSIGN_SIGNED_DATA);

  OsslPtr<MAMSIGN_CONTENT_INFO, MAMSIGN_CONTENT_INFO_free> info(MAMSIGN_CONTENT_INFO_new());
  if (!info || signed_data.empty()) return fail("ContentInfo");
  ASN1_OBJECT_free(info->content_type);
  info->content_type = OBJ_nid2obj(NID_pkcs7_signed);
  info->content = any_sequence(signed_data);
  const std::string out = info->content != nullptr ? der_of(info.get(), i2d_MAMSIGN_CONTENT_INFO) : std::string();
  if (out.empty()) return fail("ContentInfo");
  return out;
}

namespace {

std::string_view string_of(const ASN1_STRING* s) {
  return {reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)), static_cast<std::size_t>(ASN1_STRING_length(s))};
}

// An ANY holding `der`, a whole SEQUENCE.
bool set_sequence(ASN1_TYPE* any, std::string_view der) {
  OsslPtr<ASN1_STRING, ASN1_STRING_free> seq(ASN1_STRING_type_new(V_ASN1_SEQUENCE));
  if (!seq || ASN1_STRING_set(seq.get(), der.data(), static_cast<int>(der.size())) != 1) return false;
  return ASN1_TYPE_set1(any, V_ASN1_SEQUENCE, seq.get()) == 1;
}

}  // namespace

Result<std::string> add_timestamp_token(std::string_view cms_der, std::string_view token_der) {
  const auto* p = reinterpret_cast<const unsigned char*>(cms_der.data());
  ContentInfoPtr info(d2i_MAMSIGN_CONTENT_INFO(nullptr, &p, static_cast<long>(cms_der.size())));
  ERR_clear_error();
  if (!info || p != reinterpret_cast<const unsigned char*>(cms_der.data()) + cms_der.size() ||
      OBJ_obj2nid(info->content_type) != NID_pkcs7_signed || info->content == nullptr ||
      info->content->type != V_ASN1_SEQUENCE) {
    return malformed("the signature is not one CMS SignedData: no timestamp can be added to it");
  }
  const std::string_view signed_der = string_of(info->content->value.sequence);
  const auto* q = reinterpret_cast<const unsigned char*>(signed_der.data());
  SignedDataPtr signed_data(d2i_MAMSIGN_SIGNED_DATA(nullptr, &q, static_cast<long>(signed_der.size())));
  ERR_clear_error();
  if (!signed_data || sk_ASN1_TYPE_num(signed_data->signer_infos) != 1 ||
      sk_ASN1_TYPE_value(signed_data->signer_infos, 0)->type != V_ASN1_SEQUENCE) {
    return malformed("the signature's SignedData does not hold exactly one SignerInfo");
  }
  ASN1_TYPE* si_any = sk_ASN1_TYPE_value(signed_data->signer_infos, 0);
  const std::string_view si_der = string_of(si_any->value.sequence);
  const auto* r = reinterpret_cast<const unsigned char*>(si_der.data());
  OsslPtr<MAMSIGN_SIGNER_INFO_IN, MAMSIGN_SIGNER_INFO_IN_free> si(
      d2i_MAMSIGN_SIGNER_INFO_IN(nullptr, &r, static_cast<long>(si_der.size())));
  ERR_clear_error();
  if (!si || r != reinterpret_cast<const unsigned char*>(si_der.data()) + si_der.size()) {
    return malformed("the signature's SignerInfo cannot be parsed");
  }
  // The SignerInfo is encoded again with the token added: only a DER SignerInfo comes back byte for byte,
  // so anything else would change what the signature covers. Checked, not assumed.
  if (der_of(si.get(), i2d_MAMSIGN_SIGNER_INFO_IN) != si_der) {
    return malformed("the signature's SignerInfo is not DER: a timestamp cannot be added without re-encoding it");
  }
  if (si->unsigned_attrs != nullptr &&
      X509at_get_attr_by_NID(si->unsigned_attrs, NID_id_smime_aa_timeStampToken, -1) >= 0) {
    return malformed("the signature carries a timestamp already");
  }
  OsslPtr<ASN1_STRING, ASN1_STRING_free> token(ASN1_STRING_type_new(V_ASN1_SEQUENCE));
  if (!token || ASN1_STRING_set(token.get(), token_der.data(), static_cast<int>(token_der.size())) != 1) {
    return malformed("out of memory");
  }
  AttributePtr attribute(X509_ATTRIBUTE_create(NID_id_smime_aa_timeStampToken, V_ASN1_SEQUENCE, token.get()));
  if (!attribute) return malformed("cannot make the signatureTimeStampToken attribute: " + take_openssl_errors());
  (void)token.release();  // owned by the attribute now
  if (si->unsigned_attrs == nullptr) si->unsigned_attrs = sk_X509_ATTRIBUTE_new_null();
  if (si->unsigned_attrs == nullptr || sk_X509_ATTRIBUTE_push(si->unsigned_attrs, attribute.get()) <= 0) {
    return malformed("out of memory");
  }
  (void)attribute.release();  // owned by the SignerInfo now
  const std::string new_si = der_of(si.get(), i2d_MAMSIGN_SIGNER_INFO_IN);
  if (new_si.empty() || !set_sequence(si_any, new_si)) return malformed("cannot encode the SignerInfo again");
  const std::string new_signed = der_of(signed_data.get(), i2d_MAMSIGN_SIGNED_DATA);
  if (new_signed.empty() || !set_sequence(info->content, new_signed)) {
    return malformed("cannot encode the SignedData again");
  }
  std::string out = der_of(info.get(), i2d_MAMSIGN_CONTENT_INFO);
  ERR_clear_error();
  if (out.empty()) return malformed("cannot encode the signature again");
  return out;
}

}  // namespace mamsign
