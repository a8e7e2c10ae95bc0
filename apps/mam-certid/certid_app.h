// mam-certid's two commands (check.cpp, show.cpp), the flags main.cpp declares for them and the setup
// made once from the flags: the profile, the time to judge at, the certificate store and the trust anchors.
#pragma once

#include "common/app_common.h"
#include "common/batch_ui.h"

#include "mamsign/certid_check.h"

#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace certid_app {

namespace app = mamsign::app;

inline constexpr const char* kProgram = "mam-certid";

struct Flags {
  std::vector<std::string> store, trust, crl, ids;
  app::BatchFlags batch;
  std::string registration, profile;
  std::optional<std::string> at;
  mamsign::CertIdColumns columns;
  bool json_output = false, decimal = false;
  app::RevocationFlags revocation;
};

struct Setup {
  mamsign::Profile profile;
  std::time_t at = 0;
  std::shared_ptr<const mamsign::CertStore> store;
  std::shared_ptr<mamsign::TrustStore> trust;  // null for `show` without --trust
  unsigned threads = 1;                        // --jobs, or the cores available
};

// `mam-certid check`: the certificate IDs of MA files, every finding reported. Returns the exit code.
int run_check(const Flags& f, const Setup& setup);
// `mam-certid show`: whose certificate each ID is. Returns the exit code.
int run_show(const Flags& f, const Setup& setup);

}  // namespace certid_app
