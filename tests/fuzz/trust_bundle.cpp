// A trust-anchor file: its certificates become roots and candidate CAs, and a certificate is
// validated against them.
#include "fuzz_support.h"

using namespace mamsign;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const OrgCertPtr leaf = fuzz::example_cert("supplier-ds");
  auto certs = OrgCert::parse_all(fuzz::bytes(data, size), "fuzz");
  if (!certs) return 0;
  auto trust = TrustStore::from_certs(*certs, Profile::defaults());
  if (!trust) return 0;
  (void)(*trust)->verify(*leaf, fuzz::kExampleTime);
  return 0;
}
