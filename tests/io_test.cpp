#include "mamsign/io.h"

#include "support/test_support.h"

#include <gtest/gtest.h>

namespace mamsign {
namespace {

TEST(Io, SmallFileLimitIsExact) {
  test::TempDir dir;
  test::write_file(dir / "ten", "0123456789");
  auto at = read_small_file(dir / "ten", 10, "thing");
  ASSERT_TRUE(at);
  EXPECT_EQ(*at, "0123456789");
  auto over = read_small_file(dir / "ten", 9, "thing");
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error().reason, Reason::InvalidInput);
  EXPECT_NE(over.error().message.find("thing"), std::string::npos);
  test::write_file(dir / "empty", "");
  EXPECT_EQ(*read_small_file(dir / "empty", 10, "thing"), "");
}

TEST(Io, LargerThanTheFirstChunk) {
  test::TempDir dir;
  const std::string big(300 * 1024 + 7, 'q');
  test::write_file(dir / "big", big);
  auto r = read_small_file(dir / "big", 1024 * 1024, "thing");
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, big);
}

TEST(Io, NotARegularFile) {
  test::TempDir dir;
  auto d = read_small_file(dir.path(), 10, "thing");
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().reason, Reason::IoError);
  EXPECT_NE(d.error().message.find("it is a directory"), std::string::npos);
  auto dev = read_small_file("/dev/zero", 10, "thing");
  ASSERT_FALSE(dev);
  EXPECT_NE(dev.error().message.find("not a regular file"), std::string::npos);
}

}  // namespace
}  // namespace mamsign
