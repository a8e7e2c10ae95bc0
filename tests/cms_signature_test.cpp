#include "mamsign/cms_signature.h"

#include "mamsign/times.h"
#include "support/test_support.h"

#include <gtest/gtest.h>

#include <random>

namespace mamsign {
namespace {

class CmsSignatureTest : public ::testing::Test {
 protected:
  void SetUp() override {
    file_ = dir_ / test::kMaName;
    test::write_file(file_, test::example_ma_content());
  }
  test::TempDir dir_;
  std::filesystem::path file_;
};

TEST_F(CmsSignatureTest, RoundTripCarriesTheProfile) {
  const std::string der = test::cms_sign_as("supplier-ds", file_, {(test::keys_dir() / "trust/oca.pem").string()});
  auto cms = CmsSignature::parse(der);
  ASSERT_TRUE(cms) << cms.error().message;
  EXPECT_TRUE(cms->has_signed_attributes());
  EXPECT_EQ(*cms->message_digest(), *sha256_file(file_));
  EXPECT_EQ(*cms->bound_name(), test::kMaName);
  EXPECT_EQ(*cms->signing_time(), test::example_time());
  ASSERT_EQ(cms->certificates().size(), 2u);
  auto signer = cms->embedded_signer();
  ASSERT_TRUE(signer);
  EXPECT_EQ(signer->fingerprint(), test::example_cert("supplier-ds")->fingerprint());
  EXPECT_TRUE(cms->verify_signature(*signer, *sha256_file(file_)));
}

TEST_F(CmsSignatureTest, OpensslSeesEveryRequiredAttribute) {
  test::write_file(dir_ / "s.p7s", test::cms_sign_as("supplier-ds", file_));
  auto r = test::run({"/usr/bin/openssl", "cms", "-cmsout", "-print", "-inform", "DER", "-in", (dir_ / "s.p7s").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* want : {"contentType (1.2.840.113549.1.9.3)", "messageDigest (1.2.840.113549.1.9.4)",
                           "signingTime (1.2.840.113549.1.9.5)", "id-smime-aa-signingCertificateV2",
                           "id-smime-aa-contentHint (1.2.840.113549.1.9.16.2.4)", "eContent: <ABSENT>",
                           "algorithm: sha256", "algorithm: ecdsa-with-SHA256", "d.issuerAndSerialNumber"}) {
    EXPECT_NE(r.out.find(want), std::string::npos) << want;
  }
  EXPECT_NE(r.out.find(":" + test::kMaName), std::string::npos) << "contentDescription should hold the file name";
  EXPECT_EQ(r.out.find("SMIMECapabilities"), std::string::npos);
}

TEST_F(CmsSignatureTest, MalformedInputs) {
  const std::string good = test::cms_sign_as("supplier-ds", file_);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "empty"},
      {std::string(300, '\x42'), "not a DER CMS"},
      {"-----BEGIN CMS-----\nMIIBkQYJKoZIhvcNAQcCoIIBgjCCAX4CAQExDTALBglghkgBZQMEAgEw\n-----END CMS-----\n", "PEM"},
      {good.substr(0, good.size() / 2), "not a DER CMS"},
      {good.substr(0, good.size() - 1), "not a DER CMS"},
      {good + "extra", "bytes after"},
      {"\x30\x03\x06\x01\x00", "not a DER CMS"},
  };
  for (const auto& [bytes, says] : cases) {
    auto cms = CmsSignature::parse(bytes);
    ASSERT_FALSE(cms) << says;
    EXPECT_EQ(cms.error().reason, Reason::MalformedSignature) << says;
    EXPECT_NE(cms.error().message.find(says), std::string::npos) << cms.error().message;
  }
}

TEST_F(CmsSignatureTest, RandomBytesNeverCrash) {
  std::mt19937 rng(7);
  const std::string good = test::cms_sign_as("supplier-ds", file_);
  for (int i = 0; i < 300; ++i) {
    std::string mutated = good;
    for (int k = 0; k < 4; ++k) mutated[rng() % mutated.size()] = static_cast<char>(rng());
    auto cms = CmsSignature::parse(mutated);
    if (cms) (void)cms->verify_signature(*test::example_cert("supplier-ds"), *sha256_file(file_));
  }
  SUCCEED() << "300 mutated signatures parsed or refused without a crash";
}

TEST_F(CmsSignatureTest, NotSignedData) {
  auto r = test::run({"/usr/bin/openssl", "cms", "-data_create", "-binary", "-outform", "DER", "-in", file_.string(), "-out",
                      (dir_ / "data.der").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto cms = CmsSignature::parse(test::read_file(dir_ / "data.der"));
  ASSERT_FALSE(cms);
  EXPECT_NE(cms.error().message.find("not SignedData"), std::string::npos) << cms.error().message;
}

}  // namespace
}  // namespace mamsign
