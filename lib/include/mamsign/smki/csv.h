// RFC 4180 CSV from outside: quoted fields with commas, quotes and line breaks, CRLF or LF, an optional
// UTF-8 BOM. Streamed through a fixed buffer; every record keeps the line it starts on; fields, records
// and field counts are bounded, and malformed input is a CsvMalformed error naming the line.
#pragma once

#include "mamsign/base/error.h"
#include "mamsign/base/io.h"

#include <cstddef>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace mamsign {

struct CsvLimits {
  std::size_t max_field_bytes = 64 * 1024;
  std::size_t max_record_bytes = 1024 * 1024;
  std::size_t max_fields = 1024;
};

struct CsvRecord {
  std::size_t line = 0;  // 1-based physical line the record starts on
  std::vector<std::string> fields;
};

class CsvReader {
 public:
  static Result<CsvReader> open(const std::filesystem::path& path, CsvLimits limits = {});
  static CsvReader from_string(std::string text, CsvLimits limits = {});

  // The next record into `out` (its strings are reused): true, or false at the end. Empty lines are
  // skipped. CsvMalformed: an unterminated quote, text after a closing quote, a quote inside an
  // unquoted field, or a limit exceeded. IoError if the file cannot be read.
  Result<bool> next(CsvRecord& out);

 private:
  CsvReader() = default;
  // The next byte, or -1 at the end.
  Result<int> get();
  Error malformed(std::size_t line, const std::string& problem) const;

  std::optional<SequentialFile> file_;
  std::string buffer_;
  std::size_t pos_ = 0;
  bool eof_ = false;
  bool started_ = false;
  int pushed_back_ = -2;  // one byte of look-ahead (-2: none)
  std::size_t line_ = 1;
  CsvLimits limits_;
  std::string origin_;
};

}  // namespace mamsign
