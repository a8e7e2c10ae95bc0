#include "mamsign/times.h"

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

}  // namespace
}  // namespace mamsign
