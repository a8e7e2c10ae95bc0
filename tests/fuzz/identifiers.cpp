// Every identifier parser of outside text: EUI-64s, migration file names, MPxNs, certificate IDs,
// times and durations, PKCS#11 URIs.
#include "fuzz_support.h"

#include "mamsign/smki/certificate_id.h"
#include "mamsign/smki/eui64.h"
#include "mamsign/smki/file_name.h"
#include "mamsign/smki/mpxn.h"
#include "mamsign/keys/pkcs11_uri.h"
#include "mamsign/signature/raw_signature.h"
#include "mamsign/base/times.h"

using namespace mamsign;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto text = fuzz::bytes(data, size);
  if (auto e = Eui64::parse(text)) (void)e->party_string(kDefaultPartyOctets);
  (void)parse_migration_file_name(text, {"MA", "MAPASSWORD"});
  (void)parse_mpxn(text);
  if (auto uri = parse_pkcs11_uri(text)) {
    // What it prints must read back as the same URI (when percent-encoding kept it within the 4 KiB bound).
    const std::string printed = uri->to_string();
    auto again = parse_pkcs11_uri(printed);
    if (printed.size() <= 4096 && (!again || again->to_string() != printed)) __builtin_trap();
    (void)uri->describe();
  }
  (void)parse_certificate_id(text, IdBase::Hex);
  (void)parse_certificate_id(text, IdBase::Decimal);
  (void)parse_iso8601(text);
  (void)parse_duration(text);
  (void)printable(text);
  (void)check_bytes_not_der(text, size);
  return 0;
}
