// An MA file through the whole certificate-ID check: columns, MPxNs, IDs, the store, the chain, the
// registration data.
#include "fuzz_support.h"

#include "mamsign/certid_check.h"

using namespace mamsign;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto checker = [] {
    CertIdOptions o;
    o.at = fuzz::kExampleTime;
    o.registration = fuzz::must(Registration::load(fuzz::source_dir() + "/testdata/registration.json"));
    auto store = fuzz::must(CertStore::load({fuzz::source_dir() + "/keys-example/store"}));
    return std::make_unique<CertIdChecker>(store, fuzz::example_trust(true), Profile::defaults(), o);
  }();
  CsvReader reader = CsvReader::from_string(std::string(fuzz::bytes(data, size)));
  std::size_t findings = 0;
  (void)checker->check(reader, "fuzz.csv", [&](const Finding&) { ++findings; });
  return 0;
}
