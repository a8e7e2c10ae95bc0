// Issue 22: RFC 3161 timestamps against a real TSA: stock `openssl ts -reply` behind HTTP on 127.0.0.1
// (scripts/tsa-server.py), with TSA certificates made by stock openssl (scripts/make-example-tsa.sh).
// The apps run as real processes; openssl checks what they write; faketime moves the verifier's clock.
#include "mamsign/signature/cms_signature.h"
#include "support/test_support.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <csignal>
#include <set>
#include <thread>

namespace mamsign {
namespace {

using nlohmann::json;

class Timestamps : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    tsa_root_ = new test::TempDir();
    tsa_ = tsa_root_->path() / "tsa";
    auto made = test::run(
        {"/bin/bash", (test::source_dir() / "scripts/make-example-tsa.sh").string(), tsa_.string(), "--variants"});
    ASSERT_EQ(made.exit_code, 0) << made.err;
    server_ = start_server("plain", {}, port_);
    // The same TSA over HTTPS, wanting a client certificate from the TSA CA.
    tls_server_ = start_server(
        "tls",
        {"--tls", (tsa_ / "https-server.pem").string(), (tsa_ / "https-server.key").string(), "--client-ca", ca()},
        tls_port_);
  }
  // scripts/tsa-server.py on a port of its choosing (`port` receives it), with `extra` flags.
  static test::BackgroundProcess* start_server(const std::string& name, const std::vector<std::string>& extra,
                                               std::string& port) {
    const auto port_file = tsa_root_->path() / (name + ".port");
    std::vector<std::string> argv{"/usr/bin/python3", (test::source_dir() / "scripts/tsa-server.py").string(),
                                  tsa_.string(), "--port-file", port_file.string()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    auto* server =
        new test::BackgroundProcess(argv, tsa_root_->path() / (name + ".out"), tsa_root_->path() / (name + ".err"));
    for (int i = 0; i < 200 && !std::filesystem::exists(port_file); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    EXPECT_TRUE(std::filesystem::exists(port_file)) << test::read_file(tsa_root_->path() / (name + ".err"));
    port = std::filesystem::exists(port_file) ? test::read_file(port_file) : "1";
    while (!port.empty() && port.back() == '\n') port.pop_back();
    return server;
  }
  static void TearDownTestSuite() {
    if (server_ != nullptr) server_->signal(SIGTERM);
    if (tls_server_ != nullptr) tls_server_->signal(SIGTERM);
    delete server_;
    delete tls_server_;
    tls_server_ = nullptr;
    delete tsa_root_;
    server_ = nullptr;
    tsa_root_ = nullptr;
  }
  void SetUp() override {
    ma_ = dir_ / test::kMaName;
    test::write_file(ma_, test::example_ma_content());
  }
  static std::string url(const std::string& path) { return "http://127.0.0.1:" + port_ + "/" + path; }
  static std::string ca() { return (tsa_ / "tsa-ca.pem").string(); }
  static test::ProcessResult sign(std::vector<std::string> extra, const std::string& signer = "supplier-ds") {
    std::vector<std::string> argv{test::app("mam-sign").string(), "--key", test::example_key(signer).string(), "--cert",
                                  test::example_cert_path(signer).string()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return test::run(argv);
  }
  static std::vector<std::string> verify_argv(std::vector<std::string> extra) {
    std::vector<std::string> argv{test::app("mam-verify").string(), "--trust", (test::keys_dir() / "trust").string()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return argv;
  }
  static test::ProcessResult verify(std::vector<std::string> extra) { return test::run(verify_argv(std::move(extra))); }
  // The same verification on a clock `offset` ahead (faketime), as a verifier years later would run it.
  static test::ProcessResult verify_later(const std::string& offset, std::vector<std::string> extra) {
    // faketime preloads its library; under AddressSanitizer (scripts/test.sh --sanitize) that library
    // comes before ASan's runtime, which ASan allows when told.
    std::vector<std::string> argv{"/usr/bin/env", "ASAN_OPTIONS=verify_asan_link_order=0:detect_leaks=1",
                                  "/usr/bin/faketime", "-f", offset};
    auto rest = verify_argv(std::move(extra));
    argv.insert(argv.end(), rest.begin(), rest.end());
    return test::run(argv);
  }
  std::string p7s() const { return ma_.string() + ".p7s"; }
  CmsSignature parsed() const {
    auto cms = CmsSignature::parse(test::read_file(p7s()));
    EXPECT_TRUE(cms) << (cms ? "" : cms.error().message);
    return std::move(*cms);
  }

  static test::TempDir* tsa_root_;
  static test::BackgroundProcess* server_;
  static test::BackgroundProcess* tls_server_;
  static std::filesystem::path tsa_;
  static std::string port_, tls_port_;
  test::TempDir dir_;
  std::filesystem::path ma_;
};

test::TempDir* Timestamps::tsa_root_ = nullptr;
test::BackgroundProcess* Timestamps::server_ = nullptr;
test::BackgroundProcess* Timestamps::tls_server_ = nullptr;
std::filesystem::path Timestamps::tsa_;
std::string Timestamps::port_;
std::string Timestamps::tls_port_;

// Granted: the token is in the signature, stock openssl still verifies the signature and verifies the
// token taken out of it over the signature value; mam-verify says the time, the TSA and that it is trusted.
TEST_F(Timestamps, ASignatureCarriesATokenThatOpensslVerifies) {
  auto s = sign({"--json", "--tsa", url("good"), "--tsa-trust", ca(), ma_.string()});
  ASSERT_EQ(s.exit_code, 0) << s.err;
  const auto j = test::json_result(s.out);
  ASSERT_TRUE(j["timestamp"].is_object()) << s.out;
  EXPECT_EQ(j["timestamp"]["trusted"], true);
  EXPECT_EQ(j["timestamp"]["url"], url("good"));
  EXPECT_EQ(j["timestamp"]["policy"], "1.3.6.1.4.1.99999.1.1");

  const auto cms = parsed();
  ASSERT_TRUE(cms.timestamp_token());
  test::write_file(dir_ / "token.der", *cms.timestamp_token());
  auto ts = test::run({"/usr/bin/openssl", "ts", "-verify", "-digest", to_hex(cms.signature_value_digest()), "-in",
                       (dir_ / "token.der").string(), "-token_in", "-CAfile", ca()});
  EXPECT_EQ(ts.exit_code, 0) << ts.out << ts.err;
  EXPECT_NE(ts.out.find("Verification: OK"), std::string::npos) << ts.out;
  const std::string anchors = (dir_ / "smki.pem").string();
  test::write_file(anchors, test::read_file(test::keys_dir() / "trust/root.pem") +
                                test::read_file(test::keys_dir() / "trust/oca.pem"));
  auto cms_verify = test::run({"/usr/bin/openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", p7s(),
                               "-content", ma_.string(), "-CAfile", anchors, "-purpose", "any", "-out", "/dev/null"});
  EXPECT_EQ(cms_verify.exit_code, 0) << "unsigned attributes do not change the signature: " << cms_verify.err;

  auto v = verify({"--json", "--tsa-trust", ca(), ma_.string()});
  ASSERT_EQ(v.exit_code, 0) << v.out;
  const auto r = test::json_result(v.out);
  EXPECT_EQ(r["timestamp"]["present"], true);
  EXPECT_EQ(r["timestamp"]["checked"], true);
  EXPECT_EQ(r["timestamp"]["trusted"], true);
  EXPECT_EQ(r["timestamp"]["gen_time"], j["timestamp"]["gen_time"]);
  // Without the TSA's anchors the token is checked, and said not to be trusted.
  auto untrusted = verify({ma_.string()});
  EXPECT_EQ(untrusted.exit_code, 0);
  EXPECT_NE(untrusted.out.find("its time is not trusted"), std::string::npos) << untrusted.out;
}

// "Was the file signed while the certificate was good?": years later, with the certificate expired,
// --at timestamp says valid when signed; without it, CERT_EXPIRED.
TEST_F(Timestamps, ACertificateExpiredSinceIsValidWhenSigned) {
  ASSERT_EQ(sign({"--tsa", url("good"), "--tsa-trust", ca(), ma_.string()}).exit_code, 0);
  auto later = verify_later("+7000d", {"--tsa-trust", ca(), "--at", "timestamp", ma_.string()});
  EXPECT_EQ(later.exit_code, 0) << later.out << later.err;
  EXPECT_NE(later.out.find("while the certificate was valid; it expired at 2045-01-01T00:00:00Z"), std::string::npos)
      << later.out;
  auto now_rule = verify_later("+7000d", {"--tsa-trust", ca(), ma_.string()});
  EXPECT_EQ(now_rule.exit_code, 1);
  EXPECT_NE(now_rule.out.find("FAILED CERT_EXPIRED"), std::string::npos) << now_rule.out;
  auto no_anchor = verify({"--at", "timestamp", ma_.string()});
  EXPECT_EQ(no_anchor.exit_code, 2) << "--at timestamp needs --tsa-trust: " << no_anchor.err;
}

// Revoked before the timestamp's time: CERT_REVOKED even at that time. (The example CRL revokes
// supplier-revoked-ds at 2025-06-01; mam-sign without --trust does not look.)
TEST_F(Timestamps, RevokedBeforeTheTimestampIsRevoked) {
  ASSERT_EQ(sign({"--tsa", url("good"), ma_.string()}, "supplier-revoked-ds").exit_code, 0);
  auto v = verify({"--crl", (test::keys_dir() / "crl").string(), "--tsa-trust", ca(), "--at", "timestamp",
                   "--no-name-check", ma_.string()});
  EXPECT_EQ(v.exit_code, 1) << v.out;
  EXPECT_NE(v.out.find("FAILED CERT_REVOKED"), std::string::npos) << v.out;
}

// Revoked after the timestamp's time: valid when signed, with a note naming the revocation.
TEST_F(Timestamps, RevokedAfterTheTimestampIsValidWithANote) {
  ASSERT_EQ(sign({"--tsa", url("good"), "--tsa-trust", ca(), ma_.string()}).exit_code, 0);
  // A CRL of the example OCA that revokes supplier-ds tomorrow, made by `openssl ca`.
  const auto ca_dir = dir_ / "ca";
  std::filesystem::create_directories(ca_dir);
  const std::string serial = test::example_cert("supplier-ds")->serial();
  const std::time_t tomorrow = std::time(nullptr) + 86400;
  char when[32];
  const std::tm* utc = std::gmtime(&tomorrow);
  std::strftime(when + 2, sizeof when - 2, "%m%d%H%M%SZ", utc);  // UTCTime: two year digits first
  when[0] = static_cast<char>('0' + (utc->tm_year % 100) / 10);
  when[1] = static_cast<char>('0' + utc->tm_year % 10);
  test::write_file(ca_dir / "index.txt",
                   "R\t450101000000Z\t" + std::string(when) + "\t" + serial + "\tunknown\t/CN=Example Supplier A\n");
  test::write_file(ca_dir / "crlnumber", "1000\n");
  test::write_file(ca_dir / "ca.cnf",
                   "[ ca ]\ndefault_ca = oca\n[ oca ]\ndatabase = " + (ca_dir / "index.txt").string() +
                       "\ncrlnumber = " + (ca_dir / "crlnumber").string() +
                       "\ndefault_md = sha256\ndefault_crl_days = 30\n");
  auto crl = test::run({"/usr/bin/openssl", "ca", "-gencrl", "-config", (ca_dir / "ca.cnf").string(), "-keyfile",
                        (test::keys_dir() / "ca/oca.key").string(), "-cert",
                        (test::keys_dir() / "trust/oca.pem").string(), "-out", (dir_ / "oca-later.crl").string()});
  ASSERT_EQ(crl.exit_code, 0) << crl.err;
  std::filesystem::permissions(dir_ / "oca-later.crl",
                               std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  const std::vector<std::string> crl_flags{"--crl", (dir_ / "oca-later.crl").string(), "--tsa-trust", ca()};
  auto at_time =
      verify_later("+2d", {crl_flags[0], crl_flags[1], crl_flags[2], crl_flags[3], "--at", "timestamp", ma_.string()});
  EXPECT_EQ(at_time.exit_code, 0) << at_time.out << at_time.err;
  EXPECT_NE(at_time.out.find("since then: CERT_REVOKED"), std::string::npos) << at_time.out;
  auto now_rule = verify_later("+2d", {crl_flags[0], crl_flags[1], crl_flags[2], crl_flags[3], ma_.string()});
  EXPECT_EQ(now_rule.exit_code, 1);
  EXPECT_NE(now_rule.out.find("FAILED CERT_REVOKED"), std::string::npos) << now_rule.out;
}

// A signature asked to carry a timestamp is never written without one: each failing TSA is refused
// with TIMESTAMP_UNAVAILABLE (or _UNTRUSTED) in plain words, nothing is written, and the batch goes on.
TEST_F(Timestamps, EveryWayATsaFailsIsRefusedInPlainWords) {
  struct Case {
    std::string path;
    std::vector<std::string> extra;
    std::string reason;
    std::string words;
  };
  const std::vector<Case> cases{
      {"sha1only", {}, "TIMESTAMP_UNAVAILABLE", "status rejection: badAlg"},
      {"other-imprint", {}, "TIMESTAMP_UNAVAILABLE", "made for another signature"},
      {"bad-nonce", {}, "TIMESTAMP_UNAVAILABLE", "answers another request"},
      {"noeku", {}, "TIMESTAMP_UNAVAILABLE", "no extendedKeyUsage"},
      {"untrusted", {"--tsa-trust", ca()}, "TIMESTAMP_UNTRUSTED", "does not chain to the --tsa-trust anchors"},
      {"expired", {}, "TIMESTAMP_UNAVAILABLE", "was not valid"},
      {"html", {}, "TIMESTAMP_UNAVAILABLE", "answered \"text/html\""},
      {"garbage", {}, "TIMESTAMP_UNAVAILABLE", "are not a TimeStampResp"},
      {"huge", {}, "TIMESTAMP_UNAVAILABLE", "more than 256 KiB"},
      {"no-such-endpoint",
       {},
       "TIMESTAMP_UNAVAILABLE",
       "HTTP 404 from " + url("no-such-endpoint") + ": not an RFC 3161"},
      {"hang", {"--tsa-timeout", "1s", "--tsa-retries", "0"}, "TIMESTAMP_UNAVAILABLE", "no answer within 1000 ms"},
  };
  for (const auto& c : cases) {
    std::vector<std::string> args{"--json", "--tsa", url(c.path)};
    args.insert(args.end(), c.extra.begin(), c.extra.end());
    args.push_back(ma_.string());
    const auto started = std::chrono::steady_clock::now();
    auto r = sign(args);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    EXPECT_EQ(r.exit_code, 1) << c.path << ": " << r.out << r.err;
    const auto j = test::json_result(r.out);
    EXPECT_EQ(j["result"], "refused") << c.path;
    EXPECT_EQ(j["reason"], c.reason) << c.path << ": " << r.out;
    EXPECT_NE(j["message"].get<std::string>().find(c.words), std::string::npos) << c.path << ": " << j["message"];
    EXPECT_FALSE(std::filesystem::exists(p7s())) << c.path << ": nothing is written without the timestamp";
    if (c.path == "hang") {
      EXPECT_LT(seconds, 10.0) << "--tsa-timeout bounds the request";
    }
  }
}

// A TSA that is down (connection refused) is retried, then the next URL is used; a TSA that fails
// twice and then answers is retried into success.
TEST_F(Timestamps, RetriesThenTheNextUrl) {
  auto r =
      sign({"--json", "--tsa", "http://127.0.0.1:1/tsa", "--tsa-retries", "1", "--tsa", url("good"), ma_.string()});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(test::json_result(r.out)["timestamp"]["url"], url("good"));
  std::filesystem::remove(p7s());
  auto flaky = sign({"--json", "--tsa", url("flaky"), "--tsa-retries", "3", ma_.string()});
  EXPECT_EQ(flaky.exit_code, 0) << flaky.out << flaky.err;
  std::filesystem::remove(p7s());
  auto down = sign({"--json", "--tsa", "http://127.0.0.1:1/tsa", "--tsa-retries", "1", ma_.string()});
  EXPECT_EQ(down.exit_code, 1);
  const std::string message = test::json_result(down.out)["message"];
  EXPECT_NE(message.find("could not be asked"), std::string::npos) << message;
  EXPECT_NE(message.find("after 2 attempts"), std::string::npos) << message;
}

// HTTPS: the TSA's server is verified against --tsa-ca (the system CAs do not know it), and a TSA that
// wants a TLS client certificate gets one.
TEST_F(Timestamps, HttpsVerifiesTheServerAndSendsAClientCertificate) {
  const std::string tls_url = "https://127.0.0.1:" + tls_port_ + "/good";
  const std::vector<std::string> client{"--tsa-client-cert", (tsa_ / "https-client.pem").string(), "--tsa-client-key",
                                        (tsa_ / "https-client.key").string()};
  auto unknown_server = sign(
      {"--json", "--tsa", tls_url, "--tsa-retries", "0", client[0], client[1], client[2], client[3], ma_.string()});
  EXPECT_EQ(unknown_server.exit_code, 1);
  EXPECT_NE(test::json_result(unknown_server.out)["message"].get<std::string>().find("could not be asked"),
            std::string::npos)
      << unknown_server.out;
  EXPECT_FALSE(std::filesystem::exists(p7s()));
  auto no_client = sign({"--json", "--tsa", tls_url, "--tsa-retries", "0", "--tsa-ca", ca(), ma_.string()});
  EXPECT_EQ(no_client.exit_code, 1) << "the server wants a client certificate: " << no_client.out;
  auto ok = sign({"--json", "--tsa", tls_url, "--tsa-ca", ca(), client[0], client[1], client[2], client[3],
                  "--tsa-trust", ca(), ma_.string()});
  ASSERT_EQ(ok.exit_code, 0) << ok.out << ok.err;
  EXPECT_EQ(test::json_result(ok.out)["timestamp"]["url"], tls_url);
}

// A TSA that wants credentials gets them from a file (never the command line): without, HTTP 401 is
// said as such; with, granted.
TEST_F(Timestamps, BasicAuthenticationFromAFile) {
  auto without = sign({"--json", "--tsa", url("auth"), ma_.string()});
  EXPECT_EQ(without.exit_code, 1);
  EXPECT_NE(test::json_result(without.out)["message"].get<std::string>().find("HTTP 401 from " + url("auth") +
                                                                              ": the TSA wants credentials"),
            std::string::npos)
      << without.out;
  test::write_file(dir_ / "tsa.auth", "example:secret\n");
  std::filesystem::permissions(dir_ / "tsa.auth", std::filesystem::perms::owner_read);
  auto with = sign({"--json", "--tsa", url("auth"), "--tsa-auth-file", (dir_ / "tsa.auth").string(), ma_.string()});
  EXPECT_EQ(with.exit_code, 0) << with.out << with.err;
  EXPECT_EQ(with.out.find("secret"), std::string::npos) << "the credentials are never printed";
  EXPECT_EQ(with.err.find("secret"), std::string::npos);
}

// Verifying: a token over another signature is TIMESTAMP_INVALID; a TSA the anchors do not know is
// TIMESTAMP_UNTRUSTED; no token where one is required is TIMESTAMP_MISSING.
TEST_F(Timestamps, VerifyingRefusesBadAndMissingTokens) {
  const auto other = dir_ / "MA_cgI_70-B3-D5-1F-30-00-A0-08_20190407_182504.csv";
  test::write_file(other, test::example_ma_content());
  ASSERT_EQ(sign({"--tsa", url("good"), other.string()}).exit_code, 0);
  ASSERT_EQ(sign({ma_.string()}).exit_code, 0);
  auto token = CmsSignature::parse(test::read_file(other.string() + ".p7s"));
  ASSERT_TRUE(token && token->timestamp_token());
  auto grafted = add_timestamp_token(test::read_file(p7s()), *token->timestamp_token());
  ASSERT_TRUE(grafted) << grafted.error().message;
  test::write_file(p7s(), *grafted);
  auto v = verify({"--tsa-trust", ca(), ma_.string()});
  EXPECT_EQ(v.exit_code, 1);
  EXPECT_NE(v.out.find("FAILED TIMESTAMP_INVALID: the timestamp is over "), std::string::npos) << v.out;
  EXPECT_NE(v.out.find("made for another signature"), std::string::npos) << v.out;

  auto wrong_anchor = verify({"--tsa-trust", (tsa_ / "other-ca.pem").string(), other.string()});
  EXPECT_EQ(wrong_anchor.exit_code, 1);
  EXPECT_NE(wrong_anchor.out.find("FAILED TIMESTAMP_UNTRUSTED"), std::string::npos) << wrong_anchor.out;

  std::filesystem::remove(p7s());
  ASSERT_EQ(sign({ma_.string()}).exit_code, 0);
  auto missing = verify({"--require-timestamp", ma_.string()});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.out.find("FAILED TIMESTAMP_MISSING"), std::string::npos) << missing.out;
  EXPECT_EQ(verify({ma_.string()}).exit_code, 0) << "without the requirement, no timestamp is fine";
  std::filesystem::remove(p7s());
  ASSERT_EQ(sign({"--format", "raw", ma_.string()}).exit_code, 0);
  auto raw = verify({"--cert-store", (test::keys_dir() / "store").string(), "--require-timestamp", ma_.string()});
  EXPECT_NE(raw.out.find("FAILED TIMESTAMP_MISSING: a raw signature"), std::string::npos) << raw.out;
  EXPECT_EQ(sign({"--format", "raw", "--force", "--tsa", url("good"), ma_.string()}).exit_code, 2)
      << "a raw signature cannot carry a timestamp: a usage error";
}

// --timestamp-only: a signature made without a network gets its token later, its signed part untouched.
TEST_F(Timestamps, TimestampOnlyAddsATokenWithoutTouchingTheSignedPart) {
  ASSERT_EQ(sign({ma_.string()}).exit_code, 0);
  const auto before = parsed();
  auto r = test::run(
      {test::app("mam-sign").string(), "--timestamp-only", "--json", "--tsa", url("good"), "--tsa-trust", ca(), p7s()});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(test::json_result(r.out)["result"], "timestamped");
  const auto after = parsed();
  ASSERT_TRUE(after.timestamp_token());
  EXPECT_EQ(after.signature_value_digest(), before.signature_value_digest());
  EXPECT_EQ(after.message_digest(), before.message_digest());
  auto v = verify({"--tsa-trust", ca(), "--at", "timestamp", ma_.string()});
  EXPECT_EQ(v.exit_code, 0) << v.out;
  auto again = test::run({test::app("mam-sign").string(), "--timestamp-only", "--tsa", url("good"), p7s()});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.out.find("carries a timestamp already"), std::string::npos) << again.out;
  auto no_tsa = test::run({test::app("mam-sign").string(), "--timestamp-only", p7s()});
  EXPECT_EQ(no_tsa.exit_code, 2);
}

// A batch asks the TSA with many requests in flight: every file gets its own token.
TEST_F(Timestamps, ABatchTimestampsEveryFile) {
  auto made = test::run(
      {test::app("mam-testpki").string(), "files", "--out", (dir_ / "in").string(), "--count", "40", "--size", "512"});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  auto r = sign({"--json", "--tsa", url("good"), "--tsa-trust", ca(), (dir_ / "in").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::set<std::string> serials;
  for (const auto& j : test::json_results(r.out)) serials.insert(j["timestamp"]["serial"].get<std::string>());
  EXPECT_EQ(serials.size(), 40u) << "one token per file";
  EXPECT_EQ(test::json_summary(r.out)["results"]["signed"], 40);
  auto v = verify({"--tsa-trust", ca(), "--require-timestamp", (dir_ / "in").string()});
  EXPECT_EQ(v.exit_code, 0) << v.err;
}

}  // namespace
}  // namespace mamsign
