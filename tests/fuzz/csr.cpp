// Certificate Signing Requests as mam-csr reads them: every encoding (DER, PEM under either label,
// headerless base64), then every Appendix F rule and every accessor.
#include "fuzz_support.h"

#include "mamsign/pki/csr.h"

using namespace mamsign;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto csr = CertificateRequest::read(fuzz::bytes(data, size));
  if (!csr) return 0;
  (void)csr->check();
  (void)csr->role();
  (void)csr->eui64();
  (void)csr->common_name();
  (void)csr->usage();
  (void)csr->key_text();
  (void)csr->subject();
  return 0;
}
