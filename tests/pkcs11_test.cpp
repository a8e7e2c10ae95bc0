// Keys on a real PKCS#11 token: a fresh SoftHSM2 token per run of this suite, in a temporary folder,
// keys imported and generated on it; mam-sign run as a process, its signatures checked by mam-verify and
// by stock `openssl cms -verify`. pkcs11-spy (OpenSC) records the calls the module sees, to show that a
// wrong PIN is tried exactly once.
#include "mamsign/pki/cert_builder.h"
#include "mamsign/keys/key_source.h"
#include "mamsign/keys/pkcs11_token.h"
#include "mamsign/keys/pkcs11_uri.h"
#include "mamsign/smki/profile.h"

#include "support/test_support.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <openssl/pkcs12.h>

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>

namespace mamsign {
namespace {

using test::app;
using test::keys_dir;

const std::string kSoftHsm = "/usr/lib/softhsm/libsofthsm2.so";
const std::string kSpy = "/usr/lib/x86_64-linux-gnu/pkcs11/pkcs11-spy.so";
const std::string kPin = "246810";
const std::string kKeyUri = "pkcs11:token=mamsign-test;object=supplier-ds;type=private";

void must_run(const std::vector<std::string>& argv) {
  auto r = test::run(argv);
  ASSERT_EQ(r.exit_code, 0) << argv[0] << " " << (argv.size() > 1 ? argv[1] : "") << ": " << r.err << r.out;
}

// Runs `argv` with pkcs11-spy between it and SoftHSM2, the calls logged to `log`. OpenSC's spy leaks a
// few allocations of its own at C_Finalize; under the sanitizer build its leaks (not mamsign's: every
// other test here runs SoftHSM2 directly with leak checking on) are not counted.
test::ProcessResult run_with_spy(const std::vector<std::string>& argv, const std::filesystem::path& log) {
  const char* asan = std::getenv("ASAN_OPTIONS");
  const std::string saved = asan ? asan : "";
  ::setenv("PKCS11SPY", kSoftHsm.c_str(), 1);
  ::setenv("PKCS11SPY_OUTPUT", log.string().c_str(), 1);
  ::setenv("ASAN_OPTIONS", (saved.empty() ? std::string("detect_leaks=0") : saved + ":detect_leaks=0").c_str(), 1);
  auto r = test::run(argv);
  ::unsetenv("PKCS11SPY");
  ::unsetenv("PKCS11SPY_OUTPUT");
  if (asan) {
    ::setenv("ASAN_OPTIONS", saved.c_str(), 1);
  } else {
    ::unsetenv("ASAN_OPTIONS");
  }
  return r;
}

class Token : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::TempDir();
    ASSERT_TRUE(std::filesystem::exists(kSoftHsm)) << "SoftHSM2 is not installed (scripts/install-deps.sh installs it)";
    std::filesystem::create_directories(*dir_ / "tokens");
    test::write_file(*dir_ / "softhsm2.conf", "directories.tokendir = " + (*dir_ / "tokens").string() +
                                                  "\nobjectstore.backend = file\nlog.level = ERROR\n");
    ::setenv("SOFTHSM2_CONF", (*dir_ / "softhsm2.conf").string().c_str(), 1);
    ::unsetenv("MAMSIGN_PKCS11_MODULE");
    // The PIN file ends in CRLF, as files written on Windows do: the line end is not part of the PIN.
    test::write_file(*dir_ / "pin", kPin + "\r\n");
    test::write_file(*dir_ / "wrong-pin", "135790\n");
    must_run({"/usr/bin/softhsm2-util", "--init-token", "--free", "--label", "mamsign-test", "--so-pin", "11223344",
              "--pin", kPin});
    must_run({"/usr/bin/softhsm2-util", "--init-token", "--free", "--label", "other", "--so-pin", "11223344", "--pin",
              kPin});
    // The example supplier key, imported with its certificate (id 01); an RSA and a P-384 key beside it.
    import_key("supplier-ds", "01", "supplier-ds");
    import_cert("supplier-ds", "01", "supplier-ds");
    import_key("bad-rsa-ds", "03", "rsa");
    import_key("bad-p384-ds", "04", "p384");
    // A key generated on the token (id 02): it never leaves it; its certificate is issued below.
    must_run({"/usr/bin/pkcs11-tool", "--module", kSoftHsm, "--token-label", "mamsign-test", "--login", "--pin", kPin,
              "--keypairgen", "--key-type", "EC:prime256v1", "--id", "02", "--label", "generated"});
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }

  static void import_key(const std::string& name, const std::string& id, const std::string& label) {
    const auto pk8 = *dir_ / (label + ".pk8");
    must_run({"/usr/bin/openssl", "pkcs8", "-topk8", "-nocrypt", "-in", test::example_key(name).string(), "-out",
              pk8.string()});
    must_run({"/usr/bin/softhsm2-util", "--import", pk8.string(), "--token", "mamsign-test", "--label", label, "--id",
              id, "--pin", kPin});
  }
  static void import_cert(const std::string& name, const std::string& id, const std::string& label) {
    const auto der = *dir_ / (label + ".der");
    must_run({"/usr/bin/openssl", "x509", "-in", test::example_cert_path(name).string(), "-outform", "DER", "-out",
              der.string()});
    must_run({"/usr/bin/pkcs11-tool", "--module", kSoftHsm, "--token-label", "mamsign-test", "--login", "--pin", kPin,
              "--write-object", der.string(), "--type", "cert", "--id", id, "--label", label});
  }

  void SetUp() override {
    std::filesystem::create_directories(work_.path());
    file_ = work_ / test::kMaName;
    test::write_file(file_, test::example_ma_content());
  }

  std::vector<std::string> sign_argv(std::vector<std::string> extra) const {
    std::vector<std::string> argv{app("mam-sign").string(), "--pkcs11-module", kSoftHsm, "--pin-file",
                                  (*dir_ / "pin").string()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return argv;
  }

  test::ProcessResult verify(const std::filesystem::path& file, std::vector<std::string> extra = {}) const {
    std::vector<std::string> argv{app("mam-verify").string(), "--trust", (keys_dir() / "trust").string()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.push_back(file.string());
    return test::run(argv);
  }

  test::ProcessResult openssl_verify(const std::filesystem::path& file) const {
    const auto anchors = work_ / "root-and-oca.pem";
    if (!std::filesystem::exists(anchors)) {
      test::write_file(anchors,
                       test::read_file(keys_dir() / "trust/root.pem") + test::read_file(keys_dir() / "trust/oca.pem"));
    }
    return test::run({"/usr/bin/openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", file.string() + ".p7s",
                      "-content", file.string(), "-CAfile", anchors.string(), "-purpose", "any", "-out", "/dev/null"});
  }

  static test::TempDir* dir_;
  test::TempDir work_;
  std::filesystem::path file_;
};

test::TempDir* Token::dir_ = nullptr;

TEST_F(Token, SignsWithTheKeyAndTheCertificateOnTheToken) {
  auto r = test::run(sign_argv({"--key", kKeyUri, "--trust", (keys_dir() / "trust").string(), file_.string()}));
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  EXPECT_NE(r.out.find("signed ->"), std::string::npos) << r.out;
  auto ours = verify(file_);
  EXPECT_EQ(ours.exit_code, 0) << ours.out << ours.err;
  EXPECT_NE(ours.out.find("OK [signer 70-B3-D5-1F-30-00-A0-08"), std::string::npos) << ours.out;
  auto theirs = openssl_verify(file_);
  EXPECT_EQ(theirs.exit_code, 0) << theirs.err;
}

TEST_F(Token, ABatchOf200OnFourJobsEveryOneVerified) {
  const auto batch = work_ / "batch";
  std::filesystem::create_directories(batch);
  for (int i = 0; i < 200; ++i)
    test::write_file(batch / ("file" + std::to_string(i) + ".txt"), "row " + std::to_string(i) + "\n");
  // The PIN from the environment this time.
  ::setenv("MAMSIGN_TEST_PIN", kPin.c_str(), 1);
  auto r = test::run({app("mam-sign").string(), "--pkcs11-module", kSoftHsm, "--pin-env", "MAMSIGN_TEST_PIN", "--key",
                      kKeyUri, "--no-name-check", "--jobs", "4", "--json", batch.string()});
  ::unsetenv("MAMSIGN_TEST_PIN");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::size_t lines = 0;
  for (std::size_t at = 0; (at = r.out.find("\"result\":\"signed\"", at)) != std::string::npos; ++at) ++lines;
  EXPECT_EQ(lines, 200u);
  auto ours = verify(batch, {"--no-name-check"});
  EXPECT_EQ(ours.exit_code, 0) << ours.err;
  EXPECT_NE(ours.err.find("200 OK"), std::string::npos) << ours.err;
  int openssl_ok = 0;
  for (int i = 0; i < 200; ++i)
    openssl_ok += openssl_verify(batch / ("file" + std::to_string(i) + ".txt")).exit_code == 0;
  EXPECT_EQ(openssl_ok, 200);
}

TEST_F(Token, AKeyGeneratedOnTheTokenSignsWithItsIssuedCertificate) {
  // The library opens the key (its public half from the token's public-key object) and the example OCA
  // issues it a supplier certificate, as the DCC would from a CSR.
  Pkcs11Options options{kSoftHsm, {PassphraseSource::Kind::File, (*dir_ / "pin").string()}};
  auto uri = parse_pkcs11_uri("pkcs11:token=mamsign-test;object=generated");
  ASSERT_TRUE(uri);
  auto key = open_token_key(*uri, options);
  ASSERT_TRUE(key) << key.error().message;
  EXPECT_TRUE(key->certificate.empty());
  EXPECT_NE(key->uri.find("id=%02"), std::string::npos) << key->uri;
  CertSpec spec;
  spec.common_name = "Token Supplier";
  spec.ou = "02";
  spec.eui64 = *Eui64::parse("70-B3-D5-1F-30-00-A0-08");
  spec.not_before = test::example_time() - 86400;
  spec.not_after = test::example_time() + 10 * 365 * 86400L;
  spec.policy_oid = std::string(kTestPolicyOid);
  auto oca_loaded = OrgCert::load(keys_dir() / "trust/oca.pem");
  ASSERT_TRUE(oca_loaded);
  auto oca = *oca_loaded;
  auto oca_key = load_private_key(keys_dir() / "ca/oca.key", {});
  ASSERT_TRUE(oca_key) << oca_key.error().message;
  auto cert = issue_certificate(spec, key->key.get(), const_cast<X509*>(oca->x509()), oca_key->get());
  ASSERT_TRUE(cert) << cert.error().message;
  test::write_file(work_ / "generated.pem", *certificate_pem(cert->get()));

  auto r = test::run(sign_argv({"--key", "pkcs11:token=mamsign-test;object=generated", "--cert",
                                (work_ / "generated.pem").string(), file_.string()}));
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  auto ours = verify(file_);
  EXPECT_EQ(ours.exit_code, 0) << ours.out << ours.err;
  EXPECT_EQ(openssl_verify(file_).exit_code, 0);

  // The same key with another key's certificate: said once, before any file, nothing written.
  std::filesystem::remove(file_.string() + ".p7s");
  auto mismatch = test::run(sign_argv({"--key", "pkcs11:token=mamsign-test;object=generated", "--cert",
                                       test::example_cert_path("supplier-ds").string(), file_.string()}));
  EXPECT_EQ(mismatch.exit_code, 3);
  EXPECT_NE(mismatch.err.find("KEY_MISMATCH"), std::string::npos) << mismatch.err;
  EXPECT_FALSE(std::filesystem::exists(file_.string() + ".p7s"));
}

// Issue 11's lifecycle with a key that never leaves the token: its CSR made by mam-csr on the token,
// checked, issued by the example CA, accepted against the token key, then used to sign.
TEST_F(Token, FromAKeyOnTheTokenToASignedFile) {
  const std::string uri = "pkcs11:token=mamsign-test;object=generated";
  const auto csr_file = work_ / "generated.csr";
  auto made = test::run({app("mam-csr").string(), "new", "--role", "supplier", "--eui", "70-B3-D5-1F-30-00-A0-08",
                         "--usage", "ds", "--cn", "Token Supplier", "--pkcs11-module", kSoftHsm, "--pin-file",
                         (*dir_ / "pin").string(), "--key", uri, "--out", csr_file.string()});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  auto checked = test::run({app("mam-csr").string(), "check", csr_file.string()});
  EXPECT_EQ(checked.exit_code, 0) << checked.out;
  EXPECT_EQ(test::run({"/usr/bin/openssl", "req", "-in", csr_file.string(), "-verify", "-noout"}).exit_code, 0);
  const auto cert = work_ / "generated-issued.pem";
  auto issued = test::run({app("mam-testpki").string(), "issue", "--csr", csr_file.string(), "--ca-cert",
                           (keys_dir() / "trust/oca.pem").string(), "--ca-key", (keys_dir() / "ca/oca.key").string(),
                           "--out", cert.string()});
  ASSERT_EQ(issued.exit_code, 0) << issued.err;
  auto accepted = test::run({app("mam-csr").string(), "accept", "--csr", csr_file.string(), "--cert", cert.string(),
                             "--trust", (keys_dir() / "trust").string(), "--pkcs11-module", kSoftHsm, "--pin-file",
                             (*dir_ / "pin").string(), "--key", uri});
  EXPECT_EQ(accepted.exit_code, 0) << accepted.out << accepted.err;
  EXPECT_EQ(accepted.out.rfind("ACCEPT: ", 0), 0u) << accepted.out;
  auto r = test::run(
      sign_argv({"--key", uri, "--cert", cert.string(), "--trust", (keys_dir() / "trust").string(), file_.string()}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(verify(file_).exit_code, 0);
  EXPECT_EQ(openssl_verify(file_).exit_code, 0);
}

TEST_F(Token, TheCertificateCanBeNamedByItsOwnUri) {
  auto r = test::run(sign_argv({"--key", "pkcs11:token=mamsign-test;id=%01", "--cert",
                                "pkcs11:token=mamsign-test;object=supplier-ds;type=cert", file_.string()}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(verify(file_).exit_code, 0);
}

TEST_F(Token, AWrongPinIsTriedOnceAndNothingIsWritten) {
  const auto log = work_ / "spy.log";
  auto r = run_with_spy({app("mam-sign").string(), "--pkcs11-module", kSpy, "--pin-file",
                         (*dir_ / "wrong-pin").string(), "--key", kKeyUri, file_.string()},
                        log);
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("is wrong (CKR_PIN_INCORRECT); it was tried once and will not be retried"), std::string::npos)
      << r.err;
  EXPECT_FALSE(std::filesystem::exists(file_.string() + ".p7s"));
  const std::string calls = test::read_file(log);
  std::size_t logins = 0;
  for (std::size_t at = 0; (at = calls.find("C_Login", at)) != std::string::npos; ++at) ++logins;
  EXPECT_EQ(logins, 1u) << "C_Login was called " << logins << " times";
  EXPECT_EQ(calls.find("C_Sign"), std::string::npos);
  // The right PIN still works: one wrong try did not lock the token.
  EXPECT_EQ(test::run(sign_argv({"--key", kKeyUri, file_.string()})).exit_code, 0);
}

TEST_F(Token, NoPinSourceIsAClearErrorNotAHang) {
  auto r = test::run({app("mam-sign").string(), "--pkcs11-module", kSoftHsm, "--key", kKeyUri, file_.string()});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("needs its user PIN: give its PIN with --pin-file FILE or --pin-env VAR"), std::string::npos)
      << r.err;
}

TEST_F(Token, MissingTokenListsTheTokensThere) {
  auto r = test::run(sign_argv({"--key", "pkcs11:token=nope;object=supplier-ds", file_.string()}));
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("no token in " + kSoftHsm + " matches token nope"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("token=mamsign-test"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("token=other"), std::string::npos) << r.err;
}

TEST_F(Token, TwoTokensMatchingIsNotAGuess) {
  auto r = test::run(sign_argv({"--key", "pkcs11:model=SoftHSM%20v2;object=supplier-ds", file_.string()}));
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("2 tokens match"), std::string::npos) << r.err;
}

TEST_F(Token, MissingKeyListsTheKeysThere) {
  auto r = test::run(sign_argv({"--key", "pkcs11:token=mamsign-test;object=nope", file_.string()}));
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("no private key on the token \"mamsign-test\""), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("object=supplier-ds;id=%01;type=private (EC P-256)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("object=rsa;id=%03;type=private (RSA 2048)"), std::string::npos) << r.err;
  auto several = test::run(sign_argv({"--key", "pkcs11:token=mamsign-test", file_.string()}));
  EXPECT_EQ(several.exit_code, 3);
  EXPECT_NE(several.err.find("private keys on the token \"mamsign-test\""), std::string::npos) << several.err;
  EXPECT_NE(several.err.find("name one with id= or object="), std::string::npos) << several.err;
}

TEST_F(Token, KeysThatAreNotP256AreRefused) {
  for (const auto& [object, type] : {std::pair<std::string, std::string>{"rsa", "RSA 2048"}, {"p384", "EC P-384"}}) {
    auto r = test::run(sign_argv({"--key", "pkcs11:token=mamsign-test;object=" + object, "--cert",
                                  test::example_cert_path("supplier-ds").string(), file_.string()}));
    EXPECT_EQ(r.exit_code, 3) << object;
    EXPECT_NE(r.err.find("is " + type + "; the profile requires EC P-256"), std::string::npos) << r.err;
  }
}

TEST_F(Token, PinValueInTheUriIsRefusedBeforeAnythingIsTouched) {
  auto r = test::run({app("mam-sign").string(), "--pkcs11-module", "/nonexistent.so", "--key",
                      "pkcs11:token=mamsign-test;object=supplier-ds?pin-value=" + kPin, file_.string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("carries pin-value"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--pin-file FILE, --pin-env VAR or at the terminal prompt"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find(kPin), std::string::npos) << "the PIN was echoed: " << r.err;
}

TEST_F(Token, ModuleProblemsSayWhatWasTried) {
  auto missing = test::run({app("mam-sign").string(), "--pkcs11-module", "/nonexistent/module.so", "--pin-file",
                            (*dir_ / "pin").string(), "--key", kKeyUri, file_.string()});
  EXPECT_EQ(missing.exit_code, 3);
  EXPECT_NE(missing.err.find("cannot load the PKCS#11 module /nonexistent/module.so (--pkcs11-module)"),
            std::string::npos)
      << missing.err;
  auto not_a_module = test::run({app("mam-sign").string(), "--pkcs11-module", "/usr/lib/x86_64-linux-gnu/libz.so.1",
                                 "--pin-file", (*dir_ / "pin").string(), "--key", kKeyUri, file_.string()});
  EXPECT_EQ(not_a_module.exit_code, 3);
  EXPECT_NE(not_a_module.err.find("is not a PKCS#11 module"), std::string::npos) << not_a_module.err;
  // A FIFO as the module would block the dynamic loader for ever: it is refused before dlopen, at once.
  const auto fifo = work_ / "module.fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  auto pipe = test::run({app("mam-sign").string(), "--pkcs11-module", fifo.string(), "--pin-file",
                         (*dir_ / "pin").string(), "--key", kKeyUri, file_.string()});
  EXPECT_EQ(pipe.exit_code, 3);
  EXPECT_NE(pipe.err.find("it is not a regular file (a module is a .so file)"), std::string::npos) << pipe.err;
  // The environment variable names the module when the flag does not.
  ::setenv("MAMSIGN_PKCS11_MODULE", kSoftHsm.c_str(), 1);
  auto from_env =
      test::run({app("mam-sign").string(), "--pin-file", (*dir_ / "pin").string(), "--key", kKeyUri, file_.string()});
  ::unsetenv("MAMSIGN_PKCS11_MODULE");
  EXPECT_EQ(from_env.exit_code, 0) << from_env.err;
}

TEST_F(Token, ListKeysShowsEveryKeyWithTheUriToUse) {
  auto r = test::run(sign_argv({"--list-keys"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("token \"mamsign-test\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("private key \"supplier-ds\", id 01, EC P-256"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("EUI-64 70-B3-D5-1F-30-00-A0-08, role 02 (supplier), digitalSignature"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("private key \"rsa\", id 03, RSA 2048 (not usable: the profile requires EC P-256)"),
            std::string::npos);
  EXPECT_NE(r.out.find("private key \"generated\", id 02, EC P-256"), std::string::npos) << r.out;

  auto j = test::run(sign_argv({"--list-keys", "pkcs11:token=mamsign-test", "--json"}));
  ASSERT_EQ(j.exit_code, 0) << j.err;
  const auto listing = nlohmann::json::parse(j.out);
  EXPECT_EQ(listing["schema"], "mamsign/key-list/1");
  ASSERT_EQ(listing["tokens"].size(), 1u);
  const auto& token = listing["tokens"][0];
  EXPECT_EQ(token["label"], "mamsign-test");
  EXPECT_TRUE(token["logged_in"].get<bool>());
  std::string ds_uri;
  for (const auto& k : token["keys"]) {
    if (k["label"] == "supplier-ds") {
      ds_uri = k["uri"];
      EXPECT_EQ(k["key_type"], "EC P-256");
      EXPECT_EQ(k["certificate"]["certificate"]["eui64"], "70-B3-D5-1F-30-00-A0-08");
      EXPECT_EQ(k["certificate"]["certificate"]["role"], "02");
    }
  }
  ASSERT_FALSE(ds_uri.empty()) << j.out;
  // The URI it shows is the one that works.
  auto signed_with_it = test::run(sign_argv({"--key", ds_uri, file_.string()}));
  EXPECT_EQ(signed_with_it.exit_code, 0) << signed_with_it.err;

  // Without a PIN, what is public is listed and the way to see the rest is said.
  auto public_only =
      test::run({app("mam-sign").string(), "--pkcs11-module", kSoftHsm, "--list-keys", "pkcs11:token=mamsign-test"});
  ASSERT_EQ(public_only.exit_code, 0) << public_only.err;
  EXPECT_NE(public_only.out.find("not logged in: private keys show after a login"), std::string::npos)
      << public_only.out;
  EXPECT_EQ(public_only.out.find("private key \""), std::string::npos) << public_only.out;
}

TEST_F(Token, TheLoginIsOncePerRunWhateverTheJobs) {
  const auto batch = work_ / "batch";
  std::filesystem::create_directories(batch);
  for (int i = 0; i < 40; ++i) test::write_file(batch / ("f" + std::to_string(i)), std::to_string(i));
  const auto log = work_ / "spy.log";
  auto r = run_with_spy({app("mam-sign").string(), "--pkcs11-module", kSpy, "--pin-file", (*dir_ / "pin").string(),
                         "--key", kKeyUri, "--no-name-check", "--jobs", "4", batch.string()},
                        log);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string calls = test::read_file(log);
  const auto count = [&](const std::string& name) {
    std::size_t n = 0;
    for (std::size_t at = 0; (at = calls.find(name, at)) != std::string::npos; at += name.size()) ++n;
    return n;
  };
  EXPECT_EQ(count("C_Login"), 1u);
  EXPECT_EQ(count("C_SignInit"), 41u);  // one per file, and the test signature that proves key and certificate a pair
  EXPECT_EQ(count("C_Finalize"), 1u);   // and the module is closed properly at exit
}

// PKCS#12 bundles, made by stock openssl.
class Pkcs12 : public ::testing::Test {
 protected:
  void SetUp() override {
    file_ = dir_ / test::kMaName;
    test::write_file(file_, test::example_ma_content());
    test::write_file(dir_ / "pass", "bundle-passphrase\n");
  }
  std::filesystem::path bundle(const std::string& name, std::vector<std::string> extra) {
    const auto out = dir_ / name;
    std::vector<std::string> argv{"/usr/bin/openssl",
                                  "pkcs12",
                                  "-export",
                                  "-inkey",
                                  test::example_key("supplier-ds").string(),
                                  "-in",
                                  test::example_cert_path("supplier-ds").string(),
                                  "-certfile",
                                  (keys_dir() / "trust/oca.pem").string(),
                                  "-out",
                                  out.string()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    must_run(argv);
    return out;
  }
  test::ProcessResult sign(std::vector<std::string> extra) {
    std::vector<std::string> argv{app("mam-sign").string()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.push_back(file_.string());
    return test::run(argv);
  }
  test::TempDir dir_;
  std::filesystem::path file_;
};

TEST_F(Pkcs12, WithAPassphraseItsCertificateAndChainAreUsed) {
  const auto p12 = bundle("supplier.p12", {"-passout", "file:" + (dir_ / "pass").string()});
  auto r = sign({"--key", p12.string(), "--pass-file", (dir_ / "pass").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // The chain went in: the signature carries the supplier certificate and the OCA.
  auto printed =
      test::run({"/usr/bin/openssl", "cms", "-cmsout", "-print", "-inform", "DER", "-in", file_.string() + ".p7s"});
  ASSERT_EQ(printed.exit_code, 0);
  EXPECT_NE(printed.out.find("Example Supplier A"), std::string::npos);
  EXPECT_NE(printed.out.find("Example SMKI OCA"), std::string::npos);
  auto verified =
      test::run({app("mam-verify").string(), "--trust", (keys_dir() / "trust/root.pem").string(), file_.string()});
  EXPECT_EQ(verified.exit_code, 0) << verified.out << verified.err;  // the OCA came from the signature itself
}

TEST_F(Pkcs12, WithoutAPassphrase) {
  const auto p12 = bundle("open.pfx", {"-passout", "pass:", "-keypbe", "NONE", "-certpbe", "NONE", "-nomac"});
  auto r = sign({"--key", p12.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
}

TEST_F(Pkcs12, RecognisedByContentWhateverItsName) {
  const auto p12 = bundle("supplier.key", {"-passout", "file:" + (dir_ / "pass").string()});
  auto r = sign({"--key", p12.string(), "--pass-file", (dir_ / "pass").string()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST_F(Pkcs12, AnOldLegacyExportStillOpens) {
  const auto p12 = bundle("legacy.p12", {"-legacy", "-passout", "file:" + (dir_ / "pass").string()});
  auto r = sign({"--key", p12.string(), "--pass-file", (dir_ / "pass").string()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST_F(Pkcs12, AWrongOrMissingPassphraseIsSaid) {
  const auto p12 = bundle("supplier.p12", {"-passout", "file:" + (dir_ / "pass").string()});
  test::write_file(dir_ / "wrong", "nope\n");
  auto wrong = sign({"--key", p12.string(), "--pass-file", (dir_ / "wrong").string()});
  EXPECT_EQ(wrong.exit_code, 3);
  EXPECT_NE(wrong.err.find("the passphrase is wrong"), std::string::npos) << wrong.err;
  auto missing = sign({"--key", p12.string()});
  EXPECT_EQ(missing.exit_code, 3);
  EXPECT_NE(
      missing.err.find("is protected by a passphrase: give its passphrase with --pass-file FILE or --pass-env VAR"),
      std::string::npos)
      << missing.err;
  EXPECT_FALSE(std::filesystem::exists(file_.string() + ".p7s"));
}

TEST_F(Pkcs12, AHostileWorkFactorIsRefusedNotWaitedFor) {
  // A bundle whose MAC asks for 2^31 PBKDF iterations (hours of work): the count is set in a real bundle
  // through OpenSSL and the bundle re-encoded.
  const auto p12 = bundle("slow.p12", {"-passout", "file:" + (dir_ / "pass").string()});
  const std::string der = test::read_file(p12);
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  OsslPtr<PKCS12, PKCS12_free> parsed(d2i_PKCS12(nullptr, &p, static_cast<long>(der.size())));
  ASSERT_TRUE(parsed);
  const ASN1_INTEGER* iterations = nullptr;
  PKCS12_get0_mac(nullptr, nullptr, nullptr, &iterations, parsed.get());
  ASSERT_NE(iterations, nullptr);
  ASSERT_EQ(ASN1_INTEGER_set_int64(const_cast<ASN1_INTEGER*>(iterations), 2147483647), 1);
  unsigned char* out = nullptr;
  const int n = i2d_PKCS12(parsed.get(), &out);
  ASSERT_GT(n, 0);
  test::write_file(p12, std::string(reinterpret_cast<char*>(out), static_cast<std::size_t>(n)));
  OPENSSL_free(out);
  auto r = sign({"--key", p12.string(), "--pass-file", (dir_ / "pass").string()});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("asks for more than 10,000,000 MAC iterations; refused"), std::string::npos) << r.err;
}

TEST(KeyFlags, PinAndPassphraseFlagsBelongToTheirSources) {
  auto pin_for_file =
      test::run({app("mam-sign").string(), "--key", test::example_key("supplier-ds").string(), "--pin-env", "X", "x"});
  EXPECT_EQ(pin_for_file.exit_code, 2);
  EXPECT_NE(pin_for_file.err.find("--pin-env is a token's PIN, but --key names a file"), std::string::npos)
      << pin_for_file.err;
  auto pass_for_token = test::run({app("mam-sign").string(), "--key", kKeyUri, "--pass-env", "X", "x"});
  EXPECT_EQ(pass_for_token.exit_code, 2);
  EXPECT_NE(pass_for_token.err.find("--pass-env is a key file's passphrase, but --key names a token"),
            std::string::npos);
  auto no_cert = test::run({app("mam-sign").string(), "--key", test::example_key("supplier-ds").string(), "x"});
  EXPECT_EQ(no_cert.exit_code, 2);
  EXPECT_NE(
      no_cert.err.find("--cert is required: " + test::example_key("supplier-ds").string() + " holds no certificate"),
      std::string::npos)
      << no_cert.err;
}

// RFC 7512 URIs.
TEST(Pkcs11Uri, ParsesPathAndQuery) {
  auto uri = parse_pkcs11_uri(
      "pkcs11:token=SMKI%20HSM;object=supplier-ds;id=%01%a2;type=private;serial=42?module-path=/usr/lib/x.so");
  ASSERT_TRUE(uri) << uri.error().message;
  EXPECT_EQ(uri->token, "SMKI HSM");
  EXPECT_EQ(uri->object, "supplier-ds");
  EXPECT_EQ(uri->id, std::string("\x01\xa2", 2));
  EXPECT_EQ(uri->type, "private");
  EXPECT_EQ(uri->serial, "42");
  EXPECT_EQ(uri->module_path, "/usr/lib/x.so");
  EXPECT_EQ(uri->to_string(),
            "pkcs11:serial=42;token=SMKI%20HSM;object=supplier-ds;id=%01%A2;type=private?module-path=/usr/lib/x.so");
  auto again = parse_pkcs11_uri(uri->to_string());
  ASSERT_TRUE(again);
  EXPECT_EQ(again->to_string(), uri->to_string());
  EXPECT_TRUE(is_pkcs11_uri("PKCS11:token=x"));
  EXPECT_FALSE(is_pkcs11_uri("/keys/pkcs11:token"));
}

TEST(Pkcs11Uri, FourKibibytesAtMost) {
  const std::string prefix = "pkcs11:object=";
  EXPECT_TRUE(parse_pkcs11_uri(prefix + std::string(4096 - prefix.size(), 'a')));
  auto past = parse_pkcs11_uri(prefix + std::string(4097 - prefix.size(), 'a'));
  ASSERT_FALSE(past);
  EXPECT_NE(past.error().message.find("longer than 4 KiB"), std::string::npos);
}

TEST_F(Pkcs12, TwoHundredFiftySixKibibytesAtMost) {
  // At the bound the bundle is read (and found to be no bundle); one byte past it, it is not read at all.
  test::write_file(dir_ / "at.p12", std::string(256 * 1024, '\x30'));
  test::write_file(dir_ / "past.p12", std::string(256 * 1024 + 1, '\x30'));
  auto at = sign({"--key", (dir_ / "at.p12").string()});
  EXPECT_EQ(at.exit_code, 3);
  EXPECT_NE(at.err.find("is not a PKCS#12 bundle"), std::string::npos) << at.err;
  auto past = sign({"--key", (dir_ / "past.p12").string()});
  EXPECT_EQ(past.exit_code, 3);
  EXPECT_NE(past.err.find("is larger than 256 KiB"), std::string::npos) << past.err;
}

TEST(Pkcs11Uri, RefusesWhatItCannotMeanExactly) {
  for (const auto& [text, says] : std::vector<std::pair<std::string, std::string>>{
           {"pkcs11:token=a;token=b", "gives token twice"},
           {"pkcs11:tokn=a", "the attribute \"tokn\", which mamsign does not know"},
           {"pkcs11:token=a%2", "a '%' without two hex digits"},
           {"pkcs11:token=a%zz", "a '%' without two hex digits"},
           {"pkcs11:type=secret", "RFC 7512 allows private, public, cert, secret-key or data"},
           {"pkcs11:slot-id=x1", "slot-id \"x1\" is not a decimal number"},
           {"pkcs11:token=a b", "percent-encode it"},
           {"pkcs11:pin-value=1234", "in its path; RFC 7512 puts it in the query"},
           {"pkcs11:token=a;;object=b", "an empty attribute"},
           {"pkcs11:token", "which is not name=value"},
           {"pkcs11:token=a?foo=1", "the query attribute \"foo\""},
           {"pkcs11:" + std::string(5000, 'a'), "longer than 4 KiB"},
       }) {
    auto uri = parse_pkcs11_uri(text);
    ASSERT_FALSE(uri) << text;
    EXPECT_NE(uri.error().message.find(says), std::string::npos) << text << ": " << uri.error().message;
  }
  auto with_pin = parse_pkcs11_uri("pkcs11:token=a?pin-value=1234");
  ASSERT_TRUE(with_pin);
  EXPECT_TRUE(with_pin->has_pin_value);
  EXPECT_EQ(with_pin->to_string().find("1234"), std::string::npos);
}

}  // namespace
}  // namespace mamsign
