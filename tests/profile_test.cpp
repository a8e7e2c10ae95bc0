#include "mamsign/smki/profile.h"

#include "support/test_support.h"

#include <gtest/gtest.h>

namespace mamsign {
namespace {

TEST(Profile, Defaults) {
  const Profile p = Profile::defaults();
  ASSERT_EQ(p.policy_oids.size(), 1u);
  EXPECT_EQ(p.policy_oids[0], "1.2.826.0.1.8641679.1.2.1.4");
  EXPECT_TRUE(p.signer_role_allowed(0x02));
  EXPECT_FALSE(p.signer_role_allowed(0x03));
  EXPECT_EQ(p.network_operator_role, 0x03);
  EXPECT_EQ(p.issuer_role, std::optional<std::uint8_t>(0x07));
  EXPECT_EQ(p.party_octets, kDefaultPartyOctets);
  EXPECT_EQ(p.file_name_prefixes, (std::vector<std::string>{"MA", "MAPASSWORD"}));
}

TEST(Profile, EmptyObjectKeepsDefaults) {
  auto p = Profile::parse("{}");
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(p->to_json(), Profile::defaults().to_json());
}

TEST(Profile, Overrides) {
  auto p = Profile::parse(R"({
    "policy_oids": ["1.2.826.0.1.8641679.1.2.1.4", "1.2.3.4.5"],
    "signer_roles": ["02", "05"],
    "network_operator_role": "03",
    "issuer_role": null,
    "party_octets": [6, 7],
    "file_name_prefixes": ["MA", "MAPASSWORD", "DMMSN"]
  })");
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_TRUE(p->policy_allowed("1.2.3.4.5"));
  EXPECT_TRUE(p->signer_role_allowed(0x05));
  EXPECT_FALSE(p->issuer_role.has_value());
  EXPECT_EQ(p->party_octets, (PartyOctets{false, false, false, false, false, true, true, false}));
  EXPECT_EQ(p->file_name_prefixes.back(), "DMMSN");
}

TEST(Profile, RoundTripsThroughItsOwnJson) {
  auto p = Profile::parse(R"({"party_octets": [1,2,3,4,5,6], "signer_roles": ["7F"]})");
  ASSERT_TRUE(p);
  auto again = Profile::parse(p->to_json());
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(again->to_json(), p->to_json());
}

struct BadProfile {
  std::string json;
  std::string key;
};
void PrintTo(const BadProfile& b, std::ostream* os) { *os << b.json; }
class ProfileRejects : public ::testing::TestWithParam<BadProfile> {};

TEST_P(ProfileRejects, NamingTheKeyAtFault) {
  auto p = Profile::parse(GetParam().json, "my-profile.json");
  ASSERT_FALSE(p) << GetParam().json;
  EXPECT_EQ(p.error().reason, Reason::InvalidInput);
  EXPECT_NE(p.error().message.find("my-profile.json"), std::string::npos) << p.error().message;
  EXPECT_NE(p.error().message.find(GetParam().key), std::string::npos) << p.error().message;
}

INSTANTIATE_TEST_SUITE_P(Files, ProfileRejects,
                         ::testing::Values(BadProfile{R"({"policy_oid": "1.2.3"})", "\"policy_oid\": unknown key"},
                                           BadProfile{R"({"policy_oids": "1.2.3"})", "\"policy_oids\""},
                                           BadProfile{R"({"policy_oids": []})", "\"policy_oids\""},
                                           BadProfile{R"({"policy_oids": ["1..2"]})", "\"policy_oids\""},
                                           BadProfile{R"({"policy_oids": ["abc"]})", "\"policy_oids\""},
                                           BadProfile{R"({"signer_roles": ["2"]})", "\"signer_roles\""},
                                           BadProfile{R"({"signer_roles": [2]})", "\"signer_roles\""},
                                           BadProfile{R"({"network_operator_role": "XYZ"})",
                                                      "\"network_operator_role\""},
                                           BadProfile{R"({"issuer_role": 7})", "\"issuer_role\""},
                                           BadProfile{R"({"party_octets": [0]})", "\"party_octets\""},
                                           BadProfile{R"({"party_octets": [9]})", "\"party_octets\""},
                                           BadProfile{R"({"party_octets": "1-7"})", "\"party_octets\""},
                                           BadProfile{R"({"file_name_prefixes": ["MA-X"]})", "\"file_name_prefixes\""},
                                           BadProfile{R"({"file_name_prefixes": ["MA_"]})", "\"file_name_prefixes\""},
                                           BadProfile{R"([1,2])", "expected a JSON object"},
                                           BadProfile{R"({"policy_oids": )", "not valid JSON"}));

TEST(Profile, LoadFromFile) {
  test::TempDir dir;
  test::write_file(dir / "p.json", R"({"signer_roles": ["02", "05"]})");
  auto p = Profile::load(dir / "p.json");
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_TRUE(p->signer_role_allowed(0x05));
  auto missing = Profile::load(dir / "missing.json");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().reason, Reason::IoError);
  EXPECT_NE(missing.error().message.find("missing.json"), std::string::npos);
}

TEST(Profile, RoleNames) {
  EXPECT_EQ(role_code(0x02), "02");
  EXPECT_EQ(role_code(0x7F), "7F");
  EXPECT_EQ(role_name(0x02), "supplier");
  EXPECT_EQ(role_name(0x03), "network operator");
  EXPECT_EQ(role_name(0x42), "unknown role");
}

// Hostile JSON (issue 8, H3/H4): every failure is an InvalidInput value, never an abort or a crash.
TEST(Profile, NumberOverflowIsAnError) {
  auto p = Profile::parse(R"({"party_octets": [1e999]})", "p.json");
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().reason, Reason::InvalidInput);
  EXPECT_NE(p.error().message.find("p.json"), std::string::npos) << p.error().message;
}

TEST(Profile, HugeIntegerIsNotWrappedIntoRange) {
  auto p = Profile::parse(R"({"party_octets": [4294967303]})");  // 2^32 + 7
  ASSERT_FALSE(p);
  EXPECT_NE(p.error().message.find("octet position"), std::string::npos) << p.error().message;
}

TEST(Profile, NestingAtAndPastTheLimit) {
  const auto nested = [](int levels) {
    return R"({"$comment": )" + std::string(static_cast<std::size_t>(levels), '[') +
           std::string(static_cast<std::size_t>(levels), ']') + "}";
  };
  EXPECT_TRUE(Profile::parse(nested(16))) << "16 levels inside the top object are allowed";
  for (int levels : {17, 100000}) {
    auto p = Profile::parse(nested(levels));
    ASSERT_FALSE(p) << levels;
    EXPECT_NE(p.error().message.find("nested deeper than 16"), std::string::npos) << p.error().message;
  }
}

TEST(Profile, DuplicateKeyIsRefusedNotLastWins) {
  auto p = Profile::parse(R"({"policy_oids": ["1.2.3"], "policy_oids": ["1.2.826.0.1.8641679.1.2.1.4"]})");
  ASSERT_FALSE(p);
  EXPECT_NE(p.error().message.find("appears twice"), std::string::npos) << p.error().message;
}

TEST(Profile, MessagesDescribeValuesWithoutDumpingThem) {
  auto p = Profile::parse(R"({"signer_roles": [[[[1]]]]})");
  ASSERT_FALSE(p);
  EXPECT_NE(p.error().message.find("an array is not a two-hex-digit role code"), std::string::npos)
      << p.error().message;
}

}  // namespace
}  // namespace mamsign
