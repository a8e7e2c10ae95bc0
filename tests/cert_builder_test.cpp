#include "mamsign/pki/cert_builder.h"

#include "mamsign/smki/org_cert.h"
#include "support/test_support.h"

#include <gtest/gtest.h>

#include <regex>

namespace mamsign {
namespace {

// Issues a supplier certificate under a throwaway CA.
X509Ptr issue(const Eui64& eui, EuiEncoding encoding) {
  auto ca_key = generate_key(KeyType::P256);
  auto key = generate_key(KeyType::P256);
  CertSpec spec;
  spec.ou = "02";
  spec.eui64 = eui;
  spec.eui_encoding = encoding;
  spec.not_before = 1735689600;
  spec.not_after = 2366841600;
  spec.policy_oid = std::string(kTestPolicyOid);
  auto cert = issue_certificate(spec, key->get(), nullptr, ca_key->get());
  EXPECT_TRUE(cert) << (cert ? "" : cert.error().message);
  return cert ? std::move(*cert) : nullptr;
}

std::string der_hex(X509* x) {
  unsigned char* der = nullptr;
  const int len = i2d_X509(x, &der);
  std::string hex = to_hex(der, static_cast<std::size_t>(len));
  OPENSSL_free(der);
  return hex;
}

class BitStringTrap : public ::testing::TestWithParam<std::string> {};

TEST_P(BitStringTrap, EuiRoundTripsAs64Bits) {
  const auto eui = *Eui64::parse(GetParam());
  X509Ptr x = issue(eui, EuiEncoding::BitString64);
  ASSERT_TRUE(x);
  // The DER holds OID 2.5.4.45 then BIT STRING, 9 octets, 0 unused bits, all eight octets.
  const std::string want = "060355042d030900" + to_hex(eui.octets());
  EXPECT_NE(der_hex(x.get()).find(want), std::string::npos);
  OrgCert parsed(std::move(x));
  ASSERT_TRUE(parsed.eui64());
  EXPECT_EQ(*parsed.eui64(), eui);
}

INSTANTIATE_TEST_SUITE_P(Euis, BitStringTrap,
                         ::testing::Values("70-B3-D5-1F-30-00-00-00", "70-B3-D5-1F-30-00-A0-00",
                                           "00-00-00-00-00-00-00-00", "70-B3-D5-1F-30-00-A0-08",
                                           "FF-FF-FF-FF-FF-FF-FF-FF"));

TEST(CertBuilder, WrongEncodingsAreWhatTheyClaim) {
  const auto eui = *Eui64::parse("70-B3-D5-1F-30-00-A0-08");
  OrgCert utf8(issue(eui, EuiEncoding::Utf8String));
  OrgCert bits56(issue(eui, EuiEncoding::BitString56));
  OrgCert absent(issue(eui, EuiEncoding::Absent));
  for (const OrgCert* c : {&utf8, &bits56, &absent}) {
    EXPECT_FALSE(c->eui64());
    const auto v = c->check_profile(Profile::defaults());
    ASSERT_EQ(v.size(), 1u);
    EXPECT_EQ(v[0].reason, Reason::InvalidSubject);
  }
}

// The committed example certificates, read by the real openssl binary: the profile of SPEC section 3.
TEST(CertBuilder, KeysExampleSeenByOpensslAsn1parse) {
  auto r = test::run({"/usr/bin/openssl", "asn1parse", "-in", test::example_cert_path("supplier-zero-ds").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // Subject x500UniqueIdentifier: BIT STRING of 9 content octets (unused-bits octet + 8).
  EXPECT_NE(r.out.find(":x500UniqueIdentifier\n"), std::string::npos);
  EXPECT_NE(r.out.find("l=   9 prim: BIT STRING"), std::string::npos) << r.out;
  auto text = test::run(
      {"/usr/bin/openssl", "x509", "-noout", "-text", "-in", test::example_cert_path("supplier-ds").string()});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("Version: 3 (0x2)"), std::string::npos);
  EXPECT_NE(text.out.find("Signature Algorithm: ecdsa-with-SHA256"), std::string::npos);
  EXPECT_NE(text.out.find("NIST CURVE: P-256"), std::string::npos);
  EXPECT_NE(text.out.find("X509v3 Key Usage: critical\n                Digital Signature\n"), std::string::npos)
      << text.out;
  EXPECT_NE(text.out.find("X509v3 Certificate Policies: critical\n                Policy: 1.2.826.0.1.8641679.1.2.1.4"),
            std::string::npos);
  EXPECT_EQ(text.out.find("Basic Constraints"), std::string::npos);
  EXPECT_EQ(text.out.find("Extended Key Usage"), std::string::npos);
  EXPECT_EQ(text.out.find("Subject Alternative Name"), std::string::npos);
  EXPECT_NE(text.out.find("Subject: CN = Example Supplier A, OU = 02, x500UniqueIdentifier = #03090070B3D51F3000A008"),
            std::string::npos)
      << text.out;
}

TEST(CertBuilder, KeyIdentifiersAreEightOctets) {
  auto text = test::run({"/usr/bin/openssl", "x509", "-noout", "-ext", "subjectKeyIdentifier,authorityKeyIdentifier",
                         "-in", test::example_cert_path("supplier-ds").string()});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  const std::regex eight("[0-9A-F]{2}(:[0-9A-F]{2}){7}\n");
  EXPECT_EQ(std::distance(std::sregex_iterator(text.out.begin(), text.out.end(), eight), std::sregex_iterator()), 2)
      << text.out;
}

TEST(CertBuilder, EncryptedKeyNeedsItsPassphrase) {
  auto key = generate_key(KeyType::P256);
  const std::string pass = "correct horse";
  auto pem = private_key_pem(key->get(), &pass);
  ASSERT_TRUE(pem);
  EXPECT_NE(pem->find("BEGIN ENCRYPTED PRIVATE KEY"), std::string::npos);
}

}  // namespace
}  // namespace mamsign
