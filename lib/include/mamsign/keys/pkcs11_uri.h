// PKCS#11 URIs (RFC 7512): how a key or certificate on a token is named on the command line, e.g.
// `pkcs11:token=SMKI;object=supplier-ds;type=private`. Parsing is strict: an attribute this toolkit
// does not know, or one given twice, is an error that names it, never a URI that silently matches more.
#pragma once

#include "mamsign/base/error.h"

#include <optional>
#include <string>
#include <string_view>

namespace mamsign {

struct Pkcs11Uri {
  // Path attributes, percent-decoded. Absent means "any".
  std::optional<std::string> token, manufacturer, serial, model;  // the token (CK_TOKEN_INFO)
  std::optional<std::string> object;                              // CKA_LABEL
  std::optional<std::string> id;                                  // CKA_ID, raw bytes
  std::optional<std::string> type;                                // private, public, cert, secret-key, data
  std::optional<unsigned long> slot_id;                           // slot-id
  std::optional<std::string> library_manufacturer, library_description;
  // Query attributes.
  std::optional<std::string> module_path, module_name, pin_source;
  bool has_pin_value = false;  // `pin-value` was present; its value is never kept

  // The URI in its normal form: known attributes in a fixed order, everything but unreserved characters
  // percent-encoded (the id always). Never includes a PIN.
  std::string to_string() const;
  // A line for messages: "token SMKI, object supplier-ds, id 01".
  std::string describe() const;
};

// Whether `text` is meant as a PKCS#11 URI (it starts with "pkcs11:", in any case).
bool is_pkcs11_uri(std::string_view text);

// INVALID_INPUT, naming the attribute or the position, for anything RFC 7512 does not allow or this
// toolkit does not implement. Bounded: at most 4 KiB.
Result<Pkcs11Uri> parse_pkcs11_uri(std::string_view text);

}  // namespace mamsign
