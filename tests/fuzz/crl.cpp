// CRL files (PEM blocks or DER): loaded into a trust store (signature checked against its CAs), then
// used to check revocation, required and not.
#include "fuzz_support.h"

#include "mamsign/base/io.h"

using namespace mamsign;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const OrgCertPtr leaf = fuzz::example_cert("supplier-revoked-ds");
  Profile p;
  p.require_crl = size % 2 == 0;
  static const auto anchors = fuzz::must(OrgCert::parse_all(
      fuzz::must(read_small_file(fuzz::source_dir() + "/keys-example/trust/root.pem", 1 << 20, "root")) +
          fuzz::must(read_small_file(fuzz::source_dir() + "/keys-example/trust/oca.pem", 1 << 20, "oca")),
      "anchors"));
  auto trust = fuzz::must(TrustStore::from_certs(anchors, p));
  if (!trust->add_crls_from(fuzz::bytes(data, size), "fuzz")) return 0;
  RevocationStatus rev;
  (void)trust->verify(*leaf, fuzz::kExampleTime, {}, &rev);
  return 0;
}
