// Migration file names: MA_<S1SP>_<EUI-64>_<YYYYMMDD>_<HHMMSS>[.ext] and the other configured prefixes.
#pragma once

#include "mamsign/base/error.h"
#include "mamsign/smki/eui64.h"

#include <ctime>
#include <string>
#include <string_view>
#include <vector>

namespace mamsign {

struct MigrationFileName {
  std::string prefix;  // "MA", "MAPASSWORD" or a configured prefix
  std::string s1sp;    // the SMETS1 Service Provider token, letters in any case
  Eui64 eui64;         // the supplier User ID the file is for
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  std::string extension;  // without the dot; empty when there is none

  // The timestamp in the name as a UTC instant and as ISO 8601 text.
  std::time_t timestamp() const;
  std::string timestamp_text() const;
};

// Parses a base name (no directories). `prefixes` are tried longest first, so a configured prefix may
// itself contain '_'. The error message says which part is wrong, what was expected and what was found.
Result<MigrationFileName> parse_migration_file_name(std::string_view base_name,
                                                    const std::vector<std::string>& prefixes);

}  // namespace mamsign
