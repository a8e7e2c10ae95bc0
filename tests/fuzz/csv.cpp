// RFC 4180 CSV from outside, with small limits so that every limit is reached.
#include "fuzz_support.h"

#include "mamsign/smki/csv.h"

using namespace mamsign;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  CsvLimits limits;
  limits.max_field_bytes = 64;
  limits.max_record_bytes = 512;
  limits.max_fields = 16;
  CsvReader reader = CsvReader::from_string(std::string(fuzz::bytes(data, size)), limits);
  CsvRecord record;
  for (int i = 0; i < 100000; ++i) {
    auto more = reader.next(record);
    if (!more || !*more) break;
  }
  return 0;
}
