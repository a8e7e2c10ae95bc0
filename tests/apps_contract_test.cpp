// Issue 21: the contract around each file's judgement, as a cron job and a DCC operator rely on it. Each
// test runs the apps as a script would and reads exit code, standard output and standard error.
#include "support/test_support.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <regex>

namespace mamsign {
namespace {

using nlohmann::json;

class Contract : public ::testing::Test {
 protected:
  void SetUp() override {
    ma_ = dir_ / test::kMaName;
    test::write_file(ma_, test::example_ma_content());
  }
  static test::ProcessResult sign(std::vector<std::string> extra) {
    std::vector<std::string> argv{test::app("mam-sign").string(), "--key", test::example_key("supplier-ds").string(),
                                  "--cert", test::example_cert_path("supplier-ds").string()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return test::run(argv);
  }
  static test::ProcessResult verify(std::vector<std::string> extra) {
    std::vector<std::string> argv{test::app("mam-verify").string(), "--trust", (test::keys_dir() / "trust").string(),
                                  "--crl", (test::keys_dir() / "crl").string()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return test::run(argv);
  }
  static test::ProcessResult certid(std::vector<std::string> extra) {
    std::vector<std::string> argv{
        test::app("mam-certid").string(),      "check",   "--store",
        (test::keys_dir() / "store").string(), "--trust", (test::keys_dir() / "trust").string()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return test::run(argv);
  }
  test::TempDir dir_;
  std::filesystem::path ma_;
};

// Point 1: only signatures named checked nothing and exited 0. Now a usage error naming the data file.
TEST_F(Contract, NamingOnlySignaturesIsAUsageErrorThatNamesTheDataFile) {
  ASSERT_EQ(sign({ma_.string()}).exit_code, 0);
  auto r = verify({ma_.string() + ".p7s"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("name its data file " + ma_.string()), std::string::npos) << r.err;
  auto s = sign({"--force", ma_.string() + ".p7s"});
  EXPECT_EQ(s.exit_code, 2) << "mam-sign does not sign a signature either: " << s.err;
  // The pair a shell glob gives is what the user meant: the data file is verified, once, silently.
  auto glob = verify({ma_.string(), ma_.string() + ".p7s"});
  EXPECT_EQ(glob.exit_code, 0) << glob.err;
  EXPECT_EQ(glob.err.find("signature"), std::string::npos) << glob.err;
  EXPECT_NE(glob.err.find("1 file: 1 OK"), std::string::npos) << glob.err;
}

// Point 1: an empty folder stays exit 0 but says "0 files"; --require-files and the profile's
// require_files make it exit 1.
TEST_F(Contract, AnEmptyFolderSaysZeroFilesAndRequireFilesFailsIt) {
  std::filesystem::create_directories(dir_ / "empty");
  const std::string empty = (dir_ / "empty").string();
  auto plain = verify({empty});
  EXPECT_EQ(plain.exit_code, 0);
  EXPECT_NE(plain.err.find("0 files"), std::string::npos) << plain.err;
  for (const auto& r :
       {verify({"--require-files", empty}), sign({"--require-files", empty}), certid({"--require-files", empty})}) {
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(r.err.find("0 files"), std::string::npos) << r.err;
  }
  const auto profile = dir_ / "profile.json";
  test::write_file(profile, R"({"require_files": true})");
  std::filesystem::permissions(profile, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  auto by_profile = verify({"--profile", profile.string(), "--json", empty});
  EXPECT_EQ(by_profile.exit_code, 1) << by_profile.err;
  const auto results = test::json_results(by_profile.out);
  ASSERT_EQ(results.size(), 1u) << by_profile.out;
  EXPECT_EQ(results[0]["schema"], "mamsign/run-error/1");
  EXPECT_EQ(results[0]["reason"], "NO_FILES");
  EXPECT_EQ(test::json_summary(by_profile.out)["files"], 0);
}

// Point 2: X.csv.p7s without X.csv was ignored. Now a DATA_MISSING result, once, in text and JSON,
// counted in the summary, exit 1, also when a glob passes both of its signatures in.
TEST_F(Contract, ASignatureWithoutItsDataFileIsAResultOfItsOwn) {
  ASSERT_EQ(sign({ma_.string()}).exit_code, 0);
  ASSERT_EQ(sign({"--format", "raw", ma_.string()}).exit_code, 0);
  const auto other = dir_ / "MA_cgI_70-B3-D5-1F-30-00-A0-08_20190407_182504.csv";
  test::write_file(other, test::example_ma_content());
  ASSERT_EQ(sign({other.string()}).exit_code, 0);
  std::filesystem::remove(ma_);
  auto text = verify({dir_.path().string()});
  EXPECT_EQ(text.exit_code, 1) << text.err;
  EXPECT_NE(text.out.find(ma_.string() + ": FAILED DATA_MISSING: "), std::string::npos) << text.out;
  EXPECT_EQ(text.out.find("DATA_MISSING"), text.out.rfind("DATA_MISSING")) << "once: " << text.out;
  EXPECT_NE(text.out.find(other.string() + ": OK"), std::string::npos) << text.out;
  EXPECT_NE(text.err.find("2 files: 1 OK, 1 failed (DATA_MISSING 1)"), std::string::npos) << text.err;
  // As a shell glob passes them: both signatures of the missing file, and the other pair.
  auto glob = verify({"--json", ma_.string() + ".p7s", ma_.string() + ".sig", other.string(), other.string() + ".p7s"});
  EXPECT_EQ(glob.exit_code, 1) << glob.err;
  const auto results = test::json_results(glob.out);
  ASSERT_EQ(results.size(), 2u) << glob.out;
  EXPECT_EQ(results[0]["file"], ma_.string());
  EXPECT_EQ(results[0]["result"], "invalid");
  EXPECT_EQ(results[0]["reason"], "DATA_MISSING");
  EXPECT_EQ(results[0]["signature"], ma_.string() + ".p7s");
  EXPECT_EQ(results[1]["result"], "valid");
  EXPECT_EQ(test::json_summary(glob.out)["reasons"]["DATA_MISSING"], 1);
  EXPECT_EQ(glob.err.find("warning"), std::string::npos) << "a result, not a warning: " << glob.err;
}

// Point 4: --json to the end. A failure before the first file is one run-error object; every run
// ends with one summary line.
TEST_F(Contract, JsonRunsEndWithASummaryAndEarlyFailuresAreJsonToo) {
  auto usage = verify({"--json", "--no-such-flag", ma_.string()});
  EXPECT_EQ(usage.exit_code, 2);
  auto error = test::json_result(usage.out);
  EXPECT_EQ(error["schema"], "mamsign/run-error/1");
  EXPECT_EQ(error["reason"], "USAGE");
  EXPECT_EQ(error["exit_code"], 2);
  EXPECT_NE(error["message"].get<std::string>().find("--no-such-flag"), std::string::npos) << usage.out;

  auto trust =
      test::run({test::app("mam-verify").string(), "--json", "--trust", (dir_ / "no-such").string(), ma_.string()});
  EXPECT_EQ(trust.exit_code, 3);
  error = test::json_result(trust.out);
  EXPECT_EQ(error["result"], "error");
  EXPECT_EQ(error["reason"], "IO_ERROR");

  auto expired =
      test::run({test::app("mam-sign").string(), "--json", "--key", test::example_key("bad-expired-ds").string(),
                 "--cert", test::example_cert_path("bad-expired-ds").string(), ma_.string()});
  EXPECT_EQ(expired.exit_code, 3);
  EXPECT_EQ(test::json_result(expired.out)["reason"], "CERT_EXPIRED") << expired.out;

  auto signed_run = sign({"--json", ma_.string()});
  ASSERT_EQ(signed_run.exit_code, 0);
  const auto summary = test::json_summary(signed_run.out);
  EXPECT_EQ(summary["program"], "mam-sign");
  EXPECT_EQ(summary["files"], 1);
  EXPECT_EQ(summary["results"]["signed"], 1);
  EXPECT_EQ(summary["interrupted"], false);
  EXPECT_GE(summary["files_per_second"].get<double>(), 0.0);
  auto checked = certid({"--json", ma_.string()});
  EXPECT_EQ(test::json_summary(checked.out)["program"], "mam-certid") << checked.out;
  // Help and version are not runs: no JSON is added to them.
  auto help = verify({"--json", "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_EQ(help.out.find("{\"schema\""), std::string::npos);
}

// Point 5: the same missing path was FILE_NAME_INVALID (exit 1) in mam-sign and IO_ERROR (exit 3) in
// mam-verify. Now IO_ERROR in every app; a run with both an invalid and an unreadable file exits 3.
TEST_F(Contract, AnUnreadablePathIsIoErrorInEveryApp) {
  const std::string missing = "/no/such.csv";
  auto s = sign({"--json", missing});
  auto v = verify({"--json", missing});
  auto c = certid({"--json", missing});
  for (const auto& r : {s, v, c}) {
    EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
    EXPECT_NE(r.out.find("IO_ERROR"), std::string::npos) << r.out;
  }
  EXPECT_EQ(test::json_result(s.out)["result"], "error");
  EXPECT_EQ(test::json_result(v.out)["result"], "error");
  test::write_file(dir_ / "notes.txt", "x");
  auto both = sign({(dir_ / "notes.txt").string(), missing});
  EXPECT_EQ(both.exit_code, 3) << "the worst cause decides: " << both.out;
  EXPECT_NE(both.out.find("REFUSED FILE_NAME_INVALID"), std::string::npos) << both.out;
  EXPECT_NE(both.out.find("ERROR IO_ERROR"), std::string::npos) << both.out;
}

// Point 6: --at before the signature's own signingTime reported OK without a word.
TEST_F(Contract, AtBeforeTheSigningTimeIsSaid) {
  ASSERT_EQ(sign({ma_.string()}).exit_code, 0);
  auto r = verify({"--at", "2026-01-01T00:00:00Z", ma_.string()});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("the signature says it was made at "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("after the --at time 2026-01-01T00:00:00Z"), std::string::npos) << r.out;
  auto now = verify({ma_.string()});
  EXPECT_EQ(now.out.find("the signature says it was made at"), std::string::npos) << "no note without --at";
  auto later = verify({"--at", "2044-01-01T00:00:00Z", ma_.string()});
  EXPECT_EQ(later.out.find("the signature says it was made at"), std::string::npos) << later.out;
}

// Point 7: -q hid only the progress line. Now it prints only failures, and a summary only when
// something failed; without it, a one-file run has its summary too.
TEST_F(Contract, QuietPrintsOnlyFailures) {
  const auto other = dir_ / "MA_cgI_70-B3-D5-1F-30-00-A0-08_20190407_182504.csv";
  test::write_file(other, test::example_ma_content());
  auto quiet_sign = sign({"-q", ma_.string(), other.string()});
  EXPECT_EQ(quiet_sign.exit_code, 0);
  EXPECT_EQ(quiet_sign.out, "");
  EXPECT_EQ(quiet_sign.err.find("files"), std::string::npos) << quiet_sign.err;
  auto quiet_clean = verify({"-q", ma_.string(), other.string()});
  EXPECT_EQ(quiet_clean.exit_code, 0);
  EXPECT_EQ(quiet_clean.out, "");
  EXPECT_EQ(quiet_clean.err, "");
  test::write_file(other, test::example_ma_content() + "x");
  auto quiet_failed = verify({"-q", ma_.string(), other.string()});
  EXPECT_EQ(quiet_failed.exit_code, 1);
  EXPECT_EQ(quiet_failed.out.find(": OK"), std::string::npos) << quiet_failed.out;
  EXPECT_NE(quiet_failed.out.find(other.string() + ": FAILED CONTENT_MODIFIED"), std::string::npos);
  EXPECT_NE(quiet_failed.err.find("2 files: 1 OK, 1 failed"), std::string::npos) << quiet_failed.err;
  auto quiet_json = verify({"-q", "--json", ma_.string(), other.string()});
  const auto results = test::json_results(quiet_json.out);
  ASSERT_EQ(results.size(), 1u) << quiet_json.out;
  EXPECT_EQ(results[0]["result"], "invalid");
  EXPECT_EQ(test::json_summary(quiet_json.out)["files"], 2);
  auto one = verify({ma_.string()});
  EXPECT_NE(one.err.find("1 file: 1 OK in "), std::string::npos) << one.err;
}

// Point 8: the signed line is an audit record: SHA-256, signer serial and signing time; --skip-signed
// gives the existing signature's signing time, not null.
TEST_F(Contract, TheSignedLineNamesSerialAndSigningTime) {
  const std::string serial = test::example_cert("supplier-ds")->serial();
  auto first = sign({"--json", ma_.string()});
  ASSERT_EQ(first.exit_code, 0);
  const std::string made_at = test::json_result(first.out)["signing_time"];
  std::filesystem::remove(ma_.string() + ".p7s");
  auto text = sign({ma_.string()});
  const std::regex line(".*: signed -> .*\\.p7s \\(cms, sha256 [0-9a-f]{64}, signer serial " + serial +
                        ", signed 20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z\\)\n");
  EXPECT_TRUE(std::regex_match(text.out, line)) << text.out;
  const std::string text_time = text.out.substr(text.out.find(", signed ") + 9, 20);
  auto skipped = sign({"--json", "--skip-signed", ma_.string()});
  const auto j = test::json_result(skipped.out);
  EXPECT_EQ(j["result"], "skipped");
  EXPECT_EQ(j["signing_time"], text_time) << "the existing signature's time: " << skipped.out << " vs " << made_at;
  auto skipped_text = sign({"--skip-signed", ma_.string()});
  EXPECT_NE(skipped_text.out.find("signer serial " + serial + ", signed " + text_time), std::string::npos)
      << skipped_text.out;
}

}  // namespace
}  // namespace mamsign
