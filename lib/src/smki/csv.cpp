#include "mamsign/smki/csv.h"

#include <optional>
#include <string_view>

namespace mamsign {

namespace {

// "UTF-16 (little-endian)" etc. when the text starts with a UTF-16 or UTF-32 byte-order mark, or (no
// mark) has NUL bytes where UTF-16 or UTF-32 ASCII would have them.
std::optional<std::string> wide_encoding(std::string_view head) {
  auto starts = [&](std::string_view prefix) { return head.substr(0, prefix.size()) == prefix; };
  if (starts(std::string_view("\xFF\xFE\0\0", 4))) return "UTF-32 (little-endian)";
  if (starts(std::string_view("\0\0\xFE\xFF", 4))) return "UTF-32 (big-endian)";
  if (starts("\xFF\xFE")) return "UTF-16 (little-endian)";
  if (starts("\xFE\xFF")) return "UTF-16 (big-endian)";
  if (head.size() >= 8) {
    const auto nul = [&](std::size_t i) { return head[i] == '\0'; };
    if (!nul(0) && nul(1) && nul(2) && nul(3) && !nul(4)) return "UTF-32 (little-endian, without a byte-order mark)";
    if (nul(0) && nul(1) && nul(2) && !nul(3)) return "UTF-32 (big-endian, without a byte-order mark)";
    if (!nul(0) && nul(1) && !nul(2) && nul(3)) return "UTF-16 (little-endian, without a byte-order mark)";
    if (nul(0) && !nul(1) && nul(2) && !nul(3)) return "UTF-16 (big-endian, without a byte-order mark)";
  }
  return std::nullopt;
}

}  // namespace

Result<CsvReader> CsvReader::open(const std::filesystem::path& path, CsvLimits limits) {
  auto file = SequentialFile::open(path, "CSV file");
  if (!file) return std::move(file).error();
  CsvReader r;
  r.file_.emplace(std::move(*file));
  r.limits_ = limits;
  r.origin_ = path.string();
  return r;
}

CsvReader CsvReader::from_string(std::string text, CsvLimits limits) {
  CsvReader r;
  r.buffer_ = std::move(text);
  r.eof_ = true;
  r.limits_ = limits;
  r.origin_ = "CSV text";
  return r;
}

Error CsvReader::malformed(std::size_t line, const std::string& problem) const {
  return make_error(Reason::CsvMalformed, origin_ + ": line " + std::to_string(line) + ": " + problem);
}

namespace {
// The bytes that end an unquoted field's plain run: its end, a line's end, or a quote (an error there).
constexpr const char* kFieldEnds = ",\r\n\"";
}  // namespace

Result<int> CsvReader::get() {
  if (pushed_back_ != -2) {
    const int c = pushed_back_;
    pushed_back_ = -2;
    return c;
  }
  if (pos_ == buffer_.size()) {
    if (eof_ || !file_) return -1;
    buffer_.resize(kReadBufferBytes);
    auto n = file_->read(std::span(reinterpret_cast<std::uint8_t*>(buffer_.data()), buffer_.size()));
    if (!n) return std::move(n).error();
    buffer_.resize(*n);
    pos_ = 0;
    if (*n < kReadBufferBytes) eof_ = true;
    if (*n == 0) return -1;
  }
  return static_cast<unsigned char>(buffer_[pos_++]);
}

Result<bool> CsvReader::next(CsvRecord& out) {
  if (!started_) {
    started_ = true;
    // Fill the buffer, then step over an optional UTF-8 byte-order mark.
    auto first = get();
    if (!first) return std::move(first).error();
    if (*first >= 0) --pos_;
    if (buffer_.compare(pos_, 3, "\xEF\xBB\xBF") == 0) pos_ += 3;
    if (auto encoding = wide_encoding(std::string_view(buffer_).substr(pos_))) {
      return malformed(1, "the file is " + *encoding +
                              " text, not UTF-8 or ASCII: save it as CSV in UTF-8 (Excel: "
                              "\"CSV UTF-8 (Comma delimited)\")");
    }
  }
  std::size_t fields = 0;
  std::size_t record_bytes = 0;
  for (;;) {  // skip empty lines
    auto c = get();
    if (!c) return std::move(c).error();
    if (*c < 0) return false;
    if (*c == '\n') {
      ++line_;
      continue;
    }
    if (*c == '\r') {
      auto n = get();
      if (!n) return std::move(n).error();
      if (*n != '\n' && *n >= 0) pushed_back_ = *n;
      ++line_;
      continue;
    }
    pushed_back_ = *c;
    break;
  }
  out.line = line_;
  // Every byte of a field goes in through here, so the limit holds whatever the byte is.
  auto append = [&](std::string& f, char byte) {
    if (f.size() >= limits_.max_field_bytes) return false;
    f += byte;
    return true;
  };
  auto too_long = [&](std::size_t line) {
    return malformed(line, "a field is longer than " + std::to_string(limits_.max_field_bytes) + " bytes");
  };
  auto field = [&]() -> std::string& {
    if (fields == out.fields.size()) out.fields.emplace_back();
    std::string& f = out.fields[fields];
    f.clear();
    return f;
  };
  for (;;) {
    if (fields == limits_.max_fields) {
      return malformed(out.line, "more than " + std::to_string(limits_.max_fields) + " fields");
    }
    std::string& f = field();
    ++fields;
    auto c = get();
    if (!c) return std::move(c).error();
    if (*c == '"') {
      const std::size_t quote_line = line_;
      for (;;) {
        auto q = get();
        if (!q) return std::move(q).error();
        if (*q < 0) return malformed(quote_line, "a quoted field is not closed before the end of the file");
        if (*q == '"') {
          auto after = get();
          if (!after) return std::move(after).error();
          if (*after == '"') {
            if (!append(f, '"')) return too_long(quote_line);
            continue;
          }
          c = after;
          break;
        }
        if (*q == '\n') ++line_;
        if (*q == '\r') {
          auto n = get();
          if (!n) return std::move(n).error();
          if (*n != '\n' && *n >= 0) pushed_back_ = *n;
          ++line_;
          if (!append(f, '\r') || (*n == '\n' && !append(f, '\n'))) return too_long(quote_line);
          continue;
        }
        if (!append(f, static_cast<char>(*q))) return too_long(quote_line);
      }
      if (*c >= 0 && *c != ',' && *c != '\r' && *c != '\n') {
        return malformed(line_, "text after the closing quote of a field (a quote inside a field is written \"\")");
      }
    } else {
      while (*c >= 0 && *c != ',' && *c != '\r' && *c != '\n') {
        if (*c == '"')
          return malformed(line_, "a quote inside an unquoted field (quote the whole field and write \"\")");
        if (!append(f, static_cast<char>(*c))) return too_long(line_);
        // The rest of the field that is in the buffer, in one append rather than byte by byte; the byte
        // that ends it (or the buffer's end) goes round the loop as before.
        if (pushed_back_ == -2) {
          const std::size_t end = buffer_.find_first_of(kFieldEnds, pos_);
          const std::size_t n = (end == std::string::npos ? buffer_.size() : end) - pos_;
          if (f.size() + n > limits_.max_field_bytes) return too_long(line_);
          f.append(buffer_, pos_, n);
          pos_ += n;
        }
        c = get();
        if (!c) return std::move(c).error();
      }
    }
    record_bytes += f.size() + 1;
    if (record_bytes > limits_.max_record_bytes) {
      return malformed(out.line, "a record is longer than " + std::to_string(limits_.max_record_bytes) + " bytes");
    }
    if (*c == ',') continue;
    if (*c == '\r') {
      auto n = get();
      if (!n) return std::move(n).error();
      if (*n != '\n' && *n >= 0) pushed_back_ = *n;
    }
    if (*c >= 0) ++line_;
    break;
  }
  out.fields.resize(fields);
  return true;
}

}  // namespace mamsign
