// CSRs and the issued-certificate check (issue 11): the library's builder and stock `openssl req` each
// break every Appendix F rule once; every encoding the DCC portal takes is read; mam-csr runs as a
// process from a key to an accepted certificate, with mam-testpki as the CA.
#include "mamsign/pki/cert_builder.h"
#include "mamsign/pki/csr.h"
#include "mamsign/keys/key_source.h"

#include "support/test_support.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <openssl/x509.h>
#include <sys/stat.h>

namespace mamsign {
namespace {

using test::app;
using test::keys_dir;

const std::string kEui = "70-B3-D5-1F-30-00-A0-08";

CsrSpec good_spec() {
  CsrSpec spec;
  spec.common_name = "Example Supplier A";
  spec.ou = "02";
  spec.eui64 = *Eui64::parse(kEui);
  return spec;
}

EvpPkeyPtr p256() { return std::move(*generate_key(KeyType::P256)); }

std::vector<std::string> rules_of(const CertificateRequest& csr) {
  std::vector<std::string> out;
  for (const auto& f : csr.check()) out.push_back(f.rule + ": " + f.found);
  return out;
}

// The one finding a broken CSR must have: its rule id starts `rule`, its "found" holds `found`.
void expect_only(const std::string& der, const std::string& rule, const std::string& found) {
  auto csr = CertificateRequest::read(der);
  ASSERT_TRUE(csr) << csr.error().message;
  const auto findings = csr->check();
  ASSERT_EQ(findings.size(), 1u) << rule << ": " << ::testing::PrintToString(rules_of(*csr));
  EXPECT_EQ(findings[0].rule.rfind(rule, 0), 0u) << findings[0].rule;
  EXPECT_NE(findings[0].found.find(found), std::string::npos) << rule << ": " << findings[0].found;
}

TEST(Csr, TheBuilderMakesWhatAppendixFAsks) {
  auto key = p256();
  auto der = build_csr(good_spec(), key.get());
  ASSERT_TRUE(der) << der.error().message;
  auto csr = CertificateRequest::read(*der);
  ASSERT_TRUE(csr);
  EXPECT_TRUE(csr->check().empty()) << ::testing::PrintToString(rules_of(*csr));
  EXPECT_TRUE(csr->self_signature_verifies());
  EXPECT_EQ(csr->role(), std::optional<std::uint8_t>(0x02));
  EXPECT_EQ(csr->eui64()->to_string(), kEui);
  EXPECT_EQ(csr->usage(), std::optional<Usage>(Usage::DigitalSignature));
  EXPECT_EQ(csr->common_name(), std::optional<std::string>("Example Supplier A"));
  EXPECT_EQ(csr->key_text(), "EC P-256");
  // The EUI-64 exactly as certificates carry it: BIT STRING, 0 unused bits, 8 octets.
  EXPECT_NE(der->find(std::string("\x03\x09\x00\x70\xB3\xD5\x1F\x30\x00\xA0\x08", 11)), std::string::npos);
  // An EUI-64 ending in zero octets keeps all 64 bits (OpenSSL would drop them).
  auto spec = good_spec();
  spec.eui64 = *Eui64::parse("70-B3-D5-1F-30-00-00-00");
  auto zero = CertificateRequest::read(*build_csr(spec, key.get()));
  ASSERT_TRUE(zero);
  EXPECT_TRUE(zero->check().empty()) << ::testing::PrintToString(rules_of(*zero));
}

TEST(Csr, EveryRuleBrokenByTheBuilderIsFound) {
  auto key = p256();
  const auto broken = [&](auto change, EVP_PKEY* with = nullptr) {
    auto spec = good_spec();
    change(spec);
    auto der = build_csr(spec, with != nullptr ? with : key.get());
    EXPECT_TRUE(der) << der.error().message;
    return der ? *der : std::string();
  };
  expect_only(broken([](CsrSpec& s) { s.version = 1; }), "F2", "1");
  expect_only(broken([](CsrSpec& s) { s.ou = "2"; }), "F4", "\"2\"");
  expect_only(broken([](CsrSpec& s) { s.ou = "supplier"; }), "F4", "supplier");
  expect_only(broken([](CsrSpec& s) { s.ou = "7E"; }), "F4", "7E");
  expect_only(broken([](CsrSpec& s) { s.ou.reset(); }), "F4", "0 organizationalUnitName");
  expect_only(broken([](CsrSpec& s) { s.eui_encoding = EuiEncoding::Utf8String; }), "F5", "UTF8STRING");
  expect_only(broken([](CsrSpec& s) { s.eui_encoding = EuiEncoding::BitString56; }), "F5", "56 bits");
  expect_only(broken([](CsrSpec& s) { s.eui_encoding = EuiEncoding::Absent; }), "F5", "no x500UniqueIdentifier");
  expect_only(broken([](CsrSpec& s) { s.key_usage_present = false; }), "F9", "none requested");
  expect_only(broken([](CsrSpec& s) { s.key_usage_critical = false; }), "F9 keyUsage critical", "not critical");
  expect_only(broken([](CsrSpec& s) { s.key_usage = KU_DIGITAL_SIGNATURE | KU_KEY_AGREEMENT; }), "F9 keyUsage bits",
              "digitalSignature, keyAgreement");
  expect_only(broken([](CsrSpec& s) { s.key_usage = KU_KEY_CERT_SIGN; }), "F9 keyUsage bits", "keyCertSign");
  expect_only(broken([](CsrSpec& s) { s.sha1 = true; }), "F11", "ecdsa-with-SHA1");
  auto rsa = std::move(*generate_key(KeyType::Rsa2048));
  // An RSA key signs with RSA: F7 and F11 are both broken, and both are said.
  auto rsa_csr = CertificateRequest::read(broken([](CsrSpec&) {}, rsa.get()));
  ASSERT_TRUE(rsa_csr);
  EXPECT_EQ(rules_of(*rsa_csr),
            (std::vector<std::string>{"F7 public key: RSA 2048", "F11 signature algorithm: sha256WithRSAEncryption"}));
  auto p384 = std::move(*generate_key(KeyType::P384));
  expect_only(broken([](CsrSpec&) {}, p384.get()), "F7", "EC P-384");
}

TEST(Csr, EveryDepartureIsReportedNotOnlyTheFirst) {
  auto key = std::move(*generate_key(KeyType::P384));
  auto spec = good_spec();
  spec.ou = "2";
  spec.eui_encoding = EuiEncoding::Utf8String;
  spec.key_usage_critical = false;
  spec.sha1 = true;
  auto csr = CertificateRequest::read(*build_csr(spec, key.get()));
  ASSERT_TRUE(csr);
  const auto rules = rules_of(*csr);
  ASSERT_EQ(rules.size(), 5u) << ::testing::PrintToString(rules);
  EXPECT_EQ(rules[0].substr(0, 2), "F4");
  EXPECT_EQ(rules[1].substr(0, 2), "F5");
  EXPECT_EQ(rules[2].substr(0, 2), "F7");
  EXPECT_EQ(rules[3].substr(0, 3), "F9 ");
  EXPECT_EQ(rules[4].substr(0, 3), "F11");
}

TEST(Csr, ForeignAttributesExtensionsAndSignaturesAreFound) {
  auto key = p256();
  auto der = *build_csr(good_spec(), key.get());
  const auto mutate = [&](auto change) {
    const auto* p = reinterpret_cast<const unsigned char*>(der.data());
    X509ReqPtr req(d2i_X509_REQ(nullptr, &p, static_cast<long>(der.size())));
    change(req.get());
    EXPECT_GT(X509_REQ_sign(req.get(), key.get(), EVP_sha256()), 0);
    unsigned char* out = nullptr;
    const int n = i2d_X509_REQ(req.get(), &out);
    std::string s(reinterpret_cast<char*>(out), static_cast<std::size_t>(n));
    OPENSSL_free(out);
    return s;
  };
  expect_only(mutate([](X509_REQ* r) {
                X509_REQ_add1_attr_by_NID(r, NID_pkcs9_challengePassword, MBSTRING_ASC,
                                          reinterpret_cast<const unsigned char*>("secret"), -1);
              }),
              "F8", "challengePassword");
  expect_only(mutate([](X509_REQ* r) {
                X509_NAME* name = X509_REQ_get_subject_name(r);
                X509_NAME_add_entry_by_NID(name, NID_organizationName, MBSTRING_ASC,
                                           reinterpret_cast<const unsigned char*>("Example Ltd"), -1, -1, 0);
              }),
              "F3", "organizationName");
  expect_only(mutate([](X509_REQ* r) {
                X509_NAME* name = X509_REQ_get_subject_name(r);
                X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_ASC,
                                           reinterpret_cast<const unsigned char*>("Second Name"), -1, -1, 0);
              }),
              "F6", "2 commonName attributes");
  // A signature that does not verify: one bit of the signature value flipped.
  std::string bad = der;
  bad[bad.size() - 5] = static_cast<char>(bad[bad.size() - 5] ^ 0x01);
  expect_only(bad, "F12", "does not verify");
  // BER: the outer length written in a longer form than DER allows (the signed part is untouched, so the
  // self-signature still verifies and only F1 is broken).
  std::string ber = der;
  const auto first = static_cast<unsigned char>(der[1]);
  ASSERT_TRUE(first == 0x81 || first == 0x82);
  const std::size_t octets = first & 0x7F;
  ber.replace(1, 1 + octets,
              std::string(1, static_cast<char>(0x80 | (octets + 1))) + std::string(1, '\0') + der.substr(2, octets));
  expect_only(ber, "F1", "not DER");
}

TEST(Csr, CsrsMadeByStockOpensslReqAreCheckedToo) {
  test::TempDir dir;
  const auto req = [&](const std::vector<std::string>& extra, const std::string& name) {
    std::vector<std::string> argv{"/usr/bin/openssl",
                                  "req",
                                  "-new",
                                  "-outform",
                                  "DER",
                                  "-out",
                                  (dir / name).string(),
                                  "-subj",
                                  "/CN=Example Supplier A/OU=02/x500UniqueIdentifier=" + kEui};
    argv.insert(argv.end(), extra.begin(), extra.end());
    auto r = test::run(argv);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return test::read_file(dir / name);
  };
  const std::string p256_key = test::example_key("supplier-ds").string();
  // What a hand-written `openssl req` writes: the EUI-64 as a UTF8String (F5), and nothing else wrong.
  expect_only(req({"-key", p256_key, "-addext", "keyUsage=critical,digitalSignature"}, "utf8.der"), "F5", "UTF8STRING");
  // With the EUI-64 right (hex BIT STRING through a config-less -subj is impossible, so the rest are
  // checked for their own rule among what openssl writes).
  const auto has = [](const std::string& der, const std::string& rule) {
    auto csr = CertificateRequest::read(der);
    if (!csr) return false;
    for (const auto& f : csr->check()) {
      if (f.rule.rfind(rule, 0) == 0) return true;
    }
    return false;
  };
  EXPECT_TRUE(has(req({"-newkey", "rsa:2048", "-nodes", "-keyout", (dir / "rsa.key").string(), "-addext",
                       "keyUsage=critical,digitalSignature"},
                      "rsa.der"),
                  "F7"));
  EXPECT_TRUE(has(req({"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:secp384r1", "-nodes", "-keyout",
                       (dir / "p384.key").string(), "-addext", "keyUsage=critical,digitalSignature"},
                      "p384.der"),
                  "F7"));
  EXPECT_TRUE(has(req({"-key", p256_key}, "no-ku.der"), "F9"));
  EXPECT_TRUE(
      has(req({"-key", p256_key, "-addext", "keyUsage=digitalSignature"}, "not-critical.der"), "F9 keyUsage critical"));
  EXPECT_TRUE(has(req({"-key", p256_key, "-addext", "keyUsage=critical,digitalSignature,keyAgreement"}, "both.der"),
                  "F9 keyUsage bits"));
  EXPECT_TRUE(
      has(req({"-key", p256_key, "-sha1", "-addext", "keyUsage=critical,digitalSignature"}, "sha1.der"), "F11"));
  EXPECT_TRUE(has(
      req({"-key", p256_key, "-addext", "keyUsage=critical,digitalSignature", "-addext", "basicConstraints=CA:FALSE"},
          "extra-ext.der"),
      "F10"));
  // And what mam-csr writes, stock openssl checks: the self-signature verifies.
  auto made = test::run({app("mam-csr").string(), "new", "--role", "02", "--eui", kEui, "--usage", "ds", "--key",
                         p256_key, "--out", (dir / "made.csr").string()});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  auto verified = test::run({"/usr/bin/openssl", "req", "-in", (dir / "made.csr").string(), "-verify", "-noout"});
  EXPECT_EQ(verified.exit_code, 0) << verified.err;
  EXPECT_NE((verified.err + verified.out).find("verify OK"), std::string::npos);
}

TEST(Csr, EveryEncodingThePortalTakesIsRead) {
  auto key = p256();
  const std::string der = *build_csr(good_spec(), key.get());
  std::string b64((der.size() + 2) / 3 * 4 + 1, '\0');
  b64.resize(static_cast<std::size_t>(EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b64.data()),
                                                      reinterpret_cast<const unsigned char*>(der.data()),
                                                      static_cast<int>(der.size()))));
  const auto lines = [&](std::size_t width, const std::string& eol) {
    std::string out;
    for (std::size_t i = 0; i < b64.size(); i += width) out += b64.substr(i, width) + eol;
    return out;
  };
  const std::vector<std::pair<std::string, std::string>> encodings{
      {der, "DER"},
      {"-----BEGIN CERTIFICATE REQUEST-----\n" + lines(64, "\n") + "-----END CERTIFICATE REQUEST-----\n",
       "PEM (CERTIFICATE REQUEST), LF"},
      {"-----BEGIN NEW CERTIFICATE REQUEST-----\r\n" + lines(64, "\r\n") + "-----END NEW CERTIFICATE REQUEST-----\r\n",
       "PEM (NEW CERTIFICATE REQUEST), CRLF"},
      {"-----BEGIN CERTIFICATE REQUEST-----\n" + lines(76, "\n") + "-----END CERTIFICATE REQUEST-----",
       "PEM (CERTIFICATE REQUEST), LF"},
      {b64, "base64 without headers, one line"},
      {b64 + "\n", "base64 without headers, one line"},
      {lines(64, "\n"), "base64 without headers, LF"},
      {lines(76, "\r\n"), "base64 without headers, CRLF"},
  };
  for (const auto& [bytes, encoding] : encodings) {
    auto csr = CertificateRequest::read(bytes);
    ASSERT_TRUE(csr) << encoding << ": " << csr.error().message;
    EXPECT_EQ(csr->der(), der) << encoding;
    EXPECT_EQ(csr->encoding(), encoding);
    EXPECT_TRUE(csr->check().empty()) << encoding;
  }
}

TEST(Csr, WhatIsNotACsrIsSaidPrecisely) {
  auto key = p256();
  const std::string der = *build_csr(good_spec(), key.get());
  const std::string pem = csr_pem(der);
  for (const auto& [bytes, says] : std::vector<std::pair<std::string, std::string>>{
           {der + "xx", "followed by 2 bytes that are not part of it"},
           {pem + "trailing text", "bytes after \"-----END CERTIFICATE REQUEST-----\""},
           {"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
            "a CSR is BEGIN CERTIFICATE REQUEST or BEGIN NEW"},
           {pem.substr(0, pem.size() - 10), "has no \"-----END CERTIFICATE REQUEST-----\" line"},
           {"not base64 at all!", "neither DER, PEM nor base64"},
           {"", "empty"},
           {std::string(70000, 'A'), "a CSR is at most 64 KiB"},
           {"MIIB", "does not decode"},
       }) {
    auto csr = CertificateRequest::read(bytes);
    ASSERT_FALSE(csr) << says;
    EXPECT_NE(csr.error().message.find(says), std::string::npos) << csr.error().message;
  }
}

TEST(Csr, SixtyFourKibibytesAtMost) {
  // At the bound the text is decoded (and found to be no CSR); one byte past it, it is refused unread.
  auto at = CertificateRequest::read(std::string(64 * 1024, 'A'));
  ASSERT_FALSE(at);
  EXPECT_EQ(at.error().message.find("at most 64 KiB"), std::string::npos) << at.error().message;
  auto past = CertificateRequest::read(std::string(64 * 1024 + 1, 'A'));
  ASSERT_FALSE(past);
  EXPECT_NE(past.error().message.find("a CSR is at most 64 KiB"), std::string::npos) << past.error().message;
}

TEST(Csr, RolesAndUsagesByCodeOrName) {
  EXPECT_EQ(parse_role("02"), std::optional<std::uint8_t>(2));
  EXPECT_EQ(parse_role("supplier"), std::optional<std::uint8_t>(2));
  EXPECT_EQ(parse_role("network-operator"), std::optional<std::uint8_t>(3));
  EXPECT_EQ(parse_role("Network Operator"), std::optional<std::uint8_t>(3));
  EXPECT_EQ(parse_role("0x03"), std::optional<std::uint8_t>(3));
  EXPECT_FALSE(parse_role("7E"));
  EXPECT_FALSE(parse_role("supplyer"));
  EXPECT_FALSE(parse_role("002"));
  EXPECT_EQ(parse_usage("DS"), std::optional<Usage>(Usage::DigitalSignature));
  EXPECT_EQ(parse_usage("keyAgreement"), std::optional<Usage>(Usage::KeyAgreement));
  EXPECT_FALSE(parse_usage("sign"));
}

// The lifecycle through the apps: mam-csr new, check, mam-testpki issue, mam-csr accept.
class CsrApp : public ::testing::Test {
 protected:
  test::ProcessResult csr(const std::vector<std::string>& args) {
    std::vector<std::string> argv{app("mam-csr").string()};
    for (const auto& a : args) argv.push_back(a);
    return test::run(argv);
  }
  test::ProcessResult issue(const std::string& csr_file, const std::string& out, std::vector<std::string> extra = {},
                            const std::string& ca = "trust/oca.pem", const std::string& ca_key = "ca/oca.key") {
    std::vector<std::string> argv{
        app("mam-testpki").string(),    "issue", "--csr", csr_file, "--ca-cert", (keys_dir() / ca).string(), "--ca-key",
        (keys_dir() / ca_key).string(), "--out", out};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return test::run(argv);
  }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  test::TempDir dir_;
};

TEST_F(CsrApp, FromNothingToAnAcceptedCertificate) {
  test::write_file(dir_ / "pass", "a long enough passphrase\n");
  auto made = csr({"new", "--role", "supplier", "--eui", kEui, "--usage", "ds", "--cn", "Example Supplier A",
                   "--new-key", path("s.key"), "--pass-file", path("pass"), "--out", path("s.csr")});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  // The key: encrypted PKCS#8, mode 0600; it opens with the passphrase.
  struct stat st {};
  ASSERT_EQ(::stat(path("s.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(test::read_file(dir_ / "s.key").rfind("-----BEGIN ENCRYPTED PRIVATE KEY-----", 0), 0u);
  auto key = load_private_key(path("s.key"), {PassphraseSource::Kind::File, path("pass")});
  ASSERT_TRUE(key) << key.error().message;

  auto checked = csr({"check", path("s.csr")});
  EXPECT_EQ(checked.exit_code, 0) << checked.out;
  EXPECT_NE(checked.out.find(": OK: role 02 (supplier), EUI-64 " + kEui + ", digitalSignature, EC P-256"),
            std::string::npos)
      << checked.out;
  auto issued = issue(path("s.csr"), path("s.pem"));
  ASSERT_EQ(issued.exit_code, 0) << issued.err;
  auto accepted =
      csr({"accept", "--csr", path("s.csr"), "--cert", path("s.pem"), "--trust", (keys_dir() / "trust").string(),
           "--crl", (keys_dir() / "crl").string(), "--key", path("s.key"), "--pass-file", path("pass")});
  EXPECT_EQ(accepted.exit_code, 0) << accepted.out << accepted.err;
  EXPECT_EQ(accepted.out.rfind("ACCEPT: ", 0), 0u) << accepted.out;
  // And the new certificate signs a migration file that verifies.
  test::write_file(dir_ / test::kMaName, test::example_ma_content());
  auto signed_file = test::run({app("mam-sign").string(), "--key", path("s.key"), "--pass-file", path("pass"), "--cert",
                                path("s.pem"), "--trust", (keys_dir() / "trust").string(), path(test::kMaName)});
  ASSERT_EQ(signed_file.exit_code, 0) << signed_file.err;
  EXPECT_EQ(test::run({app("mam-verify").string(), "--trust", (keys_dir() / "trust").string(), path(test::kMaName)})
                .exit_code,
            0);
}

TEST_F(CsrApp, NewKeysAreNeverWrittenOverAndAlwaysProtectedUnlessRefused) {
  test::write_file(dir_ / "exists.key", "keep me");
  test::write_file(dir_ / "pass", "a long enough passphrase\n");
  auto over = csr({"new", "--role", "02", "--eui", kEui, "--usage", "ds", "--new-key", path("exists.key"),
                   "--pass-file", path("pass"), "--out", path("x.csr")});
  EXPECT_EQ(over.exit_code, 2);
  EXPECT_NE(over.err.find("a key is never written over"), std::string::npos) << over.err;
  EXPECT_EQ(test::read_file(dir_ / "exists.key"), "keep me");
  EXPECT_FALSE(std::filesystem::exists(dir_ / "x.csr"));
  auto no_pass = test::run({app("mam-csr").string(), "new", "--role", "02", "--eui", kEui, "--usage", "ds", "--new-key",
                            path("n.key"), "--out", path("n.csr")});
  EXPECT_EQ(no_pass.exit_code, 2);
  EXPECT_NE(no_pass.err.find("refuse the protection with --no-encrypt"), std::string::npos) << no_pass.err;
  EXPECT_FALSE(std::filesystem::exists(dir_ / "n.key"));
  test::write_file(dir_ / "short", "short\n");
  auto weak = csr({"new", "--role", "02", "--eui", kEui, "--usage", "ds", "--new-key", path("w.key"), "--pass-file",
                   path("short"), "--out", path("w.csr")});
  EXPECT_EQ(weak.exit_code, 2);
  EXPECT_NE(weak.err.find("shorter than 8 characters"), std::string::npos);
  auto plain = csr({"new", "--role", "02", "--eui", kEui, "--usage", "ka", "--new-key", path("p.key"), "--no-encrypt",
                    "--der", "--out", path("p.der")});
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  EXPECT_EQ(test::read_file(dir_ / "p.key").rfind("-----BEGIN PRIVATE KEY-----", 0), 0u);
  EXPECT_NE(plain.err.find("NOT encrypted, as --no-encrypt asked"), std::string::npos);
  auto p = CertificateRequest::load(path("p.der"));
  ASSERT_TRUE(p);
  EXPECT_EQ(p->encoding(), "DER");
  EXPECT_EQ(p->usage(), std::optional<Usage>(Usage::KeyAgreement));
  // An existing CSR is not replaced without --force.
  auto again =
      csr({"new", "--role", "02", "--eui", kEui, "--usage", "ka", "--key", path("p.key"), "--out", path("p.der")});
  EXPECT_EQ(again.exit_code, 2);
  EXPECT_NE(again.err.find("already exists"), std::string::npos);
}

TEST_F(CsrApp, UsageMistakesAreSaid) {
  for (const auto& [args, says] : std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"new", "--role", "seller", "--eui", kEui, "--usage", "ds", "--key", "k", "--out", "o"},
            "--role takes a Remote Party Role"},
           {{"new", "--role", "02", "--eui", "70-B3", "--usage", "ds", "--key", "k", "--out", "o"}, "--eui:"},
           {{"new", "--role", "02", "--eui", kEui, "--usage", "sign", "--key", "k", "--out", "o"}, "--usage takes ds"},
           {{"new", "--role", "02", "--eui", kEui, "--usage", "ds", "--out", "o"},
            "give the key to certify with --key, or --new-key"},
           {{"new", "--role", "02", "--eui", kEui, "--usage", "ds", "--key", "k"}, "--out is required"},
           {{"accept", "--csr", "x"}, "--csr and --cert are required"},
       }) {
    auto r = csr(args);
    EXPECT_EQ(r.exit_code, 2) << says;
    EXPECT_NE(r.err.find(says), std::string::npos) << r.err;
  }
}

TEST_F(CsrApp, CheckReportsEveryDepartureAndJson) {
  auto key = std::move(*generate_key(KeyType::P384));
  auto spec = good_spec();
  spec.key_usage_critical = false;
  test::write_file(dir_ / "bad.csr", csr_pem(*build_csr(spec, key.get())));
  test::write_file(dir_ / "garbage.csr", "hello");
  auto text = csr({"check", path("bad.csr"), path("garbage.csr"), path("missing.csr")});
  EXPECT_EQ(text.exit_code, 3);  // an unreadable file outranks the failures
  EXPECT_NE(text.out.find("bad.csr: FAILED CSR_INVALID: 2 departures"), std::string::npos) << text.out;
  EXPECT_NE(
      text.out.find("  F7 public key: expected id-ecPublicKey on the named curve prime256v1 (P-256); found EC P-384"),
      std::string::npos)
      << text.out;
  EXPECT_NE(text.out.find("  F9 keyUsage critical: expected critical; found not critical"), std::string::npos)
      << text.out;
  EXPECT_NE(text.out.find("garbage.csr: FAILED CSR_INVALID: not a CSR"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("missing.csr: ERROR IO_ERROR"), std::string::npos) << text.out;
  auto j = csr({"check", "--json", path("bad.csr")});
  EXPECT_EQ(j.exit_code, 1);
  const auto parsed = nlohmann::json::parse(j.out);
  EXPECT_EQ(parsed["schema"], "mamsign/csr-check/1");
  EXPECT_EQ(parsed["result"], "invalid");
  EXPECT_EQ(parsed["findings"].size(), 2u);
  EXPECT_EQ(parsed["findings"][0]["rule"], "F7 public key");
  EXPECT_EQ(parsed["subject"]["eui64"], kEui);
}

TEST_F(CsrApp, AcceptRejectsWhatTheCsrDidNotAskFor) {
  const std::string key = test::example_key("supplier-ds").string();
  ASSERT_EQ(
      csr({"new", "--role", "02", "--eui", kEui, "--usage", "ds", "--key", key, "--out", path("s.csr")}).exit_code, 0);
  ASSERT_EQ(csr({"new", "--role", "02", "--eui", kEui, "--usage", "ds", "--key",
                 test::example_key("supplier2-ds").string(), "--out", path("other.csr")})
                .exit_code,
            0);
  const std::string trust = (keys_dir() / "trust").string();
  const auto verdict = [&](const std::string& cert, std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"accept", "--csr", path("s.csr"), "--cert", cert, "--trust", trust};
    args.insert(args.end(), extra.begin(), extra.end());
    return csr(args);
  };
  struct Case {
    std::string name;
    std::vector<std::string> issue_args;
    std::string says;
  };
  for (const auto& c : std::vector<Case>{
           {"other-key",
            {"--key-from", path("other.csr")},
            "KEY_MISMATCH: the certificate's public key is not the one the CSR asked for"},
           {"other-eui", {"--eui", "70-B3-D5-1F-30-00-A0-09"}, "SUBJECT_MISMATCH: the CSR asked for EUI-64 " + kEui},
           {"other-usage",
            {"--usage", "ka"},
            "WRONG_KEY_USAGE: the CSR asked for keyUsage digitalSignature, the certificate has keyAgreement"},
           {"other-role",
            {"--role", "03"},
            "WRONG_ROLE: the CSR asked for role 02 (supplier), the certificate has 03 (network operator)"},
           {"not-yet", {"--not-before-offset", "86400"}, "CERT_NOT_YET_VALID: the certificate becomes valid at"},
           {"other-policy", {"--policy", "1.2.3.4"}, "POLICY_MISMATCH"},
       }) {
    ASSERT_EQ(issue(path("s.csr"), path(c.name + ".pem"), c.issue_args).exit_code, 0) << c.name;
    auto r = verdict(path(c.name + ".pem"));
    EXPECT_EQ(r.exit_code, 1) << c.name << ": " << r.out;
    EXPECT_EQ(r.out.rfind("REJECT: ", 0), 0u) << r.out;
    EXPECT_NE(r.out.find(c.says), std::string::npos) << c.name << ": " << r.out;
  }
  // Issued by the impostor OCA: a certificate that is right in every field but the chain.
  ASSERT_EQ(issue(path("s.csr"), path("rogue.pem"), {}, "rogue/oca.pem", "rogue/oca.key").exit_code, 0);
  auto rogue = verdict(path("rogue.pem"));
  EXPECT_EQ(rogue.exit_code, 1);
  EXPECT_NE(rogue.out.find("UNTRUSTED_CHAIN"), std::string::npos) << rogue.out;
  // The right certificate, but for a key that is not the one given.
  ASSERT_EQ(issue(path("s.csr"), path("good.pem")).exit_code, 0);
  EXPECT_EQ(verdict(path("good.pem")).exit_code, 0);
  auto wrong_key = verdict(path("good.pem"), {"--key", test::example_key("supplier2-ds").string()});
  EXPECT_EQ(wrong_key.exit_code, 1);
  EXPECT_NE(wrong_key.out.find("KEY_MISMATCH: the certificate's public key is not the given key's"), std::string::npos);
  // Several reasons at once: every one is said.
  ASSERT_EQ(issue(path("s.csr"), path("many.pem"), {"--eui", "70-B3-D5-1F-30-00-A0-09", "--usage", "ka"}).exit_code, 0);
  auto many = verdict(path("many.pem"), {"--json"});
  EXPECT_EQ(many.exit_code, 1);
  const auto j = nlohmann::json::parse(many.out);
  EXPECT_EQ(j["result"], "reject");
  EXPECT_EQ(j["reasons"].size(), 2u) << many.out;
}

TEST_F(CsrApp, TheExampleCertificatesAnswerTheirCsrs) {
  for (const auto& entry : std::filesystem::directory_iterator(keys_dir() / "csr")) {
    const std::string name = entry.path().stem().string();
    auto r = csr({"accept", "--csr", entry.path().string(), "--cert", (keys_dir() / "store" / (name + ".pem")).string(),
                  "--trust", (keys_dir() / "trust").string(), "--crl", (keys_dir() / "crl").string(), "--key",
                  test::example_key(name).string(), "--at", "2026-06-01T00:00:00Z"});
    EXPECT_EQ(r.exit_code, 0) << name << ": " << r.out << r.err;
  }
}

TEST_F(CsrApp, ShowSaysWhatACsrAndACertificateAre) {
  auto r =
      csr({"show", (keys_dir() / "csr/supplier-ka.csr").string(), test::example_cert_path("supplier-ka").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("certificate signing request (PEM (CERTIFICATE REQUEST), LF)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("  role       02 (supplier)"), std::string::npos);
  EXPECT_NE(r.out.find("  usage      keyAgreement"), std::string::npos);
  EXPECT_NE(r.out.find("  Appendix F conforms"), std::string::npos);
  EXPECT_NE(r.out.find(": certificate\n"), std::string::npos);
  EXPECT_NE(r.out.find("  validity   2025-01-01T00:00:00Z to 2045-01-01T00:00:00Z"), std::string::npos) << r.out;
  test::write_file(dir_ / "junk", "junk");
  auto junk = csr({"show", path("junk")});
  EXPECT_EQ(junk.exit_code, 3);
  EXPECT_NE(junk.err.find("neither a CSR"), std::string::npos);
}

}  // namespace
}  // namespace mamsign
