#include "mamsign/signer.h"

#include "mamsign/signature/cms_signature.h"
#include "mamsign/signature/raw_signature.h"
#include "support/test_support.h"

#include <gtest/gtest.h>

namespace mamsign {
namespace {

Result<Signer> signer_for(const std::string& name, std::time_t now = test::example_time()) {
  return Signer::create(test::example_private_key(name), test::example_cert(name), {}, Profile::defaults(), now);
}

struct Refusal {
  std::string cert;
  Reason reason;
};
void PrintTo(const Refusal& r, std::ostream* os) { *os << r.cert << " -> " << reason_name(r.reason); }
class SignerRefuses : public ::testing::TestWithParam<Refusal> {};

TEST_P(SignerRefuses, CertificatesThatCannotSign) {
  auto s = signer_for(GetParam().cert);
  ASSERT_FALSE(s) << GetParam().cert;
  EXPECT_EQ(s.error().reason, GetParam().reason) << s.error().message;
  EXPECT_FALSE(s.error().message.empty());
}

INSTANTIATE_TEST_SUITE_P(
    KeysExample, SignerRefuses,
    ::testing::Values(
        Refusal{"network-operator-ds", Reason::WrongRole}, Refusal{"bad-role-04-ds", Reason::WrongRole},
        Refusal{"supplier-ka", Reason::WrongKeyUsage}, Refusal{"bad-both-usages", Reason::WrongKeyUsage},
        Refusal{"bad-ku-not-critical-ds", Reason::WrongKeyUsage}, Refusal{"bad-expired-ds", Reason::CertExpired},
        Refusal{"bad-not-yet-valid-ds", Reason::CertNotYetValid}, Refusal{"bad-p384-ds", Reason::UnsupportedAlgorithm},
        Refusal{"bad-rsa-ds", Reason::UnsupportedAlgorithm}, Refusal{"bad-no-policy-ds", Reason::PolicyMismatch},
        Refusal{"bad-eui-utf8-ds", Reason::InvalidSubject}, Refusal{"bad-no-eui-ds", Reason::InvalidSubject}));

TEST(Signer, KeyMustBeTheCertificates) {
  auto s = Signer::create(test::example_private_key("supplier2-ds"), test::example_cert("supplier-ds"), {},
                          Profile::defaults(), test::example_time());
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().reason, Reason::KeyMismatch);
}

class SignerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    file_ = dir_ / test::kMaName;
    test::write_file(file_, test::example_ma_content());
  }
  std::filesystem::path make(const std::string& name) {
    test::write_file(dir_ / name, test::example_ma_content());
    return dir_ / name;
  }
  test::TempDir dir_;
  std::filesystem::path file_;
  Signer signer_ = std::move(*signer_for("supplier-ds"));
};

TEST_F(SignerTest, SignsBesideTheFileAndLeavesTheInputAlone) {
  const std::string before = test::read_file(file_);
  auto out = signer_.sign_file(file_, {});
  ASSERT_TRUE(out) << out.error().message;
  EXPECT_EQ(out->kind, SignOutcome::Kind::Signed);
  EXPECT_EQ(out->signature, std::filesystem::path(file_.string() + ".p7s"));
  EXPECT_EQ(test::read_file(file_), before);
  auto cms = CmsSignature::parse(test::read_file(out->signature));
  ASSERT_TRUE(cms);
  EXPECT_EQ(*cms->message_digest(), out->sha256);
  EXPECT_EQ(test::list_dir(dir_.path()), (std::vector<std::string>{test::kMaName, test::kMaName + ".p7s"}));
}

TEST_F(SignerTest, RawFormat) {
  SignOptions o;
  o.format = SignatureFormat::Raw;
  auto out = signer_.sign_file(file_, o);
  ASSERT_TRUE(out) << out.error().message;
  EXPECT_EQ(out->signature.extension(), ".sig");
  const std::string sig = test::read_file(out->signature);
  EXPECT_TRUE(check_raw_signature_syntax(sig));
  EXPECT_TRUE(verify_digest_signature(X509_get0_pubkey(signer_.certificate().x509()), sig, *sha256_file(file_)));
}

TEST_F(SignerTest, RefusesNamesAndLeavesNothingBehind) {
  const auto not_migration = make("report.csv");
  const auto other_party = make("MA_cgI_70-B3-D5-1F-30-00-B1-01_20190407_182503.csv");
  const auto before = test::list_dir(dir_.path());
  auto a = signer_.sign_file(not_migration, {});
  ASSERT_FALSE(a);
  EXPECT_EQ(a.error().reason, Reason::FileNameInvalid);
  auto b = signer_.sign_file(other_party, {});
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().reason, Reason::SignerMismatch);
  EXPECT_NE(b.error().message.find("signed by 70-B3-D5-1F-30-00-A0-08 (role 02), but the file name names party "
                                   "70-B3-D5-1F-30-00-B1-xx"),
            std::string::npos)
      << b.error().message;
  auto missing = signer_.sign_file(dir_ / "MA_cgI_70-B3-D5-1F-30-00-A0-08_20190407_182504.csv", {});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().reason, Reason::IoError);
  EXPECT_EQ(test::list_dir(dir_.path()), before);
}

TEST_F(SignerTest, SamePartysOtherUserIdIsAccepted) {
  EXPECT_TRUE(signer_.sign_file(make("MA_cgI_70-B3-D5-1F-30-00-A0-09_20190407_182503.csv"), {}));
}

TEST_F(SignerTest, NoNameCheckSignsOtherFiles) {
  SignOptions o;
  o.check_names = false;
  EXPECT_TRUE(signer_.sign_file(make("report.csv"), o));
}

TEST_F(SignerTest, ExistingSignatureNeedsForce) {
  ASSERT_TRUE(signer_.sign_file(file_, {}));
  const std::string first = test::read_file(file_.string() + ".p7s");
  auto again = signer_.sign_file(file_, {});
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().reason, Reason::SignatureExists);
  EXPECT_NE(again.error().message.find("--force"), std::string::npos);
  EXPECT_EQ(test::read_file(file_.string() + ".p7s"), first);
  SignOptions force;
  force.replace = true;
  ASSERT_TRUE(signer_.sign_file(file_, force));
  EXPECT_EQ(test::list_dir(dir_.path()).size(), 2u);
}

TEST_F(SignerTest, SkipSignedSkipsOnlyWhatVerifies) {
  SignOptions skip;
  skip.skip_signed = true;
  auto first = signer_.sign_file(file_, skip);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->kind, SignOutcome::Kind::Signed);
  auto second = signer_.sign_file(file_, skip);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->kind, SignOutcome::Kind::Skipped);
  // Another signer's signature is not "signed by me".
  auto other = Signer::create(test::example_private_key("supplier-alt-ds"), test::example_cert("supplier-alt-ds"), {},
                              Profile::defaults(), test::example_time());
  ASSERT_TRUE(other);
  auto by_other = other->sign_file(file_, skip);
  ASSERT_FALSE(by_other);
  EXPECT_EQ(by_other.error().reason, Reason::SignatureExists);
  // A changed file is signed again (with --force) rather than skipped.
  test::write_file(file_, test::example_ma_content() + "1,2,3\r\n");
  SignOptions skip_force = skip;
  skip_force.replace = true;
  auto third = signer_.sign_file(file_, skip_force);
  ASSERT_TRUE(third);
  EXPECT_EQ(third->kind, SignOutcome::Kind::Signed);
}

TEST_F(SignerTest, OutPathAndNeverOverTheInput) {
  SignOptions o;
  o.out = dir_ / "elsewhere.p7s";
  ASSERT_TRUE(signer_.sign_file(file_, o));
  EXPECT_TRUE(std::filesystem::exists(dir_ / "elsewhere.p7s"));
  o.out = file_;
  o.replace = true;
  const std::string before = test::read_file(file_);
  auto bad = signer_.sign_file(file_, o);
  ASSERT_FALSE(bad);
  EXPECT_EQ(test::read_file(file_), before);
}

TEST_F(SignerTest, EuiEndingInZerosSigns) {
  auto zero = signer_for("supplier-zero-ds");
  ASSERT_TRUE(zero) << zero.error().message;
  EXPECT_TRUE(zero->sign_file(make("MA_cgI_70-B3-D5-1F-30-00-00-00_20190407_182503.csv"), {}));
}

// Issue 8 (low): names of 236-251 bytes could not be signed: the temporary's name passed 255 bytes.
TEST(Signer, LongestNamesThatCanHaveASignatureAreSigned) {
  test::TempDir dir;
  auto s = signer_for("supplier-ds");
  ASSERT_TRUE(s);
  SignOptions no_names;
  no_names.check_names = false;
  for (std::size_t length : {200u, 236u, 251u}) {
    const auto file = dir / (std::string(length - 4, 'n') + ".csv");
    test::write_file(file, "a,b\r\n");
    auto out = s->sign_file(file, no_names);
    ASSERT_TRUE(out) << length << ": " << out.error().message;
    EXPECT_EQ(out->signature.filename().string().size(), length + 4);
  }
  // 252 bytes: the signature's own name would pass 255; the message names it, and no temporary is left.
  const auto too_long = dir / (std::string(248, 'n') + ".csv");
  test::write_file(too_long, "a,b\r\n");
  auto refused = s->sign_file(too_long, no_names);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().reason, Reason::IoError);
  EXPECT_NE(refused.error().message.find("File name too long"), std::string::npos) << refused.error().message;
  EXPECT_EQ(test::list_dir(dir.path()).size(), 7u) << "3 files, 3 signatures, the long file; no temporary";
}

}  // namespace
}  // namespace mamsign
