// Registration data: read as a stream of JSON events into its tables, then looked up.
#include "fuzz_support.h"

#include "mamsign/smki/registration.h"

using namespace mamsign;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto r = Registration::parse(fuzz::bytes(data, size), "fuzz");
  if (!r) return 0;
  for (const char* m : {"1400000000017", "1234567", "1441000000009"}) {
    if (auto mpxn = parse_mpxn(m)) (void)r->expected_for(*mpxn);
  }
  return 0;
}
