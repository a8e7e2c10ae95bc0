#include "mamsign/base/pem.h"

#include "support/test_support.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

namespace mamsign {
namespace {

// Line numbers of blocks (counted on from block to block) and of a damaged block's error.
TEST(Pem, BlocksInABundleKnowTheirLines) {
  const std::string one = test::read_file(test::example_cert_path("supplier-ds"));
  const auto lines_in = [](const std::string& s) {
    return static_cast<std::size_t>(std::count(s.begin(), s.end(), '\n'));
  };
  const std::string bundle = "an explanation\nof two lines\n" + one + "\n" + one + one;
  auto blocks = read_pem_blocks(bundle, "bundle");
  ASSERT_TRUE(blocks) << blocks.error().message;
  ASSERT_EQ(blocks->size(), 3u);
  EXPECT_EQ((*blocks)[0].line, 3u);
  EXPECT_EQ((*blocks)[1].line, 3u + lines_in(one) + 1);
  EXPECT_EQ((*blocks)[2].line, 3u + 2 * lines_in(one) + 1);
  EXPECT_EQ((*blocks)[0].der, (*blocks)[2].der);

  // The third block damaged in its base64: the error names the third block's line.
  std::string damaged = one;
  damaged[damaged.find('\n') + 5] = '*';
  auto bad = read_pem_blocks("an explanation\nof two lines\n" + one + "\n" + one + damaged, "bundle");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("bundle: line " + std::to_string(3u + 2 * lines_in(one) + 1) + ":"),
            std::string::npos)
      << bad.error().message;
}

}  // namespace
}  // namespace mamsign
