#include "mamsign/registration.h"

#include "json_object.h"
#include "mamsign/io.h"

#include <nlohmann/json.hpp>

#include <algorithm>

namespace mamsign {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxRegistrationBytes = 256 * 1024 * 1024;

Error key_error(std::string_view origin, const std::string& where, const std::string& problem) {
  return make_error(Reason::InvalidInput, std::string(origin) + ": " + where + ": " + problem);
}

Result<std::vector<Eui64>> euis(const json& v, std::string_view origin, const std::string& where) {
  if (!v.is_array() || v.empty()) return key_error(origin, where, "expected a non-empty array of EUI-64 strings");
  std::vector<Eui64> out;
  for (const auto& item : v) {
    if (!item.is_string()) return key_error(origin, where, "expected EUI-64 strings, found " + item.dump());
    auto e = Eui64::parse(item.get<std::string>());
    if (!e) return key_error(origin, where, e.error().message);
    out.push_back(*e);
  }
  return out;
}

}  // namespace

Result<Registration> Registration::load(const std::filesystem::path& path) {
  auto text = read_small_file(path, kMaxRegistrationBytes, "registration data");
  if (!text) return std::move(text).error();
  return parse(*text, path.string());
}

Result<Registration> Registration::parse(std::string_view json_text, std::string_view origin) {
  auto parsed = detail::parse_json_object(json_text, origin);
  if (!parsed) return std::move(parsed).error();
  const json& doc = *parsed;
  Registration r;
  for (const auto& [key, value] : doc.items()) {
    if (key == "$comment") continue;
    if (key != "mpan_distributors" && key != "mpxn") {
      return key_error(origin, "key \"" + key + "\"", "unknown key (known keys: mpan_distributors, mpxn)");
    }
    if (!value.is_object()) return key_error(origin, "key \"" + key + "\"", "expected an object");
    for (const auto& [id, list] : value.items()) {
      const std::string where = "\"" + key + "\".\"" + id + "\"";
      const bool digits = !id.empty() && std::all_of(id.begin(), id.end(), [](char c) { return c >= '0' && c <= '9'; });
      if (key == "mpan_distributors" && (!digits || id.size() != 2)) {
        return key_error(origin, where, "a distributor ID is two digits");
      }
      if (key == "mpxn") {
        auto m = parse_mpxn(id);
        if (!m) return key_error(origin, where, m.error().message);
      }
      auto e = euis(list, origin, where);
      if (!e) return std::move(e).error();
      (key == "mpxn" ? r.exact_ : r.distributors_)[id] = std::move(*e);
    }
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
