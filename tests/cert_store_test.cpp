#include "mamsign/pki/cert_store.h"

#include "mamsign/smki/certificate_id.h"
#include "support/test_support.h"

#include <gtest/gtest.h>

#include <random>

namespace mamsign {
namespace {

TEST(CertStore, LoadsKeysExample) {
  auto store = CertStore::load({test::keys_dir() / "store"});
  ASSERT_TRUE(store) << store.error().message;
  EXPECT_EQ((*store)->size(), test::list_dir(test::keys_dir() / "store").size());
  EXPECT_TRUE((*store)->problems().empty());
  auto supplier = test::example_cert("supplier-ds");
  const auto& found = (*store)->by_serial(supplier->serial());
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0]->fingerprint(), supplier->fingerprint());
  EXPECT_TRUE((*store)->by_serial("00000000000000000000000000000001").empty());
}

TEST(CertStore, ByEuiAndByParty) {
  auto store = *CertStore::load({test::keys_dir() / "store"});
  const auto eui = *Eui64::parse("70-B3-D5-1F-30-00-A0-08");
  // supplier-ds, supplier-ka, the revoked, expired, not-yet-valid and rogue copies share this User ID.
  EXPECT_EQ(store->by_eui(eui).size(), 6u);
  const auto party = store->by_party(eui, kDefaultPartyOctets);
  EXPECT_GT(party.size(), store->by_eui(eui).size());
  for (std::size_t i = 0; i < store->by_eui(eui).size(); ++i) EXPECT_EQ(*party[i]->eui64(), eui);  // exact ones first
  for (const auto& c : party) EXPECT_TRUE(c->eui64()->same_party(eui));
}

TEST(CertStore, JunkIsReportedAndSkipped) {
  test::TempDir dir;
  std::filesystem::create_directories(dir / "sub/deeper");
  std::filesystem::copy_file(test::example_cert_path("supplier-ds"), dir / "sub/deeper/a.pem");
  std::filesystem::copy_file(test::example_cert_path("supplier-ds"), dir / "sub/duplicate.crt");
  test::write_file(dir / "README.txt", "not a certificate");
  test::write_file(dir / "bundle.pem", test::read_file(test::example_cert_path("network-operator-ds")) +
                                           test::read_file(test::example_cert_path("network-operator-ka")));
  std::filesystem::create_directories(dir / ".hidden");
  test::write_file(dir / ".hidden/x.pem", "junk that must not even be looked at");
  auto r = test::run({"/usr/bin/openssl", "x509", "-in", test::example_cert_path("supplier2-ds").string(), "-outform",
                      "DER", "-out", (dir / "der.cer").string()});
  ASSERT_EQ(r.exit_code, 0);
  auto store = CertStore::load({dir.path()});
  ASSERT_TRUE(store) << store.error().message;
  EXPECT_EQ((*store)->size(), 4u);  // supplier-ds once, two from the bundle, one DER
  EXPECT_EQ((*store)->duplicates(), 1u);
  ASSERT_EQ((*store)->problems().size(), 1u);
  EXPECT_EQ((*store)->problems()[0].file.filename(), "README.txt");
}

// Files are read and indexed on several threads, then added in order: the same store, the same
// duplicate count and problems, the same order of certificates sharing a User ID, whatever the number.
TEST(CertStore, LoadedOnSeveralThreadsTheStoreIsTheSame) {
  test::TempDir dir;
  std::filesystem::copy(test::keys_dir() / "store", dir / "a");
  std::filesystem::copy(test::keys_dir() / "store", dir / "b");  // every certificate twice
  test::write_file(dir / "junk.pem", "not a certificate");
  const auto eui = *Eui64::parse("70-B3-D5-1F-30-00-A0-08");
  auto one = CertStore::load({dir.path()}, 1);
  ASSERT_TRUE(one) << one.error().message;
  for (const unsigned threads : {2u, 3u, 16u}) {
    auto many = CertStore::load({dir.path()}, threads);
    ASSERT_TRUE(many) << many.error().message;
    EXPECT_EQ((*many)->size(), (*one)->size());
    EXPECT_EQ((*many)->duplicates(), (*one)->duplicates());
    EXPECT_EQ((*many)->duplicates(), (*one)->size());
    ASSERT_EQ((*many)->problems().size(), 1u);
    EXPECT_EQ((*many)->problems()[0].file, (*one)->problems()[0].file);
    const auto a = (*one)->by_eui(eui);
    const auto b = (*many)->by_eui(eui);
    ASSERT_EQ(a.size(), b.size());
    for (std::size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i]->fingerprint(), b[i]->fingerprint());
  }
}

TEST(CertStore, MissingFolderIsIoError) {
  auto store = CertStore::load({"/nonexistent/store"});
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().reason, Reason::IoError);
}

TEST(CertStore, FindsByIssuerAndSerial) {
  auto store = *CertStore::load({test::keys_dir() / "store"});
  auto c = test::example_cert("network-operator2-ka");
  auto found = store->find(X509_get_issuer_name(c->x509()), X509_get0_serialNumber(c->x509()));
  ASSERT_TRUE(found);
  EXPECT_EQ(found->fingerprint(), c->fingerprint());
}

}  // namespace
}  // namespace mamsign

namespace mamsign {
namespace {

TEST(CertStore, BuildsOnlyTheCertificatesLookedUp) {
  auto store = *CertStore::load({test::keys_dir() / "store"});
  EXPECT_EQ(store->materialized(), 0u) << "loading indexes without building certificates";
  auto found = store->by_serial(test::example_cert("network-operator-ds")->serial());
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(store->materialized(), 1u);
  EXPECT_EQ(store->by_serial(found[0]->serial())[0].get(), found[0].get()) << "built once, then shared";
  EXPECT_EQ(store->materialized(), 1u);
}

}  // namespace
}  // namespace mamsign

namespace mamsign {
namespace {

TEST(CertStore, MutatedFilesAreReportedNotFatal) {
  test::TempDir dir;
  std::string der;
  {
    auto r = test::run(
        {"/usr/bin/openssl", "x509", "-in", test::example_cert_path("supplier-ds").string(), "-outform", "DER"});
    ASSERT_EQ(r.exit_code, 0);
    der = r.out;
  }
  std::mt19937 rng(9);
  for (int i = 0; i < 200; ++i) {
    std::string bad = der;
    bad[rng() % bad.size()] = static_cast<char>(rng());
    test::write_file(dir / ("c" + std::to_string(i) + ".der"), bad);
  }
  auto store = CertStore::load({dir.path()});
  ASSERT_TRUE(store);
  EXPECT_EQ((*store)->size() + (*store)->duplicates() + (*store)->problems().size(), 200u);
  const auto built = (*store)->all();
  EXPECT_EQ(built.size(), (*store)->size()) << "every certificate the index took also parses in full";
  for (const auto& c : built) (void)c->check_profile(Profile::defaults());
}

}  // namespace
}  // namespace mamsign
