// Private to lib/src/signature/: the CMS structures mamsign reads and writes itself, described with
// OpenSSL's ASN.1 templates (defined in cms_asn1.cpp) so that OpenSSL does the encoding and the parsing,
// and the few helpers that building (cms_build.cpp), parsing (cms_parse.cpp) and inspecting
// (cms_signature.cpp) a signature share.
#pragma once

#include "mamsign/base/error.h"
#include "mamsign/base/ossl.h"

#include <openssl/asn1t.h>
#include <openssl/ess.h>
#include <openssl/x509.h>

#include <string>
#include <string_view>

extern "C" {
// ESS ContentHints (RFC 2634 section 2.9), described with OpenSSL's ASN.1 templates so that OpenSSL
// does the encoding and the parsing:
//   ContentHints ::= SEQUENCE { contentDescription UTF8String (SIZE (1..MAX)) OPTIONAL,
//                               contentType ContentType }
typedef struct mamsign_content_hints_st {
  ASN1_UTF8STRING* description;
  ASN1_OBJECT* content_type;
} MAMSIGN_CONTENT_HINTS;

// ContentInfo and SignedData (RFC 5652 sections 3 and 5.1) with every part kept as it came except the
// certificates, which are split off as DER: OpenSSL's CMS parser then reads the rest without decoding
// the signer's certificate (and its public key, ~140 us in OpenSSL 3.0) once per file.
typedef struct mamsign_content_info_st {
  ASN1_OBJECT* content_type;
  ASN1_TYPE* content;
} MAMSIGN_CONTENT_INFO;

typedef struct mamsign_signed_data_st {
  ASN1_INTEGER* version;
  STACK_OF(ASN1_TYPE) * digest_algorithms;
  ASN1_TYPE* encap_content_info;
  STACK_OF(ASN1_TYPE) * certificates;
  STACK_OF(ASN1_TYPE) * crls;
  STACK_OF(ASN1_TYPE) * signer_infos;
} MAMSIGN_SIGNED_DATA;

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

// IssuerAndSerialNumber (RFC 5652 section 10.2.4).
typedef struct mamsign_issuer_serial_st {
  X509_NAME* issuer;
  ASN1_INTEGER* serial;
} MAMSIGN_ISSUER_SERIAL;

// SignerInfo as read (RFC 5652 section 5.3): the signer identifier is a CHOICE of issuer and serial or
// [0] subject key identifier; the attributes are decoded by OpenSSL as X509_ATTRIBUTEs.
typedef struct mamsign_signer_id_st {
  int type;
  union {
    MAMSIGN_ISSUER_SERIAL* issuer_serial;
    ASN1_OCTET_STRING* key_id;
  } d;
} MAMSIGN_SIGNER_ID;

typedef struct mamsign_signer_info_in_st {
  ASN1_INTEGER* version;
  MAMSIGN_SIGNER_ID* sid;
  X509_ALGOR* digest_algorithm;
  STACK_OF(X509_ATTRIBUTE) * signed_attrs;
  X509_ALGOR* signature_algorithm;
  ASN1_OCTET_STRING* signature;
  STACK_OF(X509_ATTRIBUTE) * unsigned_attrs;
} MAMSIGN_SIGNER_INFO_IN;

DECLARE_ASN1_FUNCTIONS(MAMSIGN_CONTENT_HINTS)
DECLARE_ASN1_FUNCTIONS(MAMSIGN_CONTENT_INFO)
DECLARE_ASN1_FUNCTIONS(MAMSIGN_SIGNED_DATA)
DECLARE_ASN1_FUNCTIONS(MAMSIGN_SIGNER_INFO_IN)
DECLARE_ASN1_FUNCTIONS(MAMSIGN_SIGNER_INFO_OUT)
DECLARE_ASN1_FUNCTIONS(MAMSIGN_ISSUER_SERIAL)
// SignedAttributes as a signature covers them: a DER SET OF Attribute (RFC 5652 section 5.4), sorted.
DECLARE_ASN1_ITEM(MAMSIGN_SIGNED_ATTRS)
// The signed attributes as a signer encodes them, each Attribute already DER (an ANY holding it whole):
// a SET OF, sorted by encoding as DER requires, for CmsSignatureMaker.
DECLARE_ASN1_ITEM(MAMSIGN_SIGNED_ATTRS_SORTED)
}

namespace mamsign::cms_detail {

using ContentHintsPtr = OsslPtr<MAMSIGN_CONTENT_HINTS, MAMSIGN_CONTENT_HINTS_free>;
using ContentInfoPtr = OsslPtr<MAMSIGN_CONTENT_INFO, MAMSIGN_CONTENT_INFO_free>;
using SignedDataPtr = OsslPtr<MAMSIGN_SIGNED_DATA, MAMSIGN_SIGNED_DATA_free>;
using SignerInfoOutPtr = OsslPtr<MAMSIGN_SIGNER_INFO_OUT, MAMSIGN_SIGNER_INFO_OUT_free>;
using IssuerSerialPtr = OsslPtr<MAMSIGN_ISSUER_SERIAL, MAMSIGN_ISSUER_SERIAL_free>;
using AttributePtr = OsslPtr<X509_ATTRIBUTE, X509_ATTRIBUTE_free>;
using EssSigningCertPtr = OsslPtr<ESS_SIGNING_CERT, ESS_SIGNING_CERT_free>;

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

// A MalformedSignature error.
Error malformed(const std::string& what);

// ESS ContentHints naming the file, DER: the attribute value that binds a signature to its file name.
Result<std::string> content_hints_der(std::string_view name);

// The single value of a signed attribute, or null when it is absent. MalformedSignature when it is
// there more than once or does not hold exactly one value.
Result<const ASN1_TYPE*> single_attribute(const STACK_OF(X509_ATTRIBUTE) * attrs, int nid, std::string_view name);

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

inline EVP_PKEY_CTX* verifying_context(EVP_PKEY* key) { return cached_context<EVP_PKEY_verify_init>(key); }
inline EVP_PKEY_CTX* signing_context(EVP_PKEY* key) { return cached_context<EVP_PKEY_sign_init>(key); }

}  // namespace mamsign::cms_detail
