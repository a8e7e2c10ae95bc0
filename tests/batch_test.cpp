#include "mamsign/batch.h"

#include "support/test_support.h"

#include <gtest/gtest.h>

#include <random>
#include <sstream>
#include <thread>

namespace mamsign {
namespace {

TEST(RunOrdered, DeliversInInputOrderWhateverTheFinishingOrder) {
  std::vector<std::size_t> seen;
  const std::function<std::size_t(std::size_t)> work = [](std::size_t i) {
    std::this_thread::sleep_for(std::chrono::microseconds((i * 7919) % 500));  // finish out of order
    return i * 10;
  };
  const std::function<bool(std::size_t, std::size_t&)> deliver = [&](std::size_t i, std::size_t& r) {
    EXPECT_EQ(r, i * 10);
    seen.push_back(i);
    return true;
  };
  BatchOptions o;
  o.jobs = 4;
  EXPECT_EQ(run_ordered(500, work, deliver, o), 500u);
  ASSERT_EQ(seen.size(), 500u);
  for (std::size_t i = 0; i < seen.size(); ++i) EXPECT_EQ(seen[i], i);
}

TEST(RunOrdered, FailFastStopsTakingNewItems) {
  std::atomic<std::size_t> started{0};
  const std::function<int(std::size_t)> work = [&](std::size_t i) {
    ++started;
    return static_cast<int>(i);
  };
  const std::function<bool(std::size_t, int&)> deliver = [](std::size_t, int& r) { return r != 20; };
  BatchOptions o;
  o.jobs = 2;
  const std::size_t delivered = run_ordered(10000, work, deliver, o);
  EXPECT_GE(delivered, 21u);
  EXPECT_LT(delivered, 200u) << "started items finish, but no more are taken";
  EXPECT_EQ(delivered, started.load());
}

TEST(RunOrdered, StopFlagEndsTheBatchWithEverythingStartedDelivered) {
  std::atomic<bool> stop{false};
  std::atomic<std::size_t> started{0};
  const std::function<int(std::size_t)> work = [&](std::size_t i) {
    ++started;
    if (i == 50) stop = true;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
    return 1;
  };
  std::size_t delivered_count = 0;
  const std::function<bool(std::size_t, int&)> deliver = [&](std::size_t i, int&) {
    EXPECT_EQ(i, delivered_count);
    ++delivered_count;
    return true;
  };
  BatchOptions o;
  o.jobs = 3;
  o.stop = &stop;
  const std::size_t delivered = run_ordered(100000, work, deliver, o);
  EXPECT_EQ(delivered, started.load()) << "every started item is delivered";
  EXPECT_LT(delivered, 200u);
}

TEST(RunOrdered, EmptyAndSingle) {
  const std::function<int(std::size_t)> work = [](std::size_t) { return 1; };
  int calls = 0;
  const std::function<bool(std::size_t, int&)> deliver = [&](std::size_t, int&) {
    ++calls;
    return true;
  };
  BatchOptions o;
  o.jobs = 8;
  EXPECT_EQ(run_ordered(0, work, deliver, o), 0u);
  EXPECT_EQ(run_ordered(1, work, deliver, o), 1u);
  EXPECT_EQ(calls, 1);
}

class Inputs : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(dir_ / "sub/deeper");
    for (const char* f : {"b.csv", "a.csv", "a.csv.p7s", "a.csv.sig", ".hidden.csv", ".a.csv.p7s.mamsign-tmp.1.abc",
                          "sub/c.csv", "sub/deeper/d.csv"}) {
      test::write_file(dir_ / f, "x");
    }
  }
  std::vector<std::string> names(const mamsign::Inputs& in) {
    std::vector<std::string> out;
    for (const auto& f : in.files) out.push_back(std::filesystem::relative(f, dir_.path()).string());
    return out;
  }
  test::TempDir dir_;
};

TEST_F(Inputs, FolderLeavesOutSignaturesTemporariesAndHiddenFiles) {
  auto in = collect_inputs({dir_.path().string()}, {}, nullptr, {});
  ASSERT_TRUE(in) << in.error().message;
  EXPECT_EQ(names(*in), (std::vector<std::string>{"a.csv", "b.csv"}));
}

TEST_F(Inputs, RecursiveDescends) {
  InputOptions o;
  o.recursive = true;
  auto in = collect_inputs({dir_.path().string()}, {}, nullptr, o);
  ASSERT_TRUE(in);
  auto got = names(*in);
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (std::vector<std::string>{"a.csv", "b.csv", "sub/c.csv", "sub/deeper/d.csv"}));
}

// A signature named without its data file is said (the app makes it a usage error); with its data
// file (a shell glob's pair) it is left out without a word; a missing data file is kept.
TEST_F(Inputs, NamedSignaturesAreSaidUnlessTheirDataFileIsNamedToo) {
  auto in = collect_inputs({(dir_ / "a.csv.p7s").string(), (dir_ / "b.csv").string(), (dir_ / "missing.csv").string()},
                           {}, nullptr, {});
  ASSERT_TRUE(in);
  EXPECT_EQ(names(*in), (std::vector<std::string>{"b.csv", "missing.csv"}));
  EXPECT_TRUE(in->skipped.empty());
  ASSERT_EQ(in->named_signatures.size(), 1u);
  EXPECT_EQ(in->named_signatures[0].data, dir_ / "a.csv");
  EXPECT_TRUE(in->named_signatures[0].data_exists);
  auto pair = collect_inputs({(dir_ / "a.csv").string(), (dir_ / "a.csv.p7s").string()}, {}, nullptr, {});
  ASSERT_TRUE(pair);
  EXPECT_EQ(names(*pair), (std::vector<std::string>{"a.csv"}));
  EXPECT_TRUE(pair->named_signatures.empty());
  EXPECT_TRUE(pair->skipped.empty());
}

// Verifying: a signature whose data file is not there gives that data file, once, in its place, so
// that its result says DATA_MISSING; a folder's lone signatures likewise, in sorted order.
TEST_F(Inputs, LoneSignaturesGiveTheirMissingDataFile) {
  test::write_file(dir_ / "gone.csv.p7s", "x");
  test::write_file(dir_ / "gone.csv.sig", "x");
  test::write_file(dir_ / "c0.csv.p7s", "x");
  InputOptions o;
  o.data_of_lone_signatures = true;
  auto folder = collect_inputs({dir_.path().string()}, {}, nullptr, o);
  ASSERT_TRUE(folder);
  EXPECT_EQ(names(*folder), (std::vector<std::string>{"a.csv", "b.csv", "c0.csv", "gone.csv"}));
  auto named = collect_inputs({(dir_ / "b.csv").string(), (dir_ / "gone.csv.p7s").string(),
                               (dir_ / "gone.csv.sig").string(), (dir_ / "a.csv").string()},
                              {}, nullptr, o);
  ASSERT_TRUE(named);
  EXPECT_EQ(names(*named), (std::vector<std::string>{"b.csv", "gone.csv", "a.csv"}));
  EXPECT_TRUE(named->named_signatures.empty());
  auto signing = collect_inputs({dir_.path().string()}, {}, nullptr, {});
  ASSERT_TRUE(signing);
  EXPECT_EQ(names(*signing), (std::vector<std::string>{"a.csv", "b.csv"})) << "signing ignores lone signatures";
}

TEST_F(Inputs, ListsFromStandardInputAndNulSeparated) {
  std::istringstream lines((dir_ / "b.csv").string() + "\r\n\n" + (dir_ / "a.csv").string() + "\n");
  auto in = collect_inputs({}, {"-"}, &lines, {});
  ASSERT_TRUE(in);
  EXPECT_EQ(names(*in), (std::vector<std::string>{"b.csv", "a.csv"}));

  const std::string with_newline = (dir_ / "odd\nname.csv").string();
  test::write_file(with_newline, "x");
  std::istringstream nul(with_newline + std::string(1, '\0') + (dir_ / "a.csv").string() + std::string(1, '\0'));
  InputOptions o;
  o.null_separated = true;
  auto in0 = collect_inputs({}, {"-"}, &nul, o);
  ASSERT_TRUE(in0);
  EXPECT_EQ(names(*in0), (std::vector<std::string>{"odd\nname.csv", "a.csv"}));

  test::write_file(dir_ / "list.txt", (dir_ / "sub/c.csv").string() + "\n");
  auto from_file = collect_inputs({(dir_ / "b.csv").string()}, {(dir_ / "list.txt").string()}, nullptr, {});
  ASSERT_TRUE(from_file);
  EXPECT_EQ(names(*from_file), (std::vector<std::string>{"b.csv", "sub/c.csv"}));
  auto missing = collect_inputs({}, {(dir_ / "nope.txt").string()}, nullptr, {});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().reason, Reason::IoError);
}

TEST(Cores, AtLeastOne) { EXPECT_GE(available_cores(), 1u); }

}  // namespace
}  // namespace mamsign
