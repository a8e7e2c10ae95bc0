#include "mamsign/smki/file_name.h"

#include <gtest/gtest.h>

namespace mamsign {
namespace {

const std::vector<std::string> kPrefixes{"MA", "MAPASSWORD"};

TEST(FileName, PublishedSample) {
  auto n = parse_migration_file_name("MA_cgI_70-B3-D5-1F-30-00-A0-08_20190407_182503", kPrefixes);
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_EQ(n->prefix, "MA");
  EXPECT_EQ(n->s1sp, "cgI");
  EXPECT_EQ(n->eui64.to_string(), "70-B3-D5-1F-30-00-A0-08");
  EXPECT_EQ(n->year, 2019);
  EXPECT_EQ(n->month, 4);
  EXPECT_EQ(n->day, 7);
  EXPECT_EQ(n->timestamp_text(), "2019-04-07T18:25:03Z");
  EXPECT_EQ(n->extension, "");
}

TEST(FileName, MapasswordWithExtension) {
  auto n = parse_migration_file_name("MAPASSWORD_CGI_70B3D51F3000A008_20200229_000000.csv", kPrefixes);
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_EQ(n->prefix, "MAPASSWORD");
  EXPECT_EQ(n->s1sp, "CGI");
  EXPECT_EQ(n->extension, "csv");
  EXPECT_EQ(n->timestamp_text(), "2020-02-29T00:00:00Z");
}

TEST(FileName, ConfiguredPrefixMayContainUnderscore) {
  std::vector<std::string> prefixes{"MA", "MA_DORMANT"};
  auto n = parse_migration_file_name("MA_DORMANT_abc_70-B3-D5-1F-30-00-A0-08_20190407_182503.csv", prefixes);
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_EQ(n->prefix, "MA_DORMANT");
  EXPECT_EQ(n->s1sp, "abc");
}

struct Bad {
  std::string name;
  std::string says;
};

void PrintTo(const Bad& b, std::ostream* os) { *os << b.name; }
class FileNameRejects : public ::testing::TestWithParam<Bad> {};

TEST_P(FileNameRejects, WithAPreciseMessage) {
  auto n = parse_migration_file_name(GetParam().name, kPrefixes);
  ASSERT_FALSE(n) << GetParam().name;
  EXPECT_EQ(n.error().reason, Reason::FileNameInvalid);
  EXPECT_NE(n.error().message.find(GetParam().says), std::string::npos) << n.error().message;
}

INSTANTIATE_TEST_SUITE_P(Names, FileNameRejects,
                         ::testing::Values(Bad{"XX_cgI_70-B3-D5-1F-30-00-A0-08_20190407_182503",
                                               "does not start with one of MA_, MAPASSWORD_"},
                                           Bad{"ma_cgI_70-B3-D5-1F-30-00-A0-08_20190407_182503", "does not start with"},
                                           Bad{"MA_c9I_70-B3-D5-1F-30-00-A0-08_20190407_182503", "S1SP token"},
                                           Bad{"MA__70-B3-D5-1F-30-00-A0-08_20190407_182503", "S1SP token"},
                                           Bad{"MA_cgI_70-B3-D5-1F-30-00-A0_20190407_182503", "EUI-64 part"},
                                           Bad{"MA_cgI_70-B3-D5-1F-30-00-A0-08_20190231_182503", "does not exist"},
                                           Bad{"MA_cgI_70-B3-D5-1F-30-00-A0-08_20190229_182503", "does not exist"},
                                           Bad{"MA_cgI_70-B3-D5-1F-30-00-A0-08_20191301_182503", "does not exist"},
                                           Bad{"MA_cgI_70-B3-D5-1F-30-00-A0-08_20190400_182503", "does not exist"},
                                           Bad{"MA_cgI_70-B3-D5-1F-30-00-A0-08_2019047_182503", "8 digits"},
                                           Bad{"MA_cgI_70-B3-D5-1F-30-00-A0-08_20190407_250000", "does not exist"},
                                           Bad{"MA_cgI_70-B3-D5-1F-30-00-A0-08_20190407_236000", "does not exist"},
                                           Bad{"MA_cgI_70-B3-D5-1F-30-00-A0-08_20190407_235960", "does not exist"},
                                           Bad{"MA_cgI_70-B3-D5-1F-30-00-A0-08_20190407_18250", "6 digits"},
                                           Bad{"MA_cgI_70-B3-D5-1F-30-00-A0-08_20190407_182503.", "extension"},
                                           Bad{"MA_cgI_70-B3-D5-1F-30-00-A0-08_20190407_182503.c-v", "extension"},
                                           Bad{"MA_cgI_70-B3-D5-1F-30-00-A0-08_20190407_182503_extra", "not 4"},
                                           Bad{"MA_cgI_70-B3-D5-1F-30-00-A0-08_20190407", "not 4"},
                                           Bad{"MA", "does not start with"}));

TEST(FileName, LeapDayInLeapYear) {
  EXPECT_TRUE(parse_migration_file_name("MA_cgI_70-B3-D5-1F-30-00-A0-08_20240229_235959", kPrefixes));
  EXPECT_FALSE(parse_migration_file_name("MA_cgI_70-B3-D5-1F-30-00-A0-08_21000229_000000", kPrefixes));
  EXPECT_TRUE(parse_migration_file_name("MA_cgI_70-B3-D5-1F-30-00-A0-08_20000229_000000", kPrefixes));
}

}  // namespace
}  // namespace mamsign
