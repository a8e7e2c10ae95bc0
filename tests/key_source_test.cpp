#include "mamsign/keys/key_source.h"

#include "support/test_support.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

#include <cstdlib>

namespace mamsign {
namespace {

using test::keys_dir;

bool same_key(EVP_PKEY* key, const std::string& cert_name) {
  return EVP_PKEY_eq(key, X509_get0_pubkey(test::example_cert(cert_name)->x509())) == 1;
}

TEST(KeySource, PlainPemWithExampleHeader) {
  // The example keys start with a line of text before the PEM block.
  ASSERT_EQ(test::read_file(test::example_key("supplier-ds")).rfind("# EXAMPLE ONLY", 0), 0u);
  auto key = load_private_key(test::example_key("supplier-ds"), {});
  ASSERT_TRUE(key) << key.error().message;
  EXPECT_TRUE(same_key(key->get(), "supplier-ds"));
}

TEST(KeySource, EncryptedWithPassFile) {
  auto key = load_private_key(keys_dir() / "keys/supplier-ds.encrypted.key",
                              {PassphraseSource::Kind::File, (keys_dir() / "keys/supplier-ds.pass").string()});
  ASSERT_TRUE(key) << key.error().message;
  EXPECT_TRUE(same_key(key->get(), "supplier-ds"));
}

TEST(KeySource, EncryptedWithEnvironment) {
  ::setenv("MAMSIGN_TEST_PASS", "example-passphrase", 1);
  auto key = load_private_key(keys_dir() / "keys/supplier-ds.encrypted.key",
                              {PassphraseSource::Kind::Env, "MAMSIGN_TEST_PASS"});
  ::unsetenv("MAMSIGN_TEST_PASS");
  ASSERT_TRUE(key) << key.error().message;
  auto unset = load_private_key(keys_dir() / "keys/supplier-ds.encrypted.key",
                                {PassphraseSource::Kind::Env, "MAMSIGN_TEST_PASS"});
  ASSERT_FALSE(unset);
  EXPECT_NE(unset.error().message.find("MAMSIGN_TEST_PASS"), std::string::npos);
  EXPECT_NE(unset.error().message.find("not set"), std::string::npos);
}

TEST(KeySource, WrongPassphraseSaysSoAndNeverShowsIt) {
  test::TempDir dir;
  test::write_file(dir / "pass", "not-the-passphrase\n");
  auto key = load_private_key(keys_dir() / "keys/supplier-ds.encrypted.key",
                              {PassphraseSource::Kind::File, (dir / "pass").string()});
  ASSERT_FALSE(key);
  EXPECT_EQ(key.error().reason, Reason::InvalidInput);
  EXPECT_NE(key.error().message.find("passphrase is wrong"), std::string::npos) << key.error().message;
  EXPECT_EQ(key.error().message.find("not-the-passphrase"), std::string::npos);
}

TEST(KeySource, EncryptedWithoutAPassphraseSaysHowToGiveIt) {
  auto key = load_private_key(keys_dir() / "keys/supplier-ds.encrypted.key", {});
  ASSERT_FALSE(key);
  EXPECT_NE(key.error().message.find("--pass-file"), std::string::npos) << key.error().message;
}

TEST(KeySource, DerKey) {
  test::TempDir dir;
  auto r = test::run({"/usr/bin/openssl", "pkey", "-in", test::example_key("supplier-ds").string(), "-outform", "DER",
                      "-out", (dir / "k.der").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto key = load_private_key(dir / "k.der", {});
  ASSERT_TRUE(key) << key.error().message;
  EXPECT_TRUE(same_key(key->get(), "supplier-ds"));
}

TEST(KeySource, TraditionalEcKey) {
  test::TempDir dir;
  auto r = test::run(
      {"/usr/bin/openssl", "ec", "-in", test::example_key("supplier-ds").string(), "-out", (dir / "k.pem").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_NE(test::read_file(dir / "k.pem").find("BEGIN EC PRIVATE KEY"), std::string::npos);
  auto key = load_private_key(dir / "k.pem", {});
  ASSERT_TRUE(key) << key.error().message;
}

TEST(KeySource, NotAKey) {
  test::TempDir dir;
  test::write_file(dir / "junk", "this is not a key");
  auto junk = load_private_key(dir / "junk", {});
  ASSERT_FALSE(junk);
  EXPECT_EQ(junk.error().reason, Reason::InvalidInput);
  auto cert = load_private_key(test::example_cert_path("supplier-ds"), {});
  ASSERT_FALSE(cert);
  auto missing = load_private_key(dir / "missing.key", {});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().reason, Reason::IoError);
  test::write_file(dir / "huge", std::string(100 * 1024, 'A'));
  auto huge = load_private_key(dir / "huge", {});
  ASSERT_FALSE(huge);
  EXPECT_NE(huge.error().message.find("larger than 64 KiB"), std::string::npos);
}

TEST(KeySource, SecretStringWipes) {
  SecretString s(std::string("secret"));
  s.wipe();
  EXPECT_TRUE(s.value().empty());
  SecretString moved(std::string("abc"));
  SecretString to(std::move(moved));
  EXPECT_EQ(to.value(), "abc");
  EXPECT_TRUE(moved.value().empty());  // NOLINT(bugprone-use-after-move): the source is wiped on purpose
}

// Issue 8 (low): `--pass-file <(...)` was refused as "not a regular file". A pipe is fine for a secret.
TEST(KeySource, PassphraseFromAPipe) {
  test::TempDir dir;
  const auto fifo = dir / "pass";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  std::thread writer([&] {
    const int fd = ::open(fifo.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return;
    const std::string line = test::read_file(keys_dir() / "keys/supplier-ds.pass");
    [[maybe_unused]] auto n = ::write(fd, line.data(), line.size());
    ::close(fd);
  });
  // The reader opens first without blocking; the read then waits for the writer as a pipe should.
  auto key =
      load_private_key(keys_dir() / "keys/supplier-ds.encrypted.key", {PassphraseSource::Kind::File, fifo.string()});
  writer.join();
  EXPECT_TRUE(key) << key.error().message;
}

}  // namespace
}  // namespace mamsign
