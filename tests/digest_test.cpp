#include "mamsign/signature/digest.h"

#include "mamsign/smki/org_cert.h"
#include "support/test_support.h"

#include <gtest/gtest.h>

namespace mamsign {
namespace {

std::string openssl_sha256(const std::filesystem::path& p) {
  auto r = test::run({"/usr/bin/openssl", "dgst", "-sha256", "-r", p.string()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.out.substr(0, 64);
}

TEST(Digest, MatchesOpensslDgst) {
  test::TempDir dir;
  test::write_file(dir / "a.csv", "MPxN,DeviceID\r\n1200023305967,00-12-4B-00-00-00-10-00\r\n");
  auto d = sha256_file(dir / "a.csv");
  ASSERT_TRUE(d);
  EXPECT_EQ(to_hex(*d), openssl_sha256(dir / "a.csv"));
  EXPECT_EQ(*d, sha256_bytes(test::read_file(dir / "a.csv")));
}

TEST(Digest, EmptyFile) {
  test::TempDir dir;
  test::write_file(dir / "empty", "");
  auto d = sha256_file(dir / "empty");
  ASSERT_TRUE(d);
  EXPECT_EQ(to_hex(*d), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Digest, StreamsAFileManyTimesTheBuffer) {
  test::TempDir dir;
  std::string big;
  big.reserve(kReadBufferBytes * 33 + 17);
  for (std::size_t i = 0; big.size() < kReadBufferBytes * 33 + 17; ++i) big += "row " + std::to_string(i) + ",x\r\n";
  big.resize(kReadBufferBytes * 33 + 17);
  test::write_file(dir / "big", big);
  auto d = sha256_file(dir / "big");
  ASSERT_TRUE(d);
  EXPECT_EQ(*d, sha256_bytes(big));
  EXPECT_EQ(to_hex(*d), openssl_sha256(dir / "big"));
}

TEST(Digest, UnreadableIsIoError) {
  test::TempDir dir;
  auto missing = sha256_file(dir / "missing");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().reason, Reason::IoError);
  EXPECT_NE(missing.error().message.find("No such file"), std::string::npos) << missing.error().message;
  auto folder = sha256_file(dir.path());
  ASSERT_FALSE(folder);
  EXPECT_NE(folder.error().message.find("directory"), std::string::npos);
}

// Each change a file suffers in transit, undone by one variant whose description says what happened.
struct Change {
  std::string signed_text;
  std::string now_text;
  std::string says;
};
void PrintTo(const Change& c, std::ostream* os) { *os << c.says; }
class DigestVariants : public ::testing::TestWithParam<Change> {};

TEST_P(DigestVariants, FindTheChange) {
  test::TempDir dir;
  test::write_file(dir / "f", GetParam().now_text);
  auto variants = sha256_variants(dir / "f");
  ASSERT_TRUE(variants);
  const Sha256 want = sha256_bytes(GetParam().signed_text);
  std::vector<std::string> matching;
  for (const auto& v : *variants) {
    if (v.digest == want) matching.push_back(v.change);
  }
  ASSERT_EQ(matching.size(), 1u);
  EXPECT_EQ(matching[0], GetParam().says);
}

const std::string kBom = "\xEF\xBB\xBF";
INSTANTIATE_TEST_SUITE_P(
    Transit, DigestVariants,
    ::testing::Values(
        Change{"a,b\r\nc,d\r\n", "a,b\nc,d\n", "line endings were changed from CRLF to LF after signing"},
        Change{"a,b\nc,d\n", "a,b\r\nc,d\r\n", "line endings were changed from LF to CRLF after signing"},
        Change{"a,b\r\n", kBom + "a,b\r\n", "a UTF-8 byte-order mark was added after signing"},
        Change{kBom + "a,b\r\n", "a,b\r\n", "the UTF-8 byte-order mark was removed after signing"},
        Change{"a,b\r\nc\r\n", kBom + "a,b\nc\n",
               "line endings were changed from CRLF to LF and a UTF-8 byte-order mark was added after signing"},
        Change{"", kBom, "a UTF-8 byte-order mark was added after signing"},
        // Issue 9, item 11: the final line end removed or added after signing.
        Change{"a,b\r\nc,d\r\n", "a,b\r\nc,d", "the line end at the end of the file was removed after signing"},
        Change{"a,b\nc,d", "a,b\nc,d\n", "a line end was added at the end of the file after signing"},
        Change{
            "a,b\r\nc,d", kBom + "a,b\nc,d\n",
            "line endings were changed from CRLF to LF, a UTF-8 byte-order mark was added and a line end was added at "
            "the end of the file after signing"}));

TEST(Digest, VariantsOnlyWhereSomethingChanges) {
  test::TempDir dir;
  test::write_file(dir / "plain", "no line ends at all");
  auto variants = sha256_variants(dir / "plain");
  ASSERT_TRUE(variants);
  // Adding a BOM, and a final line end with or without it; no line-ending conversion changes anything.
  std::vector<std::string> changes;
  for (const auto& v : *variants) changes.push_back(v.change);
  EXPECT_EQ(
      changes,
      (std::vector<std::string>{
          "the line end at the end of the file was removed after signing",
          "the UTF-8 byte-order mark was removed after signing",
          "the UTF-8 byte-order mark was removed and the line end at the end of the file was removed after signing",
      }));
}

TEST(Digest, CrAtABufferBoundaryIsHandled) {
  test::TempDir dir;
  std::string signed_text(kReadBufferBytes - 1, 'x');
  signed_text += "\r\nend\r\n";  // the CR is the last byte of the first read, its LF the first of the next
  std::string now_text(kReadBufferBytes - 1, 'x');
  now_text += "\nend\n";
  test::write_file(dir / "f", signed_text);
  auto variants = sha256_variants(dir / "f");
  ASSERT_TRUE(variants);
  bool found = false;
  for (const auto& v : *variants) found |= v.digest == sha256_bytes(now_text);
  EXPECT_TRUE(found);
}

}  // namespace
}  // namespace mamsign
