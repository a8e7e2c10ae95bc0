// PEM text from outside: every block must decode; text outside the blocks only.
#include "fuzz_support.h"

#include "mamsign/base/pem.h"

using namespace mamsign;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto text = fuzz::bytes(data, size);
  (void)is_pem(text);
  (void)read_pem_blocks(text, "fuzz");
  (void)der_objects(text, "fuzz", {"CERTIFICATE", "X509 CRL"}, "object");
  return 0;
}
