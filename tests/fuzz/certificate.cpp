// Certificates from outside (PEM, DER, bundles): parsed, checked against the organisation certificate
// profile, and their chain validated against the example trust anchors with the example CRL.
#include "fuzz_support.h"

using namespace mamsign;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto trust = fuzz::example_trust(true);
  auto certs = OrgCert::parse_all(fuzz::bytes(data, size), "fuzz");
  if (!certs) return 0;
  for (const auto& c : *certs) {
    (void)c->check_profile(Profile::defaults());
    (void)c->describe();
    (void)c->key_usage_text();
    (void)c->check_validity(fuzz::kExampleTime);
    RevocationStatus rev;
    (void)trust->verify(*c, fuzz::kExampleTime, *certs, &rev);
  }
  return 0;
}
