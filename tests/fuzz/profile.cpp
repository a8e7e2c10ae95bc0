// A profile file: parsed (bounded), and what it says survives its own JSON.
#include "fuzz_support.h"

#include <cstdlib>

using namespace mamsign;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto p = Profile::parse(fuzz::bytes(data, size), "fuzz");
  if (!p) return 0;
  const std::string json = p->to_json();
  auto again = Profile::parse(json, "round trip");
  if (!again || again->to_json() != json) std::abort();  // a profile must read back as itself
  return 0;
}
