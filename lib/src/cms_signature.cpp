#include "mamsign/cms_signature.h"

#include "mamsign/raw_signature.h"
#include "mamsign/times.h"

#include <openssl/asn1t.h>
#include <openssl/err.h>

#include <algorithm>

// ESS ContentHints (RFC 2634 section 2.9), described with OpenSSL's ASN.1 templates so that OpenSSL
// does the encoding and the parsing:
//   ContentHints ::= SEQUENCE { contentDescription UTF8String (SIZE (1..MAX)) OPTIONAL,
//                               contentType ContentType }
extern "C" {
typedef struct mamsign_content_hints_st {
  ASN1_UTF8STRING* description;
  ASN1_OBJECT* content_type;
} MAMSIGN_CONTENT_HINTS;

ASN1_SEQUENCE(MAMSIGN_CONTENT_HINTS) = {
    ASN1_OPT(MAMSIGN_CONTENT_HINTS, description, ASN1_UTF8STRING),
    ASN1_SIMPLE(MAMSIGN_CONTENT_HINTS, content_type, ASN1_OBJECT),
} ASN1_SEQUENCE_END(MAMSIGN_CONTENT_HINTS)

DECLARE_ASN1_FUNCTIONS(MAMSIGN_CONTENT_HINTS)
IMPLEMENT_ASN1_FUNCTIONS(MAMSIGN_CONTENT_HINTS)

// ContentInfo and SignedData (RFC 5652 sections 3 and 5.1) with every part kept as it came except the
// certificates, which are split off as DER: OpenSSL's CMS parser then reads the rest without decoding
// the signer's certificate (and its public key, ~140 us in OpenSSL 3.0) once per file.
typedef struct mamsign_content_info_st {
  ASN1_OBJECT* content_type;
  ASN1_TYPE* content;
} MAMSIGN_CONTENT_INFO;

ASN1_SEQUENCE(MAMSIGN_CONTENT_INFO) = {
    ASN1_SIMPLE(MAMSIGN_CONTENT_INFO, content_type, ASN1_OBJECT),
    ASN1_EXP_OPT(MAMSIGN_CONTENT_INFO, content, ASN1_ANY, 0),
} ASN1_SEQUENCE_END(MAMSIGN_CONTENT_INFO)

typedef struct mamsign_signed_data_st {
  ASN1_INTEGER* version;
  STACK_OF(ASN1_TYPE) * digest_algorithms;
  ASN1_TYPE* encap_content_info;
  STACK_OF(ASN1_TYPE) * certificates;
  STACK_OF(ASN1_TYPE) * crls;
  STACK_OF(ASN1_TYPE) * signer_infos;
} MAMSIGN_SIGNED_DATA;

ASN1_SEQUENCE(MAMSIGN_SIGNED_DATA) = {
    ASN1_SIMPLE(MAMSIGN_SIGNED_DATA, version, ASN1_INTEGER),
    ASN1_SET_OF(MAMSIGN_SIGNED_DATA, digest_algorithms, ASN1_ANY),
    ASN1_SIMPLE(MAMSIGN_SIGNED_DATA, encap_content_info, ASN1_ANY),
    ASN1_IMP_SET_OF_OPT(MAMSIGN_SIGNED_DATA, certificates, ASN1_ANY, 0),
    ASN1_IMP_SET_OF_OPT(MAMSIGN_SIGNED_DATA, crls, ASN1_ANY, 1),
    ASN1_SET_OF(MAMSIGN_SIGNED_DATA, signer_infos, ASN1_ANY),
} ASN1_SEQUENCE_END(MAMSIGN_SIGNED_DATA)

// SignedAttributes as a signature covers them: a DER SET OF Attribute (RFC 5652 section 5.4), sorted.
ASN1_ITEM_TEMPLATE(MAMSIGN_SIGNED_ATTRS) =
    ASN1_EX_TEMPLATE_TYPE(ASN1_TFLG_SET_ORDER, 0, MAMSIGN_SIGNED_ATTRS, X509_ATTRIBUTE)
ASN1_ITEM_TEMPLATE_END(MAMSIGN_SIGNED_ATTRS)

DECLARE_ASN1_FUNCTIONS(MAMSIGN_CONTENT_INFO)
IMPLEMENT_ASN1_FUNCTIONS(MAMSIGN_CONTENT_INFO)
DECLARE_ASN1_FUNCTIONS(MAMSIGN_SIGNED_DATA)
IMPLEMENT_ASN1_FUNCTIONS(MAMSIGN_SIGNED_DATA)
}

namespace mamsign {
namespace {

using ContentHintsPtr = OsslPtr<MAMSIGN_CONTENT_HINTS, MAMSIGN_CONTENT_HINTS_free>;
using ContentInfoPtr = OsslPtr<MAMSIGN_CONTENT_INFO, MAMSIGN_CONTENT_INFO_free>;
using SignedDataPtr = OsslPtr<MAMSIGN_SIGNED_DATA, MAMSIGN_SIGNED_DATA_free>;

template <class T, class Encode>
std::string encode(T* value, Encode i2d) {
  unsigned char* der = nullptr;
  const int len = i2d(value, &der);
  if (len <= 0) return {};
  std::string out(reinterpret_cast<char*>(der), static_cast<std::size_t>(len));
  OPENSSL_free(der);
  return out;
}

struct SplitSignature {
  std::string without_certificates;      // the ContentInfo, certificates left out
  std::vector<std::string> certificates;  // DER of each X.509 certificate it carried
  std::vector<std::string> signer_infos;  // each SignerInfo as it came
  bool outer_der = true;                  // ContentInfo and SignedData themselves are DER
};

// At most this many certificates in one signature: a signer and its chain are two or three; thousands
// of junk certificates would only cost parsing time.
constexpr int kMaxEmbeddedCertificates = 16;

// RFC 5652 section 5.1: SignedData version 1, 3, 4 or 5.
bool valid_signed_data_version(const ASN1_INTEGER* v) {
  const long n = ASN1_INTEGER_get(v);
  return n == 1 || n == 3 || n == 4 || n == 5;
}

// Splits the certificates off a SignedData ContentInfo; everything else keeps its encoding.
Result<SplitSignature> split_certificates(std::string_view der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  ContentInfoPtr info(d2i_MAMSIGN_CONTENT_INFO(nullptr, &p, static_cast<long>(der.size())));
  if (!info) {
    ERR_clear_error();
    return make_error(Reason::MalformedSignature,
                      "the signature file (" + std::to_string(der.size()) + " bytes) is not a DER CMS ContentInfo");
  }
  if (p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) {
    return make_error(Reason::MalformedSignature,
                      "the signature file has " +
                          std::to_string(der.size() - static_cast<std::size_t>(p - reinterpret_cast<const unsigned char*>(der.data()))) +
                          " bytes after its CMS structure");
  }
  if (OBJ_obj2nid(info->content_type) != NID_pkcs7_signed) {
    char buf[80];
    OBJ_obj2txt(buf, sizeof buf, info->content_type, 0);
    return make_error(Reason::MalformedSignature, std::string("the CMS structure is ") + buf + ", not SignedData");
  }
  if (info->content == nullptr || info->content->type != V_ASN1_SEQUENCE) {
    return make_error(Reason::MalformedSignature, "the CMS SignedData is missing or not a SEQUENCE");
  }
  const ASN1_STRING* inner = info->content->value.sequence;
  const auto* q = ASN1_STRING_get0_data(inner);
  SignedDataPtr signed_data(d2i_MAMSIGN_SIGNED_DATA(nullptr, &q, ASN1_STRING_length(inner)));
  if (!signed_data || q != ASN1_STRING_get0_data(inner) + ASN1_STRING_length(inner)) {
    ERR_clear_error();
    return make_error(Reason::MalformedSignature, "the CMS SignedData cannot be parsed");
  }
  if (!valid_signed_data_version(signed_data->version)) {
    return make_error(Reason::MalformedSignature, "the CMS SignedData has version " +
                                                      std::to_string(ASN1_INTEGER_get(signed_data->version)) +
                                                      "; RFC 5652 allows 1, 3, 4 or 5");
  }
  SplitSignature out;
  // BER here (indefinite or longer-than-needed lengths) is re-encoded differently: noted, not refused.
  out.outer_der = encode(info.get(), i2d_MAMSIGN_CONTENT_INFO) == der &&
                  encode(signed_data.get(), i2d_MAMSIGN_SIGNED_DATA) ==
                      std::string_view(reinterpret_cast<const char*>(ASN1_STRING_get0_data(inner)),
                                       static_cast<std::size_t>(ASN1_STRING_length(inner)));
  for (int i = 0; i < sk_ASN1_TYPE_num(signed_data->signer_infos); ++i) {
    const ASN1_TYPE* si = sk_ASN1_TYPE_value(signed_data->signer_infos, i);
    if (si->type != V_ASN1_SEQUENCE) return make_error(Reason::MalformedSignature, "a SignerInfo is not a SEQUENCE");
    out.signer_infos.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(si->value.sequence)),
                                  static_cast<std::size_t>(ASN1_STRING_length(si->value.sequence)));
  }
  if (signed_data->certificates != nullptr && sk_ASN1_TYPE_num(signed_data->certificates) > kMaxEmbeddedCertificates) {
    return make_error(Reason::MalformedSignature, "the signature carries " +
                                                      std::to_string(sk_ASN1_TYPE_num(signed_data->certificates)) +
                                                      " certificates; at most " + std::to_string(kMaxEmbeddedCertificates) +
                                                      " are read (a signer and its chain are two or three)");
  }
  if (signed_data->certificates != nullptr) {
    for (int i = 0; i < sk_ASN1_TYPE_num(signed_data->certificates); ++i) {
      const ASN1_TYPE* choice = sk_ASN1_TYPE_value(signed_data->certificates, i);
      // CertificateChoices: only the untagged X.509 certificate is one of ours; the tagged
      // alternatives (attribute and other certificates) are left out.
      if (choice->type != V_ASN1_SEQUENCE) continue;
      const ASN1_STRING* cert = choice->value.sequence;
      out.certificates.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(cert)),
                                    static_cast<std::size_t>(ASN1_STRING_length(cert)));
    }
    sk_ASN1_TYPE_pop_free(signed_data->certificates, ASN1_TYPE_free);
    signed_data->certificates = nullptr;
  }
  const std::string inner_der = encode(signed_data.get(), i2d_MAMSIGN_SIGNED_DATA);
  if (inner_der.empty() || ASN1_STRING_set(info->content->value.sequence, inner_der.data(), static_cast<int>(inner_der.size())) != 1) {
    return make_error(Reason::MalformedSignature, "the CMS SignedData cannot be re-encoded");
  }
  out.without_certificates = encode(info.get(), i2d_MAMSIGN_CONTENT_INFO);
  return out;
}
Error malformed(const std::string& what) { return make_error(Reason::MalformedSignature, what); }

// The signed attributes of one SignerInfo (its raw TLV) must be DER: the signature covers their DER
// encoding, which a verifier re-creates, so BER there could never verify. MalformedSignature says so,
// rather than the BAD_SIGNATURE it would otherwise become. Also checks the SignerInfo version (1 or 3).
Status check_signer_info(std::string_view tlv) {
  const auto* const start = reinterpret_cast<const unsigned char*>(tlv.data());
  const unsigned char* p = start;
  const long total = static_cast<long>(tlv.size());
  long len = 0;
  int tag = 0;
  int cls = 0;
  // Step into the SignerInfo SEQUENCE, then over version, sid and digestAlgorithm (OpenSSL reads each
  // header; the lengths it returns are bounded by what remains).
  int flags = ASN1_get_object(&p, &len, &tag, &cls, total);
  if ((flags & 0x80) != 0 || (flags & V_ASN1_CONSTRUCTED) == 0) {
    ERR_clear_error();
    return malformed("a SignerInfo cannot be read");
  }
  const unsigned char* const end = (flags & 0x01) != 0 ? start + total : p + len;
  for (int field = 0; field < 4; ++field) {
    const unsigned char* at = p;
    flags = ASN1_get_object(&p, &len, &tag, &cls, end - p);
    if ((flags & 0x80) != 0) {
      ERR_clear_error();
      return malformed("a SignerInfo cannot be read");
    }
    if (field == 0) {
      const unsigned char* v = at;
      Asn1IntegerPtr version(d2i_ASN1_INTEGER(nullptr, &v, end - at));
      const long n = version ? ASN1_INTEGER_get(version.get()) : -1;
      ERR_clear_error();
      if (n != 1 && n != 3) return malformed("the SignerInfo has version " + std::to_string(n) + "; RFC 5652 allows 1 or 3");
    }
    if (field == 3) {
      if (cls != V_ASN1_CONTEXT_SPECIFIC || tag != 0) return Status::ok();  // no signed attributes
      if ((flags & 0x01) != 0) return malformed("the signed attributes use an indefinite length; they must be DER (RFC 5652 section 5.4)");
      // As signed: the same content under a SET tag, as OpenSSL would re-encode it.
      std::string received(reinterpret_cast<const char*>(at), static_cast<std::size_t>(p - at + len));
      received[0] = static_cast<char>(0x31);
      const auto* r = reinterpret_cast<const unsigned char*>(received.data());
      ASN1_VALUE* attrs = ASN1_item_d2i(nullptr, &r, static_cast<long>(received.size()), ASN1_ITEM_rptr(MAMSIGN_SIGNED_ATTRS));
      unsigned char* der = nullptr;
      const int der_len = attrs != nullptr ? ASN1_item_i2d(attrs, &der, ASN1_ITEM_rptr(MAMSIGN_SIGNED_ATTRS)) : -1;
      const bool same = der_len > 0 && std::string_view(reinterpret_cast<char*>(der), static_cast<std::size_t>(der_len)) == received;
      OPENSSL_free(der);
      ASN1_item_free(attrs, ASN1_ITEM_rptr(MAMSIGN_SIGNED_ATTRS));
      ERR_clear_error();
      if (!same) {
        return malformed("the signed attributes are not DER (a length not in its shortest form, or attributes out of "
                         "DER order); RFC 5652 section 5.4 requires DER, which is what the signature covers");
      }
      return Status::ok();
    }
    if ((flags & 0x01) != 0) return Status::ok();  // BER before the signed attributes: OpenSSL's parser judges it
    p += len;
  }
  return Status::ok();
}

using EssSigningCertPtr = OsslPtr<ESS_SIGNING_CERT, ESS_SIGNING_CERT_free>;


Result<std::string> content_hints_der(std::string_view name) {
  ContentHintsPtr hints(MAMSIGN_CONTENT_HINTS_new());
  if (!hints) return malformed("out of memory");
  hints->description = ASN1_UTF8STRING_new();
  if (hints->description == nullptr ||
      ASN1_STRING_set(hints->description, name.data(), static_cast<int>(name.size())) != 1) {
    return malformed("cannot encode the file name");
  }
  ASN1_OBJECT_free(hints->content_type);
  hints->content_type = OBJ_nid2obj(NID_pkcs7_data);
  unsigned char* der = nullptr;
  const int len = i2d_MAMSIGN_CONTENT_HINTS(hints.get(), &der);
  if (len <= 0) return malformed("cannot encode contentHints: " + take_openssl_errors());
  std::string out(reinterpret_cast<char*>(der), static_cast<std::size_t>(len));
  OPENSSL_free(der);
  return out;
}

// The single value of a signed attribute, or null when it is absent. MalformedSignature when it is
// there more than once or does not hold exactly one value.
Result<const ASN1_TYPE*> single_attribute(CMS_SignerInfo* si, int nid, std::string_view name) {
  const int at = CMS_signed_get_attr_by_NID(si, nid, -1);
  if (at < 0) return static_cast<const ASN1_TYPE*>(nullptr);
  if (CMS_signed_get_attr_by_NID(si, nid, at) >= 0) {
    return malformed("the signed attribute " + std::string(name) + " appears more than once");
  }
  X509_ATTRIBUTE* attr = CMS_signed_get_attr(si, at);
  if (X509_ATTRIBUTE_count(attr) != 1) {
    return malformed("the signed attribute " + std::string(name) + " does not hold exactly one value");
  }
  return static_cast<const ASN1_TYPE*>(X509_ATTRIBUTE_get0_type(attr, 0));
}

std::string algorithm_name(const X509_ALGOR* alg) {
  const ASN1_OBJECT* obj = nullptr;
  X509_ALGOR_get0(&obj, nullptr, nullptr, alg);
  char buf[128];
  OBJ_obj2txt(buf, sizeof buf, obj, 0);
  return buf;
}

int algorithm_nid(const X509_ALGOR* alg) {
  const ASN1_OBJECT* obj = nullptr;
  X509_ALGOR_get0(&obj, nullptr, nullptr, alg);
  return OBJ_obj2nid(obj);
}

}  // namespace

Result<std::string> make_cms_signature(const CmsSignRequest& request) {
  auto fail = [](const std::string& what) {
    return make_error(Reason::UnsupportedAlgorithm, "cannot make the CMS signature: " + what + ": " + take_openssl_errors());
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
  if (!when || CMS_signed_add1_attr_by_NID(si, NID_pkcs9_signingTime, ASN1_STRING_type(when.get()), when.get(), -1) != 1) {
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

Result<CmsSignature> CmsSignature::parse(std::string_view der, CertificateCache* cache) {
  CmsSignature s;
  if (der.empty()) return malformed("the signature file is empty");
  if (der.substr(0, 11) == "-----BEGIN ") {
    return malformed("the signature is PEM; the profile requires DER (convert it with "
                     "`openssl cms -cmsout -inform PEM -outform DER`)");
  }
  if (der.find("MIME-Version:") != std::string_view::npos && der.front() != 0x30) {
    return malformed("the signature is S/MIME; the profile requires DER (sign with `openssl cms -sign -outform DER`)");
  }
  auto split = split_certificates(der);
  if (!split) return std::move(split).error();
  const std::string& rest = split->without_certificates;
  const auto* p = reinterpret_cast<const unsigned char*>(rest.data());
  s.cms_.reset(d2i_CMS_ContentInfo(nullptr, &p, static_cast<long>(rest.size())));
  if (!s.cms_) {
    ERR_clear_error();
    return malformed("the signature file (" + std::to_string(der.size()) + " bytes) is not a DER CMS SignedData");
  }
  for (const auto& cert_der : split->certificates) {
    OrgCertPtr cert = cache != nullptr ? cache->get(cert_der) : OrgCert::from_der(cert_der);
    if (!cert) return malformed("a certificate in the signature cannot be parsed");
    s.certificates_.push_back(std::move(cert));
  }
  if (CMS_is_detached(s.cms_.get()) != 1) {
    return malformed("the signature carries content of its own (attached); the profile requires a detached signature");
  }
  if (OBJ_obj2nid(CMS_get0_eContentType(s.cms_.get())) != NID_pkcs7_data) {
    return malformed("the signed content type is not id-data");
  }
  STACK_OF(CMS_SignerInfo)* signers = CMS_get0_SignerInfos(s.cms_.get());
  const int count = signers ? sk_CMS_SignerInfo_num(signers) : 0;
  if (count != 1) {
    return malformed("the signature has " + std::to_string(count) + " signers; the profile requires exactly one");
  }
  s.si_ = sk_CMS_SignerInfo_value(signers, 0);
  if (split->signer_infos.size() == 1) {
    if (auto st = check_signer_info(split->signer_infos[0]); !st) return std::move(st).error();
  }
  s.ber_ = !split->outer_der;

  X509_ALGOR* digest_alg = nullptr;
  X509_ALGOR* signature_alg = nullptr;
  CMS_SignerInfo_get0_algs(s.si_, nullptr, nullptr, &digest_alg, &signature_alg);
  if (algorithm_nid(digest_alg) != NID_sha256) {
    return make_error(Reason::UnsupportedAlgorithm, "the signature uses digest " + algorithm_name(digest_alg) +
                                                        "; the profile requires SHA-256");
  }
  const int sig_nid = algorithm_nid(signature_alg);
  if (sig_nid != NID_ecdsa_with_SHA256 && sig_nid != NID_X9_62_id_ecPublicKey) {
    return make_error(Reason::UnsupportedAlgorithm, "the signature algorithm is " + algorithm_name(signature_alg) +
                                                        "; the profile requires ECDSA with SHA-256");
  }

  if (CMS_signed_get_attr_count(s.si_) > 0) {
    auto content_type = single_attribute(s.si_, NID_pkcs9_contentType, "contentType");
    if (!content_type) return std::move(content_type).error();
    if (*content_type == nullptr || ASN1_TYPE_get(*content_type) != V_ASN1_OBJECT ||
        OBJ_obj2nid((*content_type)->value.object) != NID_pkcs7_data) {
      return malformed("the signed attributes lack contentType id-data");
    }
    auto md = single_attribute(s.si_, NID_pkcs9_messageDigest, "messageDigest");
    if (!md) return std::move(md).error();
    if (*md == nullptr || ASN1_TYPE_get(*md) != V_ASN1_OCTET_STRING ||
        ASN1_STRING_length((*md)->value.octet_string) != static_cast<int>(Sha256{}.size())) {
      return malformed("the signed attributes lack a 32-octet messageDigest");
    }
    Sha256 digest{};
    std::copy_n(ASN1_STRING_get0_data((*md)->value.octet_string), digest.size(), digest.begin());
    s.message_digest_ = digest;

    auto when = single_attribute(s.si_, NID_pkcs9_signingTime, "signingTime");
    if (!when) return std::move(when).error();
    if (*when != nullptr) {
      const int type = ASN1_TYPE_get(*when);
      if (type != V_ASN1_UTCTIME && type != V_ASN1_GENERALIZEDTIME) return malformed("signingTime is not a time");
      s.signing_time_ = to_time_t(reinterpret_cast<const ASN1_TIME*>((*when)->value.asn1_string));
      if (!s.signing_time_) return malformed("signingTime cannot be read");
    }

    auto hints = single_attribute(s.si_, NID_id_smime_aa_contentHint, "contentHints");
    if (!hints) return std::move(hints).error();
    if (*hints != nullptr) {
      if (ASN1_TYPE_get(*hints) != V_ASN1_SEQUENCE) return malformed("contentHints is not a SEQUENCE");
      const ASN1_STRING* seq = (*hints)->value.sequence;
      const auto* hp = ASN1_STRING_get0_data(seq);
      ContentHintsPtr decoded(d2i_MAMSIGN_CONTENT_HINTS(nullptr, &hp, ASN1_STRING_length(seq)));
      if (!decoded || hp != ASN1_STRING_get0_data(seq) + ASN1_STRING_length(seq)) {
        ERR_clear_error();
        return malformed("contentHints cannot be parsed");
      }
      if (decoded->description != nullptr) {
        s.bound_name_ = std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(decoded->description)),
                                    static_cast<std::size_t>(ASN1_STRING_length(decoded->description)));
      }
    }
  }

  ERR_clear_error();
  return s;
}

bool CmsSignature::identifies(const OrgCert& cert) const { return CMS_SignerInfo_cert_cmp(si_, cert.x509()) == 0; }

OrgCertPtr CmsSignature::embedded_signer() const {
  for (const auto& c : certificates_) {
    if (identifies(*c)) return c;
  }
  return nullptr;
}

X509_NAME* CmsSignature::sid_issuer() const {
  X509_NAME* issuer = nullptr;
  CMS_SignerInfo_get0_signer_id(si_, nullptr, &issuer, nullptr);
  return issuer;
}

const ASN1_INTEGER* CmsSignature::sid_serial() const {
  ASN1_INTEGER* serial = nullptr;
  CMS_SignerInfo_get0_signer_id(si_, nullptr, nullptr, &serial);
  return serial;
}

std::string CmsSignature::signer_id_text() const {
  ASN1_OCTET_STRING* keyid = nullptr;
  X509_NAME* issuer = nullptr;
  ASN1_INTEGER* serial = nullptr;
  CMS_SignerInfo_get0_signer_id(si_, &keyid, &issuer, &serial);
  if (keyid != nullptr) return "subject key identifier " + to_hex(ASN1_STRING_get0_data(keyid), static_cast<std::size_t>(ASN1_STRING_length(keyid)));
  BignumPtr bn(ASN1_INTEGER_to_BN(serial, nullptr));
  OsslStringPtr hex(bn ? BN_bn2hex(bn.get()) : nullptr);
  BioPtr bio(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(bio.get(), issuer, 0, XN_FLAG_ONELINE & ~XN_FLAG_SPC_EQ);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return "serial " + std::string(hex ? hex.get() : "?") + " from issuer " + std::string(data, static_cast<std::size_t>(len));
}

Status CmsSignature::verify_signature(const OrgCert& signer, const Sha256& content_digest) {
  if (!has_signed_attributes()) {
    if (verifies_content_digest(signer, content_digest)) return Status::ok();
    return make_error(Reason::BadSignature, "the signature does not verify");
  }
  CMS_SignerInfo_set1_signer_cert(si_, signer.x509());
  if (CMS_SignerInfo_verify(si_) != 1) {
    ERR_clear_error();
    return make_error(Reason::BadSignature, "the ECDSA signature over the signed attributes does not verify with the key of " +
                                                signer.describe());
  }
  // ESS signingCertificate(V2), when present, must name this very certificate.
  ESS_SIGNING_CERT_V2* v2 = nullptr;
  ESS_SIGNING_CERT* v1 = nullptr;
  EssSigningCertV2Ptr v2_owner;
  EssSigningCertPtr v1_owner;
  for (auto [nid, is_v2] : {std::pair{NID_id_smime_aa_signingCertificateV2, true}, std::pair{NID_id_smime_aa_signingCertificate, false}}) {
    auto attr = single_attribute(si_, nid, is_v2 ? "signingCertificateV2" : "signingCertificate");
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
      return make_error(Reason::BadSignature, "the signed signingCertificate attribute names another certificate than " +
                                                  signer.describe());
    }
  }
  return Status::ok();
}

bool CmsSignature::verifies_content_digest(const OrgCert& signer, const Sha256& digest) const {
  const ASN1_OCTET_STRING* sig = CMS_SignerInfo_get0_signature(si_);
  EVP_PKEY* key = X509_get0_pubkey(signer.x509());
  if (sig == nullptr || key == nullptr) return false;
  return verify_digest_signature(
      key, std::string_view(reinterpret_cast<const char*>(ASN1_STRING_get0_data(sig)), static_cast<std::size_t>(ASN1_STRING_length(sig))),
      digest);
}

}  // namespace mamsign
