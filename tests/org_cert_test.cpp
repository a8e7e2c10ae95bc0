#include "mamsign/smki/org_cert.h"

#include "mamsign/base/ossl.h"
#include "mamsign/base/times.h"
#include "support/test_support.h"

#include <gtest/gtest.h>

#include <openssl/pem.h>

#include <random>
#include <regex>

namespace mamsign {
namespace {

using test::example_cert;

std::vector<Reason> codes(const std::vector<Error>& errors) {
  std::vector<Reason> out;
  for (const auto& e : errors) out.push_back(e.reason);
  return out;
}

TEST(OrgCert, SupplierFields) {
  auto c = example_cert("supplier-ds");
  ASSERT_TRUE(c);
  EXPECT_TRUE(std::regex_match(c->serial(), std::regex("[0-9A-F]{32}"))) << c->serial();
  ASSERT_TRUE(c->eui64());
  EXPECT_EQ(c->eui64()->to_string(), "70-B3-D5-1F-30-00-A0-08");
  EXPECT_EQ(c->role(), std::optional<std::uint8_t>(0x02));
  EXPECT_EQ(c->common_name(), std::optional<std::string>("Example Supplier A"));
  EXPECT_TRUE(c->has_only_usage(Usage::DigitalSignature));
  EXPECT_FALSE(c->has_only_usage(Usage::KeyAgreement));
  EXPECT_EQ(c->key_usage_text(), "digitalSignature");
  EXPECT_EQ(c->policy_oids(), (std::vector<std::string>{"1.2.826.0.1.8641679.1.2.1.4"}));
  EXPECT_EQ(c->key_algorithm(), "EC prime256v1");
  EXPECT_EQ(c->signature_algorithm(), "ecdsa-with-SHA256");
  EXPECT_EQ(format_iso8601(c->not_before()), "2025-01-01T00:00:00Z");
  EXPECT_EQ(format_iso8601(c->not_after()), "2045-01-01T00:00:00Z");
  EXPECT_NE(c->issuer().find("OU=07"), std::string::npos) << c->issuer();
  EXPECT_FALSE(c->is_ca());
  EXPECT_TRUE(c->check_profile(Profile::defaults()).empty());
}

// A certificate decoded in a thread's own library context (ossl.h) is the same certificate; contexts
// are pooled, so a later holder reuses the one given back.
TEST(OrgCert, DecodedInAThreadLibraryContext) {
  const auto reference = test::example_cert("supplier-ds");
  const auto der_of_reference = [&] {
    unsigned char* p = nullptr;
    const int n = i2d_X509(reference->x509(), &p);
    std::string out(reinterpret_cast<char*>(p), static_cast<std::size_t>(n));
    OPENSSL_free(p);
    return out;
  }();
  EXPECT_EQ(thread_library_context(), nullptr);
  OSSL_LIB_CTX* first = nullptr;
  {
    const ThreadLibraryContext own;
    first = thread_library_context();
    ASSERT_NE(first, nullptr);
    auto cert = OrgCert::from_der(der_of_reference);
    ASSERT_TRUE(cert);
    EXPECT_EQ(cert->fingerprint(), reference->fingerprint());
    EXPECT_EQ(cert->serial(), reference->serial());
    EXPECT_EQ(cert->subject(), reference->subject());
    ASSERT_NE(X509_get0_pubkey(cert->x509()), nullptr) << "the key decodes in the thread's context";
    EXPECT_EQ(EVP_PKEY_eq(X509_get0_pubkey(cert->x509()), X509_get0_pubkey(reference->x509())), 1);
    EXPECT_TRUE(cert->check_profile(Profile::defaults()).empty());
    EXPECT_FALSE(OrgCert::from_der("not a certificate")) << "and a bad one is still refused";
  }
  EXPECT_EQ(thread_library_context(), nullptr);
  const ThreadLibraryContext again;
  EXPECT_EQ(thread_library_context(), first) << "pooled, not made anew";
}

TEST(OrgCert, ShortSerialIsPaddedTo32Digits) {
  auto c = example_cert("network-operator2-ds");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->serial(), "00000000000000000000000000001234");
}

TEST(OrgCert, EuiEndingInZeroOctetsKeepsAll64Bits) {
  auto c = example_cert("supplier-zero-ds");
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->eui64()) << "the BIT STRING lost its trailing zero octets";
  EXPECT_EQ(c->eui64()->to_string(), "70-B3-D5-1F-30-00-00-00");
  EXPECT_TRUE(c->check_profile(Profile::defaults()).empty());
}

struct Expected {
  std::string name;
  std::vector<Reason> violations;
};
void PrintTo(const Expected& e, std::ostream* os) {
  *os << e.name << " ->";
  for (auto r : e.violations) *os << " " << reason_name(r);
}
class ProfileCheck : public ::testing::TestWithParam<Expected> {};

TEST_P(ProfileCheck, ExactReasonCodes) {
  auto c = example_cert(GetParam().name);
  ASSERT_TRUE(c);
  const auto violations = c->check_profile(Profile::defaults());
  EXPECT_EQ(codes(violations), GetParam().violations);
  for (const auto& v : violations) EXPECT_FALSE(v.message.empty());
}

// The role, the wanted usage, the chain and the validity are checked by callers; the profile check
// sees only what is wrong with the certificate itself.
INSTANTIATE_TEST_SUITE_P(KeysExample, ProfileCheck,
                         ::testing::Values(Expected{"supplier-ds", {}}, Expected{"supplier-ka", {}},
                                           Expected{"supplier-alt-ds", {}}, Expected{"supplier2-ds", {}},
                                           Expected{"supplier2-ka", {}}, Expected{"supplier-zero-ds", {}},
                                           Expected{"supplier-revoked-ds", {}}, Expected{"network-operator-ds", {}},
                                           Expected{"network-operator-ka", {}}, Expected{"network-operator2-ds", {}},
                                           Expected{"network-operator2-ka", {}}, Expected{"bad-expired-ds", {}},
                                           Expected{"bad-not-yet-valid-ds", {}}, Expected{"bad-role-04-ds", {}},
                                           Expected{"bad-rogue-oca-ds", {}},
                                           Expected{"bad-both-usages", {Reason::WrongKeyUsage}},
                                           Expected{"bad-ku-not-critical-ds", {Reason::WrongKeyUsage}},
                                           Expected{"bad-no-policy-ds", {Reason::PolicyMismatch}},
                                           Expected{"bad-other-policy-ds", {Reason::PolicyMismatch}},
                                           Expected{"bad-eui-utf8-ds", {Reason::InvalidSubject}},
                                           Expected{"bad-eui-56-ds", {Reason::InvalidSubject}},
                                           Expected{"bad-no-eui-ds", {Reason::InvalidSubject}},
                                           Expected{"bad-p384-ds", {Reason::UnsupportedAlgorithm}},
                                           Expected{"bad-rsa-ds", {Reason::UnsupportedAlgorithm}}),
                         [](const auto& param_info) {
                           std::string n = param_info.param.name;
                           for (auto& ch : n)
                             if (ch == '-') ch = '_';
                           return n;
                         });

TEST(OrgCert, MessagesSayWhatWasFound) {
  auto utf8 = example_cert("bad-eui-utf8-ds");
  ASSERT_TRUE(utf8);
  EXPECT_FALSE(utf8->eui64());
  EXPECT_NE(utf8->check_profile(Profile::defaults())[0].message.find("UTF8STRING"), std::string::npos)
      << utf8->check_profile(Profile::defaults())[0].message;
  auto bits56 = example_cert("bad-eui-56-ds");
  EXPECT_NE(bits56->check_profile(Profile::defaults())[0].message.find("56 bits"), std::string::npos);
  auto rsa = example_cert("bad-rsa-ds");
  EXPECT_NE(rsa->check_profile(Profile::defaults())[0].message.find("rsaEncryption 2048"), std::string::npos)
      << rsa->check_profile(Profile::defaults())[0].message;
  auto both = example_cert("bad-both-usages");
  EXPECT_NE(both->check_profile(Profile::defaults())[0].message.find("digitalSignature, keyAgreement"),
            std::string::npos);
}

TEST(OrgCert, ConfiguredPolicyReplacesTheDefault) {
  Profile live;
  live.policy_oids = {"1.2.826.0.1.8641679.1.2.1.99"};
  EXPECT_EQ(codes(example_cert("supplier-ds")->check_profile(live)), (std::vector<Reason>{Reason::PolicyMismatch}));
  EXPECT_TRUE(example_cert("bad-other-policy-ds")->check_profile(live).empty());
}

TEST(OrgCert, Validity) {
  auto c = example_cert("supplier-ds");
  EXPECT_TRUE(c->check_validity(test::example_time()));
  auto before = c->check_validity(*parse_iso8601("2024-12-31T23:59:59Z"));
  ASSERT_FALSE(before);
  EXPECT_EQ(before.error().reason, Reason::CertNotYetValid);
  auto after = c->check_validity(*parse_iso8601("2045-01-01T00:00:01Z"));
  ASSERT_FALSE(after);
  EXPECT_EQ(after.error().reason, Reason::CertExpired);
  EXPECT_NE(after.error().message.find("2045-01-01T00:00:00Z"), std::string::npos);
}

TEST(OrgCert, LoadsDerAndBundles) {
  test::TempDir dir;
  const std::string pem = test::read_file(test::example_cert_path("supplier-ds"));
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  X509Ptr x(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  ASSERT_TRUE(x);
  unsigned char* der = nullptr;
  const int len = i2d_X509(x.get(), &der);
  test::write_file(dir / "c.der", std::string(reinterpret_cast<char*>(der), static_cast<std::size_t>(len)));
  OPENSSL_free(der);
  auto c = OrgCert::load(dir / "c.der");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ((*c)->serial(), example_cert("supplier-ds")->serial());

  const std::string bundle = "some text before\n" + pem + test::read_file(test::keys_dir() / "keys/supplier-ds.key") +
                             test::read_file(test::example_cert_path("supplier-ka"));
  auto all = OrgCert::parse_all(bundle, "bundle");
  ASSERT_TRUE(all) << all.error().message;
  EXPECT_EQ(all->size(), 2u);
  test::write_file(dir / "two.pem", bundle);
  auto one = OrgCert::load(dir / "two.pem");
  ASSERT_FALSE(one);
  EXPECT_NE(one.error().message.find("holds 2 certificates"), std::string::npos);
}

TEST(OrgCert, JunkIsAnErrorNotACrash) {
  for (const std::string& junk :
       {std::string(), std::string("hello"), std::string("\x30\x82\xff\xff", 4),
        std::string("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), std::string(5000, '\x30')}) {
    auto r = OrgCert::parse_all(junk, "junk");
    EXPECT_FALSE(r);
    if (!r) {
      EXPECT_EQ(r.error().reason, Reason::InvalidInput);
    }
  }
  auto missing = OrgCert::load("/nonexistent/cert.pem");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().reason, Reason::IoError);
}

TEST(OrgCert, DescribeNamesEuiRoleAndSerial) {
  auto c = example_cert("network-operator-ds");
  EXPECT_EQ(c->describe(), "70-B3-D5-1F-30-00-D4-01 (role 03 network operator, serial " + c->serial() + ")");
}

}  // namespace
}  // namespace mamsign

namespace mamsign {
namespace {

// Damaged certificates from outside: parsed, checked and chain-validated, or refused, never a crash.
TEST(OrgCert, MutatedCertificatesNeverCrash) {
  const std::string pem = test::read_file(test::example_cert_path("supplier-ds"));
  auto certs = OrgCert::parse_all(pem, "pem");
  ASSERT_TRUE(certs);
  unsigned char* der = nullptr;
  const int len = i2d_X509((*certs)[0]->x509(), &der);
  const std::string good(reinterpret_cast<char*>(der), static_cast<std::size_t>(len));
  OPENSSL_free(der);
  auto trust = test::example_trust();
  std::mt19937 rng(5);
  int parsed = 0;
  for (int i = 0; i < 500; ++i) {
    std::string bad = good;
    for (int k = 0; k < 1 + i % 4; ++k) bad[rng() % bad.size()] = static_cast<char>(rng());
    auto c = OrgCert::parse_all(bad, "mutated");
    if (!c) continue;
    ++parsed;
    (void)(*c)[0]->check_profile(Profile::defaults());
    (void)trust->verify(*(*c)[0], test::example_time());
  }
  RecordProperty("parsed", parsed);
  SUCCEED() << parsed << " of 500 mutated certificates still parsed; all were handled";
}

}  // namespace
}  // namespace mamsign
