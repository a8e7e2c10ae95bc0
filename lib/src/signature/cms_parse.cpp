// Parsing signatures: splitting the certificates off a SignedData, checking that what the signature
// covers is DER, and reading the one SignerInfo and its signed attributes (CmsSignature::parse).
#include "mamsign/signature/cms_signature.h"

#include "signature/cms_asn1.h"
#include "mamsign/base/times.h"

#include <openssl/err.h>

#include <algorithm>

namespace mamsign {

using namespace cms_detail;

namespace {

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
                          std::to_string(der.size() - static_cast<std::size_t>(
                                                          p - reinterpret_cast<const unsigned char*>(der.data()))) +
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
                  der_of(signed_data.get(), i2d_MAMSIGN_SIGNED_DATA) ==
                      std::string_view(reinterpret_cast<const char*>(ASN1_STRING_get0_data(inner)),
                                       static_cast<std::size_t>(ASN1_STRING_length(inner)));
  for (int i = 0; i < sk_ASN1_TYPE_num(signed_data->signer_infos); ++i) {
    const ASN1_TYPE* si = sk_ASN1_TYPE_value(signed_data->signer_infos, i);
    if (si->type != V_ASN1_SEQUENCE) return make_error(Reason::MalformedSignature, "a SignerInfo is not a SEQUENCE");
    out.signer_infos.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(si->value.sequence)),
                                  static_cast<std::size_t>(ASN1_STRING_length(si->value.sequence)));
  }
  if (signed_data->certificates != nullptr && sk_ASN1_TYPE_num(signed_data->certificates) > kMaxEmbeddedCertificates) {
    return make_error(Reason::MalformedSignature,
                      "the signature carries " + std::to_string(sk_ASN1_TYPE_num(signed_data->certificates)) +
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

// The signed attributes of one SignerInfo (its raw TLV) must be DER: the signature covers their DER
// encoding, which a verifier re-creates, so BER there could never verify. MalformedSignature says so,
// rather than the BAD_SIGNATURE it would otherwise become. Also checks the SignerInfo version (1 or 3).
Status check_signer_info(std::string_view tlv, const STACK_OF(X509_ATTRIBUTE) * decoded,
                         std::string* signed_attributes) {
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
      if (n != 1 && n != 3)
        return malformed("the SignerInfo has version " + std::to_string(n) + "; RFC 5652 allows 1 or 3");
    }
    if (field == 3) {
      if (cls != V_ASN1_CONTEXT_SPECIFIC || tag != 0) return Status::ok();  // no signed attributes
      if ((flags & 0x01) != 0)
        return malformed("the signed attributes use an indefinite length; they must be DER (RFC 5652 section 5.4)");
      // As signed: the same content under a SET tag, as OpenSSL would re-encode it.
      std::string received(reinterpret_cast<const char*>(at), static_cast<std::size_t>(p - at + len));
      received[0] = static_cast<char>(0x31);
      // The attributes as the SignerInfo's decoding holds them, in the order received, encoded again.
      unsigned char* der = nullptr;
      const int der_len = decoded != nullptr ? ASN1_item_i2d(reinterpret_cast<const ASN1_VALUE*>(decoded), &der,
                                                             ASN1_ITEM_rptr(MAMSIGN_SIGNED_ATTRS))
                                             : -1;
      const bool same =
          der_len > 0 && std::string_view(reinterpret_cast<char*>(der), static_cast<std::size_t>(der_len)) == received;
      OPENSSL_free(der);
      ERR_clear_error();
      if (!same) {
        return malformed(
            "the signed attributes are not DER (a length not in its shortest form, or attributes out of "
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

Result<CmsSignature> CmsSignature::parse(std::string_view der, CertificateCache* cache) {
  CmsSignature s;
  if (der.empty()) return malformed("the signature file is empty");
  if (der.substr(0, 11) == "-----BEGIN ") {
    return malformed(
        "the signature is PEM; the profile requires DER (convert it with "
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
      return malformed(
          "the signature carries content of its own (attached); the profile requires a detached signature");
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
    if (auto st = check_signer_info(tlv, decoded != nullptr ? decoded->signed_attrs : nullptr, &s.signed_attributes_);
        !st) {
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
    return make_error(Reason::UnsupportedAlgorithm,
                      "the signature uses digest " + algorithm_name(digest_alg) + "; the profile requires SHA-256");
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

  if (si->unsigned_attrs != nullptr) {
    auto token = single_attribute(si->unsigned_attrs, NID_id_smime_aa_timeStampToken, "signatureTimeStampToken");
    if (!token) return std::move(token).error();
    if (*token != nullptr) {
      if (ASN1_TYPE_get(*token) != V_ASN1_SEQUENCE) return malformed("signatureTimeStampToken is not a SEQUENCE");
      const ASN1_STRING* seq = (*token)->value.sequence;
      s.timestamp_token_ = std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(seq)),
                                       static_cast<std::size_t>(ASN1_STRING_length(seq)));
    }
  }

  ERR_clear_error();
  return s;
}

}  // namespace mamsign
