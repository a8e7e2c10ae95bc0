#include "mamsign/timestamp/tsa_client.h"

#include "mamsign/base/times.h"
#include "mamsign/smki/org_cert.h"

#define CURL_DISABLE_TYPECHECK 1  // calls go through the pointers below, not curl.h's checking macros
#include <curl/curl.h>
#include <dlfcn.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ts.h>

#include <algorithm>
#include <cctype>
#include <mutex>
#include <thread>

namespace mamsign {
namespace {

using TsReqPtr = OsslPtr<TS_REQ, TS_REQ_free>;
using TsRespPtr = OsslPtr<TS_RESP, TS_RESP_free>;
using TsMsgImprintPtr = OsslPtr<TS_MSG_IMPRINT, TS_MSG_IMPRINT_free>;
using X509AlgorPtr = OsslPtr<X509_ALGOR, X509_ALGOR_free>;
using Asn1ObjectPtr = OsslPtr<ASN1_OBJECT, ASN1_OBJECT_free>;

// A reply larger than this is no timestamp (a token with its chain is a few KiB): the transfer stops.
constexpr std::size_t kMaxReplyBytes = 256 * 1024;

Error unavailable(const std::string& what) { return make_error(Reason::TimestampUnavailable, what); }

// libcurl, loaded (dlopen) when a TSA is first needed rather than linked: linking it loads 29 more
// shared libraries into every process of every app (measured: `mam-sign --version` 10.3 ms -> 22.0 ms,
// 5.9 us more per file in a 2,000-file batch), which a run that never timestamps would pay on each start.
struct CurlApi {
  CURLcode (*global_init)(long) = nullptr;
  CURL* (*easy_init)() = nullptr;
  void (*easy_cleanup)(CURL*) = nullptr;
  void (*easy_reset)(CURL*) = nullptr;
  CURLcode (*easy_setopt)(CURL*, CURLoption, ...) = nullptr;
  CURLcode (*easy_perform)(CURL*) = nullptr;
  CURLcode (*easy_getinfo)(CURL*, CURLINFO, ...) = nullptr;
  const char* (*easy_strerror)(CURLcode) = nullptr;
  curl_slist* (*slist_append)(curl_slist*, const char*) = nullptr;
  void (*slist_free_all)(curl_slist*) = nullptr;
};

template <typename F>
bool resolve(void* library, const char* name, F& out) {
  void* symbol = ::dlsym(library, name);
  out = reinterpret_cast<F>(symbol);  // NOLINT(cppcoreguidelines-pro-type-reinterpret-cast): dlsym's way
  return symbol != nullptr;
}

// The loaded library with its global set-up done (once per process, before any handle: curl_global_init
// is not thread-safe itself), or null with `why` saying what is missing.
const CurlApi* curl_api(std::string* why = nullptr) {
  static std::once_flag once;
  static CurlApi api;
  static std::string problem;
  std::call_once(once, [] {
    void* library = ::dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (library == nullptr) {
      const char* error = ::dlerror();
      problem = std::string("libcurl (Debian: libcurl4) cannot be loaded: ") + (error != nullptr ? error : "?");
      return;
    }
    const bool all =
        resolve(library, "curl_global_init", api.global_init) && resolve(library, "curl_easy_init", api.easy_init) &&
        resolve(library, "curl_easy_cleanup", api.easy_cleanup) &&
        resolve(library, "curl_easy_reset", api.easy_reset) && resolve(library, "curl_easy_setopt", api.easy_setopt) &&
        resolve(library, "curl_easy_perform", api.easy_perform) &&
        resolve(library, "curl_easy_getinfo", api.easy_getinfo) &&
        resolve(library, "curl_easy_strerror", api.easy_strerror) &&
        resolve(library, "curl_slist_append", api.slist_append) &&
        resolve(library, "curl_slist_free_all", api.slist_free_all);
    if (!all || api.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
      problem = "libcurl was loaded but cannot be used (a function is missing, or its set-up failed)";
      api = CurlApi{};
    }
  });
  if (api.easy_init == nullptr) {
    if (why != nullptr) *why = problem;
    return nullptr;
  }
  return &api;
}

// A curl_slist, freed with the loaded library's function.
struct SlistFree {
  void operator()(curl_slist* list) const {
    if (const CurlApi* api = curl_api(); api != nullptr && list != nullptr) api->slist_free_all(list);
  }
};
using SlistPtr = std::unique_ptr<curl_slist, SlistFree>;

// One easy handle per thread, kept for the thread's life: it keeps its connections alive, so a batch
// asks one TSA over one connection per thread.
struct ThreadHandle {
  CURL* curl = nullptr;
  ~ThreadHandle() {
    const CurlApi* api = curl != nullptr ? curl_api() : nullptr;
    if (api != nullptr) api->easy_cleanup(curl);
  }
};

CURL* thread_handle(const CurlApi& api) {
  thread_local ThreadHandle handle;
  if (handle.curl == nullptr) handle.curl = api.easy_init();
  return handle.curl;
}

struct Reply {
  std::string body;
  bool too_large = false;
};

extern "C" std::size_t collect_reply(char* data, std::size_t size, std::size_t count, void* user) {
  auto* reply = static_cast<Reply*>(user);
  const std::size_t n = size * count;
  if (reply->body.size() + n > kMaxReplyBytes) {
    reply->too_large = true;
    return 0;  // ends the transfer: CURLE_WRITE_ERROR
  }
  reply->body.append(data, n);
  return n;
}

// The names of the PKIFailureInfo bits set (RFC 3161 section 2.4.2).
std::string failure_names(const ASN1_BIT_STRING* bits) {
  static const std::pair<int, const char*> kNames[] = {
      {TS_INFO_BAD_ALG, "badAlg"},
      {TS_INFO_BAD_REQUEST, "badRequest"},
      {TS_INFO_BAD_DATA_FORMAT, "badDataFormat"},
      {TS_INFO_TIME_NOT_AVAILABLE, "timeNotAvailable"},
      {TS_INFO_UNACCEPTED_POLICY, "unacceptedPolicy"},
      {TS_INFO_UNACCEPTED_EXTENSION, "unacceptedExtension"},
      {TS_INFO_ADD_INFO_NOT_AVAILABLE, "addInfoNotAvailable"},
      {TS_INFO_SYSTEM_FAILURE, "systemFailure"},
  };
  std::string out;
  for (const auto& [bit, name] : kNames) {
    if (bits != nullptr && ASN1_BIT_STRING_get_bit(bits, bit) == 1)
      out += (out.empty() ? "" : ", ") + std::string(name);
  }
  return out;
}

std::string status_name(long status) {
  switch (status) {
    case TS_STATUS_GRANTED: return "granted";
    case TS_STATUS_GRANTED_WITH_MODS: return "grantedWithMods";
    case TS_STATUS_REJECTION: return "rejection";
    case TS_STATUS_WAITING: return "waiting";
    case TS_STATUS_REVOCATION_WARNING: return "revocationWarning";
    case TS_STATUS_REVOCATION_NOTIFICATION: return "revocationNotification";
    default: return "status " + std::to_string(status);
  }
}

// The free text a TSA put in its status, made printable.
std::string status_text(const TS_STATUS_INFO* info) {
  const STACK_OF(ASN1_UTF8STRING)* text = TS_STATUS_INFO_get0_text(info);
  std::string out;
  for (int i = 0; text != nullptr && i < sk_ASN1_UTF8STRING_num(text); ++i) {
    const ASN1_UTF8STRING* s = sk_ASN1_UTF8STRING_value(text, i);
    out +=
        (out.empty() ? "" : "; ") + printable(std::string_view(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                                               static_cast<std::size_t>(ASN1_STRING_length(s))));
  }
  return out;
}

// A TimeStampReq over `imprint` with a fresh 64-bit nonce and certReq, as DER; `nonce` receives it.
Result<std::string> make_request(const Sha256& imprint, const std::optional<std::string>& policy,
                                 Asn1IntegerPtr& nonce) {
  TsReqPtr req(TS_REQ_new());
  TsMsgImprintPtr mi(TS_MSG_IMPRINT_new());
  X509AlgorPtr alg(X509_ALGOR_new());
  if (!req || !mi || !alg || TS_REQ_set_version(req.get(), 1) != 1 ||
      X509_ALGOR_set0(alg.get(), OBJ_nid2obj(NID_sha256), V_ASN1_NULL, nullptr) != 1 ||
      TS_MSG_IMPRINT_set_algo(mi.get(), alg.get()) != 1 ||
      TS_MSG_IMPRINT_set_msg(mi.get(), const_cast<unsigned char*>(imprint.data()), static_cast<int>(imprint.size())) !=
          1 ||
      TS_REQ_set_msg_imprint(req.get(), mi.get()) != 1) {
    return unavailable("cannot make a timestamp request: " + take_openssl_errors());
  }
  unsigned char random[8];
  if (RAND_bytes(random, sizeof random) != 1) return unavailable("no random bytes for the nonce");
  random[0] &= 0x7F;  // a positive INTEGER
  BignumPtr bn(BN_bin2bn(random, sizeof random, nullptr));
  nonce.reset(bn ? BN_to_ASN1_INTEGER(bn.get(), nullptr) : nullptr);
  if (!nonce || TS_REQ_set_nonce(req.get(), nonce.get()) != 1 || TS_REQ_set_cert_req(req.get(), 1) != 1) {
    return unavailable("cannot make a timestamp request: " + take_openssl_errors());
  }
  if (policy) {
    Asn1ObjectPtr oid(OBJ_txt2obj(policy->c_str(), 1));
    if (!oid || TS_REQ_set_policy_id(req.get(), oid.get()) != 1) return unavailable("cannot set the policy " + *policy);
  }
  unsigned char* der = nullptr;
  const int len = i2d_TS_REQ(req.get(), &der);
  if (len <= 0) return unavailable("cannot encode the timestamp request");
  std::string out(reinterpret_cast<char*>(der), static_cast<std::size_t>(len));
  OPENSSL_free(der);
  return out;
}

bool starts_with_ci(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && std::equal(prefix.begin(), prefix.end(), text.begin(), [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
         });
}

}  // namespace

Result<std::shared_ptr<const TsaClient>> TsaClient::create(TsaOptions options) {
  if (options.urls.empty()) return make_error(Reason::InvalidInput, "--tsa: no TSA URL given");
  for (const auto& url : options.urls) {
    if (!starts_with_ci(url, "http://") && !starts_with_ci(url, "https://")) {
      return make_error(Reason::InvalidInput, "--tsa " + printable(url) + ": a TSA URL starts http:// or https://");
    }
  }
  if (options.policy) {
    Asn1ObjectPtr oid(OBJ_txt2obj(options.policy->c_str(), 1));
    ERR_clear_error();
    if (!oid) return make_error(Reason::InvalidInput, "--tsa-policy " + printable(*options.policy) + " is not an OID");
  }
  std::shared_ptr<SecretString> credentials;
  if (!options.auth_file.empty()) {
    PassphraseSource source{PassphraseSource::Kind::File, options.auth_file};
    SecretPurpose purpose{"the TSA asks for HTTP basic authentication", "", "--tsa-auth-file FILE", "credentials",
                          false};
    auto secret = read_secret(source, purpose);
    if (!secret) return std::move(secret).error();
    if (secret->value().find(':') == std::string::npos) {
      return make_error(Reason::InvalidInput,
                        "--tsa-auth-file " + options.auth_file + ": its first line must be user:password");
    }
    credentials = std::make_shared<SecretString>(std::move(*secret));
  }
  std::string why;
  if (curl_api(&why) == nullptr) return make_error(Reason::TimestampUnavailable, why);
  std::shared_ptr<TsaClient> client(new TsaClient(std::move(options)));
  client->credentials_ = std::move(credentials);
  return std::shared_ptr<const TsaClient>(std::move(client));
}

Result<TimestampToken> TsaClient::ask(const std::string& url, const Sha256& imprint, bool& retry) const {
  retry = false;
  Asn1IntegerPtr nonce;
  auto request = make_request(imprint, options_.policy, nonce);
  if (!request) return std::move(request).error();
  std::string why;
  const CurlApi* api = curl_api(&why);
  if (api == nullptr) return unavailable(why);
  CURL* curl = thread_handle(*api);
  if (curl == nullptr) return unavailable("cannot start an HTTP client");
  api->easy_reset(curl);  // keeps the connection cache; forgets the last request's options
  Reply reply;
  SlistPtr headers(api->slist_append(nullptr, "Content-Type: application/timestamp-query"));
  api->easy_setopt(curl, CURLOPT_URL, url.c_str());
  api->easy_setopt(curl, CURLOPT_POST, 1L);
  api->easy_setopt(curl, CURLOPT_POSTFIELDS, request->data());
  api->easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(request->size()));
  api->easy_setopt(curl, CURLOPT_HTTPHEADER, headers.get());
  api->easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect_reply);
  api->easy_setopt(curl, CURLOPT_WRITEDATA, &reply);
  api->easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.timeout.count()));
  api->easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);  // threads: no SIGALRM for timeouts
  api->easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  api->easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  api->easy_setopt(curl, CURLOPT_USERAGENT, "mamsign");
  if (!options_.ca_file.empty()) api->easy_setopt(curl, CURLOPT_CAINFO, options_.ca_file.c_str());
  if (!options_.client_cert.empty()) api->easy_setopt(curl, CURLOPT_SSLCERT, options_.client_cert.c_str());
  if (!options_.client_key.empty()) api->easy_setopt(curl, CURLOPT_SSLKEY, options_.client_key.c_str());
  if (credentials_) {
    api->easy_setopt(curl, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
    api->easy_setopt(curl, CURLOPT_USERPWD, credentials_->value().c_str());
  }
  const CURLcode rc = api->easy_perform(curl);
  if (credentials_) api->easy_setopt(curl, CURLOPT_USERPWD, nullptr);
  if (rc != CURLE_OK) {
    if (reply.too_large)
      return unavailable("the TSA at " + url + " sent more than 256 KiB: that is no timestamp reply");
    retry = rc != CURLE_UNSUPPORTED_PROTOCOL && rc != CURLE_URL_MALFORMAT && rc != CURLE_PEER_FAILED_VERIFICATION;
    const std::string what = rc == CURLE_OPERATION_TIMEDOUT
                                 ? "no answer within " + std::to_string(options_.timeout.count()) + " ms"
                                 : std::string(api->easy_strerror(rc));
    return unavailable("the TSA at " + url + " could not be asked: " + what);
  }
  long http = 0;
  api->easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &http);
  if (http != 200) {
    retry = http >= 500 || http == 429;
    return unavailable("HTTP " + std::to_string(http) + " from " + url +
                       (http == 404 || http == 405   ? ": not an RFC 3161 endpoint?"
                        : http == 401 || http == 403 ? ": the TSA wants credentials (--tsa-auth-file, or a client "
                                                       "certificate)"
                                                     : ""));
  }
  char* type = nullptr;
  api->easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &type);
  const std::string content_type = type != nullptr ? type : "";
  if (!starts_with_ci(content_type, "application/timestamp-reply") &&
      !starts_with_ci(content_type, "application/timestamp-response")) {
    return unavailable("the TSA at " + url + " answered " +
                       (content_type.empty() ? std::string("without a Content-Type") : printable(content_type)) +
                       ", not application/timestamp-reply: not an RFC 3161 endpoint?");
  }
  const auto* p = reinterpret_cast<const unsigned char*>(reply.body.data());
  TsRespPtr response(d2i_TS_RESP(nullptr, &p, static_cast<long>(reply.body.size())));
  ERR_clear_error();
  if (!response || p != reinterpret_cast<const unsigned char*>(reply.body.data()) + reply.body.size()) {
    return unavailable("the TSA at " + url + " answered " + std::to_string(reply.body.size()) +
                       " bytes that are not a TimeStampResp");
  }
  const TS_STATUS_INFO* status = TS_RESP_get_status_info(response.get());
  const long code = ASN1_INTEGER_get(TS_STATUS_INFO_get0_status(status));
  if (code != TS_STATUS_GRANTED && code != TS_STATUS_GRANTED_WITH_MODS) {
    const std::string failures = failure_names(TS_STATUS_INFO_get0_failure_info(status));
    const std::string text = status_text(status);
    retry = code == TS_STATUS_WAITING ||
            ASN1_BIT_STRING_get_bit(TS_STATUS_INFO_get0_failure_info(status), TS_INFO_TIME_NOT_AVAILABLE) == 1 ||
            ASN1_BIT_STRING_get_bit(TS_STATUS_INFO_get0_failure_info(status), TS_INFO_SYSTEM_FAILURE) == 1;
    return unavailable("the TSA at " + url + " answered status " + status_name(code) +
                       (failures.empty() ? std::string() : ": " + failures) +
                       (text.empty() ? std::string() : " (" + text + ")"));
  }
  PKCS7* token = TS_RESP_get_token(response.get());
  if (token == nullptr) return unavailable("the TSA at " + url + " granted the request but sent no token");
  TimestampToken out;
  unsigned char* der = nullptr;
  const int len = i2d_PKCS7(token, &der);
  if (len <= 0) return unavailable("the token from " + url + " cannot be encoded");
  out.der.assign(reinterpret_cast<char*>(der), static_cast<std::size_t>(len));
  OPENSSL_free(der);
  auto info = check_timestamp_token(out.der, imprint, options_.trust.get(), nonce.get());
  if (!info) {
    return make_error(
        info.error().reason == Reason::TimestampUntrusted ? Reason::TimestampUntrusted : Reason::TimestampUnavailable,
        "the token from " + url + " was refused: " + info.error().message);
  }
  if (options_.policy && info->policy != *options_.policy) {
    return unavailable("the TSA at " + url + " answered under policy " + info->policy + ", not the " +
                       *options_.policy + " asked for (--tsa-policy)");
  }
  const auto now = std::time(nullptr);
  const auto skew = static_cast<std::time_t>(options_.max_clock_skew.count());
  if (info->gen_time > now + skew || info->gen_time < now - skew) {
    return unavailable("the TSA at " + url + " says the time is " + format_iso8601(info->gen_time) +
                       "; our clock says " + format_iso8601(now) + " (more than " + std::to_string(skew) + " s apart)");
  }
  out.info = std::move(*info);
  out.url = url;
  return out;
}

Result<TimestampToken> TsaClient::timestamp(const Sha256& imprint) const {
  std::string said;
  for (const auto& url : options_.urls) {
    for (unsigned attempt = 0;; ++attempt) {
      bool retry = false;
      auto token = ask(url, imprint, retry);
      if (token) return token;
      if (token.error().reason == Reason::TimestampUntrusted) return token;  // another try gives the same
      if (!retry || attempt >= options_.retries) {
        said += (said.empty() ? "" : "; then ") + token.error().message +
                (attempt > 0 ? " (after " + std::to_string(attempt + 1) + " attempts)" : std::string());
        break;
      }
      // A growing wait: 0.2 s, 0.4 s, 0.8 s, ... before the same URL again.
      std::this_thread::sleep_for(std::chrono::milliseconds(200) * (1U << std::min(attempt, 5U)));
    }
  }
  return unavailable(said + "; nothing was written (a signature asked to carry a timestamp never goes without one)");
}

}  // namespace mamsign
