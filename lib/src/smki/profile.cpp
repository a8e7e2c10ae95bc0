#include "mamsign/smki/profile.h"

#include "base/json_object.h"
#include "mamsign/base/io.h"
#include "mamsign/base/times.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <set>

namespace mamsign {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxProfileBytes = 64 * 1024;

Error key_error(std::string_view origin, std::string_view key, const std::string& problem) {
  return make_error(Reason::InvalidInput, std::string(origin) + ": key \"" + std::string(key) + "\": " + problem);
}

bool is_dotted_oid(const std::string& s) {
  // At least two arcs of digits separated by single dots.
  if (s.empty() || s.front() == '.' || s.back() == '.') return false;
  int dots = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '.') {
      if (s[i + 1] == '.') return false;
      ++dots;
    } else if (s[i] < '0' || s[i] > '9') {
      return false;
    }
  }
  return dots >= 1;
}

std::optional<std::uint8_t> parse_role(const json& v) {
  if (!v.is_string()) return std::nullopt;
  const auto& s = v.get_ref<const std::string&>();
  if (s.size() != 2 || !std::isxdigit(static_cast<unsigned char>(s[0])) ||
      !std::isxdigit(static_cast<unsigned char>(s[1]))) {
    return std::nullopt;
  }
  return static_cast<std::uint8_t>(std::stoi(s, nullptr, 16));
}

Result<std::vector<std::string>> string_list(const json& v, std::string_view origin, std::string_view key) {
  if (!v.is_array() || v.empty()) return key_error(origin, key, "expected a non-empty array of strings");
  std::vector<std::string> out;
  for (const auto& item : v) {
    if (!item.is_string() || item.get_ref<const std::string&>().empty()) {
      return key_error(origin, key, "expected a non-empty array of strings, found " + detail::describe_json(item));
    }
    if (std::find(out.begin(), out.end(), item.get_ref<const std::string&>()) != out.end()) {
      return key_error(origin, key, detail::describe_json(item) + " is listed twice");
    }
    out.push_back(item.get<std::string>());
  }
  return out;
}

}  // namespace

std::string role_code(std::uint8_t role) {
  char buf[4];
  std::snprintf(buf, sizeof buf, "%02X", role);
  return buf;
}

std::string_view role_name(std::uint8_t role) {
  switch (static_cast<Role>(role)) {
    case Role::Root: return "root";
    case Role::Recovery: return "recovery";
    case Role::Supplier: return "supplier";
    case Role::NetworkOperator: return "network operator";
    case Role::AccessControlBroker: return "access control broker";
    case Role::TransitionalCoS: return "transitional change of supplier";
    case Role::WanProvider: return "WAN provider";
    case Role::IssuingAuthority: return "issuing authority";
    case Role::Other: return "other";
  }
  return "unknown role";
}

bool Profile::signer_role_allowed(std::uint8_t role) const {
  return std::find(signer_roles.begin(), signer_roles.end(), role) != signer_roles.end();
}

bool Profile::policy_allowed(std::string_view oid) const {
  return std::find(policy_oids.begin(), policy_oids.end(), oid) != policy_oids.end();
}

Result<Profile> Profile::load(const std::filesystem::path& path) {
  if (auto st = check_not_writable_by_others(path, "the profile"); !st) return std::move(st).error();
  auto text = read_small_file(path, kMaxProfileBytes, "profile");
  if (!text) return std::move(text).error();
  auto p = parse(*text, path.string());
  if (!p) return p;
  p->origin = "the profile " + path.string();
  p->file = path.string();
  const json mine = json::parse(p->to_json());
  const json built_in = json::parse(defaults().to_json());
  for (const auto& [key, value] : mine.items()) {
    if (!built_in.contains(key) || built_in[key] != value) p->changes.push_back(key);
  }
  return p;
}

std::string Profile::change_note() const {
  if (file.empty()) return {};
  std::string keys;
  for (const auto& k : changes) keys += (keys.empty() ? "" : ", ") + k;
  return "the profile " + file +
         (changes.empty() ? " changes nothing of the built-in profile"
                          : " changes " + keys + " from the built-in profile");
}

std::string Profile::expectation(std::string_view key) const {
  if (origin != Profile{}.origin) return "expected by " + origin + " (key " + std::string(key) + ")";
  if (key == "policy_oids") {
    return "expected by the built-in profile, whose policy OID is DCC's public TEST policy: for live certificates set "
           "the live Organisation Certificate policy OID in policy_oids of a profile file (--profile, MAMSIGN_PROFILE "
           "or "
           "/etc/mamsign/profile.json; docs/profile.md)";
  }
  return "expected by the built-in profile (set " + std::string(key) + " in a profile file; docs/profile.md)";
}

Result<Profile> Profile::parse(std::string_view json_text, std::string_view origin) {
  auto parsed = detail::parse_json_object(json_text, origin);
  if (!parsed) return std::move(parsed).error();
  const json& doc = *parsed;
  Profile p;
  static const std::set<std::string> kKnown{
      "policy_oids", "signer_roles", "network_operator_role", "issuer_role",   "party_octets", "file_name_prefixes",
      "require_crl", "crl_grace",    "signature_formats",     "require_files", "tsa_urls",     "require_timestamp",
      "$comment"};
  for (const auto& [key, value] : doc.items()) {
    if (!kKnown.count(key)) {
      std::string known;
      for (const auto& k : kKnown) known += (known.empty() ? "" : ", ") + k;
      return key_error(origin, key, "unknown key (known keys: " + known + ")");
    }
  }
  if (doc.contains("policy_oids")) {
    auto list = string_list(doc["policy_oids"], origin, "policy_oids");
    if (!list) return std::move(list).error();
    for (const auto& oid : *list) {
      if (!is_dotted_oid(oid)) return key_error(origin, "policy_oids", printable(oid) + " is not a dotted OID");
    }
    p.policy_oids = std::move(*list);
  }
  if (doc.contains("signer_roles")) {
    const auto& v = doc["signer_roles"];
    if (!v.is_array() || v.empty()) {
      return key_error(origin, "signer_roles", "expected a non-empty array of two-hex-digit role codes");
    }
    p.signer_roles.clear();
    for (const auto& item : v) {
      auto role = parse_role(item);
      if (!role)
        return key_error(origin, "signer_roles", detail::describe_json(item) + " is not a two-hex-digit role code");
      if (p.signer_role_allowed(*role))
        return key_error(origin, "signer_roles", detail::describe_json(item) + " is listed twice");
      // A CA's role never signs migration files: its certificate is no organisation certificate.
      if (*role == static_cast<std::uint8_t>(Role::Root) ||
          *role == static_cast<std::uint8_t>(Role::IssuingAuthority)) {
        return key_error(origin, "signer_roles",
                         detail::describe_json(item) + " is a certificate authority's role (" +
                             std::string(role_name(*role)) + "), not a signer's");
      }
      p.signer_roles.push_back(*role);
    }
  }
  if (doc.contains("network_operator_role")) {
    auto role = parse_role(doc["network_operator_role"]);
    if (!role) {
      return key_error(origin, "network_operator_role",
                       detail::describe_json(doc["network_operator_role"]) + " is not a two-hex-digit role code");
    }
    p.network_operator_role = *role;
  }
  if (doc.contains("issuer_role")) {
    const auto& v = doc["issuer_role"];
    if (v.is_null()) {
      p.issuer_role.reset();
    } else {
      auto role = parse_role(v);
      if (!role)
        return key_error(origin, "issuer_role", detail::describe_json(v) + " is not a two-hex-digit role code or null");
      p.issuer_role = *role;
    }
  }
  if (doc.contains("party_octets")) {
    const auto& v = doc["party_octets"];
    if (!v.is_array() || v.empty()) {
      return key_error(origin, "party_octets", "expected a non-empty array of octet positions 1 to 8");
    }
    PartyOctets octets{};
    for (const auto& item : v) {
      // As a 64-bit value: a cast to int would wrap a huge number into range.
      if (!item.is_number_integer() || item.get<std::int64_t>() < 1 || item.get<std::int64_t>() > 8) {
        return key_error(origin, "party_octets", detail::describe_json(item) + " is not an octet position from 1 to 8");
      }
      const auto at = static_cast<std::size_t>(item.get<std::int64_t>() - 1);
      if (octets[at]) return key_error(origin, "party_octets", "octet " + std::to_string(at + 1) + " is listed twice");
      octets[at] = true;
    }
    p.party_octets = octets;
  }
  if (doc.contains("file_name_prefixes")) {
    auto list = string_list(doc["file_name_prefixes"], origin, "file_name_prefixes");
    if (!list) return std::move(list).error();
    for (const auto& prefix : *list) {
      const bool ok = std::all_of(prefix.begin(), prefix.end(), [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
      });
      if (!ok || prefix.size() > 64 || prefix.back() == '_') {
        return key_error(origin, "file_name_prefixes",
                         printable(prefix) + " is not 1 to 64 letters, digits or inner '_'");
      }
    }
    p.file_name_prefixes = std::move(*list);
  }
  if (doc.contains("require_crl")) {
    if (!doc["require_crl"].is_boolean()) {
      return key_error(origin, "require_crl",
                       "expected true or false, found " + detail::describe_json(doc["require_crl"]));
    }
    p.require_crl = doc["require_crl"].get<bool>();
  }
  if (doc.contains("require_files")) {
    if (!doc["require_files"].is_boolean()) {
      return key_error(origin, "require_files",
                       "expected true or false, found " + detail::describe_json(doc["require_files"]));
    }
    p.require_files = doc["require_files"].get<bool>();
  }
  if (doc.contains("require_timestamp")) {
    if (!doc["require_timestamp"].is_boolean()) {
      return key_error(origin, "require_timestamp",
                       "expected true or false, found " + detail::describe_json(doc["require_timestamp"]));
    }
    p.require_timestamp = doc["require_timestamp"].get<bool>();
  }
  // An empty list (as --print-profile writes the default) is no TSA.
  if (doc.contains("tsa_urls") && !(doc["tsa_urls"].is_array() && doc["tsa_urls"].empty())) {
    auto list = string_list(doc["tsa_urls"], origin, "tsa_urls");
    if (!list) return std::move(list).error();
    for (const auto& url : *list) {
      if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
        return key_error(origin, "tsa_urls", printable(url) + " is not an http:// or https:// URL");
      }
    }
    p.tsa_urls = std::move(*list);
  }
  if (doc.contains("crl_grace")) {
    const auto& v = doc["crl_grace"];
    auto grace = v.is_string() ? parse_duration(v.get_ref<const std::string&>())
                               : Result<std::time_t>(make_error(
                                     Reason::InvalidInput,
                                     "expected a duration string such as \"12h\", found " + detail::describe_json(v)));
    if (!grace) return key_error(origin, "crl_grace", grace.error().message);
    p.crl_grace = *grace;
  }
  if (doc.contains("signature_formats")) {
    auto list = string_list(doc["signature_formats"], origin, "signature_formats");
    if (!list) return std::move(list).error();
    for (const auto& f : *list) {
      if (f != "cms" && f != "raw" && f != "cms-no-attributes") {
        return key_error(origin, "signature_formats", printable(f) + " is not one of cms, raw, cms-no-attributes");
      }
    }
    if (std::find(list->begin(), list->end(), "cms") == list->end()) {
      return key_error(origin, "signature_formats", "must hold \"cms\", the profile's own format");
    }
    p.signature_formats = std::move(*list);
  }
  return p;
}

bool Profile::format_allowed(std::string_view form) const {
  return std::find(signature_formats.begin(), signature_formats.end(), form) != signature_formats.end();
}

std::string Profile::to_json() const {
  json doc;
  doc["policy_oids"] = policy_oids;
  json roles = json::array();
  for (auto r : signer_roles) roles.push_back(role_code(r));
  doc["signer_roles"] = roles;
  doc["network_operator_role"] = role_code(network_operator_role);
  doc["issuer_role"] = issuer_role ? json(role_code(*issuer_role)) : json(nullptr);
  json octets = json::array();
  for (std::size_t i = 0; i < party_octets.size(); ++i) {
    if (party_octets[i]) octets.push_back(i + 1);
  }
  doc["party_octets"] = octets;
  doc["file_name_prefixes"] = file_name_prefixes;
  doc["require_crl"] = require_crl;
  doc["crl_grace"] = format_duration(crl_grace);
  doc["signature_formats"] = signature_formats;
  doc["require_files"] = require_files;
  doc["tsa_urls"] = tsa_urls;
  doc["require_timestamp"] = require_timestamp;
  return doc.dump(2);
}

}  // namespace mamsign
