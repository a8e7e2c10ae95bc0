// mam-csr's four commands, each in a file of its own (new.cpp, check.cpp for check and show, accept.cpp),
// the flags main.cpp declares for them, and the words they share about a request.
#pragma once

#include "common/app_common.h"
#include "common/key_flags.h"

#include "mamsign/pki/csr.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace csr_app {

namespace app = mamsign::app;
using json = nlohmann::ordered_json;

inline constexpr const char* kProgram = "mam-csr";

struct Flags {
  // new
  std::string role, eui, usage, cn, new_key, out;
  bool no_encrypt = false, der = false, force = false;
  app::KeyFlags keys;
  // check, show
  std::vector<std::string> files;
  // accept
  std::string csr, cert, profile;
  std::optional<std::string> at;
  std::vector<std::string> trust, crl;
  app::RevocationFlags revocation;
  bool json_output = false;
};

// Each command returns the app's exit code.
int run_new(const Flags& f);
int run_check(const Flags& f);
int run_accept(const Flags& f);
int run_show(const Flags& f);

// "02 (supplier)"
std::string role_words(std::uint8_t role);
// {"cn", "role", "role_name", "eui64"} of a request's subject.
json subject_json(const mamsign::CertificateRequest& csr);
// "role 02 (supplier), EUI-64 70-B3-D5-1F-30-00-A0-08, digitalSignature, EC P-256, CN "Example Supplier A""
std::string request_words(const mamsign::CertificateRequest& csr);

}  // namespace csr_app
