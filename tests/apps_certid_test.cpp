// mam-certid as users and scripts run it.
#include "mamsign/pki/cert_store.h"
#include "support/test_support.h"

#include <gtest/gtest.h>
#include <sstream>
#include <nlohmann/json.hpp>

namespace mamsign {
namespace {

using nlohmann::json;

class CertIdApp : public ::testing::Test {
 protected:
  test::ProcessResult check(std::vector<std::string> extra) {
    std::vector<std::string> argv{test::app("mam-certid").string(),
                                  "check",
                                  "--store",
                                  (test::keys_dir() / "store").string(),
                                  "--trust",
                                  (test::keys_dir() / "trust").string(),
                                  "--crl",
                                  (test::keys_dir() / "crl").string(),
                                  "--registration",
                                  (test::testdata_dir() / "registration.json").string(),
                                  "--at",
                                  "2026-06-01T00:00:00Z"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return test::run(argv);
  }
  test::TempDir dir_;
  const std::string planted_ =
      (test::testdata_dir() / "certid/MA_cgI_70-B3-D5-1F-30-00-A0-08_20190408_090000.csv").string();
};

TEST_F(CertIdApp, ExampleFileIsClean) {
  auto r = check({(test::testdata_dir() / test::kMaName).string()});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("50 rows checked, 0 with errors: clean"), std::string::npos) << r.out;
}

TEST_F(CertIdApp, PlantedErrorsAsJson) {
  auto r = check({"--json", planted_});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  const auto j = test::json_result(r.out);
  EXPECT_EQ(j["file"], planted_);
  EXPECT_EQ(j["rows_checked"], 21);
  ASSERT_TRUE(j["findings"].is_array());
  for (const auto& f : j["findings"]) {
    for (const char* key : {"line", "mpxn", "column", "id", "reason", "severity", "message"})
      EXPECT_TRUE(f.contains(key)) << key;
    EXPECT_FALSE(f.contains("code")) << "one vocabulary, one key: \"reason\" (schema certid-file/2)";
    EXPECT_TRUE(f["severity"] == "error" || f["severity"] == "note");
  }
  EXPECT_EQ(j["counts"]["CERT_REVOKED"], 1);
  EXPECT_EQ(j["counts"]["GROUP_NOT_MIGRATED"], 1);
}

TEST_F(CertIdApp, TextTableAndSummary) {
  auto r = check({planted_});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("LINE  MPXN"), std::string::npos);
  EXPECT_NE(r.out.find("21 rows checked, 14 with errors"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("ID_UNKNOWN 1"), std::string::npos);
}

TEST_F(CertIdApp, MissingColumnIsAUsageError) {
  test::write_file(dir_ / "ma.csv", "MPxN,Something\r\n1,2\r\n");
  auto r = check({(dir_ / "ma.csv").string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("COLUMN_MISSING"), std::string::npos);
  EXPECT_NE(r.out.find("\"Something\""), std::string::npos) << r.out;
  auto renamed = check({"--ds-column", "Something", (dir_ / "ma.csv").string()});
  EXPECT_EQ(renamed.exit_code, 2) << "the KA and User ID columns are still missing";
}

TEST_F(CertIdApp, UnreadableInputs) {
  test::write_file(dir_ / "bad.csv", "MPxN,\"broken\r\n");
  EXPECT_EQ(check({(dir_ / "bad.csv").string()}).exit_code, 3);
  EXPECT_EQ(check({(dir_ / "missing.csv").string()}).exit_code, 3);
  auto store = test::run({test::app("mam-certid").string(), "check", "--store", (dir_ / "none").string(), "--trust",
                          (test::keys_dir() / "trust").string(), planted_});
  EXPECT_EQ(store.exit_code, 3);
  EXPECT_EQ(test::run({test::app("mam-certid").string(), "check", planted_}).exit_code, 2);
  EXPECT_EQ(test::run({test::app("mam-certid").string()}).exit_code, 2);
}

TEST_F(CertIdApp, ShowWhoseCertificate) {
  auto r =
      test::run({test::app("mam-certid").string(), "show", "--store", (test::keys_dir() / "store").string(), "--trust",
                 (test::keys_dir() / "trust").string(), "--crl", (test::keys_dir() / "crl").string(), "12:34"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("00000000000000000000000000001234"), std::string::npos);
  EXPECT_NE(r.out.find("EUI-64     70-B3-D5-1F-30-00-D5-01"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("role       03 network operator"), std::string::npos);
  EXPECT_NE(r.out.find("usage      digitalSignature"), std::string::npos);
  EXPECT_NE(r.out.find("chain      valid"), std::string::npos);
  const std::string revoked = test::example_cert("network-operator-revoked-ds")->serial();
  auto j = test::run({test::app("mam-certid").string(), "show", "--json", "--store",
                      (test::keys_dir() / "store").string(), "--trust", (test::keys_dir() / "trust").string(), "--crl",
                      (test::keys_dir() / "crl").string(), revoked});
  EXPECT_EQ(j.exit_code, 0);
  EXPECT_EQ(json::parse(j.out)["certificate"]["chain"], "CERT_REVOKED");
  auto unknown =
      test::run({test::app("mam-certid").string(), "show", "--store", (test::keys_dir() / "store").string(), "99"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.out.find("no certificate with ID"), std::string::npos);
}

// Issue 8, H3/H4: hostile JSON given to the apps ends in exit 3 and a message, never an abort or a crash.
TEST_F(CertIdApp, HostileRegistrationAndProfileAreUnreadableNotFatal) {
  const auto reg = dir_ / "deep.json";
  test::write_file(reg,
                   R"({"mpan_distributors": {"14": )" + std::string(100000, '[') + std::string(100000, ']') + "}}");
  auto r = test::run({test::app("mam-certid").string(), "check", "--store", (test::keys_dir() / "store").string(),
                      "--trust", (test::keys_dir() / "trust").string(), "--registration", reg.string(),
                      (test::testdata_dir() / test::kMaName).string()});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find("--registration"), std::string::npos) << r.err;

  const auto profile = dir_ / "overflow.json";
  test::write_file(profile, R"({"party_octets": [1e999]})");
  for (const auto& app : {"mam-sign", "mam-verify", "mam-certid"}) {
    std::vector<std::string> argv{test::app(app).string()};
    if (std::string(app) == "mam-certid") argv.push_back("check");
    argv.insert(argv.end(), {"--profile", profile.string(), "--print-profile"});
    if (std::string(app) == "mam-certid") argv.back() = "--json";
    auto p = test::run(argv);
    EXPECT_EQ(p.exit_code, 3) << app << ": " << p.err;
    EXPECT_NE(p.err.find("not valid JSON"), std::string::npos) << app << ": " << p.err;
  }
}

// Issue 8, H6: findings are streamed; a CSV error after some findings still leaves one valid JSON object.
TEST_F(CertIdApp, StreamedJsonStaysValidWhenTheFileBreaksHalfway) {
  const auto file = dir_ / "MA_cgI_70-B3-D5-1F-30-00-A0-08_20190407_182503.csv";
  std::string csv =
      "MPxN,DeviceID,DeviceType,GroupID,SupplierUserID,NetworkOperatorUserID,NODSCertificateID,NOKACertificateID\r\n";
  for (int i = 0; i < 3; ++i)
    csv += "1400000000017,x,ESME,EA,70-B3-D5-1F-30-00-A0-08,70-B3-D5-1F-30-00-D4-01,ZZ,ZZ\r\n";
  csv += "\"unterminated\r\n";
  test::write_file(file, csv);
  auto r = check({"--json", file.string()});
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
  const auto j = test::json_result(r.out);
  EXPECT_GE(j["findings"].size(), 3u) << "the findings of the three rows before the error";
  EXPECT_EQ(j["error"]["reason"], "CSV_MALFORMED");
  auto clean = check({"--json", (test::testdata_dir() / test::kMaName).string()});
  const auto c = test::json_result(clean.out);
  EXPECT_EQ(c["findings"].size(), 0u);
  EXPECT_EQ(c["rows_checked"], 50);
  EXPECT_EQ(c["revocation"]["checked"], true);
}

TEST_F(CertIdApp, RequireCrlMakesUncheckedRevocationAnError) {
  const std::vector<std::string> base{test::app("mam-certid").string(),
                                      "check",
                                      "--store",
                                      (test::keys_dir() / "store").string(),
                                      "--trust",
                                      (test::keys_dir() / "trust").string(),
                                      "--at",
                                      "2026-06-01T00:00:00Z"};
  auto with = [&](std::vector<std::string> extra) {
    auto argv = base;
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.push_back((test::testdata_dir() / test::kMaName).string());
    return test::run(argv);
  };
  auto noted = with({});
  EXPECT_EQ(noted.exit_code, 0) << noted.out;
  EXPECT_NE(noted.out.find("note: revocation not checked for"), std::string::npos) << noted.out;
  auto required = with({"--require-crl", "--json"});
  EXPECT_EQ(required.exit_code, 1) << required.out;
  const auto j = test::json_result(required.out);
  EXPECT_GT(j["counts"]["REVOCATION_UNKNOWN"].get<int>(), 0) << required.out;
  EXPECT_EQ(j["revocation"]["checked"], false);
  EXPECT_EQ(with({"--require-crl", "--crl", (test::keys_dir() / "crl").string()}).exit_code, 0);
}

// Issue 9, item 6: an empty store gave one ID_UNKNOWN per row; it is one message and exit 3.
TEST_F(CertIdApp, EmptyStoreIsOneMessageNotAFindingPerRow) {
  std::filesystem::create_directories(dir_ / "empty-store");
  test::write_file(dir_ / "empty-store" / "readme.txt", "nothing here");
  auto r = test::run({test::app("mam-certid").string(), "check", "--store", (dir_ / "empty-store").string(), "--trust",
                      (test::keys_dir() / "trust").string(), (test::testdata_dir() / test::kMaName).string()});
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("the certificate store holds no certificate"), std::string::npos) << r.err;
}

// Issue 9, item 8: "reason" as in the other apps, a schema in every object, --cert-store as in mam-verify.
TEST_F(CertIdApp, OneVocabularyWithTheOtherApps) {
  auto r = test::run({test::app("mam-certid").string(), "check", "--cert-store", (test::keys_dir() / "store").string(),
                      "--trust", (test::keys_dir() / "trust").string(), "--json", planted_});
  const auto j = test::json_result(r.out);
  EXPECT_EQ(j["schema"], "mamsign/certid-file/2");
  ASSERT_FALSE(j["findings"].empty());
  for (const auto& f : j["findings"]) {
    EXPECT_TRUE(f.contains("reason"));
    EXPECT_FALSE(f.contains("code"));
  }
  auto show = test::run({test::app("mam-certid").string(), "show", "--cert-store",
                         (test::keys_dir() / "store").string(), "--json", "1234"});
  EXPECT_EQ(json::parse(show.out)["schema"], "mamsign/certid-show/2");
}

// Issue 9, item 8: mam-certid takes files the way the other apps do, and its summary goes to standard error.
TEST_F(CertIdApp, SameInputFlagsAndSummaryOnStandardError) {
  std::filesystem::create_directories(dir_ / "in" / "sub");
  std::filesystem::copy_file(test::testdata_dir() / test::kMaName, dir_ / "in" / test::kMaName);
  std::filesystem::copy_file(planted_, dir_ / "in" / "sub" / "planted.csv");
  auto flat = check({"--quiet", (dir_ / "in").string()});
  EXPECT_EQ(flat.exit_code, 0) << flat.out << flat.err;
  auto deep = check({"--quiet", "-r", (dir_ / "in").string()});
  EXPECT_EQ(deep.exit_code, 1);
  EXPECT_NE(deep.err.find("mam-certid: 2 files: 1 clean, 1 with findings"), std::string::npos) << deep.err;
  EXPECT_EQ(deep.out.find("2 files"), std::string::npos) << "the summary is not on standard output";
  test::write_file(dir_ / "list", (dir_ / "in" / "sub" / "planted.csv").string() + "\n");
  auto listed = check({"--from", (dir_ / "list").string()});
  EXPECT_EQ(listed.exit_code, 1);
  EXPECT_NE(listed.out.find("planted.csv"), std::string::npos);
  test::write_file(dir_ / "clean-list", (test::testdata_dir() / test::kMaName).string() + "\n");
  auto fail_fast = check({"--fail-fast", "--jobs", "1", planted_, "--from",
                          (dir_ / "clean-list").string()});  // arguments first, then lists
  EXPECT_NE(fail_fast.err.find("stopped: 1 file not processed"), std::string::npos) << fail_fast.err;
  auto empty = check({"--from", "-"});
  EXPECT_EQ(empty.exit_code, 0) << empty.err;
}

TEST_F(CertIdApp, JobsKeepTheInputOrder) {
  std::vector<std::string> args{"--json", "--jobs", "2"};
  for (int i = 0; i < 6; ++i) {
    args.push_back(i % 2 == 0 ? planted_ : (test::testdata_dir() / test::kMaName).string());
  }
  auto r = check(args);
  EXPECT_EQ(r.exit_code, 1);
  int n = 0;
  for (const auto& j : test::json_results(r.out)) {
    EXPECT_EQ(j["file"], args[3 + static_cast<std::size_t>(n)]) << n;
    ++n;
  }
  EXPECT_EQ(n, 6);
  EXPECT_EQ(test::json_summary(r.out)["files"], 6);
}

}  // namespace
}  // namespace mamsign
