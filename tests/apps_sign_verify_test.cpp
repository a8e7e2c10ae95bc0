// mam-sign and mam-verify as users and scripts run them: real processes, real files, exit codes, JSON.
#include "support/test_support.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <sstream>

namespace mamsign {
namespace {

using nlohmann::json;
using test::app;

class Apps : public ::testing::Test {
 protected:
  void SetUp() override {
    file_ = dir_ / test::kMaName;
    test::write_file(file_, test::example_ma_content());
  }
  test::ProcessResult sign(std::vector<std::string> extra, const std::string& who = "supplier-ds") {
    std::vector<std::string> argv{app("mam-sign").string(), "--key", test::example_key(who).string(), "--cert",
                                  test::example_cert_path(who).string()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return test::run(argv);
  }
  test::ProcessResult verify(std::vector<std::string> extra) {
    std::vector<std::string> argv{app("mam-verify").string(), "--trust", (test::keys_dir() / "trust").string(), "--crl",
                                  (test::keys_dir() / "crl").string()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return test::run(argv);
  }
  // The results of a --json run (its last line, the summary, left out).
  static std::vector<json> lines(const std::string& out) { return test::json_results(out); }
  test::TempDir dir_;
  std::filesystem::path file_;
};

TEST_F(Apps, SignThenVerify) {
  auto s = sign({file_.string()});
  ASSERT_EQ(s.exit_code, 0) << s.err;
  EXPECT_NE(s.out.find(": signed -> " + file_.string() + ".p7s"), std::string::npos) << s.out;
  auto v = verify({file_.string()});
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
  EXPECT_EQ(v.out.rfind(file_.string() + ": OK [signer 70-B3-D5-1F-30-00-A0-08 (role 02 supplier, serial ", 0), 0u)
      << v.out;
}

TEST_F(Apps, SignJson) {
  auto s = sign({"--json", file_.string()});
  ASSERT_EQ(s.exit_code, 0) << s.err;
  auto j = lines(s.out);
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["result"], "signed");
  EXPECT_EQ(j[0]["file"], file_.string());
  EXPECT_EQ(j[0]["signature"], file_.string() + ".p7s");
  EXPECT_TRUE(j[0]["reason"].is_null());
  EXPECT_EQ(j[0]["signer"]["eui64"], "70-B3-D5-1F-30-00-A0-08");
  EXPECT_EQ(j[0]["sha256"].get<std::string>().size(), 64u);
  EXPECT_TRUE(j[0]["signing_time"].is_string());
}

TEST_F(Apps, VerifyJsonHasEveryDocumentedField) {
  ASSERT_EQ(sign({file_.string()}).exit_code, 0);
  auto v = verify({"--json", file_.string()});
  ASSERT_EQ(v.exit_code, 0) << v.err;
  auto j = lines(v.out).at(0);
  for (const char* key :
       {"file", "signature", "result", "reason", "message", "signer", "signing_time", "sha256", "diagnosis"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  for (const char* key : {"eui64", "role", "serial", "issuer", "not_before", "not_after"}) {
    EXPECT_TRUE(j["signer"].contains(key)) << key;
  }
  EXPECT_EQ(j["result"], "valid");
  EXPECT_TRUE(j["reason"].is_null());
  EXPECT_EQ(j["signer"]["role"], "02");
}

TEST_F(Apps, VerifyFailureTextAndJson) {
  ASSERT_EQ(sign({file_.string()}).exit_code, 0);
  std::string lf = test::example_ma_content();
  for (std::size_t p; (p = lf.find("\r\n")) != std::string::npos;) lf.erase(p, 1);
  test::write_file(file_, lf);
  auto text = verify({file_.string()});
  EXPECT_EQ(text.exit_code, 1);
  EXPECT_EQ(text.out.rfind(file_.string() + ": FAILED CONTENT_MODIFIED: ", 0), 0u) << text.out;
  auto j = lines(verify({"--json", file_.string()}).out).at(0);
  EXPECT_EQ(j["result"], "invalid");
  EXPECT_EQ(j["reason"], "CONTENT_MODIFIED");
  EXPECT_EQ(j["diagnosis"], "line endings were changed from CRLF to LF after signing");
}

TEST_F(Apps, RefusalsLeaveNoFile) {
  const auto before = test::list_dir(dir_.path());
  // Issue 21, point 3: a signer that cannot sign is one setup error (exit 3, said once on standard
  // error, nothing on standard output), never a refusal per file.
  for (const auto& [signer, reason] :
       std::vector<std::pair<std::string, std::string>>{{"network-operator-ds", "WRONG_ROLE"},
                                                        {"supplier-ka", "WRONG_KEY_USAGE"},
                                                        {"bad-expired-ds", "CERT_EXPIRED"},
                                                        {"bad-p384-ds", "UNSUPPORTED_ALGORITHM"}}) {
    auto r = sign({file_.string(), file_.string()}, signer);
    EXPECT_EQ(r.exit_code, 3) << signer;
    EXPECT_EQ(r.out, "") << signer;
    EXPECT_NE(r.err.find(reason + ": "), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("nothing was signed"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find(reason + ": "), r.err.rfind(reason + ": ")) << "said once: " << r.err;
  }
  auto mismatch = test::run({app("mam-sign").string(), "--key", test::example_key("supplier2-ds").string(), "--cert",
                             test::example_cert_path("supplier-ds").string(), file_.string()});
  // Issue 9, item 6: a setup mistake is said once, before any file, with exit 3.
  EXPECT_EQ(mismatch.exit_code, 3);
  EXPECT_EQ(mismatch.out, "");
  EXPECT_NE(mismatch.err.find("KEY_MISMATCH: the private key does not belong to the certificate"), std::string::npos)
      << mismatch.err;
  test::write_file(dir_ / "MA_cgI_70-B3-D5-1F-30-00-B1-01_20190407_182503.csv", "x");
  auto party = sign({"--json", (dir_ / "MA_cgI_70-B3-D5-1F-30-00-B1-01_20190407_182503.csv").string()});
  EXPECT_EQ(party.exit_code, 1);
  EXPECT_EQ(lines(party.out).at(0)["reason"], "SIGNER_MISMATCH");
  EXPECT_EQ(lines(party.out).at(0)["result"], "refused");
  test::write_file(dir_ / "notes.txt", "x");
  auto name = sign({(dir_ / "notes.txt").string()});
  EXPECT_EQ(name.exit_code, 1);
  EXPECT_NE(name.out.find("REFUSED FILE_NAME_INVALID"), std::string::npos);
  std::filesystem::remove(dir_ / "MA_cgI_70-B3-D5-1F-30-00-B1-01_20190407_182503.csv");
  std::filesystem::remove(dir_ / "notes.txt");
  EXPECT_EQ(test::list_dir(dir_.path()), before);
}

TEST_F(Apps, TrustMakesTheSignerCheckTheChainFirst) {
  const std::vector<std::string> trust{"--trust", (test::keys_dir() / "trust").string(), "--crl",
                                       (test::keys_dir() / "crl").string()};
  auto rogue = sign({trust[0], trust[1], file_.string()}, "bad-rogue-oca-ds");
  EXPECT_EQ(rogue.exit_code, 3);
  EXPECT_NE(rogue.err.find("UNTRUSTED_CHAIN"), std::string::npos) << rogue.err;
  EXPECT_EQ(rogue.out, "");
  auto revoked = sign({trust[0], trust[1], trust[2], trust[3], file_.string()}, "supplier-revoked-ds");
  EXPECT_EQ(revoked.exit_code, 3);
  EXPECT_NE(revoked.err.find("CERT_REVOKED: "), std::string::npos) << revoked.err;
  EXPECT_EQ(revoked.out, "");
  EXPECT_FALSE(std::filesystem::exists(file_.string() + ".p7s"));
  EXPECT_EQ(sign({trust[0], trust[1], trust[2], trust[3], file_.string()}).exit_code, 0);
  EXPECT_EQ(sign({"--crl", trust[3], "--force", file_.string()}).exit_code, 2) << "--crl without --trust";
}

TEST_F(Apps, ExistingSignatureAndForce) {
  ASSERT_EQ(sign({file_.string()}).exit_code, 0);
  auto again = sign({file_.string()});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.out.find("SIGNATURE_EXISTS"), std::string::npos);
  EXPECT_EQ(sign({"--force", file_.string()}).exit_code, 0);
}

TEST_F(Apps, UsageErrorsAreExitTwo) {
  EXPECT_EQ(sign({"--bogus", file_.string()}).exit_code, 2);
  EXPECT_EQ(sign({"--format", "pem", file_.string()}).exit_code, 2);
  EXPECT_EQ(sign({"--out", "x.p7s", file_.string(), file_.string()}).exit_code, 2);
  auto folder = sign({"--out", dir_.path().string(), file_.string()});
  EXPECT_EQ(folder.exit_code, 2);
  EXPECT_NE(folder.err.find("is a folder"), std::string::npos) << folder.err;
  EXPECT_EQ(sign({}).exit_code, 2);
  EXPECT_EQ(test::run({app("mam-sign").string(), file_.string()}).exit_code, 2);
  auto at = verify({"--at", "yesterday", file_.string()});
  EXPECT_EQ(at.exit_code, 2);
  EXPECT_NE(at.err.find("expected an ISO 8601 time"), std::string::npos);
  EXPECT_EQ(test::run({app("mam-verify").string(), file_.string()}).exit_code, 2);
}

TEST_F(Apps, UnreadableInputsAreExitThree) {
  auto key = test::run({app("mam-sign").string(), "--key", (dir_ / "missing.key").string(), "--cert",
                        test::example_cert_path("supplier-ds").string(), file_.string()});
  EXPECT_EQ(key.exit_code, 3);
  EXPECT_NE(key.err.find("missing.key"), std::string::npos);
  auto trust = test::run({app("mam-verify").string(), "--trust", (dir_ / "nothing").string(), file_.string()});
  EXPECT_EQ(trust.exit_code, 3);
  auto missing = verify({(dir_ / "missing.csv").string()});
  EXPECT_EQ(missing.exit_code, 3);
  // Issue 9, item 8: one vocabulary: an unreadable input is ERROR / "error" in every app.
  EXPECT_NE(missing.out.find("ERROR IO_ERROR"), std::string::npos) << missing.out;
  auto missing_json = verify({"--json", (dir_ / "missing.csv").string()});
  EXPECT_EQ(lines(missing_json.out).at(0)["result"], "error");
  EXPECT_EQ(lines(missing_json.out).at(0)["schema"], "mamsign/verify-result/1");
  auto no_sig = verify({file_.string()});
  EXPECT_EQ(no_sig.exit_code, 1);
  EXPECT_NE(no_sig.out.find("FAILED SIGNATURE_MISSING"), std::string::npos);
}

TEST_F(Apps, EncryptedKeyFromPassFileNeverOnTheCommandLine) {
  auto s = test::run({app("mam-sign").string(), "--key", (test::keys_dir() / "keys/supplier-ds.encrypted.key").string(),
                      "--pass-file", (test::keys_dir() / "keys/supplier-ds.pass").string(), "--cert",
                      test::example_cert_path("supplier-ds").string(), file_.string()});
  EXPECT_EQ(s.exit_code, 0) << s.err;
  test::write_file(dir_ / "wrong.pass", "Tr0ub4dor-not-it\n");
  auto wrong =
      test::run({app("mam-sign").string(), "--key", (test::keys_dir() / "keys/supplier-ds.encrypted.key").string(),
                 "--pass-file", (dir_ / "wrong.pass").string(), "--cert",
                 test::example_cert_path("supplier-ds").string(), "--force", file_.string()});
  EXPECT_EQ(wrong.exit_code, 3);
  EXPECT_NE(wrong.err.find("passphrase is wrong"), std::string::npos) << wrong.err;
  EXPECT_EQ(wrong.err.find("Tr0ub4dor"), std::string::npos);
  EXPECT_EQ(wrong.out.find("Tr0ub4dor"), std::string::npos);
  // There is no flag that takes the passphrase itself.
  auto help = test::run({app("mam-sign").string(), "--help"});
  EXPECT_EQ(help.out.find("--pass "), std::string::npos);
  EXPECT_EQ(help.out.find("--passphrase"), std::string::npos);
}

TEST_F(Apps, RawAndCertStore) {
  ASSERT_EQ(sign({"--format", "raw", file_.string()}).exit_code, 0);
  ASSERT_TRUE(std::filesystem::exists(file_.string() + ".sig"));
  auto without = verify({file_.string()});
  EXPECT_EQ(without.exit_code, 1);
  EXPECT_NE(without.out.find("SIGNER_NOT_FOUND"), std::string::npos);
  EXPECT_EQ(verify({"--cert-store", (test::keys_dir() / "store").string(), file_.string()}).exit_code, 0);
  EXPECT_EQ(verify({"--cert", test::example_cert_path("supplier-ds").string(), file_.string()}).exit_code, 0);
}

TEST_F(Apps, AtAndNoNameCheck) {
  test::write_file(dir_ / "report.csv", "x\r\n");
  ASSERT_EQ(sign({"--no-name-check", (dir_ / "report.csv").string()}).exit_code, 0);
  EXPECT_EQ(verify({(dir_ / "report.csv").string()}).exit_code, 1);
  EXPECT_EQ(verify({"--no-name-check", (dir_ / "report.csv").string()}).exit_code, 0);
  EXPECT_EQ(verify({"--at", "2024-06-01", "--no-name-check", (dir_ / "report.csv").string()}).exit_code, 1);
}

TEST_F(Apps, HelpTeachesAndVersionAnswers) {
  for (const char* name : {"mam-sign", "mam-verify"}) {
    auto help = test::run({app(name).string(), "--help"});
    EXPECT_EQ(help.exit_code, 0);
    EXPECT_NE(help.out.find("Exit codes:"), std::string::npos) << name;
    EXPECT_NE(help.out.find("Examples:"), std::string::npos) << name;
    auto version = test::run({app(name).string(), "--version"});
    EXPECT_EQ(version.exit_code, 0);
    EXPECT_NE(version.out.find(name), std::string::npos);
  }
}

TEST_F(Apps, PrintProfile) {
  auto p = test::run({app("mam-verify").string(), "--print-profile"});
  ASSERT_EQ(p.exit_code, 0);
  auto j = json::parse(p.out);
  EXPECT_EQ(j["policy_oids"][0], "1.2.826.0.1.8641679.1.2.1.4");
  test::write_file(dir_ / "bad.json", R"({"polcy_oids": []})");
  auto bad = test::run({app("mam-verify").string(), "--profile", (dir_ / "bad.json").string(), "--print-profile"});
  EXPECT_EQ(bad.exit_code, 3);
  EXPECT_NE(bad.err.find("polcy_oids"), std::string::npos);
}

// Issue 8: every result says whether revocation was checked; --require-crl makes it a condition.
TEST_F(Apps, RevocationIsReportedAndCanBeRequired) {
  ASSERT_EQ(sign({file_.string()}).exit_code, 0);
  const std::string trust = (test::keys_dir() / "trust").string();
  const std::string crl = (test::keys_dir() / "crl").string();
  auto run_verify = [&](std::vector<std::string> extra) {
    std::vector<std::string> argv{app("mam-verify").string(), "--trust", trust};
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.push_back(file_.string());
    return test::run(argv);
  };
  auto with = run_verify({"--crl", crl, "--json"});
  ASSERT_EQ(with.exit_code, 0) << with.out;
  const auto j = lines(with.out)[0];
  EXPECT_EQ(j["revocation"]["checked"], true);
  EXPECT_EQ(j["revocation"]["stale"], false);
  EXPECT_EQ(j["revocation"]["this_update"], "2025-06-01T00:00:00Z");
  EXPECT_NE(j["revocation"]["crl_issuer"].get<std::string>().find("OU=07"), std::string::npos);

  auto without = run_verify({"--json"});
  ASSERT_EQ(without.exit_code, 0) << without.out;
  EXPECT_EQ(lines(without.out)[0]["revocation"]["checked"], false);
  auto text = run_verify({});
  EXPECT_NE(text.out.find(": OK [signer"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("(note: revocation not checked: no CRL of"), std::string::npos) << text.out;

  auto required = run_verify({"--require-crl", "--json"});
  EXPECT_EQ(required.exit_code, 1) << required.out;
  EXPECT_EQ(lines(required.out)[0]["reason"], "REVOCATION_UNKNOWN");
  EXPECT_EQ(run_verify({"--require-crl", "--crl", crl}).exit_code, 0);
  // A stale CRL, required: REVOCATION_STALE unless the grace covers it.
  const std::string stale = (dir_ / "stale.crl").string();
  const std::time_t now = std::time(nullptr);
  test::write_file(stale, test::example_crl_pem("oca", {}, now - 10 * 86400, now - 2 * 3600, now - 86400));
  auto stale_run = run_verify({"--require-crl", "--crl", stale, "--json"});
  EXPECT_EQ(lines(stale_run.out)[0]["reason"], "REVOCATION_STALE") << stale_run.out;
  EXPECT_EQ(run_verify({"--require-crl", "--crl", stale, "--crl-grace", "3h"}).exit_code, 0);
  auto noted = run_verify({"--crl", stale});
  EXPECT_EQ(noted.exit_code, 0);
  EXPECT_NE(noted.out.find("applied anyway"), std::string::npos) << noted.out;
  auto bad_grace = run_verify({"--crl-grace", "soon"});
  EXPECT_EQ(bad_grace.exit_code, 2);
  EXPECT_NE(bad_grace.err.find("90s, 30m, 12h, 7d"), std::string::npos) << bad_grace.err;
}

TEST_F(Apps, SignerRequiresCrlWhenAsked) {
  const std::string trust = (test::keys_dir() / "trust").string();
  auto no_trust = sign({"--require-crl", file_.string()});
  EXPECT_EQ(no_trust.exit_code, 2) << no_trust.err;
  auto refused = sign({"--trust", trust, "--require-crl", "--json", file_.string()});
  EXPECT_EQ(refused.exit_code, 3) << refused.out;
  EXPECT_EQ(test::json_result(refused.out)["schema"], "mamsign/run-error/1");
  EXPECT_EQ(test::json_result(refused.out)["reason"], "REVOCATION_UNKNOWN");
  EXPECT_FALSE(std::filesystem::exists(file_.string() + ".p7s"));
  auto warned = sign({"--trust", trust, "--json", file_.string()});
  EXPECT_EQ(warned.exit_code, 0) << warned.out;
  EXPECT_NE(warned.err.find("warning: revocation not checked"), std::string::npos) << warned.err;
  EXPECT_EQ(lines(warned.out)[0]["revocation"]["checked"], false);
  std::filesystem::remove(file_.string() + ".p7s");
  auto checked =
      sign({"--trust", trust, "--crl", (test::keys_dir() / "crl").string(), "--require-crl", "--json", file_.string()});
  EXPECT_EQ(checked.exit_code, 0) << checked.out << checked.err;
  EXPECT_EQ(lines(checked.out)[0]["revocation"]["checked"], true);
  std::filesystem::remove(file_.string() + ".p7s");
  auto untrusted = sign({file_.string()});
  EXPECT_NE(untrusted.err.find("warning: without --trust"), std::string::npos) << untrusted.err;
}

// Issue 8, M3: a newline in a file name forged result lines in text output. Every text line is made
// safe; JSON keeps the real bytes of a name that is not UTF-8.
TEST_F(Apps, ControlCharactersInNamesCannotForgeLines) {
  const std::string forged = "unsigned.csv: OK [signer 70-B3-D5-1F-30-00-A0-08]\n" + test::kMaName;
  const auto path = dir_ / forged;
  test::write_file(path, "x");
  auto r = verify({path.string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
  EXPECT_NE(r.out.find("]\\x0A" + test::kMaName + ": FAILED SIGNATURE_MISSING"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.rfind("\n" + test::kMaName), std::string::npos) << "no line starts with the forged part";

  const std::string latin1 = std::string("caf\xE9") + "\x1B[31m.csv";
  test::write_file(dir_ / latin1, "x");
  auto j = verify({"--json", "--no-name-check", (dir_ / latin1).string()});
  const auto result = lines(j.out)[0];
  const std::string want_hex = [&] {
    std::string h;
    for (unsigned char c : (dir_ / latin1).string()) {
      char b[3];
      std::snprintf(b, sizeof b, "%02x", c);
      h += b;
    }
    return h;
  }();
  EXPECT_EQ(result["file_hex"], want_hex);
  auto t = verify({"--no-name-check", (dir_ / latin1).string()});
  EXPECT_NE(t.out.find("caf\\xE9\\x1B[31m.csv"), std::string::npos) << t.out;
  EXPECT_EQ(t.out.find('\x1B'), std::string::npos) << "no terminal escape reaches the output";
}

// Issue 9, item 5: the README's layout, anchors and CRL in one folder, was refused both as --trust and
// as --crl. Now certificates in it are anchors and CRLs in it are applied, either way.
TEST_F(Apps, AnchorsAndCrlsMayShareOneFolder) {
  const auto smki = dir_ / "smki";
  std::filesystem::create_directories(smki);
  std::filesystem::copy_file(test::keys_dir() / "trust/root.pem", smki / "root.pem");
  std::filesystem::copy_file(test::keys_dir() / "trust/oca.pem", smki / "oca.pem");
  std::filesystem::copy_file(test::keys_dir() / "crl/oca.crl", smki / "oca-crl.pem");
  const auto revoked = dir_ / "MA_cgI_70-B3-D5-1F-30-00-A0-08_20190407_182504.csv";
  test::write_file(revoked, test::example_ma_content());
  test::write_file(revoked.string() + ".p7s", test::cms_sign_as("supplier-revoked-ds", revoked));
  ASSERT_EQ(sign({file_.string()}).exit_code, 0);
  for (const std::vector<std::string>& flags :
       {std::vector<std::string>{"--trust", smki.string()},
        std::vector<std::string>{"--trust", smki.string(), "--crl", smki.string()}}) {
    std::vector<std::string> argv{app("mam-verify").string()};
    argv.insert(argv.end(), flags.begin(), flags.end());
    argv.insert(argv.end(), {"--json", "--require-crl", file_.string(), revoked.string()});
    auto r = test::run(argv);
    EXPECT_EQ(r.exit_code, 1) << r.err;
    const auto results = lines(r.out);
    ASSERT_EQ(results.size(), 2u) << r.out << r.err;
    EXPECT_EQ(results[0]["result"], "valid") << results[0].dump();
    EXPECT_EQ(results[0]["revocation"]["checked"], true);
    EXPECT_EQ(results[1]["reason"], "CERT_REVOKED");
  }
}

TEST_F(Apps, PassphraseForAnUnencryptedKeyIsWarnedAbout) {
  test::write_file(dir_ / "pass", "secret\n");
  auto r = sign({"--pass-file", (dir_ / "pass").string(), file_.string()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("warning: --pass-file was given, but"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("secret"), std::string::npos) << "the passphrase is never shown";
}

// Issue 9, item 3: a DCC host verifies with no flags but files; the profile is found without --profile;
// --print-profile says where it came from; a policy mismatch says where the expected OID came from.
TEST_F(Apps, ConfigurationIsFoundWithoutFlags) {
  ASSERT_EQ(sign({file_.string()}).exit_code, 0);
  const auto etc = dir_ / "etc-mamsign";
  std::filesystem::create_directories(etc / "trust");
  std::filesystem::copy_file(test::keys_dir() / "trust/root.pem", etc / "trust/root.pem");
  std::filesystem::copy_file(test::keys_dir() / "trust/oca.pem", etc / "trust/oca.pem");
  std::filesystem::create_directories(etc / "crl");
  std::filesystem::copy_file(test::keys_dir() / "crl/oca.crl", etc / "crl/oca.crl");
  ::setenv("MAMSIGN_CONFIG_DIR", etc.c_str(), 1);
  auto plain = test::run({app("mam-verify").string(), "--json", file_.string()});
  EXPECT_EQ(plain.exit_code, 0) << plain.err;
  EXPECT_EQ(lines(plain.out).at(0)["revocation"]["checked"], true) << plain.out;

  auto builtin = test::run({app("mam-verify").string(), "--print-profile"});
  EXPECT_NE(builtin.out.find("\"$comment\": \"in effect: the built-in profile\""), std::string::npos) << builtin.out;
  test::write_file(etc / "profile.json", R"({"policy_oids": ["1.2.3.4"]})");
  auto from_etc = test::run({app("mam-verify").string(), "--print-profile"});
  EXPECT_NE(from_etc.out.find("in effect: the profile " + (etc / "profile.json").string()), std::string::npos)
      << from_etc.out;
  auto live = test::run({app("mam-verify").string(), "--json", file_.string()});
  EXPECT_EQ(lines(live.out).at(0)["reason"], "POLICY_MISMATCH");
  EXPECT_NE(lines(live.out).at(0)["message"].get<std::string>().find(
                "expected by the profile " + (etc / "profile.json").string() + " (key policy_oids)"),
            std::string::npos)
      << live.out;
  ::setenv("MAMSIGN_PROFILE", (test::source_dir() / "tests/fuzz/corpus/profile/default.json").c_str(), 1);
  auto env = test::run({app("mam-verify").string(), "--print-profile"});
  EXPECT_NE(env.out.find("in effect: the profile "), std::string::npos) << env.out;
  EXPECT_EQ(env.out.find("etc-mamsign"), std::string::npos) << "MAMSIGN_PROFILE wins over the config folder";
  ::unsetenv("MAMSIGN_PROFILE");
  ::unsetenv("MAMSIGN_CONFIG_DIR");
}

TEST_F(Apps, TestPolicyDefaultIsNamedInTheMismatch) {
  // A certificate under another policy, judged by the built-in profile: the message says the expected
  // OID is the DCC test default and how to set the live one.
  const auto other = dir_ / "MA_cgI_70-B3-D5-1F-30-00-A0-08_20190407_182505.csv";
  test::write_file(other, test::example_ma_content());
  test::write_file(other.string() + ".p7s", test::cms_sign_as("bad-other-policy-ds", other));
  auto r = verify({"--json", other.string()});
  const std::string message = lines(r.out).at(0)["message"];
  EXPECT_NE(message.find("DCC's public TEST policy"), std::string::npos) << message;
  EXPECT_NE(message.find("policy_oids of a profile file"), std::string::npos) << message;
}

// Issue 9, item 9: CLI11's raw messages rewritten; "did you mean" for flags and commands.
TEST_F(Apps, UsageMessagesSayWhatWasExpected) {
  struct Case {
    std::vector<std::string> argv;
    std::string says;
  };
  for (const auto& c : std::vector<Case>{
           {{app("mam-certid").string(), "chek"},
            "unknown command chek (did you mean check?): the commands are check or show"},
           {{app("mam-certid").string()}, "a command is required: check or show"},
           {{app("mam-sign").string(), "-j", "abc", "x"}, "--jobs takes a whole number from 1 to 1024, not \"abc\""},
           {{app("mam-sign").string(), "--pass-file", "a", "--pass-file", "b", "x"},
            "--pass-file may be given only once"},
           {{app("mam-verify").string(), "--trusst", "x"}, "unknown option --trusst (did you mean --trust?)"},
           {{app("mam-sign").string(), "--format", "xyz", "x"}, "--format takes cms|raw, not \"xyz\""},
       }) {
    auto r = test::run(c.argv);
    EXPECT_EQ(r.exit_code, 2) << c.says;
    EXPECT_NE(r.err.find(c.says), std::string::npos) << r.err;
  }
  auto help = test::run({app("mam-sign").string(), "--help"});
  EXPECT_NE(help.out.find("(required) the signer's private key"), std::string::npos) << help.out;
}

// Issue 9, item 6: trust anchors without the OCA are said once, at setup.
TEST_F(Apps, TrustWithoutTheOcaIsSaidOnce) {
  ASSERT_EQ(sign({file_.string()}).exit_code, 0);
  auto r = test::run(
      {app("mam-verify").string(), "--trust", (test::keys_dir() / "trust/root.pem").string(), file_.string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("warning: --trust holds a root but no issuing CA (OCA)"), std::string::npos) << r.err;
}

// The trust anchors are read while the files are listed (on a second core), but said where they always
// were: after the listing's own complaints, not at all when the listing already failed, and the same
// whether the reading ran early or (on one core) in its place.
TEST_F(Apps, TrustReadEarlyIsSaidInItsPlace) {
  ASSERT_EQ(sign({file_.string()}).exit_code, 0);
  const std::string missing_trust = (dir_ / "no-such-trust").string();
  auto listing_failed =
      test::run({app("mam-verify").string(), "--trust", missing_trust, "--from", (dir_ / "no-such.list").string()});
  EXPECT_EQ(listing_failed.exit_code, 3);
  EXPECT_NE(listing_failed.err.find("no-such.list"), std::string::npos) << listing_failed.err;
  EXPECT_EQ(listing_failed.err.find("--trust:"), std::string::npos)
      << "the trust anchors were never asked for: " << listing_failed.err;

  const std::vector<std::string> bad_trust{app("mam-verify").string(), "--trust", missing_trust, file_.string(),
                                           (dir_ / ".x.csv.mamsign-tmp.1").string()};
  auto all_cores = test::run(bad_trust);
  EXPECT_EQ(all_cores.exit_code, 3);
  EXPECT_TRUE(all_cores.out.empty()) << all_cores.out;
  const auto skipped = all_cores.err.find(".x.csv.mamsign-tmp.1: skipped");
  const auto said = all_cores.err.find("--trust: ");
  ASSERT_NE(skipped, std::string::npos) << all_cores.err;
  ASSERT_NE(said, std::string::npos) << all_cores.err;
  EXPECT_LT(skipped, said) << "the listing's note first, as before: " << all_cores.err;
  EXPECT_EQ(all_cores.err.find("--trust: ", said + 1), std::string::npos) << "said once: " << all_cores.err;

  std::vector<std::string> one_core{"/usr/bin/taskset", "-c", "0"};  // util-linux: in every Debian
  one_core.insert(one_core.end(), bad_trust.begin(), bad_trust.end());
  auto loaded_in_place = test::run(one_core);
  EXPECT_EQ(loaded_in_place.exit_code, all_cores.exit_code);
  EXPECT_EQ(loaded_in_place.err, all_cores.err);

  const std::vector<std::string> good{app("mam-verify").string(), "--trust", (test::keys_dir() / "trust").string(),
                                      file_.string()};
  one_core.resize(3);
  one_core.insert(one_core.end(), good.begin(), good.end());
  auto early = test::run(good), in_place = test::run(one_core);
  EXPECT_EQ(early.exit_code, 0) << early.err;
  EXPECT_EQ(in_place.exit_code, 0) << in_place.err;
  EXPECT_EQ(early.out, in_place.out);
}

}  // namespace
}  // namespace mamsign
