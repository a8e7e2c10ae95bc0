#include "mamsign/smki/certificate_id.h"

#include <gtest/gtest.h>

namespace mamsign {
namespace {

const std::string kCanonical = "0A1B2C3D4E5F60718293A4B5C6D7E8F9";

TEST(CertificateId, AcceptedForms) {
  for (const char* form :
       {"0A1B2C3D4E5F60718293A4B5C6D7E8F9", "0a1b2c3d4e5f60718293a4b5c6d7e8f9",
        "0A:1B:2C:3D:4E:5F:60:71:82:93:A4:B5:C6:D7:E8:F9", "0a 1b 2c 3d 4e 5f 60 71 82 93 a4 b5 c6 d7 e8 f9",
        "A1B2C3D4E5F60718293A4B5C6D7E8F9", "A:1B:2C:3D:4E:5F:60:71:82:93:A4:B5:C6:D7:E8:F9"}) {
    auto id = parse_certificate_id(form);
    ASSERT_TRUE(id) << form << ": " << id.error().message;
    EXPECT_EQ(*id, kCanonical) << form;
  }
  EXPECT_EQ(*parse_certificate_id("1234"), "00000000000000000000000000001234");
  EXPECT_EQ(*parse_certificate_id("12:34"), "00000000000000000000000000001234");
}

TEST(CertificateId, DecimalOnlyWhenAsked) {
  EXPECT_EQ(*parse_certificate_id("4660", IdBase::Decimal), "00000000000000000000000000001234");
  EXPECT_EQ(*parse_certificate_id("4660"), "00000000000000000000000000004660");  // hex by default
  EXPECT_FALSE(parse_certificate_id("12AB", IdBase::Decimal));
  EXPECT_FALSE(parse_certificate_id("340282366920938463463374607431768211456", IdBase::Decimal));  // 2^128
  EXPECT_TRUE(parse_certificate_id("340282366920938463463374607431768211455", IdBase::Decimal));
}

TEST(CertificateId, Rejected) {
  for (const char* bad : {"", "0", "00:00", "XYZ", "0A-1B", "0A::1B", "0A:1B:", ":0A", "0A 1B:2C", "0A1:B2",
                          "0A1B2C3D4E5F60718293A4B5C6D7E8F9AA", " 0A1B", "0x0A1B"}) {
    auto id = parse_certificate_id(bad);
    EXPECT_FALSE(id) << bad;
    if (!id) {
      EXPECT_EQ(id.error().reason, Reason::IdSyntax);
      EXPECT_NE(id.error().message.find("found \""), std::string::npos);
    }
  }
}

}  // namespace
}  // namespace mamsign
