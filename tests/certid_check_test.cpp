#include "mamsign/certid_check.h"

#include "mamsign/base/times.h"
#include "support/test_support.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <set>
#include <tuple>

namespace mamsign {
namespace {

using Key = std::tuple<std::size_t, std::string, std::string, std::string>;  // line, column, code, severity

class CertIdTest : public ::testing::Test {
 protected:
  CertIdChecker checker(bool with_registration = true, CertIdColumns columns = {}) {
    CertIdOptions o;
    o.at = test::example_time();
    o.columns = columns;
    if (with_registration) o.registration = *Registration::load(test::testdata_dir() / "registration.json");
    return CertIdChecker(store_, test::example_trust(), Profile::defaults(), o);
  }
  Result<CertIdReport> check_text(const std::string& csv, bool with_registration = true) {
    test::write_file(dir_ / "ma.csv", csv);
    return checker(with_registration).check_file(dir_ / "ma.csv");
  }
  static std::set<Key> keys(const CertIdReport& r) {
    std::set<Key> out;
    for (const auto& f : r.findings) {
      out.emplace(f.line, f.column, std::string(reason_name(f.code)), std::string(severity_name(f.severity)));
    }
    return out;
  }
  std::string serial(const std::string& name) { return test::example_cert(name)->serial(); }
  // A row for the registered network operator of distributor 14, with `ds_id` in the DS column.
  std::string mpan_row(const std::string& ds_id) {
    return mpan_ + ",00-12-4B-00-00-00-00-01,ESME,EA,70-B3-D5-1F-30-00-A0-08,70-B3-D5-1F-30-00-D4-01," + ds_id + "," +
           serial("network-operator-ka") + "\r\n";
  }

  const std::string mpan_ = "140000000001" + std::to_string(mpan_check_digit("140000000001"));

  std::shared_ptr<const CertStore> store_ = *CertStore::load({test::keys_dir() / "store"});
  test::TempDir dir_;
  const std::string header_ =
      "MPxN,DeviceID,DeviceType,GroupID,SupplierUserID,NetworkOperatorUserID,NODSCertificateID,NOKACertificateID\r\n";
};

TEST_F(CertIdTest, ExampleMaFileIsClean) {
  auto r = checker().check_file(test::testdata_dir() / test::kMaName);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->rows_checked, 50u);
  EXPECT_EQ(r->rows_with_errors, 0u);
  EXPECT_TRUE(r->findings.empty()) << r->findings[0].message;
}

// The planted file: every finding code, each on its line; the expectations were written by the
// generator that planted them.
TEST_F(CertIdTest, PlantedErrorsAreFoundOnTheirLines) {
  const auto expected = nlohmann::json::parse(test::read_file(test::testdata_dir() / "certid/expected-findings.json"));
  CertIdOptions o;
  o.at = *parse_iso8601(expected["at"].get<std::string>());
  o.registration = *Registration::load(test::testdata_dir() / "registration.json");
  const CertIdChecker c(store_, test::example_trust(), Profile::defaults(), o);
  auto r = c.check_file(test::testdata_dir() / expected["file"].get<std::string>());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->rows_checked, expected["rows"].get<std::size_t>());
  std::set<Key> want;
  for (const auto& f : expected["findings"]) {
    want.emplace(f["line"].get<std::size_t>(), f["column"].get<std::string>(), f["reason"].get<std::string>(),
                 f["severity"].get<std::string>());
  }
  EXPECT_EQ(keys(*r), want);
  EXPECT_EQ(r->findings.size(), want.size()) << "no finding twice";
  for (const char* code : {"ID_SYNTAX", "ID_UNKNOWN", "NOT_NETWORK_OPERATOR", "WRONG_USAGE", "PAIR_MISMATCH",
                           "NO_USERID_MISMATCH", "CERT_EXPIRED", "CERT_NOT_YET_VALID", "CERT_REVOKED",
                           "UNTRUSTED_CHAIN", "MPXN_INVALID", "WRONG_NETWORK_OPERATOR"}) {
    EXPECT_GT(r->counts[*reason_from_name(code)], 0u) << code << " is planted";
  }
}

TEST_F(CertIdTest, WithoutRegistrationNoWrongNetworkOperator) {
  auto r = check_text(header_ + "1450000950289,d,ESME,EA,s,70-B3-D5-1F-30-00-D5-01," + serial("network-operator2-ds") +
                          "," + serial("network-operator2-ka") + "\r\n",
                      false);
  ASSERT_TRUE(r);
  for (const auto& f : r->findings) EXPECT_NE(f.code, Reason::WrongNetworkOperator);
}

TEST_F(CertIdTest, FindingCarriesLineMpxnColumnAndId) {
  auto r = check_text(header_ + "\r\n" + mpan_row("XYZ"));
  ASSERT_TRUE(r);
  ASSERT_EQ(r->findings.size(), 1u);
  const Finding& f = r->findings[0];
  EXPECT_EQ(f.line, 3u);
  EXPECT_EQ(f.column, "NODSCertificateID");
  EXPECT_EQ(f.id, "XYZ");
  EXPECT_EQ(f.mpxn, mpan_);
  EXPECT_EQ(f.code, Reason::IdSyntax);
  EXPECT_NE(f.message.find("\"XYZ\""), std::string::npos);
}

TEST_F(CertIdTest, ColumnsByNameInAnyOrderAnyCase) {
  const std::string csv = "nokacertificateid,NODSCERTIFICATEID,mpxn,networkoperatoruserid\r\n" +
                          serial("network-operator-ka") + "," + serial("network-operator-ds") + "," + mpan_ +
                          ",70-B3-D5-1F-30-00-D4-01\r\n";
  auto r = check_text(csv);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->rows_checked, 1u);
  EXPECT_TRUE(r->findings.empty());
}

TEST_F(CertIdTest, RenamedColumns) {
  CertIdColumns cols;
  cols.ds = "DS ID";
  cols.ka = "KA ID";
  test::write_file(dir_ / "ma.csv", "MPxN,NetworkOperatorUserID,DS ID,KA ID\r\n" + mpan_ + ",70-B3-D5-1F-30-00-D4-01," +
                                        serial("network-operator-ds") + "," + serial("network-operator-ka") + "\r\n");
  auto r = checker(true, cols).check_file(dir_ / "ma.csv");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r->findings.empty());
}

TEST_F(CertIdTest, MissingColumnListsTheHeadersFound) {
  auto r = check_text("MPxN,NetworkOperatorUserID,DS\r\n1,2,3\r\n");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().reason, Reason::ColumnMissing);
  EXPECT_NE(r.error().message.find("no column named NODSCertificateID, NOKACertificateID"), std::string::npos)
      << r.error().message;
  EXPECT_NE(r.error().message.find("the header has: \"MPxN\", \"NetworkOperatorUserID\", \"DS\""), std::string::npos)
      << r.error().message;
  auto empty = check_text("");
  ASSERT_FALSE(empty);
  EXPECT_NE(empty.error().message.find("the file is empty"), std::string::npos);
}

TEST_F(CertIdTest, HeaderOnlyAndBlankRows) {
  auto r = check_text(header_ + ",,,,,,,\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->rows_checked, 0u);
  EXPECT_TRUE(r->findings.empty());
}

TEST_F(CertIdTest, RaggedRowIsRowMalformed) {
  auto r = check_text(header_ + mpan_ + ",d,ESME, smart,EA,s,70-B3-D5-1F-30-00-D4-01," + serial("network-operator-ds") +
                      "," + serial("network-operator-ka") + "\r\n" + mpan_ + ",d\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(keys(*r), (std::set<Key>{{2, "", "ROW_MALFORMED", "error"}, {3, "", "ROW_MALFORMED", "error"}}));
  EXPECT_NE(r->findings[0].message.find("9 cells, the header 8"), std::string::npos) << r->findings[0].message;
}

TEST_F(CertIdTest, MalformedCsvAndHugeFieldsEndTheFile) {
  auto r = check_text(header_ + "\"unterminated\r\n");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().reason, Reason::CsvMalformed);
  auto huge = check_text(header_ + std::string(100000, '1') + ",,,,,,,\r\n");
  ASSERT_FALSE(huge);
  EXPECT_EQ(huge.error().reason, Reason::CsvMalformed);
  EXPECT_NE(huge.error().message.find("line 2"), std::string::npos);
}

TEST_F(CertIdTest, BomAndLfFile) {
  std::string csv = "\xEF\xBB\xBF" + header_ + mpan_row(serial("network-operator-ds"));
  for (std::size_t p; (p = csv.find("\r\n")) != std::string::npos;) csv.erase(p, 1);
  auto r = check_text(csv);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->rows_checked, 1u);
  EXPECT_TRUE(r->findings.empty());
}

TEST_F(CertIdTest, ChainResultsAreComputedOncePerCertificate) {
  std::string csv = header_;
  for (int i = 0; i < 200; ++i) csv += mpan_row(serial("network-operator-ds"));
  test::write_file(dir_ / "ma.csv", csv);
  const auto c = checker();
  auto r = c.check_file(dir_ / "ma.csv");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->rows_checked, 200u);
  EXPECT_TRUE(r->findings.empty());
  EXPECT_EQ(c.chain_validations(), 2u) << "one DS and one KA certificate, validated once each for 200 rows";
}

// Helper threads (issue 12) validate the certificates a file names ahead of its rows: the report is the
// same, finding for finding, and each certificate is still validated once. A generated store of 300
// certificates named by 1,500 rows (every one of them), and the planted file with every finding code.
TEST_F(CertIdTest, HelperThreadsGiveTheSameReportAndValidateEachCertificateOnce) {
  const auto bulk = dir_ / "bulk";
  auto made = test::run({test::app("mam-testpki").string(), "bulk", "--out", bulk.string(), "--count", "300", "--rows",
                         "1500", "--referenced", "0"});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  auto store = CertStore::load({bulk / "store"});
  ASSERT_TRUE(store) << store.error().message;
  auto trust = TrustStore::load({bulk / "trust"}, Profile::defaults());
  ASSERT_TRUE(trust) << trust.error().message;
  std::filesystem::path ma;
  for (const auto& e : std::filesystem::directory_iterator(bulk)) {
    if (e.path().extension() == ".csv") ma = e.path();
  }
  ASSERT_FALSE(ma.empty());
  const auto as_tuples = [](const CertIdReport& r) {
    std::vector<std::tuple<std::size_t, std::string, std::string, std::string, std::string, std::string>> out;
    for (const auto& f : r.findings) {
      out.emplace_back(f.line, f.mpxn, f.column, f.id, std::string(reason_name(f.code)), f.message);
    }
    return out;
  };
  struct Case {
    std::shared_ptr<const CertStore> store;
    std::shared_ptr<const TrustStore> trust;
    std::optional<Registration> registration;
    std::time_t at;
    std::filesystem::path file;
    std::size_t certificates_named;  // 0: not known here
  };
  const auto planted = nlohmann::json::parse(test::read_file(test::testdata_dir() / "certid/expected-findings.json"));
  const std::vector<Case> cases = {
      {*store, *trust, *Registration::load(bulk / "registration.json"), *parse_iso8601("2026-06-01T00:00:00Z"), ma,
       300},
      {store_, test::example_trust(), *Registration::load(test::testdata_dir() / "registration.json"),
       *parse_iso8601(planted["at"].get<std::string>()), test::testdata_dir() / planted["file"].get<std::string>(), 0}};
  for (const auto& c : cases) {
    std::optional<CertIdReport> first;
    std::size_t validations = 0;
    for (const unsigned threads : {1u, 2u, 4u}) {
      CertIdOptions o;
      o.at = c.at;
      o.registration = c.registration;
      o.threads = threads;
      const CertIdChecker checker(c.store, c.trust, Profile::defaults(), o);
      auto r = checker.check_file(c.file);
      ASSERT_TRUE(r) << r.error().message;
      if (!first) {
        first = *r;
        validations = checker.chain_validations();
        EXPECT_GT(validations, 0u);
        if (c.certificates_named != 0) {
          EXPECT_EQ(validations, c.certificates_named) << "every certificate of the store is named";
          EXPECT_EQ(r->rows_checked, 1500u);
        } else {
          EXPECT_FALSE(r->findings.empty()) << c.file << ": the planted file has findings to compare";
        }
        continue;
      }
      EXPECT_EQ(r->rows_checked, first->rows_checked) << c.file << " with " << threads << " threads";
      EXPECT_EQ(r->counts, first->counts) << c.file << " with " << threads << " threads";
      EXPECT_EQ(as_tuples(*r), as_tuples(*first)) << c.file << " with " << threads << " threads";
      EXPECT_EQ(checker.chain_validations(), validations) << "each certificate validated once, by whichever thread";
    }
  }
}

// Issue 8, M2: a second column with a required name was ignored, so a file whose second DS column held
// junk was "clean".
TEST_F(CertIdTest, DuplicateColumnIsAnErrorNotIgnored) {
  const std::string header =
      "MPxN,DeviceID,DeviceType,GroupID,SupplierUserID,NetworkOperatorUserID,NODSCertificateID,"
      "NOKACertificateID,nodscertificateid\r\n";
  std::string row = mpan_row(serial("network-operator-ds"));
  row.insert(row.size() - 2, ",junk");
  auto r = check_text(header + row);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().reason, Reason::ColumnDuplicated);
  EXPECT_NE(r.error().message.find("\"NODSCertificateID\" twice (columns 7 and 9)"), std::string::npos)
      << r.error().message;
  // The optional GroupID column too.
  auto g = check_text("GroupID," + header_.substr(0, header_.size() - 2) + "\r\n");
  ASSERT_FALSE(g);
  EXPECT_EQ(g.error().reason, Reason::ColumnDuplicated);
}

// Issue 8, H6: findings stream to a sink in file order; the report keeps only counts.
TEST_F(CertIdTest, FindingsStreamToTheSinkInOrder) {
  std::string csv = header_;
  for (int i = 0; i < 50; ++i) csv += mpan_row("NOT-AN-ID");
  test::write_file(dir_ / "ma.csv", csv);
  std::vector<std::size_t> lines;
  auto r = checker().check_file(dir_ / "ma.csv", [&](const Finding& f) { lines.push_back(f.line); });
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r->findings.empty()) << "the streaming check keeps no findings";
  ASSERT_EQ(lines.size(), 50u);
  EXPECT_TRUE(std::is_sorted(lines.begin(), lines.end()));
  EXPECT_EQ(r->errors(), 50u);
  EXPECT_EQ(r->rows_with_errors, 50u);
}

TEST_F(CertIdTest, RevocationUncheckedIsCounted) {
  CertIdOptions o;
  o.at = test::example_time();
  const CertIdChecker without_crl(store_, test::example_trust(false), Profile::defaults(), o);
  test::write_file(dir_ / "ma.csv", header_ + mpan_row(serial("network-operator-ds")));
  auto r = without_crl.check_file(dir_ / "ma.csv");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->errors(), 0u);
  EXPECT_EQ(r->revocation_unchecked, 2u) << "the DS and the KA certificate";
  auto with_crl = checker().check_file(dir_ / "ma.csv");
  EXPECT_EQ(with_crl->revocation_unchecked, 0u);

  Profile required;
  required.require_crl = true;
  auto strict_trust = TrustStore::load({test::keys_dir() / "trust"}, required);
  const CertIdChecker strict(store_, *strict_trust, required, o);
  auto refused = strict.check_file(dir_ / "ma.csv");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->counts[Reason::RevocationUnknown], 2u);
  EXPECT_EQ(refused->rows_with_errors, 1u);
}

}  // namespace
}  // namespace mamsign
