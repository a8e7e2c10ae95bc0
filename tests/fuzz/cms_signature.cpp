// A CMS signature file from anyone: parsed, its signer identified, its signature checked.
#include "fuzz_support.h"

#include "mamsign/signature/cms_signature.h"

using namespace mamsign;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const OrgCertPtr signer = fuzz::example_cert("supplier-ds");
  static CertificateCache cache;
  auto cms = CmsSignature::parse(fuzz::bytes(data, size), size % 2 == 0 ? &cache : nullptr);
  if (!cms) return 0;
  (void)cms->identifies(*signer);
  (void)cms->embedded_signer();
  (void)cms->signer_id_text();
  (void)cms->sid_issuer();
  (void)cms->is_ber();
  const Sha256 digest = cms->message_digest().value_or(Sha256{});
  (void)cms->verify_signature(*signer, digest);
  (void)cms->verifies_content_digest(*signer, digest);
  return 0;
}
