// RFC 3161 timestamp tokens over a signature: what a token says (TSTInfo) and whether it can be trusted.
// A token is a CMS SignedData whose content is a TSTInfo; OpenSSL's TS API reads and verifies it.
#pragma once

#include "mamsign/base/error.h"
#include "mamsign/base/ossl.h"
#include "mamsign/signature/digest.h"

#include <ctime>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mamsign {

// A token is at most this large: a TSA's token with its certificate chain is a few KiB.
inline constexpr std::size_t kMaxTimestampTokenBytes = 64 * 1024;

// The anchors a TSA's certificate must chain to (--tsa-trust): root and intermediate certificates,
// PEM or DER files, bundles or folders of them.
class TsaTrust {
 public:
  // IoError when a path cannot be read; InvalidInput when a file holds no certificate or a damaged one.
  static Result<std::shared_ptr<const TsaTrust>> load(const std::vector<std::filesystem::path>& paths);
  const std::vector<X509Ptr>& anchors() const noexcept { return anchors_; }
  std::string origin() const;  // "tsa-ca.pem, more.pem": the paths, for messages

 private:
  std::vector<X509Ptr> anchors_;
  std::vector<std::string> origins_;
};

// What a token says, and what was found about it.
struct TimestampInfo {
  std::time_t gen_time = 0;
  std::string tsa;       // the TSA certificate's subject
  std::string policy;    // the TSTInfo's policy OID, dotted
  std::string serial;    // the TSTInfo's serialNumber, hex
  bool trusted = false;  // its certificate chains to the TsaTrust anchors at genTime
};

// Checks `token_der` as a timestamp over `imprint` (SHA-256 of a SignerInfo's signature value):
// a SignedData over a TSTInfo, version 1, messageImprint SHA-256 over exactly `imprint`, the TSA's
// signature verifying with its certificate (and ESS signingCertificate binding it), that certificate
// carrying extendedKeyUsage timeStamping only, marked critical (RFC 3161 section 2.3), and valid at
// genTime. TimestampInvalid names what is wrong, expected against found. With `trust`, the certificate
// must also chain to its anchors at genTime, else TimestampUntrusted; without, `trusted` is false.
// `nonce` (a TSA's reply to our request): the TSTInfo's nonce must be it.
Result<TimestampInfo> check_timestamp_token(std::string_view token_der, const Sha256& imprint, const TsaTrust* trust,
                                            const ASN1_INTEGER* nonce = nullptr);

}  // namespace mamsign
