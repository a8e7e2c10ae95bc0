#include "mamsign/signature/raw_signature.h"

#include "mamsign/base/io.h"

#include <openssl/asn1.h>
#include <openssl/err.h>

#include <algorithm>
#include <span>

namespace mamsign {

Result<std::string> make_raw_signature(EVP_PKEY* key, const Sha256& digest) {
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr));
  std::size_t len = 0;
  if (!ctx || EVP_PKEY_sign_init(ctx.get()) != 1 || EVP_PKEY_CTX_set_signature_md(ctx.get(), EVP_sha256()) != 1 ||
      EVP_PKEY_sign(ctx.get(), nullptr, &len, digest.data(), digest.size()) != 1) {
    return make_error(Reason::UnsupportedAlgorithm, "cannot sign with this key: " + take_openssl_errors());
  }
  std::string sig(len, '\0');
  if (EVP_PKEY_sign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, digest.data(), digest.size()) != 1) {
    return make_error(Reason::UnsupportedAlgorithm, "signing failed: " + take_openssl_errors());
  }
  sig.resize(len);
  return sig;
}

Status check_raw_signature_syntax(std::string_view signature) {
  const auto* p = reinterpret_cast<const unsigned char*>(signature.data());
  EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(signature.size())));
  ERR_clear_error();
  if (!sig) {
    return make_error(Reason::MalformedSignature,
                      "the signature file (" + std::to_string(signature.size()) +
                          " bytes) is not a DER ECDSA-Sig-Value, as `openssl dgst -sha256 -sign` writes");
  }
  // Re-encoding must give the same bytes: this rejects BER and anything appended.
  unsigned char* der = nullptr;
  const int len = i2d_ECDSA_SIG(sig.get(), &der);
  const bool same = len == static_cast<int>(signature.size()) &&
                    std::string_view(reinterpret_cast<char*>(der), static_cast<std::size_t>(len)) == signature;
  OPENSSL_free(der);
  if (!same) {
    return make_error(Reason::MalformedSignature,
                      "the signature file holds an ECDSA-Sig-Value that is not strict DER or has bytes after it");
  }
  return Status::ok();
}

bool verify_digest_signature(EVP_PKEY* key, std::string_view signature, const Sha256& digest) {
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr));
  const bool ok = ctx && EVP_PKEY_verify_init(ctx.get()) == 1 &&
                  EVP_PKEY_CTX_set_signature_md(ctx.get(), EVP_sha256()) == 1 &&
                  EVP_PKEY_verify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                                  digest.data(), digest.size()) == 1;
  ERR_clear_error();
  return ok;
}

Status check_content_not_der(const std::filesystem::path& file) {
  // Signed attributes and CSR contents are small; a larger file is judged by its first header alone.
  constexpr std::size_t kParseWhole = 1024 * 1024;
  auto f = SequentialFile::open(file, "file");
  if (!f) return std::move(f).error();
  const std::uint64_t size = f->size_at_open();
  std::string head(static_cast<std::size_t>(std::min<std::uint64_t>(size, kParseWhole)), '\0');
  auto n = f->read(std::span(reinterpret_cast<std::uint8_t*>(head.data()), head.size()));
  if (!n) return std::move(n).error();
  head.resize(*n);
  return check_bytes_not_der(head, size, "the file " + file.string());
}

Status check_bytes_not_der(std::string_view head, std::uint64_t size, std::string_view name) {
  if (head.size() < 2) return Status::ok();

  const auto* p = reinterpret_cast<const unsigned char*>(head.data());
  long length = 0;
  int tag = 0;
  int cls = 0;
  const int flags = ASN1_get_object(&p, &length, &tag, &cls, static_cast<long>(head.size()));
  const bool header_read = (flags & 0x80) == 0 || ERR_GET_REASON(ERR_peek_last_error()) == ASN1_R_TOO_LONG;
  ERR_clear_error();
  const auto header_bytes = static_cast<std::uint64_t>(p - reinterpret_cast<const unsigned char*>(head.data()));
  const bool constructed = (flags & V_ASN1_CONSTRUCTED) != 0;
  const bool indefinite = (flags & 0x01) != 0;
  if (!header_read || !constructed || cls != V_ASN1_UNIVERSAL || (tag != V_ASN1_SET && tag != V_ASN1_SEQUENCE)) {
    return Status::ok();
  }
  if (!indefinite && header_bytes + static_cast<std::uint64_t>(length) != size) return Status::ok();
  if (size <= head.size()) {
    // Small enough to decide for certain: the whole file must be one well-formed structure.
    const auto* q = reinterpret_cast<const unsigned char*>(head.data());
    Asn1SequenceAnyPtr any(tag == V_ASN1_SET ? d2i_ASN1_SET_ANY(nullptr, &q, static_cast<long>(head.size()))
                                             : d2i_ASN1_SEQUENCE_ANY(nullptr, &q, static_cast<long>(head.size())));
    ERR_clear_error();
    if (!any || q != reinterpret_cast<const unsigned char*>(head.data()) + head.size()) return Status::ok();
  }
  return make_error(Reason::FormatNotAllowed,
                    std::string(name) + " is itself a DER " + (tag == V_ASN1_SET ? "SET" : "SEQUENCE") +
                        ": a raw or attribute-less signature over it cannot be told from the signature of a CMS "
                        "signature's signed attributes or of a CSR, so none is made or accepted (use CMS with signed "
                        "attributes)");
}

}  // namespace mamsign
