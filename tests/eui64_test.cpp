#include "mamsign/smki/eui64.h"

#include <gtest/gtest.h>

#include <unordered_set>

namespace mamsign {
namespace {

const Eui64::Octets kSample{0x70, 0xB3, 0xD5, 0x1F, 0x30, 0x00, 0xA0, 0x08};

class Eui64Accepts : public ::testing::TestWithParam<std::string> {};

TEST_P(Eui64Accepts, EveryDocumentedForm) {
  auto e = Eui64::parse(GetParam());
  ASSERT_TRUE(e) << e.error().message;
  EXPECT_EQ(e->octets(), kSample);
  EXPECT_EQ(e->to_string(), "70-B3-D5-1F-30-00-A0-08");
}

INSTANTIATE_TEST_SUITE_P(Forms, Eui64Accepts,
                         ::testing::Values("70-B3-D5-1F-30-00-A0-08", "70:B3:D5:1F:30:00:A0:08",
                                           "70 B3 D5 1F 30 00 A0 08", "70B3D51F3000A008", "70-b3-d5-1f-30-00-a0-08",
                                           "70b3d51f3000a008", "70:b3:D5:1f:30:00:A0:08"));

class Eui64Rejects : public ::testing::TestWithParam<std::string> {};

TEST_P(Eui64Rejects, WithAMessageShowingTheInput) {
  auto e = Eui64::parse(GetParam());
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().reason, Reason::IdSyntax);
  EXPECT_NE(e.error().message.find("expected an EUI-64"), std::string::npos);
  EXPECT_NE(e.error().message.find("found \""), std::string::npos) << e.error().message;
}

INSTANTIATE_TEST_SUITE_P(Forms, Eui64Rejects,
                         ::testing::Values("", "70-B3-D5-1F-30-00-A0", "70-B3-D5-1F-30-00-A0-08-00", "70B3D51F3000A0",
                                           "70B3D51F3000A00800", "70-B3:D5-1F-30-00-A0-08", "70.B3.D5.1F.30.00.A0.08",
                                           "70_B3_D5_1F_30_00_A0_08", "7G-B3-D5-1F-30-00-A0-08", " 70B3D51F3000A008",
                                           "70B3D51F3000A008 ", "70--B3D5-1F-30-00-A0-08", "0x70B3D51F3000A0"));

TEST(Eui64, MessageNamesTheProblem) {
  auto e = Eui64::parse("70-B3:D5-1F-30-00-A0-08");
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().message.find("separators differ"), std::string::npos) << e.error().message;
  auto f = Eui64::parse("70-B3-D5-1F-30-00-A0-0Z");
  ASSERT_FALSE(f);
  EXPECT_NE(f.error().message.find("octet 8"), std::string::npos) << f.error().message;
}

TEST(Eui64, UntrustedInputIsShownSafely) {
  auto e = Eui64::parse(std::string("70-B3-D5-1F-30-00-A0-0\x01", 23));
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().message.find("\\x01"), std::string::npos) << e.error().message;
}

TEST(Eui64, SamePartyIsTheFirstSevenOctetsByDefault) {
  const auto a = *Eui64::parse("70-B3-D5-1F-30-00-A0-08");
  const auto same_party_other_user = *Eui64::parse("70-B3-D5-1F-30-00-A0-09");
  const auto other_party = *Eui64::parse("70-B3-D5-1F-30-00-B1-08");
  EXPECT_TRUE(a.same_party(same_party_other_user));
  EXPECT_FALSE(a.same_party(other_party));
  EXPECT_EQ(a.party_string(), "70-B3-D5-1F-30-00-A0-xx");
}

TEST(Eui64, SamePartyOctetsAreConfigurable) {
  const auto a = *Eui64::parse("70-B3-D5-1F-30-01-00-00");
  const auto b = *Eui64::parse("70-B3-D5-1F-30-01-77-00");
  PartyOctets six_and_seven{false, false, false, false, false, true, false, false};
  EXPECT_TRUE(a.same_party(b, six_and_seven));
  EXPECT_FALSE(a.same_party(b));
  EXPECT_EQ(a.party_string(six_and_seven), "xx-xx-xx-xx-xx-01-xx-xx");
}

TEST(Eui64, OrdersAndHashes) {
  const auto a = *Eui64::parse("70B3D51F3000A008");
  const auto b = *Eui64::parse("70-B3-D5-1F-30-00-A0-08");
  EXPECT_EQ(a, b);
  std::unordered_set<Eui64> set{a, b, *Eui64::parse("70B3D51F3000A009")};
  EXPECT_EQ(set.size(), 2u);
  EXPECT_LT(a, *Eui64::parse("70B3D51F3000A009"));
}

}  // namespace
}  // namespace mamsign
