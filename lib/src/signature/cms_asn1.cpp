// The ASN.1 templates of cms_asn1.h, and the helpers shared by building, parsing and inspecting.
#include "signature/cms_asn1.h"

#include <openssl/err.h>

extern "C" {
ASN1_SEQUENCE(MAMSIGN_CONTENT_HINTS) = {
    ASN1_OPT(MAMSIGN_CONTENT_HINTS, description, ASN1_UTF8STRING),
    ASN1_SIMPLE(MAMSIGN_CONTENT_HINTS, content_type, ASN1_OBJECT),
} ASN1_SEQUENCE_END(MAMSIGN_CONTENT_HINTS)

IMPLEMENT_ASN1_FUNCTIONS(MAMSIGN_CONTENT_HINTS)
ASN1_SEQUENCE(MAMSIGN_CONTENT_INFO) = {
    ASN1_SIMPLE(MAMSIGN_CONTENT_INFO, content_type, ASN1_OBJECT),
    ASN1_EXP_OPT(MAMSIGN_CONTENT_INFO, content, ASN1_ANY, 0),
} ASN1_SEQUENCE_END(MAMSIGN_CONTENT_INFO)

ASN1_SEQUENCE(MAMSIGN_SIGNED_DATA) = {
    ASN1_SIMPLE(MAMSIGN_SIGNED_DATA, version, ASN1_INTEGER),
    ASN1_SET_OF(MAMSIGN_SIGNED_DATA, digest_algorithms, ASN1_ANY),
    ASN1_SIMPLE(MAMSIGN_SIGNED_DATA, encap_content_info, ASN1_ANY),
    ASN1_IMP_SET_OF_OPT(MAMSIGN_SIGNED_DATA, certificates, ASN1_ANY, 0),
    ASN1_IMP_SET_OF_OPT(MAMSIGN_SIGNED_DATA, crls, ASN1_ANY, 1),
    ASN1_SET_OF(MAMSIGN_SIGNED_DATA, signer_infos, ASN1_ANY),
} ASN1_SEQUENCE_END(MAMSIGN_SIGNED_DATA)

ASN1_ITEM_TEMPLATE(MAMSIGN_SIGNED_ATTRS) =
    ASN1_EX_TEMPLATE_TYPE(ASN1_TFLG_SET_ORDER, 0, MAMSIGN_SIGNED_ATTRS, X509_ATTRIBUTE)
ASN1_ITEM_TEMPLATE_END(MAMSIGN_SIGNED_ATTRS)

ASN1_ITEM_TEMPLATE(MAMSIGN_SIGNED_ATTRS_SORTED) =
    ASN1_EX_TEMPLATE_TYPE(ASN1_TFLG_SET_OF, 0, MAMSIGN_SIGNED_ATTRS_SORTED, ASN1_ANY)
ASN1_ITEM_TEMPLATE_END(MAMSIGN_SIGNED_ATTRS_SORTED)

ASN1_SEQUENCE(MAMSIGN_SIGNER_INFO_OUT) = {
    ASN1_SIMPLE(MAMSIGN_SIGNER_INFO_OUT, version, ASN1_INTEGER),
    ASN1_SIMPLE(MAMSIGN_SIGNER_INFO_OUT, sid, ASN1_ANY),
    ASN1_SIMPLE(MAMSIGN_SIGNER_INFO_OUT, digest_algorithm, ASN1_ANY),
    ASN1_IMP_SET_OF(MAMSIGN_SIGNER_INFO_OUT, signed_attrs, ASN1_ANY, 0),
    ASN1_SIMPLE(MAMSIGN_SIGNER_INFO_OUT, signature_algorithm, ASN1_ANY),
    ASN1_SIMPLE(MAMSIGN_SIGNER_INFO_OUT, signature, ASN1_OCTET_STRING),
} ASN1_SEQUENCE_END(MAMSIGN_SIGNER_INFO_OUT)

ASN1_SEQUENCE(MAMSIGN_ISSUER_SERIAL) = {
    ASN1_SIMPLE(MAMSIGN_ISSUER_SERIAL, issuer, X509_NAME),
    ASN1_SIMPLE(MAMSIGN_ISSUER_SERIAL, serial, ASN1_INTEGER),
} ASN1_SEQUENCE_END(MAMSIGN_ISSUER_SERIAL)

ASN1_CHOICE(MAMSIGN_SIGNER_ID) = {
    ASN1_SIMPLE(MAMSIGN_SIGNER_ID, d.issuer_serial, MAMSIGN_ISSUER_SERIAL),
    ASN1_IMP(MAMSIGN_SIGNER_ID, d.key_id, ASN1_OCTET_STRING, 0),
} ASN1_CHOICE_END(MAMSIGN_SIGNER_ID)

ASN1_SEQUENCE(MAMSIGN_SIGNER_INFO_IN) = {
    ASN1_SIMPLE(MAMSIGN_SIGNER_INFO_IN, version, ASN1_INTEGER),
    ASN1_SIMPLE(MAMSIGN_SIGNER_INFO_IN, sid, MAMSIGN_SIGNER_ID),
    ASN1_SIMPLE(MAMSIGN_SIGNER_INFO_IN, digest_algorithm, X509_ALGOR),
    ASN1_IMP_SET_OF_OPT(MAMSIGN_SIGNER_INFO_IN, signed_attrs, X509_ATTRIBUTE, 0),
    ASN1_SIMPLE(MAMSIGN_SIGNER_INFO_IN, signature_algorithm, X509_ALGOR),
    ASN1_SIMPLE(MAMSIGN_SIGNER_INFO_IN, signature, ASN1_OCTET_STRING),
    ASN1_IMP_SET_OF_OPT(MAMSIGN_SIGNER_INFO_IN, unsigned_attrs, X509_ATTRIBUTE, 1),
} ASN1_SEQUENCE_END(MAMSIGN_SIGNER_INFO_IN)

IMPLEMENT_ASN1_FUNCTIONS(MAMSIGN_SIGNER_INFO_IN)
IMPLEMENT_ASN1_FUNCTIONS(MAMSIGN_SIGNER_INFO_OUT)
IMPLEMENT_ASN1_FUNCTIONS(MAMSIGN_ISSUER_SERIAL)
IMPLEMENT_ASN1_FUNCTIONS(MAMSIGN_CONTENT_INFO)
IMPLEMENT_ASN1_FUNCTIONS(MAMSIGN_SIGNED_DATA)
}

namespace mamsign::cms_detail {

Error malformed(const std::string& what) { return make_error(Reason::MalformedSignature, what); }

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

}  // namespace mamsign::cms_detail
