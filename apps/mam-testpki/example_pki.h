// The example SMKI-style PKI of keys-example/ and the example migration files of testdata/.
#pragma once

#include "mamsign/base/error.h"
#include "mamsign/smki/eui64.h"

#include <filesystem>
#include <string>

namespace mamsign::testpki {

struct ExampleOptions {
  std::filesystem::path out;       // keys-example/
  std::filesystem::path testdata;  // testdata/ (empty: no example files)
  std::string policy_oid;
  Eui64 supplier;
  Eui64 network_operator;
};

// Writes the PKI (and the example files); returns a summary of what was written.
Result<std::string> write_example(const ExampleOptions& options);

// A bulk store for benchmarks: `count` network-operator certificates (DS and KA pairs) under a fresh
// root and OCA, and an MA file of `rows` rows naming the first `referenced` operators' pairs.
struct BulkOptions {
  std::filesystem::path out;
  std::size_t count = 10000;
  std::size_t rows = 100000;
  std::size_t referenced = 0;  // operators the rows name (0: all); the rest only fill the store
  std::string policy_oid;
};
Result<std::string> write_bulk(const BulkOptions& options);

// `count` migration files of `size` bytes (CSV rows, CRLF) named for `supplier`, one second apart from
// 2026-01-01T00:00:00Z, for batch benchmarks and tests.
struct FilesOptions {
  std::filesystem::path out;
  std::size_t count = 10000;
  std::size_t size = 2048;
  Eui64 supplier;
};
Result<std::string> write_files(const FilesOptions& options);

}  // namespace mamsign::testpki
