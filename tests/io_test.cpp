#include "mamsign/base/io.h"

#include "support/test_support.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

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

TEST(Io, ListFilesGivesRegularFilesAndLinksToThemSortedByName) {
  test::TempDir dir;
  for (const char* name : {"b", "B", "a-b", "a.b", "a", "\xc3\xa9"}) test::write_file(dir / name, "x");
  test::write_file(dir / ".hidden", "x");
  std::filesystem::create_directory(dir / "sub");
  test::write_file(dir / "sub" / "inner", "x");
  std::filesystem::create_symlink(dir / "a", dir / "link-to-a");
  std::filesystem::create_symlink(dir / "nowhere", dir / "dangling");
  std::filesystem::create_symlink(dir / "sub", dir / "link-to-sub");
  auto flat = list_files(dir.path(), false, "test");
  ASSERT_TRUE(flat) << flat.error().message;
  std::vector<std::string> names;
  for (const auto& p : *flat) {
    EXPECT_EQ(p.parent_path(), dir.path());
    names.push_back(p.filename().string());
  }
  // Byte order, as sorting the paths gives; a link counts as what it points to.
  EXPECT_EQ(names, (std::vector<std::string>{"B", "a", "a-b", "a.b", "b", "link-to-a", "\xc3\xa9"}));
  auto deep = list_files(dir.path(), true, "test");
  ASSERT_TRUE(deep);
  EXPECT_NE(std::find(deep->begin(), deep->end(), dir / "sub" / "inner"), deep->end());
  auto missing = list_files(dir / "absent", false, "test");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().reason, Reason::IoError);
  EXPECT_NE(missing.error().message.find("cannot read test folder"), std::string::npos) << missing.error().message;
}

}  // namespace
}  // namespace mamsign
