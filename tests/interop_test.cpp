// Interoperability with the real peers: stock `openssl cms` and `openssl dgst` must verify what we sign,
// and what they sign must verify with us.
#include "mamsign/signer.h"
#include "mamsign/verifier.h"
#include "support/test_support.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace mamsign {
namespace {

const std::string kOpenssl = "/usr/bin/openssl";

class Interop : public ::testing::Test {
 protected:
  void SetUp() override {
    file_ = dir_ / test::kMaName;
    test::write_file(file_, test::example_ma_content());
    test::write_file(dir_ / "root-and-oca.pem", test::read_file(test::keys_dir() / "trust/root.pem") +
                                                    test::read_file(test::keys_dir() / "trust/oca.pem"));
  }

  Signer signer(const std::vector<OrgCertPtr>& chain = {}) {
    auto s = Signer::create(test::example_private_key("supplier-ds"), test::example_cert("supplier-ds"), chain,
                            Profile::defaults(), test::example_time());
    EXPECT_TRUE(s);
    return std::move(*s);
  }

  VerifyResult ours(VerifyOptions o = {}) {
    o.at = test::example_time();
    return Verifier(test::example_trust(), Profile::defaults(), o).verify(file_);
  }

  test::ProcessResult openssl_cms_verify() {
    return test::run({kOpenssl, "cms", "-verify", "-binary", "-inform", "DER", "-in", file_.string() + ".p7s",
                      "-content", file_.string(), "-CAfile", (dir_ / "root-and-oca.pem").string(), "-purpose", "any",
                      "-out", "/dev/null"});
  }

  test::ProcessResult openssl_cms_sign(std::vector<std::string> extra, const std::string& cert = "supplier-ds") {
    std::vector<std::string> argv{kOpenssl,   "cms",
                                  "-sign",    "-binary",
                                  "-outform", "DER",
                                  "-in",      file_.string(),
                                  "-signer",  test::example_cert_path(cert).string(),
                                  "-inkey",   test::example_key(cert).string(),
                                  "-out",     file_.string() + ".p7s"};
    if (std::find(extra.begin(), extra.end(), "-md") == extra.end()) extra.insert(extra.begin(), {"-md", "sha256"});
    argv.insert(argv.end(), extra.begin(), extra.end());
    return test::run(argv);
  }

  test::TempDir dir_;
  std::filesystem::path file_;
};

TEST_F(Interop, OpensslCmsVerifiesOurSignature) {
  ASSERT_TRUE(signer().sign_file(file_, {}));
  auto r = openssl_cms_verify();
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("Verification successful"), std::string::npos) << r.err;
  // And it is really checking: a changed byte fails there too.
  test::write_file(file_, test::example_ma_content() + " ");
  EXPECT_NE(openssl_cms_verify().exit_code, 0);
}

TEST_F(Interop, OpensslCmsVerifiesOurSignatureWithEmbeddedOca) {
  ASSERT_TRUE(signer({*OrgCert::load(test::keys_dir() / "trust/oca.pem")}).sign_file(file_, {}));
  test::write_file(dir_ / "root-and-oca.pem", test::read_file(test::keys_dir() / "trust/root.pem"));  // root only
  auto r = openssl_cms_verify();
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST_F(Interop, OpensslDgstVerifiesOurRawSignature) {
  SignOptions o;
  o.format = SignatureFormat::Raw;
  ASSERT_TRUE(signer().sign_file(file_, o));
  auto pub = test::run({kOpenssl, "x509", "-pubkey", "-noout", "-in", test::example_cert_path("supplier-ds").string()});
  ASSERT_EQ(pub.exit_code, 0);
  test::write_file(dir_ / "pub.pem", pub.out);
  auto r = test::run({kOpenssl, "dgst", "-sha256", "-verify", (dir_ / "pub.pem").string(), "-signature",
                      file_.string() + ".sig", file_.string()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "Verified OK\n");
}

TEST_F(Interop, WeVerifyOpensslCmsWithSignedAttributes) {
  auto s = openssl_cms_sign({});
  ASSERT_EQ(s.exit_code, 0) << s.err;
  auto r = ours();
  ASSERT_TRUE(r.valid()) << r.error->message;
  EXPECT_TRUE(r.signing_time);
  EXPECT_FALSE(r.bound_name);
  ASSERT_EQ(r.notes.size(), 1u);
  EXPECT_NE(r.notes[0].find("does not bind the file name"), std::string::npos);
}

TEST_F(Interop, WeVerifyOpensslCmsWithoutSignedAttributes) {
  auto s = openssl_cms_sign({"-noattr"});
  ASSERT_EQ(s.exit_code, 0) << s.err;
  auto r = ours();
  ASSERT_TRUE(r.valid()) << r.error->message;
  EXPECT_FALSE(r.signing_time);
  // Tampered: without signed attributes the signature is over the content itself.
  test::write_file(file_, test::example_ma_content() + "x");
  EXPECT_EQ(ours().error->reason, Reason::BadSignature);
  std::string lf = test::example_ma_content();
  for (std::size_t p; (p = lf.find("\r\n")) != std::string::npos;) lf.erase(p, 1);
  test::write_file(file_, lf);
  auto crlf = ours();
  ASSERT_FALSE(crlf.valid());
  EXPECT_EQ(crlf.error->reason, Reason::ContentModified);
  EXPECT_EQ(crlf.diagnosis, std::optional<std::string>("line endings were changed from CRLF to LF after signing"));
}

TEST_F(Interop, WeVerifyOpensslCmsWithTheOcaEmbeddedAndKeyIdentifiers) {
  auto s = openssl_cms_sign({"-certfile", (test::keys_dir() / "trust/oca.pem").string(), "-keyid", "-cades"});
  ASSERT_EQ(s.exit_code, 0) << s.err;
  auto r = ours();
  EXPECT_TRUE(r.valid()) << r.error->message;
}

TEST_F(Interop, Sha1IsUnsupported) {
  auto s = openssl_cms_sign({"-md", "sha1"});
  ASSERT_EQ(s.exit_code, 0) << s.err;
  auto r = ours();
  ASSERT_FALSE(r.valid());
  EXPECT_EQ(r.error->reason, Reason::UnsupportedAlgorithm);
  EXPECT_NE(r.error->message.find("sha1"), std::string::npos) << r.error->message;
}

TEST_F(Interop, RsaSignerIsUnsupported) {
  auto s = openssl_cms_sign({}, "bad-rsa-ds");
  ASSERT_EQ(s.exit_code, 0) << s.err;
  auto r = ours();
  ASSERT_FALSE(r.valid());
  EXPECT_EQ(r.error->reason, Reason::UnsupportedAlgorithm) << r.error->message;
}

TEST_F(Interop, NetworkOperatorSignatureThatOpensslAcceptsIsRefused) {
  // The reason this tool exists: openssl checks the cryptography, not the profile.
  auto s = openssl_cms_sign({}, "network-operator-ds");
  ASSERT_EQ(s.exit_code, 0) << s.err;
  EXPECT_EQ(openssl_cms_verify().exit_code, 0);
  auto r = ours();
  ASSERT_FALSE(r.valid());
  EXPECT_EQ(r.error->reason, Reason::WrongRole);
}

TEST_F(Interop, WeVerifyOpensslDgstSignatures) {
  auto s = test::run({kOpenssl, "dgst", "-sha256", "-sign", test::example_key("supplier-ds").string(), "-out",
                      file_.string() + ".sig", file_.string()});
  ASSERT_EQ(s.exit_code, 0) << s.err;
  VerifyOptions o;
  o.cert = test::example_cert("supplier-ds");
  auto r = ours(o);
  EXPECT_TRUE(r.valid()) << r.error->message;
  VerifyOptions store;
  store.store = *CertStore::load({test::keys_dir() / "store"});
  EXPECT_TRUE(ours(store).valid());
}

}  // namespace
}  // namespace mamsign
