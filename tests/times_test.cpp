#include "mamsign/base/times.h"

#include <gtest/gtest.h>

namespace mamsign {
namespace {

TEST(Times, AcceptedForms) {
  const std::time_t noon = *parse_iso8601("2026-11-28T12:00:00Z");
  EXPECT_EQ(format_iso8601(noon), "2026-11-28T12:00:00Z");
  EXPECT_EQ(*parse_iso8601("2026-11-28T12:00Z"), noon);
  EXPECT_EQ(*parse_iso8601("2026-11-28 12:00:00"), noon);
  EXPECT_EQ(*parse_iso8601("2026-11-28T13:00:00+01:00"), noon);
  EXPECT_EQ(*parse_iso8601("2026-11-28T11:30:00-00:30"), noon);
  EXPECT_EQ(*parse_iso8601("2026-11-28T12:00:00.999Z"), noon);
  EXPECT_EQ(*parse_iso8601("2026-11-28"), noon - 12 * 3600);
}

TEST(Times, RejectedForms) {
  for (const char* bad : {"", "2026", "2026-02-30", "2026-11-28T24:00:00Z", "2026-11-28T12:60Z", "2026-11-28T12:00:00Q",
                          "28/11/2026", "2026-11-28T12:00:00+1", "2026-11-28T12:00:00.Z", "2026-11-28Tnoon"}) {
    auto t = parse_iso8601(bad);
    EXPECT_FALSE(t) << bad;
    if (!t) {
      EXPECT_NE(t.error().message.find("expected an ISO 8601 time"), std::string::npos);
    }
  }
}

// --crl-grace and the profile's crl_grace: a whole number with a unit, at most 366 days.
TEST(Durations, AtAndPastTheLimit) {
  EXPECT_EQ(*parse_duration("0"), 0);
  EXPECT_EQ(*parse_duration("90s"), 90);
  EXPECT_EQ(*parse_duration("30m"), 1800);
  EXPECT_EQ(*parse_duration("12h"), 43200);
  EXPECT_EQ(*parse_duration("366d"), 366 * 86400);
  EXPECT_EQ(*parse_duration("31622400s"), 366 * 86400);
  for (const char* bad : {"367d", "31622401s", "99999999999d", "", "h", "12", "-1h", "1.5h", "12 h", "1w"}) {
    auto d = parse_duration(bad);
    ASSERT_FALSE(d) << bad;
    EXPECT_NE(d.error().message.find("at most 366d"), std::string::npos) << d.error().message;
  }
  EXPECT_EQ(format_duration(0), "0s");
  EXPECT_EQ(format_duration(90), "90s");
  EXPECT_EQ(format_duration(7200), "2h");
  EXPECT_EQ(format_duration(366 * 86400), "366d");
}

}  // namespace
}  // namespace mamsign
