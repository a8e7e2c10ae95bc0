// Registration data: which network operators are responsible for which meter points, to prove that a
// certificate belongs to the network operator registered for the MPxN (TMAD 4.47/4.48, SECMP0063).
#pragma once

#include "mamsign/base/error.h"
#include "mamsign/smki/eui64.h"
#include "mamsign/smki/mpxn.h"

#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace mamsign {

// {"mpan_distributors": {"14": ["70-B3-D5-1F-30-00-D4-01"]}, "mpxn": {"1234567890": ["..."]}}
class Registration {
 public:
  static Result<Registration> load(const std::filesystem::path& path);
  static Result<Registration> parse(std::string_view json_text, std::string_view origin = "registration");

  // The network operators registered for this meter point: an exact MPxN entry wins over the MPAN's
  // distributor ID; null when neither is registered.
  const std::vector<Eui64>* expected_for(const Mpxn& mpxn) const;

  std::size_t distributor_count() const noexcept { return distributors_.size(); }
  std::size_t mpxn_count() const noexcept { return exact_.size(); }

 private:
  std::map<std::string, std::vector<Eui64>, std::less<>> distributors_;
  std::map<std::string, std::vector<Eui64>, std::less<>> exact_;
};

}  // namespace mamsign
