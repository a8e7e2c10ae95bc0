// PEM files from outside (RFC 7468): certificates, bundles, CRLs. Every block that begins must decode;
// a damaged block is an error, never a reason to stop reading quietly and miss what follows it.
#pragma once

#include "mamsign/base/error.h"

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace mamsign {

struct PemBlock {
  std::string label;  // "CERTIFICATE", "X509 CRL", ...
  std::string der;    // the decoded content
  std::size_t line;   // 1-based line of its BEGIN line, for messages
};

// Whether `bytes` are PEM text (hold a BEGIN line) rather than DER.
bool is_pem(std::string_view bytes);

// Every block of a PEM text, in order. InvalidInput (naming `origin` and the line) when a BEGIN line
// has no END line, a block's base64 or label does not decode, or bytes outside the blocks are not
// text (explanatory text, as `openssl x509 -text` writes, is allowed; binary garbage is not).
Result<std::vector<PemBlock>> read_pem_blocks(std::string_view text, std::string_view origin);

// The DER of every block labelled `label` (or one of `aliases`), or the whole input when it is not PEM.
// InvalidInput when a PEM input holds no such block; `what` names it ("certificate", "CRL").
Result<std::vector<std::string>> der_objects(std::string_view bytes, std::string_view origin,
                                             const std::vector<std::string_view>& labels, std::string_view what);

// What a file of PKI objects holds: certificates, CRLs, or both (PEM blocks by label; one DER object
// by what it parses as). InvalidInput when it holds neither, or a PEM block is damaged.
struct PkiContents {
  bool certificates = false;
  bool crls = false;
};
Result<PkiContents> pki_contents(std::string_view bytes, std::string_view origin);

}  // namespace mamsign
