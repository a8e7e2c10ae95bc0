#include "mamsign/pki/trust_store.h"

#include "mamsign/pki/cert_builder.h"
#include "mamsign/base/pem.h"
#include "mamsign/base/times.h"
#include "support/test_support.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace mamsign {
namespace {

using test::example_cert;
using test::example_time;
using test::keys_dir;

Reason reason_of(const Status& s) { return s ? Reason::IoError : s.error().reason; }

TEST(TrustStore, LoadsRootAndOcaFromAFolder) {
  auto t = test::example_trust();
  ASSERT_TRUE(t);
  EXPECT_EQ(t->root_count(), 1u);
  EXPECT_EQ(t->ca_count(), 1u);
  EXPECT_EQ(t->crl_count(), 1u);
}

TEST(TrustStore, GoodChain) {
  auto t = test::example_trust();
  for (const char* name : {"supplier-ds", "supplier-ka", "supplier2-ds", "network-operator-ds", "supplier-zero-ds"}) {
    auto st = t->verify(*example_cert(name), example_time());
    EXPECT_TRUE(st) << name << ": " << (st ? "" : st.error().message);
  }
}

TEST(TrustStore, ImpostorOcaWithTheSameNameIsUntrusted) {
  auto t = test::example_trust();
  auto st = t->verify(*example_cert("bad-rogue-oca-ds"), example_time());
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().reason, Reason::UntrustedChain);
  // Even when the signature carries the impostor OCA along.
  auto rogue_oca = OrgCert::load(keys_dir() / "rogue/oca.pem");
  ASSERT_TRUE(rogue_oca);
  auto with = t->verify(*example_cert("bad-rogue-oca-ds"), example_time(), {*rogue_oca});
  ASSERT_FALSE(with);
  EXPECT_EQ(with.error().reason, Reason::UntrustedChain) << with.error().message;
}

TEST(TrustStore, ExpiredAndNotYetValid) {
  auto t = test::example_trust();
  auto expired = t->verify(*example_cert("bad-expired-ds"), example_time());
  EXPECT_EQ(reason_of(expired), Reason::CertExpired);
  EXPECT_NE(expired.error().message.find("2022-01-01T00:00:00Z"), std::string::npos) << expired.error().message;
  EXPECT_EQ(reason_of(t->verify(*example_cert("bad-not-yet-valid-ds"), example_time())), Reason::CertNotYetValid);
}

TEST(TrustStore, ValidationAtAChosenTime) {
  auto t = test::example_trust();
  EXPECT_TRUE(t->verify(*example_cert("bad-expired-ds"), *parse_iso8601("2021-01-01T00:00:00Z")));
  EXPECT_TRUE(t->verify(*example_cert("bad-not-yet-valid-ds"), *parse_iso8601("2041-01-01T00:00:00Z")));
  EXPECT_EQ(reason_of(t->verify(*example_cert("supplier-ds"), *parse_iso8601("2024-06-01T00:00:00Z"))),
            Reason::CertNotYetValid);
  // After the OCA itself has expired, nothing it issued verifies.
  auto late = t->verify(*example_cert("supplier-ds"), *parse_iso8601("2050-06-01T00:00:00Z"));
  EXPECT_EQ(reason_of(late), Reason::CertExpired);
}

TEST(TrustStore, RevokedOnTheCrl) {
  auto t = test::example_trust(true);
  auto st = t->verify(*example_cert("supplier-revoked-ds"), example_time());
  EXPECT_EQ(reason_of(st), Reason::CertRevoked);
  EXPECT_NE(st.error().message.find("2025-06-01"), std::string::npos) << st.error().message;
  // Before the revocation date it was not yet revoked.
  EXPECT_TRUE(t->verify(*example_cert("supplier-revoked-ds"), *parse_iso8601("2025-05-01T00:00:00Z")));
  // Without the CRL nothing says it is revoked.
  EXPECT_TRUE(test::example_trust(false)->verify(*example_cert("supplier-revoked-ds"), example_time()));
}

TEST(TrustStore, CrlFromAnUntrustedIssuerIsRefused) {
  auto t = TrustStore::load({keys_dir() / "rogue/root.pem", keys_dir() / "rogue/oca.pem"}, Profile::defaults());
  ASSERT_TRUE(t);
  auto st = (*t)->add_crls({keys_dir() / "crl/oca.crl"});
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().reason, Reason::InvalidInput);
  EXPECT_NE(st.error().message.find("not signed by any root or CA"), std::string::npos);
}

TEST(TrustStore, OcaOnlyIsNotEnough) {
  auto t = TrustStore::load({keys_dir() / "trust/oca.pem"}, Profile::defaults());
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().reason, Reason::IoError);
  EXPECT_NE(t.error().message.find("no self-signed root"), std::string::npos);
}

TEST(TrustStore, RootOnlyAcceptsAnOcaCarriedAlong) {
  auto t = TrustStore::load({keys_dir() / "trust/root.pem"}, Profile::defaults());
  ASSERT_TRUE(t);
  auto cert = example_cert("supplier-ds");
  EXPECT_EQ(reason_of((*t)->verify(*cert, example_time())), Reason::UntrustedChain);
  auto oca = OrgCert::load(keys_dir() / "trust/oca.pem");
  EXPECT_TRUE((*t)->verify(*cert, example_time(), {*oca}));
}

TEST(TrustStore, AnOrganisationCertificateIsNeverAnIssuer) {
  // A leaf in the trust list, and a chain a leaf pretends to issue, are both ignored.
  auto t = TrustStore::load({keys_dir() / "trust", test::example_cert_path("supplier-ds")}, Profile::defaults());
  ASSERT_TRUE(t);
  EXPECT_EQ((*t)->ca_count(), 1u);
}

TEST(TrustStore, IssuerMustCarryTheIssuingAuthorityRole) {
  Profile p;
  p.issuer_role = 0x05;
  auto t = TrustStore::load({keys_dir() / "trust"}, p);
  ASSERT_TRUE(t);
  auto st = (*t)->verify(*example_cert("supplier-ds"), example_time());
  EXPECT_EQ(reason_of(st), Reason::UntrustedChain);
  EXPECT_NE(st.error().message.find("issuing-authority role"), std::string::npos) << st.error().message;
  p.issuer_role.reset();
  auto any = TrustStore::load({keys_dir() / "trust"}, p);
  EXPECT_TRUE((*any)->verify(*example_cert("supplier-ds"), example_time()));
}

TEST(TrustStore, UnreadableTrustIsAnIoError) {
  auto t = TrustStore::load({"/nonexistent/root.pem"}, Profile::defaults());
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().reason, Reason::IoError);
  test::TempDir dir;
  test::write_file(dir / "junk.pem", "not a certificate");
  auto junk = TrustStore::load({dir / "junk.pem"}, Profile::defaults());
  ASSERT_FALSE(junk);
  EXPECT_NE(junk.error().message.find("junk.pem"), std::string::npos);
}

TEST(TrustStore, ConcurrentVerificationsAgree) {
  auto t = test::example_trust();
  auto good = example_cert("supplier-ds");
  auto expired = example_cert("bad-expired-ds");
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      for (int n = 0; n < 200; ++n) {
        if (!t->verify(*good, example_time())) ++wrong;
        if (t->verify(*expired, example_time())) ++wrong;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
}

// Issue 8, H1: a damaged block in a CRL bundle once ended the reading quietly, so a CRL after it was
// never loaded and the certificate it revokes verified.
TEST(TrustStore, DamagedBlockInACrlBundleIsAnErrorNotTheEnd) {
  test::TempDir dir;
  const std::time_t t0 = example_time() - 86400;
  const std::string a = test::example_crl_pem("oca", {}, t0, t0 + 30 * 86400, t0);
  const std::string b = test::example_crl_pem("oca", {"supplier-ds"}, t0, t0 + 30 * 86400, t0);
  std::string damaged = a;
  damaged[damaged.find("\n", 30) + 5] = '*';  // a byte that is not base64
  test::write_file(dir / "bundle.pem", a + damaged + b);
  auto t = test::example_trust(false);
  auto st = t->add_crls({dir / "bundle.pem"});
  ASSERT_FALSE(st) << "a damaged block must not end the reading quietly";
  EXPECT_NE(st.error().message.find("bundle.pem: line"), std::string::npos) << st.error().message;
  EXPECT_NE(st.error().message.find("PEM block 2 is damaged"), std::string::npos) << st.error().message;

  // Undamaged, the same bundle loads both CRLs and B revokes.
  test::write_file(dir / "good.pem", a + b);
  auto good = test::example_trust(false);
  ASSERT_TRUE(good->add_crls({dir / "good.pem"}));
  EXPECT_EQ(good->crl_count(), 2u);
  EXPECT_EQ(reason_of(good->verify(*example_cert("supplier-ds"), example_time())), Reason::CertRevoked);
}

TEST(TrustStore, TruncatedOrPaddedCrlsAreErrors) {
  test::TempDir dir;
  const std::time_t t0 = example_time() - 86400;
  const std::string pem = test::example_crl_pem("oca", {"supplier-ds"}, t0, t0 + 30 * 86400, t0);
  const std::string der = (*read_pem_blocks(pem, "crl"))[0].der;
  struct Case {
    std::string name, bytes, says;
  };
  std::vector<Case> cases{
      {"no-end.pem", pem.substr(0, pem.find("-----END")), "has no END line"},
      {"garbage-after.pem", pem + std::string("\x01\x02\x03\x00", 4), "neither a PEM block nor text"},
      {"begin-inside.pem", pem.substr(0, 40) + "\n" + pem, "has no END line"},
  };
  cases.push_back({"padded.der", der + "xx", "bytes follow the CRL"});
  for (const auto& c : cases) {
    test::write_file(dir / c.name, c.bytes);
    auto st = test::example_trust(false)->add_crls({dir / c.name});
    ASSERT_FALSE(st) << c.name;
    EXPECT_NE(st.error().message.find(c.says), std::string::npos) << c.name << ": " << st.error().message;
  }
  // Explanatory text around blocks, as `openssl crl -text` writes, is fine.
  test::write_file(dir / "text.pem",
                   "Certificate Revocation List (CRL):\n  Issuer: example\n" + pem + "trailing words\n");
  EXPECT_TRUE(test::example_trust(false)->add_crls({dir / "text.pem"}));
}

TEST(TrustStore, DamagedCertificateInATrustBundleIsAnError) {
  test::TempDir dir;
  const std::string root = test::read_file(keys_dir() / "trust/root.pem");
  std::string oca = test::read_file(keys_dir() / "trust/oca.pem");
  oca[oca.find("\n", 30) + 3] = '!';
  test::write_file(dir / "bundle.pem", root + oca);
  auto t = TrustStore::load({dir / "bundle.pem"}, Profile::defaults());
  ASSERT_FALSE(t);
  EXPECT_NE(t.error().message.find("PEM block 2 is damaged"), std::string::npos) << t.error().message;
}

// Issue 8, M5: a self-signed leaf given as a trust anchor was told "another CA with the same name did",
// although that very certificate signed it.
TEST(TrustStore, SelfSignedLeafAsAnchorIsNamedNotACa) {
  auto key = generate_key(KeyType::P256);
  ASSERT_TRUE(key);
  CertSpec spec;
  spec.common_name = "Self-signed supplier";
  spec.ou = "02";
  spec.eui64 = *Eui64::parse("70-B3-D5-1F-30-00-A0-08");
  spec.not_before = example_time() - 86400;
  spec.not_after = example_time() + 86400;
  spec.policy_oid = std::string(kTestPolicyOid);
  auto leaf = issue_certificate(spec, key->get(), nullptr, key->get());
  ASSERT_TRUE(leaf);
  test::TempDir dir;
  test::write_file(dir / "leaf.pem", *certificate_pem(leaf->get()));
  auto with_root = TrustStore::load({keys_dir() / "trust", dir / "leaf.pem"}, Profile::defaults());
  ASSERT_TRUE(with_root);
  auto cert = OrgCert::load(dir / "leaf.pem");
  auto st = (*with_root)->verify(**cert, example_time());
  EXPECT_EQ(reason_of(st), Reason::UntrustedChain);
  EXPECT_NE(st.error().message.find("was given as a trust anchor, but it is not a CA"), std::string::npos)
      << st.error().message;
  EXPECT_EQ(st.error().message.find("another CA"), std::string::npos) << st.error().message;
  auto alone = TrustStore::load({dir / "leaf.pem"}, Profile::defaults());
  ASSERT_FALSE(alone);
  EXPECT_NE(alone.error().message.find("not CAs, so they anchor nothing"), std::string::npos) << alone.error().message;
}

// Issue 8, revocation: required on demand, stale CRLs named, the OCA checked against the root's CRL.
class Revocation : public ::testing::Test {
 protected:
  std::shared_ptr<TrustStore> trust(const Profile& p, const std::vector<std::string>& crl_pems) {
    auto t = TrustStore::load({keys_dir() / "trust"}, p);
    EXPECT_TRUE(t);
    std::vector<std::filesystem::path> files;
    for (std::size_t i = 0; i < crl_pems.size(); ++i) {
      files.push_back(dir_ / ("crl" + std::to_string(i) + ".pem"));
      test::write_file(files.back(), crl_pems[i]);
    }
    if (!files.empty()) {
      EXPECT_TRUE((*t)->add_crls(files));
    }
    return *t;
  }
  static Profile required(std::time_t grace = 0) {
    Profile p;
    p.require_crl = true;
    p.crl_grace = grace;
    return p;
  }
  const std::time_t now_ = example_time();
  const std::string current_ = test::example_crl_pem("oca", {}, now_ - 86400, now_ + 86400, now_);
  const std::string stale_ = test::example_crl_pem("oca", {}, now_ - 10 * 86400, now_ - 3600, now_);
  test::TempDir dir_;
};

TEST_F(Revocation, NotRequiredAndNoCrlSaysSo) {
  RevocationStatus rev;
  EXPECT_TRUE(trust(Profile::defaults(), {})->verify(*example_cert("supplier-ds"), now_, {}, &rev));
  EXPECT_FALSE(rev.checked);
  EXPECT_NE(rev.issuer.find("OU=07"), std::string::npos) << rev.issuer;
}

TEST_F(Revocation, RequiredWithoutCrlIsUnknown) {
  RevocationStatus rev;
  auto st = trust(required(), {})->verify(*example_cert("supplier-ds"), now_, {}, &rev);
  EXPECT_EQ(reason_of(st), Reason::RevocationUnknown);
  EXPECT_NE(st.error().message.find("give its current CRL with --crl"), std::string::npos) << st.error().message;
}

TEST_F(Revocation, RequiredWithCurrentCrlPassesAndReportsIt) {
  RevocationStatus rev;
  EXPECT_TRUE(trust(required(), {current_})->verify(*example_cert("supplier-ds"), now_, {}, &rev));
  EXPECT_TRUE(rev.checked);
  EXPECT_FALSE(rev.stale);
  EXPECT_EQ(rev.this_update, now_ - 86400);
  EXPECT_EQ(rev.next_update, now_ + 86400);
  EXPECT_NE(rev.crl.find("crl0.pem"), std::string::npos);
  EXPECT_EQ(rev.issuer_checked, std::optional<bool>(false)) << "no root CRL was given";
}

TEST_F(Revocation, StaleCrlAtAndPastTheGrace) {
  // nextUpdate was an hour ago: stale with no grace, current with one of exactly an hour, stale past it.
  EXPECT_EQ(reason_of(trust(required(), {stale_})->verify(*example_cert("supplier-ds"), now_)),
            Reason::RevocationStale);
  EXPECT_TRUE(trust(required(3600), {stale_})->verify(*example_cert("supplier-ds"), now_));
  auto st = trust(required(3599), {stale_})->verify(*example_cert("supplier-ds"), now_);
  EXPECT_EQ(reason_of(st), Reason::RevocationStale);
  EXPECT_NE(st.error().message.find("even with a grace of 3599s"), std::string::npos) << st.error().message;
}

TEST_F(Revocation, StaleCrlNotRequiredStillAppliesWithANote) {
  const std::string stale_revoking =
      test::example_crl_pem("oca", {"supplier-ds"}, now_ - 10 * 86400, now_ - 3600, now_ - 5 * 86400);
  RevocationStatus rev;
  EXPECT_EQ(
      reason_of(trust(Profile::defaults(), {stale_revoking})->verify(*example_cert("supplier-ds"), now_, {}, &rev)),
      Reason::CertRevoked);
  rev = {};
  EXPECT_TRUE(trust(Profile::defaults(), {stale_})->verify(*example_cert("supplier-ds"), now_, {}, &rev));
  EXPECT_TRUE(rev.stale);
  ASSERT_EQ(rev.notes.size(), 1u);
  EXPECT_NE(rev.notes[0].find("applied anyway"), std::string::npos) << rev.notes[0];
}

TEST_F(Revocation, NewestCrlDecidesFreshness) {
  RevocationStatus rev;
  EXPECT_TRUE(trust(required(), {stale_, current_})->verify(*example_cert("supplier-ds"), now_, {}, &rev));
  EXPECT_FALSE(rev.stale);
  EXPECT_EQ(rev.this_update, now_ - 86400);
}

TEST_F(Revocation, RootCrlRevokingTheOcaRevokesEverythingItIssued) {
  const std::string arl = test::example_crl_pem("root", {"oca"}, now_ - 86400, now_ + 86400, now_ - 3600);
  auto t = trust(Profile::defaults(), {arl, current_});
  for (const char* name : {"supplier-ds", "network-operator-ds"}) {
    auto st = t->verify(*example_cert(name), now_);
    EXPECT_EQ(reason_of(st), Reason::CertRevoked) << name;
    EXPECT_NE(st.error().message.find("the issuing CA is revoked"), std::string::npos) << st.error().message;
  }
  // Before the OCA's revocation date its certificates verify, and the OCA was checked.
  RevocationStatus rev;
  EXPECT_TRUE(t->verify(*example_cert("supplier-ds"), now_ - 7200, {}, &rev));
  EXPECT_EQ(rev.issuer_checked, std::optional<bool>(true));
}

}  // namespace
}  // namespace mamsign
