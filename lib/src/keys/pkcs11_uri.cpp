#include "mamsign/keys/pkcs11_uri.h"

#include "mamsign/smki/org_cert.h"

#include <cctype>
#include <charconv>

namespace mamsign {
namespace {

constexpr std::size_t kMaxUriBytes = 4096;

bool unreserved(unsigned char c) { return std::isalnum(c) != 0 || c == '-' || c == '.' || c == '_' || c == '~'; }

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Result<std::string> percent_decode(std::string_view value, std::string_view name) {
  std::string out;
  out.reserve(value.size());
  for (std::size_t i = 0; i < value.size(); ++i) {
    if (value[i] != '%') {
      out.push_back(value[i]);
      continue;
    }
    if (i + 2 >= value.size()) {
      return make_error(Reason::InvalidInput,
                        "the PKCS#11 URI's " + std::string(name) + " has a '%' without two hex digits");
    }
    const int hi = hex_value(value[i + 1]), lo = hex_value(value[i + 2]);
    if (hi < 0 || lo < 0) {
      return make_error(Reason::InvalidInput,
                        "the PKCS#11 URI's " + std::string(name) + " has a '%' without two hex digits");
    }
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

enum class Encode { Path, Query, Everything };

std::string percent_encode(std::string_view value, Encode how) {
  static const char* const kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : value) {
    if ((how != Encode::Everything && unreserved(c)) || (how == Encode::Query && c == '/')) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

Status set_once(std::optional<std::string>& field, std::string value, std::string_view name) {
  if (field) return make_error(Reason::InvalidInput, "the PKCS#11 URI gives " + std::string(name) + " twice");
  field = std::move(value);
  return Status::ok();
}

Status path_attribute(Pkcs11Uri& uri, std::string_view name, std::string value) {
  if (name == "token") return set_once(uri.token, std::move(value), name);
  if (name == "manufacturer") return set_once(uri.manufacturer, std::move(value), name);
  if (name == "serial") return set_once(uri.serial, std::move(value), name);
  if (name == "model") return set_once(uri.model, std::move(value), name);
  if (name == "object") return set_once(uri.object, std::move(value), name);
  if (name == "id") return set_once(uri.id, std::move(value), name);
  if (name == "library-manufacturer") return set_once(uri.library_manufacturer, std::move(value), name);
  if (name == "library-description") return set_once(uri.library_description, std::move(value), name);
  if (name == "type") {
    if (value != "private" && value != "public" && value != "cert" && value != "secret-key" && value != "data") {
      return make_error(Reason::InvalidInput, "the PKCS#11 URI's type is \"" + value +
                                                  "\"; RFC 7512 allows private, public, cert, secret-key or data");
    }
    return set_once(uri.type, std::move(value), name);
  }
  if (name == "slot-id") {
    if (uri.slot_id) return make_error(Reason::InvalidInput, "the PKCS#11 URI gives slot-id twice");
    unsigned long n = 0;
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
    if (value.empty() || ec != std::errc() || end != value.data() + value.size()) {
      return make_error(Reason::InvalidInput, "the PKCS#11 URI's slot-id \"" + value + "\" is not a decimal number");
    }
    uri.slot_id = n;
    return Status::ok();
  }
  if (name == "pin-value" || name == "pin-source" || name == "module-path" || name == "module-name") {
    return make_error(Reason::InvalidInput, "the PKCS#11 URI has " + std::string(name) +
                                                " in its path; RFC 7512 puts it in the query, after '?'");
  }
  return make_error(Reason::InvalidInput,
                    "the PKCS#11 URI has the attribute \"" + std::string(name) +
                        "\", which mamsign does not know (known: token, manufacturer, serial, model, object, id, type, "
                        "slot-id, library-manufacturer, library-description)");
}

Status query_attribute(Pkcs11Uri& uri, std::string_view name, std::string value) {
  if (name == "pin-value") {
    // Never kept: the caller refuses the URI and says how to give a PIN safely.
    std::fill(value.begin(), value.end(), '\0');
    uri.has_pin_value = true;
    return Status::ok();
  }
  if (name == "pin-source") return set_once(uri.pin_source, std::move(value), name);
  if (name == "module-path") return set_once(uri.module_path, std::move(value), name);
  if (name == "module-name") return set_once(uri.module_name, std::move(value), name);
  return make_error(Reason::InvalidInput, "the PKCS#11 URI has the query attribute \"" + std::string(name) +
                                              "\", which mamsign does not know (known: pin-source, module-path, "
                                              "module-name; pin-value is refused)");
}

// Splits `part` at `separator` and hands each name=value to `take`.
template <typename Take>
Status each_attribute(std::string_view part, char separator, Take take) {
  while (!part.empty()) {
    const std::size_t end = part.find(separator);
    const std::string_view item = part.substr(0, end);
    part = end == std::string_view::npos ? std::string_view() : part.substr(end + 1);
    if (item.empty()) {
      if (end != std::string_view::npos && part.empty()) break;  // a trailing separator
      return make_error(Reason::InvalidInput, "the PKCS#11 URI has an empty attribute (two separators in a row)");
    }
    const std::size_t eq = item.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      return make_error(Reason::InvalidInput,
                        "the PKCS#11 URI has \"" + std::string(item.substr(0, 64)) + "\", which is not name=value");
    }
    const std::string_view name = item.substr(0, eq);
    auto value = percent_decode(item.substr(eq + 1), name);
    if (!value) return std::move(value).error();
    if (auto st = take(name, std::move(*value)); !st) return st;
  }
  return Status::ok();
}

}  // namespace

bool is_pkcs11_uri(std::string_view text) {
  constexpr std::string_view kScheme = "pkcs11:";
  if (text.size() < kScheme.size()) return false;
  for (std::size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[i])) != kScheme[i]) return false;
  }
  return true;
}

Result<Pkcs11Uri> parse_pkcs11_uri(std::string_view text) {
  if (text.size() > kMaxUriBytes) return make_error(Reason::InvalidInput, "the PKCS#11 URI is longer than 4 KiB");
  if (!is_pkcs11_uri(text))
    return make_error(Reason::InvalidInput, "not a PKCS#11 URI (it does not start with pkcs11:)");
  for (unsigned char c : text) {
    if (c <= 0x20 || c >= 0x7f) {
      return make_error(Reason::InvalidInput,
                        "the PKCS#11 URI has a space, control or non-ASCII byte; "
                        "percent-encode it (%20 for a space)");
    }
  }
  text.remove_prefix(7);
  const std::size_t q = text.find('?');
  Pkcs11Uri uri;
  if (auto st = each_attribute(text.substr(0, q), ';',
                               [&](std::string_view n, std::string v) { return path_attribute(uri, n, std::move(v)); });
      !st) {
    return std::move(st).error();
  }
  if (q != std::string_view::npos) {
    if (auto st =
            each_attribute(text.substr(q + 1), '&',
                           [&](std::string_view n, std::string v) { return query_attribute(uri, n, std::move(v)); });
        !st) {
      return std::move(st).error();
    }
  }
  return uri;
}

std::string Pkcs11Uri::to_string() const {
  std::string path;
  const auto add = [&](std::string_view name, const std::optional<std::string>& value, Encode how = Encode::Path) {
    if (!value) return;
    path += (path.empty() ? "" : ";") + std::string(name) + "=" + percent_encode(*value, how);
  };
  add("library-manufacturer", library_manufacturer);
  add("library-description", library_description);
  if (slot_id) path += (path.empty() ? "" : ";") + std::string("slot-id=") + std::to_string(*slot_id);
  add("model", model);
  add("manufacturer", manufacturer);
  add("serial", serial);
  add("token", token);
  add("object", object);
  add("id", id, Encode::Everything);
  add("type", type);
  std::string query;
  const auto add_query = [&](std::string_view name, const std::optional<std::string>& value) {
    if (!value) return;
    query += (query.empty() ? "?" : "&") + std::string(name) + "=" + percent_encode(*value, Encode::Query);
  };
  add_query("module-path", module_path);
  add_query("module-name", module_name);
  add_query("pin-source", pin_source);
  return "pkcs11:" + path + query;
}

std::string Pkcs11Uri::describe() const {
  std::string out;
  const auto add = [&](std::string_view what, const std::string& value) {
    out += (out.empty() ? "" : ", ") + std::string(what) + " " + value;
  };
  if (token) add("token", *token);
  if (serial) add("serial", *serial);
  if (object) add("object", *object);
  if (id) add("id", to_hex(reinterpret_cast<const std::uint8_t*>(id->data()), id->size()));
  if (type) add("type", *type);
  return out.empty() ? std::string("any object on any token") : out;
}

}  // namespace mamsign
