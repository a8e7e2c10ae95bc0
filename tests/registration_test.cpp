#include "mamsign/smki/registration.h"

#include "support/test_support.h"

#include <gtest/gtest.h>

namespace mamsign {
namespace {

// An MPAN core of `distributor` with a correct check digit.
std::string mpan(const std::string& distributor) {
  const std::string first12 = distributor + "0000000000";
  return first12 + std::to_string(mpan_check_digit(first12));
}

TEST(Registration, ExactMpxnWinsOverDistributor) {
  auto r = Registration::parse(R"({"mpan_distributors": {"14": ["70-B3-D5-1F-30-00-D4-01"]},
                                   "mpxn": {"1200023305967": ["70-B3-D5-1F-30-00-D5-01", "70B3D51F3000D502"],
                                            "1234567": ["70-B3-D5-1F-30-00-D6-01"]}})");
  ASSERT_TRUE(r) << r.error().message;
  const auto* by_distributor = r->expected_for(*parse_mpxn(mpan("14")));
  ASSERT_TRUE(by_distributor);
  EXPECT_EQ((*by_distributor)[0].to_string(), "70-B3-D5-1F-30-00-D4-01");
  const auto* exact = r->expected_for(*parse_mpxn("1200023305967"));
  ASSERT_TRUE(exact);
  EXPECT_EQ(exact->size(), 2u);
  EXPECT_EQ(r->expected_for(*parse_mpxn(mpan("15"))), nullptr);
  ASSERT_TRUE(r->expected_for(*parse_mpxn("1234567")));
  EXPECT_EQ(r->expected_for(*parse_mpxn("7654321")), nullptr) << "an MPRN has no distributor";
}

TEST(Registration, ExampleFile) {
  auto r = Registration::load(test::testdata_dir() / "registration.json");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->distributor_count(), 2u);
  EXPECT_EQ(r->mpxn_count(), 1u);
}

TEST(Registration, BadFilesNameTheKey) {
  for (const auto& [text, says] : std::vector<std::pair<std::string, std::string>>{
           {R"({"distributors": {}})", "unknown key"},
           {R"({"mpan_distributors": {"1": ["70-B3-D5-1F-30-00-D4-01"]}})", "two digits"},
           {R"({"mpan_distributors": {"14": "70-B3-D5-1F-30-00-D4-01"}})", "array"},
           {R"({"mpan_distributors": {"14": ["70-B3-D5"]}})", "\"mpan_distributors\".\"14\""},
           {R"({"mpxn": {"1200023305968": ["70-B3-D5-1F-30-00-D4-01"]}})", "check digit"},
           {R"({"mpxn": [1]})", "expected an object"},
           {"{", "not valid JSON"}}) {
    auto r = Registration::parse(text, "reg.json");
    ASSERT_FALSE(r) << text;
    EXPECT_EQ(r.error().reason, Reason::InvalidInput);
    EXPECT_NE(r.error().message.find(says), std::string::npos) << r.error().message;
  }
}

TEST(Registration, HostileJsonIsAnErrorNeverACrash) {
  const std::string deep = R"({"mpxn": )" + std::string(100000, '[') + std::string(100000, ']') + "}";
  for (const auto& [text, says] : std::vector<std::pair<std::string, std::string>>{
           {deep, "expected an object"},
           {R"({"$comment": )" + std::string(100000, '[') + std::string(100000, ']') + "}", "nested deeper than 16"},
           {R"({"mpan_distributors": {"14": [1e999]}})", "not valid JSON"},
           {R"({"mpan_distributors": {"14": [[[[]]]]}})", "expected EUI-64 strings, found an array"},
           {R"({"mpan_distributors": {"14": ["70-B3-D5-1F-30-00-D4-01"], "14": ["70-B3-D5-1F-30-00-D5-01"]}})",
            "\"mpan_distributors\".\"14\": appears twice"},
           {R"({"mpxn": {}, "mpxn": {}})", "key \"mpxn\": appears twice"},
           {R"([])", "expected a JSON object, found an array"},
           {R"({"mpxn": {}} trailing)", "not valid JSON"}}) {
    auto r = Registration::parse(text, "reg.json");
    ASSERT_FALSE(r) << text.substr(0, 80);
    EXPECT_EQ(r.error().reason, Reason::InvalidInput);
    EXPECT_NE(r.error().message.find(says), std::string::npos) << r.error().message;
  }
}

TEST(Registration, CommentsMayHoldAnyValueWithinTheDepthLimit) {
  auto r = Registration::parse(
      R"({"$comment": {"a": [1, 2, {"b": null}]}, "mpan_distributors": {"14": ["70-B3-D5-1F-30-00-D4-01"]}})");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->distributor_count(), 1u);
}

}  // namespace
}  // namespace mamsign
