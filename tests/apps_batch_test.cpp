// Batch signing and verification as scripts run them: many files, folders, lists, real signals.
#include "mamsign/base/atomic_file.h"
#include "support/test_support.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <csignal>
#include <sstream>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace mamsign {
namespace {

using nlohmann::json;

class Batch : public ::testing::Test {
 protected:
  // `count` migration files of the example supplier in `folder` (created).
  std::vector<std::filesystem::path> make_files(const std::filesystem::path& folder, std::size_t count,
                                                std::size_t size = 2048) {
    auto r = test::run({test::app("mam-testpki").string(), "files", "--out", folder.string(), "--count",
                        std::to_string(count), "--size", std::to_string(size)});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::vector<std::filesystem::path> files;
    for (const auto& name : test::list_dir(folder)) {
      if (name.size() > 4 && name.substr(name.size() - 4) == ".csv") files.push_back(folder / name);
    }
    return files;
  }
  std::vector<std::string> sign_argv(std::vector<std::string> extra) {
    std::vector<std::string> argv{test::app("mam-sign").string(), "--key", test::example_key("supplier-ds").string(),
                                  "--cert", test::example_cert_path("supplier-ds").string()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return argv;
  }
  test::ProcessResult sign(std::vector<std::string> extra, const std::string& input = "") {
    return test::run(sign_argv(std::move(extra)), input);
  }
  test::ProcessResult verify(std::vector<std::string> extra, const std::string& input = "") {
    std::vector<std::string> argv{test::app("mam-verify").string(), "--trust", (test::keys_dir() / "trust").string()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return test::run(argv, input);
  }
  // The results of a --json run, which ends with its summary line.
  static std::vector<json> lines(const std::string& out) {
    test::json_summary(out);
    return test::json_results(out);
  }
  static std::size_t count_with(const std::filesystem::path& dir, const std::string& ending) {
    std::size_t n = 0;
    for (const auto& name : test::list_dir(dir))
      n += name.size() > ending.size() && name.substr(name.size() - ending.size()) == ending;
    return n;
  }
  static std::size_t temporaries(const std::filesystem::path& dir) {
    std::size_t n = 0;
    for (const auto& name : test::list_dir(dir)) n += is_temporary_name(name);
    return n;
  }
  test::TempDir dir_;
};

TEST_F(Batch, ResultsInInputOrderWithASummaryOnStandardError) {
  const auto files = make_files(dir_ / "in", 300);
  auto s = sign({"--json", "--jobs", "4", (dir_ / "in").string()});
  ASSERT_EQ(s.exit_code, 0) << s.err;
  const auto out = lines(s.out);
  ASSERT_EQ(out.size(), files.size());
  for (std::size_t i = 0; i < files.size(); ++i) {
    EXPECT_EQ(out[i]["file"], files[i].string());
    EXPECT_EQ(out[i]["result"], "signed");
  }
  EXPECT_NE(s.err.find("mam-sign: 300 files: 300 signed in "), std::string::npos) << s.err;
  EXPECT_NE(s.err.find("files/s"), std::string::npos);
  EXPECT_EQ(s.err.find('\r'), std::string::npos) << "no progress line when standard error is not a terminal";

  auto v = verify({"--json", "-j", "3", (dir_ / "in").string()});
  ASSERT_EQ(v.exit_code, 0) << v.err;
  const auto checked = lines(v.out);
  ASSERT_EQ(checked.size(), files.size());
  for (std::size_t i = 0; i < files.size(); ++i) EXPECT_EQ(checked[i]["file"], files[i].string());
  EXPECT_NE(v.err.find("mam-verify: 300 files: 300 OK in "), std::string::npos) << v.err;
}

TEST_F(Batch, ABadFileInTheMiddleIsReportedAndTheRestSigned) {
  make_files(dir_ / "in", 40);
  test::write_file(dir_ / "in/MA_cgI_70-B3-D5-1F-30-00-B1-01_20260101_000010.csv", "another supplier's file\r\n");
  auto s = sign({"-j", "2", (dir_ / "in").string()});
  EXPECT_EQ(s.exit_code, 1);
  EXPECT_EQ(count_with(dir_ / "in", ".p7s"), 40u);
  EXPECT_NE(s.out.find("MA_cgI_70-B3-D5-1F-30-00-B1-01_20260101_000010.csv: REFUSED SIGNER_MISMATCH"),
            std::string::npos);
  EXPECT_NE(s.err.find("41 files: 40 signed, 1 refused (SIGNER_MISMATCH 1)"), std::string::npos) << s.err;
}

TEST_F(Batch, SkipSignedReRunSignsOnlyWhatIsMissing) {
  const auto files = make_files(dir_ / "in", 100);
  ASSERT_EQ(sign({(dir_ / "in").string()}).exit_code, 0);
  for (std::size_t i = 0; i < files.size(); i += 3) std::filesystem::remove(files[i].string() + ".p7s");
  const auto before = test::read_file(files[1].string() + ".p7s");
  auto again = sign({"--skip-signed", "--json", (dir_ / "in").string()});
  ASSERT_EQ(again.exit_code, 0) << again.out << again.err;
  std::size_t signed_now = 0, skipped = 0;
  for (const auto& j : lines(again.out)) {
    signed_now += j["result"] == "signed";
    skipped += j["result"] == "skipped";
  }
  EXPECT_EQ(signed_now, 34u);
  EXPECT_EQ(skipped, 66u);
  EXPECT_EQ(test::read_file(files[1].string() + ".p7s"), before) << "a skipped signature is left as it was";
  EXPECT_EQ(verify({(dir_ / "in").string()}).exit_code, 0);
}

TEST_F(Batch, ListsFromStandardInputAndNulSeparated) {
  const auto files = make_files(dir_ / "in", 10);
  std::string list = files[3].string() + "\n" + files[1].string() + "\n";
  auto s = sign({"--json", "--from", "-"}, list);
  ASSERT_EQ(s.exit_code, 0) << s.err;
  auto out = lines(s.out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0]["file"], files[3].string());
  EXPECT_EQ(out[1]["file"], files[1].string());
  std::string nul = files[5].string() + std::string(1, '\0') + files[6].string() + std::string(1, '\0');
  auto n = sign({"--json", "--from", "-", "--null"}, nul);
  ASSERT_EQ(n.exit_code, 0) << n.err;
  EXPECT_EQ(lines(n.out).size(), 2u);
  auto v = verify({"--json", "--from", "-", "--null"}, nul);
  EXPECT_EQ(v.exit_code, 0);
  EXPECT_EQ(lines(v.out).size(), 2u);
}

TEST_F(Batch, FoldersWithAndWithoutRecursive) {
  make_files(dir_ / "in", 3);
  make_files(dir_ / "in/sub", 2);
  auto flat = sign({"--json", (dir_ / "in").string()});
  EXPECT_EQ(lines(flat.out).size(), 3u);
  auto deep = sign({"--json", "--skip-signed", "-r", (dir_ / "in").string()});
  EXPECT_EQ(deep.exit_code, 0) << deep.out;
  EXPECT_EQ(lines(deep.out).size(), 5u);
  EXPECT_EQ(count_with(dir_ / "in/sub", ".p7s"), 2u);
  // The signatures are never taken as inputs.
  auto v = verify({"--json", "-r", (dir_ / "in").string()});
  EXPECT_EQ(lines(v.out).size(), 5u);
  std::string a_signature;
  for (const auto& name : test::list_dir(dir_ / "in")) {
    if (name.size() > 4 && name.substr(name.size() - 4) == ".p7s") a_signature = (dir_ / "in" / name).string();
  }
  auto named = verify({a_signature});
  EXPECT_EQ(named.exit_code, 2) << "a signature named alone is a usage error, not a run that checked nothing";
  EXPECT_NE(named.err.find("is a signature, not a data file: name its data file"), std::string::npos) << named.err;
}

TEST_F(Batch, FailFastStopsEarly) {
  const auto files = make_files(dir_ / "in", 200);
  ASSERT_EQ(sign({(dir_ / "in").string()}).exit_code, 0);
  test::write_file(files[2], "changed\r\n");
  auto v = verify({"--fail-fast", "-j", "1", "--json", (dir_ / "in").string()});
  EXPECT_EQ(v.exit_code, 1);
  const auto out = lines(v.out);
  ASSERT_GE(out.size(), 3u);
  EXPECT_LT(out.size(), 50u);
  EXPECT_EQ(out[2]["reason"], "CONTENT_MODIFIED");
  EXPECT_NE(v.err.find("files not processed"), std::string::npos) << v.err;
}

TEST_F(Batch, UnreadableInputDecidesTheExitCode) {
  make_files(dir_ / "in", 2);
  test::write_file(dir_ / "in/notes.txt", "x");
  auto s =
      sign({(dir_ / "in").string(), (dir_ / "missing/MA_cgI_70-B3-D5-1F-30-00-A0-08_20260101_000000.csv").string()});
  EXPECT_EQ(s.exit_code, 3) << s.out;
}

// Waits until `path` exists (the batch is under way), or fails after 60 s (a sanitizer build on a busy
// machine can take seconds to start).
bool wait_for(const std::filesystem::path& path) {
  for (int i = 0; i < 12000; ++i) {
    if (std::filesystem::exists(path)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

class BatchSignals : public Batch, public ::testing::WithParamInterface<int> {};

TEST_P(BatchSignals, StopCleanlyLeavingOnlyValidSignatures) {
  const int sig = GetParam();
  const auto files = make_files(dir_ / "in", 20000, 512);
  test::BackgroundProcess p(sign_argv({"--json", "-j", "1", (dir_ / "in").string()}), dir_ / "out.txt",
                            dir_ / "err.txt");
  ASSERT_TRUE(wait_for(files[0].string() + ".p7s"));
  p.signal(sig);
  EXPECT_EQ(p.wait(), 128 + sig);
  const std::size_t signed_files = count_with(dir_ / "in", ".p7s");
  EXPECT_GT(signed_files, 0u);
  EXPECT_LT(signed_files, files.size()) << "the batch ended before the signal: make it longer";
  EXPECT_EQ(temporaries(dir_ / "in"), 0u);
  const std::string err = test::read_file(dir_ / "err.txt");
  EXPECT_NE(err.find("interrupted: "), std::string::npos) << err;
  // Every result printed is a signature on disk, and every signature on disk verifies; the JSON ends
  // with its summary, which says the run was interrupted (issue 21, point 4).
  const std::string out = test::read_file(dir_ / "out.txt");
  std::size_t printed = 0;
  for (const auto& j : test::json_results(out)) printed += j["result"] == "signed";
  EXPECT_EQ(printed, signed_files);
  const auto summary = test::json_summary(out);
  EXPECT_EQ(summary["interrupted"], true) << out;
  EXPECT_EQ(summary["files"], signed_files);
  EXPECT_EQ(summary["results"]["signed"], signed_files);
  EXPECT_EQ(summary["not_processed"], files.size() - signed_files);
  std::string list;
  for (const auto& f : files) {
    if (std::filesystem::exists(f.string() + ".p7s")) list += f.string() + "\n";
  }
  // However few files the signal let through (on a slow machine, one), each is checked by its own result.
  auto v = verify({"--json", "--from", "-"}, list);
  EXPECT_EQ(v.exit_code, 0) << v.err;
  const auto results = lines(v.out);
  EXPECT_EQ(results.size(), signed_files);
  for (const auto& r : results) EXPECT_EQ(r["result"], "valid") << r.dump();
}

INSTANTIATE_TEST_SUITE_P(IntAndTerm, BatchSignals, ::testing::Values(SIGINT, SIGTERM));

TEST_F(Batch, KillNineNeverLeavesAPartialSignatureAndTheNextRunFinishes) {
  const auto files = make_files(dir_ / "in", 20000, 512);
  {
    test::BackgroundProcess p(sign_argv({"-j", "2", (dir_ / "in").string()}), dir_ / "out.txt", dir_ / "err.txt");
    ASSERT_TRUE(wait_for(files[0].string() + ".p7s"));
    p.signal(SIGKILL);
    EXPECT_EQ(p.wait(), 128 + SIGKILL);
  }
  // A temporary of a process that is gone, as kill -9 can leave, and one of a live process.
  const pid_t dead = fork();
  if (dead == 0) _exit(0);
  waitpid(dead, nullptr, 0);
  const std::string stale = "." + files[1].filename().string() + ".p7s.mamsign-tmp." + std::to_string(dead) + ".abc123";
  const std::string live =
      "." + files[1].filename().string() + ".p7s.mamsign-tmp." + std::to_string(getpid()) + ".def456";
  test::write_file(dir_ / "in" / stale, "partial");
  test::write_file(dir_ / "in" / live, "partial");

  // Whatever signatures are there are whole: they all verify.
  std::string list;
  for (const auto& f : files) {
    if (std::filesystem::exists(f.string() + ".p7s")) list += f.string() + "\n";
  }
  EXPECT_EQ(verify({"--from", "-"}, list).exit_code, 0);

  auto again = sign({"--skip-signed", (dir_ / "in").string()});
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_FALSE(std::filesystem::exists(dir_ / "in" / stale)) << "a dead run's temporary is cleaned up";
  EXPECT_TRUE(std::filesystem::exists(dir_ / "in" / live)) << "a live process's temporary is left alone";
  std::filesystem::remove(dir_ / "in" / live);
  EXPECT_EQ(temporaries(dir_ / "in"), 0u);
  EXPECT_EQ(count_with(dir_ / "in", ".p7s"), files.size());
  // A file named on its own (its folder not listed as an input): the folder is looked through all the same.
  test::write_file(dir_ / "in" / stale, "partial");
  auto named = sign({"--force", files[0].string()});
  EXPECT_EQ(named.exit_code, 0) << named.err;
  EXPECT_FALSE(std::filesystem::exists(dir_ / "in" / stale)) << "cleaned up when a file is named, too";
  EXPECT_EQ(verify({"-q", (dir_ / "in").string()}).exit_code, 0);
}

// Issue 8, H2: a FIFO where a file is expected once blocked in open() for ever, and SIGTERM could not end
// the run. Now it is an IO_ERROR at once (timeout(1) guards the test from hanging).
TEST_F(Batch, FifoWhereAFileIsExpectedNeverBlocks) {
  const auto files = make_files(dir_.path() / "inbox", 2);
  ASSERT_EQ(sign({"--quiet", (dir_.path() / "inbox").string()}).exit_code, 0);
  const auto fifo_sig = dir_.path() / "inbox" / "MA_cgI_70-B3-D5-1F-30-00-A0-08_20190407_235959.csv";
  test::write_file(fifo_sig, "x");
  ASSERT_EQ(mkfifo((fifo_sig.string() + ".p7s").c_str(), 0600), 0);
  std::vector<std::string> timeout{"/usr/bin/timeout", "-s", "KILL", "20"};
  auto with_timeout = [&](std::vector<std::string> argv) {
    argv.insert(argv.begin(), timeout.begin(), timeout.end());
    return test::run(argv);
  };
  auto r = with_timeout({test::app("mam-verify").string(), "--trust", (test::keys_dir() / "trust").string(), "--json",
                         "-r", (dir_.path() / "inbox").string()});
  ASSERT_EQ(r.exit_code, 3) << r.out << r.err;
  const auto results = lines(r.out);
  ASSERT_EQ(results.size(), 3u);
  std::size_t fifo_results = 0;
  for (const auto& j : results) {
    if (j["file"] == fifo_sig.string()) {
      ++fifo_results;
      EXPECT_EQ(j["reason"], "IO_ERROR");
      EXPECT_NE(j["message"].get<std::string>().find("FIFO"), std::string::npos) << j.dump();
    } else {
      EXPECT_EQ(j["result"], "valid") << j.dump();
    }
  }
  EXPECT_EQ(fifo_results, 1u);

  // A FIFO as the data file, to sign or to verify.
  const auto fifo_data = dir_.path() / "MA_cgI_70-B3-D5-1F-30-00-A0-08_20190407_235958.csv";
  ASSERT_EQ(mkfifo(fifo_data.c_str(), 0600), 0);
  auto s = with_timeout(sign_argv({fifo_data.string()}));
  EXPECT_EQ(s.exit_code, 3) << s.out << s.err;
  EXPECT_NE(s.out.find("FIFO"), std::string::npos) << s.out;
  auto v = with_timeout(
      {test::app("mam-verify").string(), "--trust", (test::keys_dir() / "trust").string(), fifo_data.string()});
  EXPECT_EQ(v.exit_code, 3) << v.out << v.err;
  EXPECT_NE(v.out.find("FIFO"), std::string::npos) << v.out;
}

TEST_F(Batch, LoopingLinkAtTheSignatureIsAnIoErrorNotMissing) {
  const auto file = make_files(dir_.path(), 1)[0];
  const auto sig = file.string() + ".sig";
  ASSERT_EQ(symlink(sig.c_str(), sig.c_str()), 0);  // a link to itself
  auto r = verify({"--json", file.string()});
  EXPECT_EQ(r.exit_code, 3) << r.out;
  ASSERT_EQ(lines(r.out).size(), 1u);
  EXPECT_EQ(lines(r.out)[0]["reason"], "IO_ERROR") << r.out;
  EXPECT_NE(r.out.find("symbolic links"), std::string::npos) << r.out;
}

// Issue 9, item 1: lost output was not reported (exit 0 into /dev/full; half a JSON object left by a
// file-size limit). Every write is checked, a line is whole or absent, and the exit code is 3.
TEST_F(Batch, ResultsThatCannotBeWrittenEndTheRunWithExit3) {
  make_files(dir_.path() / "in", 40);
  ASSERT_EQ(sign({"--quiet", (dir_.path() / "in").string()}).exit_code, 0);
  const std::string verify_cmd = test::app("mam-verify").string() + " --json --trust " +
                                 (test::keys_dir() / "trust").string() + " " + (dir_.path() / "in").string();
  auto full = test::run({"/bin/bash", "-c", verify_cmd + " > /dev/full"});
  EXPECT_EQ(full.exit_code, 3) << full.err;
  EXPECT_NE(full.err.find("cannot write results to standard output: No space left on device"), std::string::npos)
      << full.err;

  const auto results = dir_.path() / "results.jsonl";
  auto limited = test::run({"/bin/bash", "-c", "ulimit -f 4; " + verify_cmd + " > " + results.string()});
  EXPECT_EQ(limited.exit_code, 3) << limited.err;
  EXPECT_NE(limited.err.find("File too large"), std::string::npos) << limited.err;
  const std::string written = test::read_file(results);
  ASSERT_FALSE(written.empty());
  EXPECT_EQ(written.back(), '\n') << "no partial line";
  std::size_t lines_read = 0;
  for (const auto& j : test::json_results(written)) {
    EXPECT_EQ(j["result"], "valid");
    ++lines_read;
  }
  EXPECT_LT(lines_read, 40u);
  EXPECT_NE(limited.err.find(std::to_string(lines_read) + " result line(s) were written whole"), std::string::npos)
      << limited.err;

  // The same for every app's other output.
  for (const std::string& cmd :
       {test::app("mam-sign").string() + " --print-profile",
        test::app("mam-certid").string() + " show --store " + (test::keys_dir() / "store").string() + " 1234"}) {
    auto r = test::run({"/bin/bash", "-c", cmd + " > /dev/full"});
    EXPECT_EQ(r.exit_code, 3) << cmd << ": " << r.err;
  }
}

// Issue 9, item 2: an empty outbox from cron is "0 files", exit 0; naming nothing at all stays a usage error.
TEST_F(Batch, EmptyInputIsZeroFilesNotAUsageError) {
  std::filesystem::create_directories(dir_.path() / "empty");
  auto from = sign({"--from", "-", "--null"}, "");
  EXPECT_EQ(from.exit_code, 0) << from.err;
  EXPECT_NE(from.err.find("0 files"), std::string::npos) << from.err;
  auto folder = verify({(dir_.path() / "empty").string()});
  EXPECT_EQ(folder.exit_code, 0) << folder.err;
  auto nothing = verify({});
  EXPECT_EQ(nothing.exit_code, 2) << nothing.err;
  EXPECT_NE(nothing.err.find("no files named"), std::string::npos) << nothing.err;
  auto null_alone = sign({"--null", (dir_.path() / "empty").string()});
  EXPECT_EQ(null_alone.exit_code, 2) << null_alone.err;
  EXPECT_NE(null_alone.err.find("no --from was given"), std::string::npos) << null_alone.err;
}

// Issue 9, item 7: --fail-fast processed all 17 files of a small batch; now at most one per thread runs
// on after the first failure.
TEST_F(Batch, FailFastStopsSoonAfterTheFirstFailure) {
  const auto files = make_files(dir_.path() / "in", 17);
  ASSERT_EQ(sign({"--quiet", (dir_.path() / "in").string()}).exit_code, 0);
  std::filesystem::remove(files[0].string() + ".p7s");  // the first file fails: SIGNATURE_MISSING
  auto r = verify({"--json", "--fail-fast", "--jobs", "2", (dir_.path() / "in").string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_LE(lines(r.out).size(), 2u) << r.out;
  EXPECT_NE(r.err.find("not processed"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace mamsign
