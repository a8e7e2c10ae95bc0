#include "mamsign/base/error.h"

#include "support/test_support.h"

#include <gtest/gtest.h>

#include <set>

namespace mamsign {
namespace {

TEST(Reasons, NamesAreUniqueAndRoundTrip) {
  std::set<std::string_view> names;
  for (Reason r : all_reasons()) {
    const auto name = reason_name(r);
    EXPECT_NE(name, "UNKNOWN");
    EXPECT_TRUE(names.insert(name).second) << name << " twice";
    EXPECT_EQ(reason_from_name(name), r);
  }
  EXPECT_FALSE(reason_from_name("NOT_A_CODE"));
}

// Scripts rely on the codes and people on their explanations: every code is in docs/reason-codes.md.
TEST(Reasons, EveryCodeIsDocumented) {
  const std::string doc = test::read_file(test::source_dir() / "docs/reason-codes.md");
  for (Reason r : all_reasons()) {
    EXPECT_NE(doc.find("`" + std::string(reason_name(r)) + "`"), std::string::npos)
        << reason_name(r) << " is not documented";
  }
}

TEST(Printable, EscapesAndCuts) {
  EXPECT_EQ(printable("abc"), "\"abc\"");
  EXPECT_EQ(printable("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(printable(std::string("\x01\xff", 2)), "\"\\x01\\xFF\"");
  EXPECT_EQ(printable("abcdef", 3), "\"abc...\"");
}

}  // namespace
}  // namespace mamsign
