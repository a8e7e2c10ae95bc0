#include "mamsign/signature/cms_signature.h"

#include "mamsign/base/times.h"
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
  auto r =
      test::run({"/usr/bin/openssl", "cms", "-cmsout", "-print", "-inform", "DER", "-in", (dir_ / "s.p7s").string()});
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
  auto r = test::run({"/usr/bin/openssl", "cms", "-data_create", "-binary", "-outform", "DER", "-in", file_.string(),
                      "-out", (dir_ / "data.der").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto cms = CmsSignature::parse(test::read_file(dir_ / "data.der"));
  ASSERT_FALSE(cms);
  EXPECT_NE(cms.error().message.find("not SignedData"), std::string::npos) << cms.error().message;
}

}  // namespace
}  // namespace mamsign

namespace mamsign {
namespace {

// Issue 12: the fast maker writes what OpenSSL's CMS API writes. With the same digest, name and time,
// the two signatures differ only in the ECDSA value: once one's signature value is put into the other,
// the two encodings are byte for byte the same (signed attributes, their order, the SignerInfo, the
// certificates and their order, every length).
TEST(CmsSignatureMaker, WritesWhatTheCmsApiWrites) {
  const auto cert = test::example_cert("supplier-ds");
  auto key = test::example_private_key("supplier-ds");
  auto oca = OrgCert::load(test::keys_dir() / "trust/oca.pem");
  ASSERT_TRUE(oca);
  for (const std::vector<OrgCertPtr>& chain : {std::vector<OrgCertPtr>{}, std::vector<OrgCertPtr>{*oca}}) {
    for (const std::string& name :
         std::vector<std::string>{"MA_cgI_70-B3-D5-1F-30-00-A0-08_20190407_182503.csv", "x", std::string(200, 'n')}) {
      Sha256 digest{};
      for (std::size_t i = 0; i < digest.size(); ++i) digest[i] = static_cast<std::uint8_t>(i * 7 + name.size());
      CmsSignRequest request;
      request.digest = digest;
      request.bound_name = name;
      request.key = key.get();
      request.signer = cert.get();
      request.chain = chain;
      request.signing_time = test::example_time();
      auto reference = make_cms_signature(request);
      ASSERT_TRUE(reference) << reference.error().message;
      auto maker = CmsSignatureMaker::create(*cert, chain);
      ASSERT_TRUE(maker) << maker.error().message;
      auto fast = maker->sign(key.get(), digest, name, test::example_time());
      ASSERT_TRUE(fast) << fast.error().message;

      const auto parse = [](const std::string& der) {
        const auto* p = reinterpret_cast<const unsigned char*>(der.data());
        return CmsPtr(d2i_CMS_ContentInfo(nullptr, &p, static_cast<long>(der.size())));
      };
      CmsPtr a = parse(*reference), b = parse(*fast);
      ASSERT_TRUE(a && b);
      CMS_SignerInfo* sa = sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(a.get()), 0);
      CMS_SignerInfo* sb = sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(b.get()), 0);
      ASSERT_TRUE(sa && sb);
      const ASN1_OCTET_STRING* signature_b = CMS_SignerInfo_get0_signature(sb);
      ASSERT_EQ(ASN1_STRING_set(CMS_SignerInfo_get0_signature(sa), ASN1_STRING_get0_data(signature_b),
                                ASN1_STRING_length(signature_b)),
                1);
      unsigned char* da = nullptr;
      unsigned char* db = nullptr;
      const int la = i2d_CMS_ContentInfo(a.get(), &da);
      const int lb = i2d_CMS_ContentInfo(b.get(), &db);
      ASSERT_GT(la, 0);
      EXPECT_EQ(std::string(reinterpret_cast<char*>(da), la), std::string(reinterpret_cast<char*>(db), lb))
          << "chain " << chain.size() << ", name " << name.size();
      // And the bytes written are exactly what OpenSSL re-encodes: DER throughout.
      EXPECT_EQ(std::string(reinterpret_cast<char*>(db), lb), *fast);
      OPENSSL_free(da);
      OPENSSL_free(db);
      // The fast signature verifies, by us and by OpenSSL's CMS code.
      auto parsed = CmsSignature::parse(*fast);
      ASSERT_TRUE(parsed) << parsed.error().message;
      EXPECT_TRUE(parsed->verify_signature(*cert, digest));
    }
  }
}

}  // namespace
}  // namespace mamsign
