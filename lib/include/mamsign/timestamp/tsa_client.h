// Asking a Time-Stamping Authority for a token (RFC 3161 section 3.4: HTTP POST of a TimeStampReq,
// application/timestamp-query). The request and the reply are OpenSSL's TS API; the HTTP is libcurl's
// (proxies from the usual environment variables, HTTPS verified against the system CAs or `ca_file`).
// Every reply is checked before it is used: status granted, our imprint and nonce, the TSA's signature,
// its certificate's usage, the policy asked for, genTime near our clock.
#pragma once

#include "mamsign/base/error.h"
#include "mamsign/base/secret.h"
#include "mamsign/timestamp/timestamp_token.h"

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace mamsign {

struct TsaOptions {
  std::vector<std::string> urls;             // tried in this order; the next when one fails
  std::chrono::milliseconds timeout{10000};  // each request, connecting included
  unsigned retries = 3;                      // more attempts per URL, waiting 0.2 s, 0.4 s, 0.8 s... between
  std::optional<std::string> policy;         // ask for this policy OID and require it in the reply
  std::string ca_file;                       // HTTPS: verify the TSA's server against these, not the system's
  std::string client_cert, client_key;       // HTTPS: a TLS client certificate and its key (PEM files)
  std::string auth_file;                     // HTTP basic authentication: "user:password", its first line
  std::shared_ptr<const TsaTrust> trust;     // the TSA's certificate must chain to these (else not checked)
  std::chrono::seconds max_clock_skew{300};  // genTime at most this far from our clock
};

struct TimestampToken {
  std::string der;  // the TimeStampToken (a ContentInfo), as the signature's unsigned attribute holds it
  TimestampInfo info;
  std::string url;  // the TSA that gave it
};

class TsaClient {
 public:
  // InvalidInput for options that cannot work (no URL, a policy that is not an OID, a URL that is not
  // http:// or https://); IoError when the auth file cannot be read.
  static Result<std::shared_ptr<const TsaClient>> create(TsaOptions options);

  // A checked token over `imprint` (SHA-256 of a SignerInfo's signature value). TimestampUnavailable
  // when no TSA gave one, saying in plain words what each answered ("HTTP 404 from URL: not an RFC 3161
  // endpoint?", "status rejection: badAlgorithm"). Thread-safe: each thread keeps its own connections.
  Result<TimestampToken> timestamp(const Sha256& imprint) const;

  const TsaOptions& options() const noexcept { return options_; }

 private:
  explicit TsaClient(TsaOptions options) : options_(std::move(options)) {}
  // One attempt at one URL: the token, or why not, and whether trying again may help.
  Result<TimestampToken> ask(const std::string& url, const Sha256& imprint, bool& retry) const;
  TsaOptions options_;
  std::shared_ptr<SecretString> credentials_;  // "user:password", wiped when the client goes
};

}  // namespace mamsign
