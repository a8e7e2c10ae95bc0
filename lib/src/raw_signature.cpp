#include "mamsign/raw_signature.h"

#include <openssl/err.h>

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

}  // namespace mamsign
