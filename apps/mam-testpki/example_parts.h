// Private to mam-testpki: what the example PKI (example_pki.cpp) and the example files
// (example_files.cpp) share: a writer that counts what it writes, the CAs, and the CSV rows.
#pragma once

#include "example_pki.h"

#include "mamsign/base/atomic_file.h"
#include "mamsign/base/ossl.h"
#include "mamsign/pki/cert_builder.h"

#include <ctime>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

namespace mamsign::testpki {

// Midnight UTC of a date.
std::time_t utc(int y, int m, int d);

// `base` with its last two octets replaced.
Eui64 with_last(const Eui64& base, std::uint8_t seventh, std::uint8_t eighth);

// Writes files under one folder (atomically, creating folders), counting them.

class Writer {
 public:
  explicit Writer(std::filesystem::path root) : root_(std::move(root)) {}
  Status write(const std::filesystem::path& rel, std::string_view content, mode_t mode = 0644) {
    std::error_code ec;
    std::filesystem::create_directories((root_ / rel).parent_path(), ec);
    if (ec)
      return make_error(Reason::IoError, "cannot create " + (root_ / rel).parent_path().string() + ": " + ec.message());
    if (auto st = write_file_atomically(root_ / rel, content, {Replace::Yes, false, mode, {}}); !st) return st;
    ++count_;
    return Status::ok();
  }
  std::size_t count() const { return count_; }
  const std::filesystem::path& root() const { return root_; }

 private:
  std::filesystem::path root_;
  std::size_t count_ = 0;
};

struct Ca {
  EvpPkeyPtr key;
  X509Ptr cert;
};

// A CA certificate (the root when `issuer` is null) and its key, valid 2019-2049.
Result<Ca> make_ca(const std::string& cn, const std::string& ou, const Eui64& eui, const Ca* issuer);

// What the example files need of the PKI: the parties and the certificate IDs, by certificate name.
struct ExampleIds {
  Eui64 supplier, network_operator, network_operator2, network_operator_other_user;
  std::map<std::string, std::string> serial;  // "network-operator-ds" -> its certificate ID
};

// testdata/: the example migration files, registration data and a certificate-ID file with planted
// errors and the findings expected of it. Returns how many files were written.
Result<std::size_t> write_example_files(const std::filesystem::path& testdata, const ExampleIds& ids);

}  // namespace mamsign::testpki
