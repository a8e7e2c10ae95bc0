#include "mamsign/signature/cms_signature.h"

#include "mamsign/signature/raw_signature.h"
#include "mamsign/base/times.h"

#include <openssl/asn1t.h>
#include <openssl/err.h>
#include <openssl/ess.h>
#include <openssl/x509.h>

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

// The signed attributes as a signer encodes them, each Attribute already DER (an ANY holding it whole):
// a SET OF, sorted by encoding as DER requires, for CmsSignatureMaker.
ASN1_ITEM_TEMPLATE(MAMSIGN_SIGNED_ATTRS_SORTED) =
    ASN1_EX_TEMPLATE_TYPE(ASN1_TFLG_SET_OF, 0, MAMSIGN_SIGNED_ATTRS_SORTED, ASN1_ANY)
ASN1_ITEM_TEMPLATE_END(MAMSIGN_SIGNED_ATTRS_SORTED)

// SignerInfo (RFC 5652 section 5.3) as CmsSignatureMaker writes it: the parts that never change come
// pre-encoded (ANY), the signed attributes and the signature per file.
typedef struct mamsign_signer_info_out_st {
  ASN1_INTEGER* version;
  ASN1_TYPE* sid;
  ASN1_TYPE* digest_algorithm;
  STACK_OF(ASN1_TYPE) * signed_attrs;
  ASN1_TYPE* signature_algorithm;
  ASN1_OCTET_STRING* signature;
} MAMSIGN_SIGNER_INFO_OUT;

ASN1_SEQUENCE(MAMSIGN_SIGNER_INFO_OUT) = {
    ASN1_SIMPLE(MAMSIGN_SIGNER_INFO_OUT, version, ASN1_INTEGER),
    ASN1_SIMPLE(MAMSIGN_SIGNER_INFO_OUT, sid, ASN1_ANY),
    ASN1_SIMPLE(MAMSIGN_SIGNER_INFO_OUT, digest_algorithm, ASN1_ANY),
    ASN1_IMP_SET_OF(MAMSIGN_SIGNER_INFO_OUT, signed_attrs, ASN1_ANY, 0),
    ASN1_SIMPLE(MAMSIGN_SIGNER_INFO_OUT, signature_algorithm, ASN1_ANY),
    ASN1_SIMPLE(MAMSIGN_SIGNER_INFO_OUT, signature, ASN1_OCTET_STRING),
} ASN1_SEQUENCE_END(MAMSIGN_SIGNER_INFO_OUT)

// IssuerAndSerialNumber (RFC 5652 section 10.2.4).
typedef struct mamsign_issuer_serial_st {
  X509_NAME* issuer;
  ASN1_INTEGER* serial;
} MAMSIGN_ISSUER_SERIAL;

ASN1_SEQUENCE(MAMSIGN_ISSUER_SERIAL) = {
    ASN1_SIMPLE(MAMSIGN_ISSUER_SERIAL, issuer, X509_NAME),
    ASN1_SIMPLE(MAMSIGN_ISSUER_SERIAL, serial, ASN1_INTEGER),
} ASN1_SEQUENCE_END(MAMSIGN_ISSUER_SERIAL)

// SignerInfo as read (RFC 5652 section 5.3): the signer identifier is a CHOICE of issuer and serial or
// [0] subject key identifier; the attributes are decoded by OpenSSL as X509_ATTRIBUTEs.
typedef struct mamsign_signer_id_st {
  int type;
  union {
    MAMSIGN_ISSUER_SERIAL* issuer_serial;
    ASN1_OCTET_STRING* key_id;
  } d;
} MAMSIGN_SIGNER_ID;

ASN1_CHOICE(MAMSIGN_SIGNER_ID) = {
    ASN1_SIMPLE(MAMSIGN_SIGNER_ID, d.issuer_serial, MAMSIGN_ISSUER_SERIAL),
    ASN1_IMP(MAMSIGN_SIGNER_ID, d.key_id, ASN1_OCTET_STRING, 0),
} ASN1_CHOICE_END(MAMSIGN_SIGNER_ID)

typedef struct mamsign_signer_info_in_st {
  ASN1_INTEGER* version;
  MAMSIGN_SIGNER_ID* sid;
  X509_ALGOR* digest_algorithm;
  STACK_OF(X509_ATTRIBUTE) * signed_attrs;
  X509_ALGOR* signature_algorithm;
  ASN1_OCTET_STRING* signature;
  STACK_OF(X509_ATTRIBUTE) * unsigned_attrs;
} MAMSIGN_SIGNER_INFO_IN;

ASN1_SEQUENCE(MAMSIGN_SIGNER_INFO_IN) = {
    ASN1_SIMPLE(MAMSIGN_SIGNER_INFO_IN, version, ASN1_INTEGER),
    ASN1_SIMPLE(MAMSIGN_SIGNER_INFO_IN, sid, MAMSIGN_SIGNER_ID),
    ASN1_SIMPLE(MAMSIGN_SIGNER_INFO_IN, digest_algorithm, X509_ALGOR),
    ASN1_IMP_SET_OF_OPT(MAMSIGN_SIGNER_INFO_IN, signed_attrs, X509_ATTRIBUTE, 0),
    ASN1_SIMPLE(MAMSIGN_SIGNER_INFO_IN, signature_algorithm, X509_ALGOR),
    ASN1_SIMPLE(MAMSIGN_SIGNER_INFO_IN, signature, ASN1_OCTET_STRING),
    ASN1_IMP_SET_OF_OPT(MAMSIGN_SIGNER_INFO_IN, unsigned_attrs, X509_ATTRIBUTE, 1),
} ASN1_SEQUENCE_END(MAMSIGN_SIGNER_INFO_IN)

DECLARE_ASN1_FUNCTIONS(MAMSIGN_SIGNER_INFO_IN)
IMPLEMENT_ASN1_FUNCTIONS(MAMSIGN_SIGNER_INFO_IN)
DECLARE_ASN1_FUNCTIONS(MAMSIGN_SIGNER_INFO_OUT)
IMPLEMENT_ASN1_FUNCTIONS(MAMSIGN_SIGNER_INFO_OUT)
DECLARE_ASN1_FUNCTIONS(MAMSIGN_ISSUER_SERIAL)
IMPLEMENT_ASN1_FUNCTIONS(MAMSIGN_ISSUER_SERIAL)
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
  std::string encap_content_info;         // EncapsulatedContentInfo as it came
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

// One definite-length header at `p`, in its shortest form (DER), read by OpenSSL: its content length,
// or -1. `p` moves past the header.
long der_header(const unsigned char*& p, const unsigned char* end, int want_tag, int want_class, bool constructed) {
  const unsigned char* start = p;
  long len = 0;
  int tag = 0, cls = 0;
  const int flags = ASN1_get_object(&p, &len, &tag, &cls, end - p);
  ERR_clear_error();
  if ((flags & 0x80) != 0 || (flags & 0x01) != 0 || tag != want_tag || cls != want_class ||
      ((flags & V_ASN1_CONSTRUCTED) != 0) != constructed) {
    return -1;
  }
  // Shortest form: the header is as long as ASN1_object_size says a DER header for this length is.
  if (ASN1_object_size(constructed ? 1 : 0, len, want_tag) - len != p - start) return -1;
  return len;
}

// Whether a ContentInfo's own headers are DER: SEQUENCE { OID, [0] EXPLICIT <content of inner_size> },
// each length definite and shortest, nothing after.
bool content_info_headers_are_der(std::string_view der, std::size_t inner_size) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  const unsigned char* const end = p + der.size();
  const long outer = der_header(p, end, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL, true);
  if (outer < 0 || p + outer != end) return false;
  const long oid = der_header(p, end, V_ASN1_OBJECT, V_ASN1_UNIVERSAL, false);
  if (oid < 0) return false;
  p += oid;
  const long explicit_len = der_header(p, end, 0, V_ASN1_CONTEXT_SPECIFIC, true);
  return explicit_len >= 0 && p + explicit_len == end && static_cast<std::size_t>(explicit_len) == inner_size;
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
  // BER here (indefinite or longer-than-needed lengths) is noted, not refused. The SignedData is DER
  // when OpenSSL encodes it back to the same bytes; the ContentInfo around it when its own headers are
  // (re-encoding it would copy the whole signature once more, per file).
  out.outer_der = content_info_headers_are_der(der, static_cast<std::size_t>(ASN1_STRING_length(inner))) &&
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
  }
  const ASN1_TYPE* encap = signed_data->encap_content_info;
  if (encap == nullptr || encap->type != V_ASN1_SEQUENCE) {
    return make_error(Reason::MalformedSignature, "the CMS EncapsulatedContentInfo is not a SEQUENCE");
  }
  out.encap_content_info.assign(reinterpret_cast<const char*>(ASN1_STRING_get0_data(encap->value.sequence)),
                                static_cast<std::size_t>(ASN1_STRING_length(encap->value.sequence)));
  return out;
}
Error malformed(const std::string& what) { return make_error(Reason::MalformedSignature, what); }

// The signed attributes of one SignerInfo (its raw TLV) must be DER: the signature covers their DER
// encoding, which a verifier re-creates, so BER there could never verify. MalformedSignature says so,
// rather than the BAD_SIGNATURE it would otherwise become. Also checks the SignerInfo version (1 or 3).
Status check_signer_info(std::string_view tlv, const STACK_OF(X509_ATTRIBUTE) * decoded, std::string* signed_attributes) {
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
      // The attributes as the SignerInfo's decoding holds them, in the order received, encoded again.
      unsigned char* der = nullptr;
      const int der_len = decoded != nullptr ? ASN1_item_i2d(reinterpret_cast<const ASN1_VALUE*>(decoded), &der,
                                                             ASN1_ITEM_rptr(MAMSIGN_SIGNED_ATTRS))
                                             : -1;
      const bool same = der_len > 0 && std::string_view(reinterpret_cast<char*>(der), static_cast<std::size_t>(der_len)) == received;
      OPENSSL_free(der);
      ERR_clear_error();
      if (!same) {
        return malformed("the signed attributes are not DER (a length not in its shortest form, or attributes out of "
                         "DER order); RFC 5652 section 5.4 requires DER, which is what the signature covers");
      }
      *signed_attributes = std::move(received);  // exactly what the signature covers
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
Result<const ASN1_TYPE*> single_attribute(const STACK_OF(X509_ATTRIBUTE) * attrs, int nid, std::string_view name) {
  const int at = X509at_get_attr_by_NID(attrs, nid, -1);
  if (at < 0) return static_cast<const ASN1_TYPE*>(nullptr);
  if (X509at_get_attr_by_NID(attrs, nid, at) >= 0) {
    return malformed("the signed attribute " + std::string(name) + " appears more than once");
  }
  X509_ATTRIBUTE* attr = X509at_get_attr(attrs, at);
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

namespace {

// The DER of an object, by its i2d function; empty when it cannot be encoded.
template <typename T, typename I2d>
std::string der_of(T* object, I2d i2d) {
  unsigned char* der = nullptr;
  const int len = i2d(object, &der);
  if (len <= 0) return {};
  std::string out(reinterpret_cast<char*>(der), static_cast<std::size_t>(len));
  OPENSSL_free(der);
  return out;
}

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

// A signing or verification context for `key`, kept per thread: setting one up fetches the method
// again (~2 us in OpenSSL 3.0), and a batch signs or verifies many files with one key. The context holds
// a reference to its key, so the key cannot go, nor its address be reused, while it is cached.
template <int (*Init)(EVP_PKEY_CTX*)>
EVP_PKEY_CTX* cached_context(EVP_PKEY* key) {
  struct Cached {
    EVP_PKEY* key = nullptr;
    EvpPkeyCtxPtr ctx;
  };
  thread_local Cached cached;
  if (cached.key != key || !cached.ctx) {
    cached.ctx.reset(EVP_PKEY_CTX_new(key, nullptr));
    cached.key = nullptr;
    if (!cached.ctx || Init(cached.ctx.get()) != 1) {
      cached.ctx.reset();
      return nullptr;
    }
    cached.key = key;
  }
  return cached.ctx.get();
}

EVP_PKEY_CTX* verifying_context(EVP_PKEY* key) { return cached_context<EVP_PKEY_verify_init>(key); }

using SignerInfoOutPtr = OsslPtr<MAMSIGN_SIGNER_INFO_OUT, MAMSIGN_SIGNER_INFO_OUT_free>;

EVP_PKEY_CTX* signing_context(EVP_PKEY* key) { return cached_context<EVP_PKEY_sign_init>(key); }


}  // namespace

Result<CmsSignatureMaker> CmsSignatureMaker::create(const OrgCert& signer, const std::vector<OrgCertPtr>& chain) {
  const auto fail = [](const std::string& what) {
    return make_error(Reason::UnsupportedAlgorithm, "cannot prepare CMS signing: " + what + ": " + take_openssl_errors());
  };
  CmsSignatureMaker m;
  OsslPtr<MAMSIGN_ISSUER_SERIAL, MAMSIGN_ISSUER_SERIAL_free> sid(MAMSIGN_ISSUER_SERIAL_new());
  if (!sid) return fail("SignerIdentifier");
  X509_NAME_free(sid->issuer);
  ASN1_INTEGER_free(sid->serial);
  sid->issuer = X509_NAME_dup(X509_get_issuer_name(signer.x509()));
  sid->serial = ASN1_INTEGER_dup(X509_get0_serialNumber(signer.x509()));
  m.sid_ = sid->issuer != nullptr && sid->serial != nullptr ? der_of(sid.get(), i2d_MAMSIGN_ISSUER_SERIAL) : std::string();
  if (m.sid_.empty()) return fail("SignerIdentifier");

  AttributePtr content_type(X509_ATTRIBUTE_create(NID_pkcs9_contentType, V_ASN1_OBJECT, OBJ_nid2obj(NID_pkcs7_data)));
  m.content_type_attribute_ = content_type ? der_of(content_type.get(), i2d_X509_ATTRIBUTE) : std::string();
  // ESS signingCertificateV2 (RFC 5035): SHA-256 of the signer's certificate with its issuer and serial,
  // made by OpenSSL's ESS code as CMS_add1_signer(CMS_CADES) makes it.
  EssSigningCertV2Ptr ess(OSSL_ESS_signing_cert_v2_new_init(EVP_sha256(), signer.x509(), nullptr, 1));
  const std::string ess_der = ess ? der_of(ess.get(), i2d_ESS_SIGNING_CERT_V2) : std::string();
  Asn1OctetStringPtr ess_value(ASN1_STRING_type_new(V_ASN1_SEQUENCE));
  if (ess_der.empty() || !ess_value || ASN1_STRING_set(ess_value.get(), ess_der.data(), static_cast<int>(ess_der.size())) != 1) {
    return fail("signingCertificateV2");
  }
  AttributePtr signing_certificate(
      X509_ATTRIBUTE_create(NID_id_smime_aa_signingCertificateV2, V_ASN1_SEQUENCE, ess_value.get()));
  if (signing_certificate) ess_value.release();  // owned by the attribute now
  m.signing_certificate_attribute_ = signing_certificate ? der_of(signing_certificate.get(), i2d_X509_ATTRIBUTE) : std::string();
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
    return make_error(Reason::UnsupportedAlgorithm, "cannot make the CMS signature: " + what + ": " + take_openssl_errors());
  };
  // The signed attributes: two encoded once, three per file, each by OpenSSL; then the SET OF them.
  SignerInfoOutPtr si(MAMSIGN_SIGNER_INFO_OUT_new());
  if (!si) return fail("SignerInfo");
  Asn1OctetStringPtr md(ASN1_OCTET_STRING_new());
  Asn1TimePtr when(ASN1_TIME_set(nullptr, signing_time));
  auto hints = content_hints_der(bound_name);
  if (!hints) return std::move(hints).error();
  Asn1OctetStringPtr hints_value(ASN1_STRING_type_new(V_ASN1_SEQUENCE));
  if (!md || !when || !hints_value || ASN1_OCTET_STRING_set(md.get(), digest.data(), static_cast<int>(digest.size())) != 1 ||
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
  const int signed_len =
      ASN1_item_i2d(reinterpret_cast<ASN1_VALUE*>(si->signed_attrs), &signed_der, ASN1_ITEM_rptr(MAMSIGN_SIGNED_ATTRS_SORTED));
  if (signed_len <= 0) return fail("signed attributes");
  Sha256 attrs_digest{};
  const bool hashed = EVP_Digest(signed_der, static_cast<std::size_t>(signed_len), attrs_digest.data(), nullptr, sha256_md(), nullptr) == 1;
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
  // EncapsulatedContentInfo: id-data, and no content of its own (detached).
  {
    const auto* e = reinterpret_cast<const unsigned char*>(split->encap_content_info.data());
    ContentInfoPtr encap(d2i_MAMSIGN_CONTENT_INFO(nullptr, &e, static_cast<long>(split->encap_content_info.size())));
    ERR_clear_error();
    if (!encap) return malformed("the signature's EncapsulatedContentInfo cannot be parsed");
    if (encap->content != nullptr) {
      return malformed("the signature carries content of its own (attached); the profile requires a detached signature");
    }
    if (OBJ_obj2nid(encap->content_type) != NID_pkcs7_data) return malformed("the signed content type is not id-data");
  }
  if (split->signer_infos.size() != 1) {
    return malformed("the signature has " + std::to_string(split->signer_infos.size()) +
                     " signers; the profile requires exactly one");
  }
  {
    const std::string& tlv = split->signer_infos[0];
    const auto* q = reinterpret_cast<const unsigned char*>(tlv.data());
    MAMSIGN_SIGNER_INFO_IN* decoded = d2i_MAMSIGN_SIGNER_INFO_IN(nullptr, &q, static_cast<long>(tlv.size()));
    const bool whole = decoded != nullptr && q == reinterpret_cast<const unsigned char*>(tlv.data()) + tlv.size();
    ERR_clear_error();
    // The header walk says precisely what is wrong with a SignerInfo (BER in the signed attributes, a
    // version RFC 5652 does not allow) before a generic word on one that does not decode.
    if (auto st = check_signer_info(tlv, decoded != nullptr ? decoded->signed_attrs : nullptr, &s.signed_attributes_); !st) {
      MAMSIGN_SIGNER_INFO_IN_free(decoded);
      return std::move(st).error();
    }
    if (!whole) {
      MAMSIGN_SIGNER_INFO_IN_free(decoded);
      return malformed("the signature's SignerInfo cannot be parsed");
    }
    s.si_.reset(decoded, MAMSIGN_SIGNER_INFO_IN_free);
  }
  for (const auto& cert_der : split->certificates) {
    OrgCertPtr cert = cache != nullptr ? cache->get(cert_der) : OrgCert::from_der(cert_der);
    if (!cert) return malformed("a certificate in the signature cannot be parsed");
    s.certificates_.push_back(std::move(cert));
  }
  s.ber_ = !split->outer_der;

  const auto* si = static_cast<const MAMSIGN_SIGNER_INFO_IN*>(s.si_.get());
  const X509_ALGOR* digest_alg = si->digest_algorithm;
  const X509_ALGOR* signature_alg = si->signature_algorithm;
  if (algorithm_nid(digest_alg) != NID_sha256) {
    return make_error(Reason::UnsupportedAlgorithm, "the signature uses digest " + algorithm_name(digest_alg) +
                                                        "; the profile requires SHA-256");
  }
  const int sig_nid = algorithm_nid(signature_alg);
  if (sig_nid != NID_ecdsa_with_SHA256 && sig_nid != NID_X9_62_id_ecPublicKey) {
    return make_error(Reason::UnsupportedAlgorithm, "the signature algorithm is " + algorithm_name(signature_alg) +
                                                        "; the profile requires ECDSA with SHA-256");
  }

  if (si->signed_attrs != nullptr && sk_X509_ATTRIBUTE_num(si->signed_attrs) > 0) {
    auto content_type = single_attribute(si->signed_attrs, NID_pkcs9_contentType, "contentType");
    if (!content_type) return std::move(content_type).error();
    if (*content_type == nullptr || ASN1_TYPE_get(*content_type) != V_ASN1_OBJECT ||
        OBJ_obj2nid((*content_type)->value.object) != NID_pkcs7_data) {
      return malformed("the signed attributes lack contentType id-data");
    }
    auto md = single_attribute(si->signed_attrs, NID_pkcs9_messageDigest, "messageDigest");
    if (!md) return std::move(md).error();
    if (*md == nullptr || ASN1_TYPE_get(*md) != V_ASN1_OCTET_STRING ||
        ASN1_STRING_length((*md)->value.octet_string) != static_cast<int>(Sha256{}.size())) {
      return malformed("the signed attributes lack a 32-octet messageDigest");
    }
    Sha256 digest{};
    std::copy_n(ASN1_STRING_get0_data((*md)->value.octet_string), digest.size(), digest.begin());
    s.message_digest_ = digest;

    auto when = single_attribute(si->signed_attrs, NID_pkcs9_signingTime, "signingTime");
    if (!when) return std::move(when).error();
    if (*when != nullptr) {
      const int type = ASN1_TYPE_get(*when);
      if (type != V_ASN1_UTCTIME && type != V_ASN1_GENERALIZEDTIME) return malformed("signingTime is not a time");
      s.signing_time_ = to_time_t(reinterpret_cast<const ASN1_TIME*>((*when)->value.asn1_string));
      if (!s.signing_time_) return malformed("signingTime cannot be read");
    }

    auto hints = single_attribute(si->signed_attrs, NID_id_smime_aa_contentHint, "contentHints");
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
      EVP_Digest(signed_attributes_.data(), signed_attributes_.size(), attrs_digest.data(), nullptr, sha256_md(), nullptr) == 1 &&
      EVP_PKEY_verify(ctx, ASN1_STRING_get0_data(sig), static_cast<std::size_t>(ASN1_STRING_length(sig)), attrs_digest.data(),
                      attrs_digest.size()) == 1;
  ERR_clear_error();
  if (!verified) {
    return make_error(Reason::BadSignature, "the ECDSA signature over the signed attributes does not verify with the key of " +
                                                signer.describe());
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
    ess_attributes += attr != nullptr ? encode(attr, i2d_X509_ATTRIBUTE) : std::string("-");
  }
  if (!ess_attributes.empty() && ess_attributes == passed.attributes && signer.fingerprint() == passed.signer) {
    return Status::ok();
  }
  ESS_SIGNING_CERT_V2* v2 = nullptr;
  ESS_SIGNING_CERT* v1 = nullptr;
  EssSigningCertV2Ptr v2_owner;
  EssSigningCertPtr v1_owner;
  for (auto [nid, is_v2] : {std::pair{NID_id_smime_aa_signingCertificateV2, true}, std::pair{NID_id_smime_aa_signingCertificate, false}}) {
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
      return make_error(Reason::BadSignature, "the signed signingCertificate attribute names another certificate than " +
                                                  signer.describe());
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
  return verify_digest_signature(
      key, std::string_view(reinterpret_cast<const char*>(ASN1_STRING_get0_data(sig)), static_cast<std::size_t>(ASN1_STRING_length(sig))),
      digest);
}

}  // namespace mamsign
