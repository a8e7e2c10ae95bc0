#include "mamsign/smki/registration.h"

#include "base/json_object.h"
#include "mamsign/base/io.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <optional>
#include <set>

namespace mamsign {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxRegistrationBytes = 256 * 1024 * 1024;

// Reads registration JSON as a stream of events straight into the two maps: no document tree, so
// memory is the maps (a few times the file at most), not the ~16x of a parsed tree. The layout is
// fixed and shallow; anything else is refused at the event where it appears, naming the place.
class RegistrationReader final : public nlohmann::json_sax<json> {
 public:
  RegistrationReader(std::string_view origin, std::map<std::string, std::vector<Eui64>, std::less<>>& distributors,
                     std::map<std::string, std::vector<Eui64>, std::less<>>& exact)
      : origin_(origin), distributors_(distributors), exact_(exact) {}

  std::optional<Error> error;

  bool null() override { return scalar("null"); }
  bool boolean(bool) override { return scalar("a boolean"); }
  bool number_integer(number_integer_t) override { return scalar("a number"); }
  bool number_unsigned(number_unsigned_t) override { return scalar("a number"); }
  bool number_float(number_float_t, const string_t&) override { return scalar("a number"); }
  bool binary(binary_t&) override { return scalar("binary data"); }
  bool string(string_t& value) override {
    if (skipping()) return scalar("a string");
    if (depth_ != 3) return fail(where(), "expected " + expected() + ", found a string");
    auto e = Eui64::parse(value);
    if (!e) return fail(where(), e.error().message);
    list_.push_back(*e);
    return true;
  }

  bool start_object(std::size_t) override { return open(true); }
  bool start_array(std::size_t) override { return open(false); }
  bool end_object() override { return close(); }
  bool end_array() override {
    if (!skipping() && depth_ == 3) {
      if (list_.empty()) return fail(where(), "expected a non-empty array of EUI-64 strings");
      (section_ == "mpxn" ? exact_ : distributors_)[id_] = std::move(list_);
      list_.clear();
    }
    return close();
  }

  bool key(string_t& key) override {
    if (skipping()) return true;
    if (depth_ == 1) {
      if (!top_keys_.insert(key).second) return fail("key " + quoted(key), "appears twice");
      if (key == "$comment") {
        skip_from_ = depth_;
        return true;
      }
      if (key != "mpan_distributors" && key != "mpxn") {
        return fail("key " + quoted(key), "unknown key (known keys: mpan_distributors, mpxn)");
      }
      section_ = key;
      return true;
    }
    id_ = key;
    if (section_ == "mpan_distributors") {
      const bool digits = std::all_of(key.begin(), key.end(), [](char c) { return c >= '0' && c <= '9'; });
      if (!digits || key.size() != 2) return fail(where(), "a distributor ID is two digits");
    } else if (auto m = parse_mpxn(key); !m) {
      return fail(where(), m.error().message);
    }
    auto& map = section_ == "mpxn" ? exact_ : distributors_;
    if (map.count(key) != 0) return fail(where(), "appears twice");
    return true;
  }

  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) override {
    error = make_error(Reason::InvalidInput, std::string(origin_) + ": not valid JSON: " + e.what());
    return false;
  }

 private:
  // After "$comment": its value, whatever it is, is stepped over (still bounded in depth).
  bool skipping() const { return skip_from_ >= 0; }
  bool scalar(const char* what) {
    if (skipping()) {
      if (depth_ == skip_from_) skip_from_ = -1;
      return true;
    }
    return fail(depth_ == 0 ? std::string("the document") : where(), "expected " + expected() + ", found " + what);
  }
  bool open(bool object) {
    if (depth_ >= detail::kMaxJsonDepth) {
      return fail("the document", "nested deeper than " + std::to_string(detail::kMaxJsonDepth) + " levels");
    }
    const bool ok = skipping() || (object ? depth_ <= 1 : depth_ == 2);
    if (!ok)
      return fail(depth_ == 0 ? std::string("the document") : where(),
                  "expected " + expected() + ", found " + (object ? "an object" : "an array"));
    ++depth_;
    return true;
  }
  bool close() {
    --depth_;
    if (skipping() && depth_ == skip_from_) skip_from_ = -1;
    return true;
  }
  std::string expected() const {
    switch (depth_) {
      case 0: return "a JSON object";
      case 1: return "an object";
      case 2: return "a non-empty array of EUI-64 strings";
      default: return "EUI-64 strings";
    }
  }
  static std::string quoted(const std::string& s) { return printable(s, 64); }
  std::string where() const { return depth_ <= 1 ? "key " + quoted(section_) : quoted(section_) + "." + quoted(id_); }
  bool fail(const std::string& place, const std::string& problem) {
    error = make_error(Reason::InvalidInput, std::string(origin_) + ": " + place + ": " + problem);
    return false;
  }

  std::string_view origin_;
  std::map<std::string, std::vector<Eui64>, std::less<>>& distributors_;
  std::map<std::string, std::vector<Eui64>, std::less<>>& exact_;
  int depth_ = 0;
  int skip_from_ = -1;
  std::set<std::string> top_keys_;
  std::string section_, id_;
  std::vector<Eui64> list_;
};

}  // namespace

Result<Registration> Registration::load(const std::filesystem::path& path) {
  auto text = read_small_file(path, kMaxRegistrationBytes, "registration data");
  if (!text) return std::move(text).error();
  return parse(*text, path.string());
}

Result<Registration> Registration::parse(std::string_view json_text, std::string_view origin) {
  Registration r;
  RegistrationReader reader(origin, r.distributors_, r.exact_);
  try {
    if (!json::sax_parse(json_text, &reader)) {
      return reader.error ? *reader.error : make_error(Reason::InvalidInput, std::string(origin) + ": not valid JSON");
    }
  } catch (const nlohmann::json::exception& e) {
    return make_error(Reason::InvalidInput, std::string(origin) + ": not valid JSON: " + e.what());
  }
  return r;
}

const std::vector<Eui64>* Registration::expected_for(const Mpxn& mpxn) const {
  if (auto it = exact_.find(mpxn.digits); it != exact_.end()) return &it->second;
  if (mpxn.kind == MpxnKind::Mpan) {
    if (auto it = distributors_.find(mpxn.distributor_id()); it != distributors_.end()) return &it->second;
  }
  return nullptr;
}

}  // namespace mamsign
