// A raw .sig file: strict DER ECDSA-Sig-Value, then an ECDSA verification with it.
#include "fuzz_support.h"

#include "mamsign/signature/raw_signature.h"

using namespace mamsign;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const OrgCertPtr signer = fuzz::example_cert("supplier-ds");
  const auto sig = fuzz::bytes(data, size);
  if (!check_raw_signature_syntax(sig)) return 0;
  (void)verify_digest_signature(X509_get0_pubkey(signer->x509()), sig, Sha256{});
  return 0;
}
