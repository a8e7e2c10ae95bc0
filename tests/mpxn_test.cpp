#include "mamsign/smki/mpxn.h"

#include <gtest/gtest.h>

namespace mamsign {
namespace {

TEST(Mpxn, CheckDigitByHand) {
  // 1*3 + 2*5 + 0*7 + 0*13 + 0*17 + 2*19 + 3*23 + 3*29 + 0*31 + 5*37 + 9*41 + 6*43 = 1019; 1019 % 11 = 7.
  EXPECT_EQ(mpan_check_digit("120002330596"), 7);
  auto m = parse_mpxn("1200023305967");
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(m->kind, MpxnKind::Mpan);
  EXPECT_EQ(m->distributor_id(), "12");
}

TEST(Mpxn, WrongCheckDigitSaysWhichIsRight) {
  auto m = parse_mpxn("1200023305968");
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().reason, Reason::MpxnInvalid);
  EXPECT_NE(m.error().message.find("give 7"), std::string::npos) << m.error().message;
}

TEST(Mpxn, Mprn) {
  for (const char* ok : {"123456", "1234567890", "98765432"}) {
    auto m = parse_mpxn(ok);
    ASSERT_TRUE(m) << ok;
    EXPECT_EQ(m->kind, MpxnKind::Mprn);
    EXPECT_EQ(m->distributor_id(), "");
  }
}

TEST(Mpxn, Rejected) {
  for (const char* bad :
       {"", "12345", "12345678901", "123456789012", "12000233059670", "12-0002330596", "abcdefghijklm"}) {
    auto m = parse_mpxn(bad);
    EXPECT_FALSE(m) << bad;
  }
}

}  // namespace
}  // namespace mamsign
