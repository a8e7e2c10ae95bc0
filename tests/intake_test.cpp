// Issue 23: mam-verify --watch, the DCC's intake. Real processes, real files, real signals: a watcher is
// started, files arrive as transfer tools deliver them (renamed in, or written in place), and the test
// reads where each ended up, its FILE.result.json, the ledger and the log.
#include "mamsign/base/text.h"
#include "support/test_support.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <thread>

namespace mamsign {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

// Under AddressSanitizer every process runs several times slower; the scale tests keep their shape
// (writers, kills, restarts) with fewer files, and the release run (CI runs both) has the full counts.
#if defined(__SANITIZE_ADDRESS__)
constexpr int kScaleDivisor = 4;
#else
constexpr int kScaleDivisor = 1;
#endif

// A migration file name of the example supplier, one per second of the day.
std::string ma_name(int i) {
  char buf[80];
  std::snprintf(buf, sizeof buf, "MA_cgI_70-B3-D5-1F-30-00-A0-08_20190407_%02d%02d%02d.csv", (i / 3600) % 24,
                (i / 60) % 60, i % 60);
  return buf;
}

bool wait_for(const std::function<bool()>& done, std::chrono::milliseconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (done()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return done();
}

std::size_t count_files(const std::filesystem::path& dir) {
  std::size_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) n += e.is_regular_file() ? 1 : 0;
  return n;
}

std::vector<std::string> lines_of(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

void write_lines(const std::filesystem::path& p, const std::vector<std::string>& lines) {
  std::string all;
  for (const auto& l : lines) all += l + "\n";
  test::write_file(p, all);
}

class Intake : public ::testing::Test {
 protected:
  void SetUp() override {
    for (auto* p : {&inbox_, &accepted_, &rejected_, &stage_}) std::filesystem::create_directories(*p);
  }

  // n signed example files named ma_name(first..first+n-1) in `dir`, each with its .p7s.
  static void make_signed(const std::filesystem::path& dir, int first, int n) {
    std::filesystem::create_directories(dir);
    for (int i = first; i < first + n; ++i) test::write_file(dir / ma_name(i), test::example_ma_content());
    auto r = test::run({test::app("mam-sign").string(), "-q", "--key", test::example_key("supplier-ds").string(),
                        "--cert", test::example_cert_path("supplier-ds").string(), dir.string()});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  }

  std::vector<std::string> watch_argv(const std::vector<std::string>& extra) const {
    std::vector<std::string> argv{test::app("mam-verify").string(),
                                  "--trust",
                                  (test::keys_dir() / "trust").string(),
                                  "--crl",
                                  crl_.string(),
                                  "--watch",
                                  inbox_.string(),
                                  "--accepted",
                                  accepted_.string(),
                                  "--rejected",
                                  rejected_.string(),
                                  "--ledger",
                                  ledger_.string()};
    if (std::find(extra.begin(), extra.end(), "--settle") == extra.end()) {
      argv.insert(argv.end(), {"--settle", "300ms"});
    }
    argv.insert(argv.end(), extra.begin(), extra.end());
    return argv;
  }

  // A watcher, started and watching (its log says so) before this returns.
  std::unique_ptr<test::BackgroundProcess> start(const std::vector<std::string>& extra = {},
                                                 const std::vector<std::string>& prefix = {}) {
    ++starts_;
    log_ = dir_ / ("watch-" + std::to_string(starts_) + ".log");
    std::vector<std::string> argv = prefix;
    for (const auto& a : watch_argv(extra)) argv.push_back(a);
    auto p = std::make_unique<test::BackgroundProcess>(argv, dir_ / "watch.out", log_);
    EXPECT_TRUE(wait_for([&] { return log().find("watching ") != std::string::npos; }, 10s)) << log();
    return p;
  }
  // A pair named `name` (a data file and a signature that is none) through a watcher: rejected, then the
  // watcher stopped.
  void reject_one_pair(const std::string& name) {
    auto w = start();
    test::write_file(dir_ / "d", "a,b\r\n");
    test::write_file(dir_ / "s", "not a signature");
    std::filesystem::rename(dir_ / "s", inbox_ / (name + ".p7s"));
    std::filesystem::rename(dir_ / "d", inbox_ / name);
    ASSERT_TRUE(wait_for([&] { return std::filesystem::exists(rejected_ / (name + ".result.json")); }, 10s)) << log();
    w->signal(SIGTERM);
    EXPECT_EQ(w->wait(), 0);
  }
  std::string log() const { return std::filesystem::exists(log_) ? test::read_file(log_) : ""; }

  json result_of(const std::filesystem::path& dir, const std::string& name) const {
    return json::parse(test::read_file(dir / (name + ".result.json")));
  }

  test::TempDir dir_;
  std::filesystem::path inbox_ = dir_ / "inbox", accepted_ = dir_ / "accepted", rejected_ = dir_ / "rejected";
  std::filesystem::path stage_ = dir_ / "stage", ledger_ = dir_ / "ledger.jsonl";
  std::filesystem::path crl_ = test::keys_dir() / "crl";
  std::filesystem::path log_;
  int starts_ = 0;
};

// A file written in place slowly (ten chunks over two seconds) is not taken until it has settled; had it
// been taken early, its content would not match its signature.
TEST_F(Intake, AFileWrittenSlowlyIsNotTakenEarly) {
  make_signed(stage_, 100, 1);
  const std::string name = ma_name(100);
  auto w = start({"--settle", "1s"});
  std::filesystem::rename(stage_ / (name + ".p7s"), inbox_ / (name + ".p7s"));
  const std::string content = test::read_file(stage_ / name);
  const std::size_t chunk = content.size() / 10 + 1;
  for (std::size_t at = 0; at < content.size(); at += chunk) {
    std::ofstream out(inbox_ / name, std::ios::binary | std::ios::app);
    out << content.substr(at, chunk);
    out.close();
    std::this_thread::sleep_for(200ms);
    EXPECT_TRUE(std::filesystem::exists(inbox_ / name)) << "taken while still being written: " << log();
  }
  ASSERT_TRUE(wait_for([&] { return std::filesystem::exists(accepted_ / name); }, 10s)) << log();
  EXPECT_EQ(result_of(accepted_, name)["result"], "valid");
  EXPECT_TRUE(std::filesystem::exists(accepted_ / (name + ".p7s")));
  w->signal(SIGTERM);
  EXPECT_EQ(w->wait(), 0) << log();
}

// A signature arriving after its data file pairs up with it; half a pair waits --pair-timeout, then is
// rejected (SIGNATURE_MISSING, DATA_MISSING); hidden names and temporaries are never taken.
TEST_F(Intake, PairsWaitForEachOtherThenTimeOut) {
  make_signed(stage_, 200, 3);
  auto w = start({"--pair-timeout", "2s"});
  const std::string late = ma_name(200), alone = ma_name(201), lone_sig = ma_name(202) + ".p7s";
  std::filesystem::rename(stage_ / late, inbox_ / late);
  std::filesystem::rename(stage_ / alone, inbox_ / alone);
  std::filesystem::rename(stage_ / lone_sig, inbox_ / lone_sig);
  for (const auto* tmp : {".MA_hidden.csv", "MA_upload.csv.part", "MA_upload.csv.tmp", "MA_x.csv~"}) {
    test::write_file(inbox_ / tmp, "being transferred");
  }
  std::this_thread::sleep_for(1s);
  EXPECT_FALSE(std::filesystem::exists(accepted_ / late)) << "taken without its signature";
  std::filesystem::rename(stage_ / (late + ".p7s"), inbox_ / (late + ".p7s"));
  ASSERT_TRUE(wait_for([&] { return std::filesystem::exists(accepted_ / late); }, 5s)) << log();
  ASSERT_TRUE(wait_for([&] { return std::filesystem::exists(rejected_ / alone); }, 8s)) << log();
  EXPECT_EQ(result_of(rejected_, alone)["reason"], "SIGNATURE_MISSING");
  ASSERT_TRUE(wait_for([&] { return std::filesystem::exists(rejected_ / lone_sig); }, 8s)) << log();
  EXPECT_EQ(result_of(rejected_, ma_name(202))["reason"], "DATA_MISSING");
  EXPECT_EQ(test::list_dir(inbox_),
            (std::vector<std::string>{".MA_hidden.csv", "MA_upload.csv.part", "MA_upload.csv.tmp", "MA_x.csv~"}));
  w->signal(SIGTERM);
  EXPECT_EQ(w->wait(), 0);
  EXPECT_NE(log().find("rejected " + (inbox_ / alone).string()), std::string::npos) << log();
}

// 1,000 files from four writers (two rename into the inbox, two write in place) while the watcher runs:
// every one in the right folder with the right result, and the ledger has one entry each.
TEST_F(Intake, AThousandFilesFromFourWritersAllLandRight) {
  const int files = 1000 / kScaleDivisor;
  make_signed(stage_, 1000, files);
  std::set<std::string> tampered;
  for (int i = 1000; i < 1000 + files; i += 20) {
    test::write_file(stage_ / ma_name(i), test::example_ma_content() + "x");
    tampered.insert(ma_name(i));
  }
  auto w = start({"--jobs", "2"});
  std::vector<std::unique_ptr<test::BackgroundProcess>> writers;
  // Writer k takes every fourth pair, from a list made before any starts (a writer that listed the
  // folder itself could see it after another had moved files, and take someone else's): signature first,
  // then data; mv renames, cp writes in place.
  std::vector<std::string> lists(4);
  for (int i = 1000; i < 1000 + files; ++i) lists[(i - 1000) % 4] += ma_name(i) + "\n";
  for (int k = 0; k < 4; ++k) {
    const auto list = dir_ / ("writer" + std::to_string(k) + ".list");
    test::write_file(list, lists[k]);
    const std::string tool = k < 2 ? "mv" : "cp";
    const std::string script = "cd '" + stage_.string() + "' && while read -r f; do " + tool + " \"$f.p7s\" '" +
                               inbox_.string() + "/' && " + tool + " \"$f\" '" + inbox_.string() +
                               "/' || exit 1; done < '" + list.string() + "'";
    writers.push_back(std::make_unique<test::BackgroundProcess>(std::vector<std::string>{"/bin/bash", "-c", script},
                                                                dir_ / ("writer.out"),
                                                                dir_ / ("writer" + std::to_string(k) + ".err")));
  }
  for (auto& wr : writers) EXPECT_EQ(wr->wait(), 0);
  ASSERT_TRUE(wait_for([&] { return count_files(accepted_) + count_files(rejected_) == 3u * files; }, 90s))
      << count_files(accepted_) << " + " << count_files(rejected_) << "\n"
      << log();
  w->signal(SIGTERM);
  EXPECT_EQ(w->wait(), 0);
  EXPECT_EQ(count_files(inbox_), 0u);
  for (int i = 1000; i < 1000 + files; ++i) {
    const std::string name = ma_name(i);
    const bool bad = tampered.count(name) != 0;
    const auto& folder = bad ? rejected_ : accepted_;
    ASSERT_TRUE(std::filesystem::exists(folder / name)) << name;
    ASSERT_TRUE(std::filesystem::exists(folder / (name + ".p7s"))) << name;
    EXPECT_EQ(result_of(folder, name)["reason"], bad ? json("CONTENT_MODIFIED") : json(nullptr)) << name;
  }
  EXPECT_EQ(lines_of(ledger_).size(), static_cast<std::size_t>(files));
  EXPECT_EQ(log().find("already in the destination"), std::string::npos) << "no pair was taken twice";
  auto check = test::run({test::app("mam-verify").string(), "--check-ledger", ledger_.string()});
  EXPECT_EQ(check.exit_code, 0) << check.out;
}

// kill -9 at random moments across 5,000 files, restarted each time: afterwards every file in exactly one
// place, one ledger entry per moved pair, each entry's result what a fresh mam-verify says of the moved
// file, and --check-ledger OK. Then an edited, a deleted and two swapped lines are each found.
TEST_F(Intake, SurvivesKillNineAtRandomMoments) {
  constexpr int kFiles = 5000 / kScaleDivisor;
  make_signed(stage_, 0, kFiles);
  // The feeder renames pairs in, about 800 a second, while the watcher is killed and restarted.
  const std::string feed =
      "import os, sys, time\n"
      "stage, inbox = sys.argv[1], sys.argv[2]\n"
      "names = sorted(n for n in os.listdir(stage) if n.endswith('.csv'))\n"
      "for i, n in enumerate(names):\n"
      "    os.rename(os.path.join(stage, n + '.p7s'), os.path.join(inbox, n + '.p7s'))\n"
      "    os.rename(os.path.join(stage, n), os.path.join(inbox, n))\n"
      "    if i % 25 == 24: time.sleep(0.03)\n";
  test::BackgroundProcess feeder({"/usr/bin/python3", "-c", feed, stage_.string(), inbox_.string()},
                                 dir_ / "feeder.out", dir_ / "feeder.err");
  std::mt19937 rng(12345);
  int kills = 0;
  while (kills < 20 || count_files(stage_) > 0) {
    auto w = start({"--jobs", "2"});
    std::this_thread::sleep_for(std::chrono::milliseconds(150 + rng() % 350));
    w->signal(SIGKILL);
    EXPECT_EQ(w->wait(), 128 + SIGKILL);
    ++kills;
    ASSERT_LT(kills, 200) << "the feeder never finished";
  }
  EXPECT_EQ(feeder.wait(), 0);
  // How often a kill fell inside a group's move: the restart completed it from the pending journal.
  int recovered = 0;
  for (int i = 1; i <= starts_; ++i) {
    recovered += test::read_file(dir_ / ("watch-" + std::to_string(i) + ".log")).find("completing the group") !=
                 std::string::npos;
  }
  std::cout << kills << " kills, " << recovered << " restarts completed a half-moved group\n";
  EXPECT_GE(recovered, 1) << "no kill fell inside a move: the test did not test recovery";
  auto last = start({"--jobs", "2"});
  ASSERT_TRUE(wait_for([&] { return count_files(inbox_) == 0; }, 60s)) << log();
  last->signal(SIGTERM);
  ASSERT_EQ(last->wait(), 0) << log();
  EXPECT_GE(kills, 20);

  // Every file in exactly one place, with its result.
  ASSERT_EQ(count_files(accepted_), 3u * kFiles) << "data, signature and result for each";
  EXPECT_EQ(count_files(rejected_), 0u);
  const auto entries = lines_of(ledger_);
  ASSERT_EQ(entries.size(), static_cast<std::size_t>(kFiles));
  std::set<std::string> recorded;
  for (const auto& line : entries) {
    const json e = json::parse(line);
    const std::string to = e["data"]["to"];
    EXPECT_TRUE(recorded.insert(to).second) << "recorded twice: " << to;
    EXPECT_TRUE(std::filesystem::exists(to)) << "an entry names a file that was not moved: " << to;
  }
  // Each entry's result is what a fresh verification of the moved file says.
  std::string list;
  for (const auto& name : test::list_dir(accepted_)) {
    if (name.size() > 4 && name.compare(name.size() - 4, 4, ".csv") == 0) list += (accepted_ / name).string() + "\n";
  }
  test::write_file(dir_ / "moved.txt", list);
  auto fresh = test::run({test::app("mam-verify").string(), "--trust", (test::keys_dir() / "trust").string(), "--crl",
                          crl_.string(), "--json", "--from", (dir_ / "moved.txt").string()});
  ASSERT_EQ(fresh.exit_code, 0) << fresh.err;
  std::map<std::string, json> now;
  for (const auto& r : test::json_results(fresh.out))
    now[std::filesystem::path(r["file"].get<std::string>()).filename()] = r;
  for (const auto& line : entries) {
    const json e = json::parse(line);
    const json& then = e["result"];
    const json& again = now[std::filesystem::path(e["data"]["to"].get<std::string>()).filename()];
    for (const char* key : {"result", "reason", "format", "sha256", "signer", "signing_time"}) {
      EXPECT_EQ(then[key], again[key]) << key << " of " << e["data"]["to"];
    }
  }
  auto check = [&] { return test::run({test::app("mam-verify").string(), "--check-ledger", ledger_.string()}); };
  auto ok = check();
  EXPECT_EQ(ok.exit_code, 0) << ok.out;
  EXPECT_NE(ok.out.find("OK: " + std::to_string(kFiles) + " entries"), std::string::npos) << ok.out;

  // Tampering: each kind found, at the line it happened.
  auto edited = entries;
  edited[1233].replace(edited[1233].find("\"accepted\""), 10, "\"rejected\"");
  write_lines(ledger_, edited);
  auto r = check();
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("BROKEN: line 1234 was changed"), std::string::npos) << r.out;
  auto deleted = entries;
  deleted.erase(deleted.begin() + 99);
  write_lines(ledger_, deleted);
  r = check();
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("line 100 says it is entry 101"), std::string::npos) << r.out;
  auto swapped = entries;
  std::swap(swapped[10], swapped[11]);
  write_lines(ledger_, swapped);
  r = check();
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("line 11 says it is entry 12"), std::string::npos) << r.out;
  auto cut = entries;
  cut.pop_back();
  write_lines(ledger_, cut);
  r = check();
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("lines were cut off the end"), std::string::npos) << r.out;
  // And a watcher refuses to start on it.
  auto refused = test::run(watch_argv({}));
  EXPECT_EQ(refused.exit_code, 3);
  EXPECT_NE(refused.err.find("cut off"), std::string::npos) << refused.err;
}

// A full disk (a small tmpfs holding the three folders): the watcher stops taking files and says why,
// loses nothing, and goes on by itself once there is room.
TEST_F(Intake, ADiskFullPausesAndLosesNothing) {
  if (::geteuid() != 0) GTEST_SKIP() << "mounting a small tmpfs needs root";
  const auto small = dir_ / "small";
  std::filesystem::create_directories(small);
  if (::mount("tmpfs", small.c_str(), "tmpfs", 0, "size=2m") != 0) GTEST_SKIP() << "cannot mount a tmpfs here";
  struct Unmount {
    std::filesystem::path p;
    ~Unmount() { ::umount2(p.c_str(), MNT_DETACH); }
  } unmount{small};
  inbox_ = small / "inbox";
  accepted_ = small / "accepted";
  rejected_ = small / "rejected";
  for (auto* p : {&inbox_, &accepted_, &rejected_}) std::filesystem::create_directories(*p);
  make_signed(small / "stage", 300, 30);
  // Room for a few results only.
  const auto used = std::filesystem::space(small);
  const auto used_kib = (used.capacity - used.available) / 1024;
  const std::string tight = "size=" + std::to_string(used_kib + 24) + "k";
  ASSERT_EQ(::mount(nullptr, small.c_str(), nullptr, MS_REMOUNT, tight.c_str()), 0) << tight;
  auto w = start({"--metrics", (dir_ / "intake.prom").string()});
  for (int i = 300; i < 330; ++i) {
    std::filesystem::rename(small / "stage" / (ma_name(i) + ".p7s"), inbox_ / (ma_name(i) + ".p7s"));
    std::filesystem::rename(small / "stage" / ma_name(i), inbox_ / ma_name(i));
  }
  ASSERT_TRUE(wait_for([&] { return log().find("taking no files until") != std::string::npos; }, 10s)) << log();
  EXPECT_NE(log().find("No space left on device"), std::string::npos) << log();
  const std::size_t moved_while_full = count_files(accepted_) / 3;
  EXPECT_LT(moved_while_full, 30u);
  // Nothing lost: each pair is whole in the inbox or whole, with its result, in accepted.
  for (int i = 300; i < 330; ++i) {
    const bool in =
        std::filesystem::exists(inbox_ / ma_name(i)) && std::filesystem::exists(inbox_ / (ma_name(i) + ".p7s"));
    const bool out = std::filesystem::exists(accepted_ / ma_name(i)) &&
                     std::filesystem::exists(accepted_ / (ma_name(i) + ".p7s")) &&
                     std::filesystem::exists(accepted_ / (ma_name(i) + ".result.json"));
    EXPECT_TRUE(in != out) << ma_name(i) << " in the inbox: " << in << ", accepted: " << out;
  }
  ASSERT_EQ(::mount(nullptr, small.c_str(), nullptr, MS_REMOUNT, "size=8m"), 0);
  ASSERT_TRUE(wait_for([&] { return count_files(accepted_) == 90; }, 20s)) << log();
  EXPECT_TRUE(wait_for([&] { return log().find("resumed") != std::string::npos; }, 10s)) << log();
  w->signal(SIGTERM);
  EXPECT_EQ(w->wait(), 0);
  EXPECT_EQ(lines_of(ledger_).size(), 30u);
  auto check = test::run({test::app("mam-verify").string(), "--check-ledger", ledger_.string()});
  EXPECT_EQ(check.exit_code, 0) << check.out;
}

// An unreadable file is rejected as IO_ERROR, once, not retried for ever. (As root, the watcher runs
// without the capabilities that read any file.)
TEST_F(Intake, AnUnreadableFileIsRejectedAsIoError) {
  make_signed(stage_, 400, 1);
  const std::string name = ma_name(400);
  std::vector<std::string> prefix;
  if (::geteuid() == 0) prefix = {"/usr/bin/setpriv", "--bounding-set=-dac_override,-dac_read_search", "--"};
  auto w = start({}, prefix);
  std::filesystem::rename(stage_ / (name + ".p7s"), inbox_ / (name + ".p7s"));
  std::filesystem::rename(stage_ / name, inbox_ / name);
  ::chmod((inbox_ / name).c_str(), 0);
  ASSERT_TRUE(wait_for([&] { return std::filesystem::exists(rejected_ / (name + ".result.json")); }, 10s)) << log();
  EXPECT_EQ(result_of(rejected_, name)["reason"], "IO_ERROR");
  EXPECT_EQ(result_of(rejected_, name)["result"], "error");
  std::this_thread::sleep_for(1s);
  w->signal(SIGTERM);
  EXPECT_EQ(w->wait(), 0);
  EXPECT_EQ(lines_of(ledger_).size(), 1u) << "judged once";
}

// The kernel's notification queue overflows (its limit lowered for this watcher): the rescan that
// follows takes every file the notifications lost.
TEST_F(Intake, AnInotifyOverflowIsRescanned) {
  const std::filesystem::path limit = "/proc/sys/fs/inotify/max_queued_events";
  const std::string before = test::read_file(limit);
  if (::access(limit.c_str(), W_OK) != 0) GTEST_SKIP() << "cannot lower " << limit;
  make_signed(stage_, 500, 300);
  test::write_file(limit, "16\n");
  auto w = start({"--rescan", "10m"});
  test::write_file(limit, before);
  w->signal(SIGSTOP);  // the queue fills while the watcher is not reading
  for (int i = 500; i < 800; ++i) {
    std::filesystem::rename(stage_ / (ma_name(i) + ".p7s"), inbox_ / (ma_name(i) + ".p7s"));
    std::filesystem::rename(stage_ / ma_name(i), inbox_ / ma_name(i));
  }
  w->signal(SIGCONT);
  ASSERT_TRUE(wait_for([&] { return count_files(accepted_) == 900; }, 30s)) << count_files(accepted_) << log();
  EXPECT_NE(log().find("overflowed"), std::string::npos) << log();
  w->signal(SIGTERM);
  EXPECT_EQ(w->wait(), 0);
}

// A CRL replaced while the watcher runs is used from then on; SIGHUP reloads too; SIGUSR1 says where it
// stands; the metrics file counts by reason.
TEST_F(Intake, ACrlChangeIsReloadedWithoutARestart) {
  crl_ = dir_ / "crl";
  std::filesystem::create_directories(crl_);
  std::filesystem::copy_file(test::keys_dir() / "crl" / "oca.crl", crl_ / "oca.crl");
  make_signed(stage_, 600, 2);
  const auto metrics = dir_ / "intake.prom";
  auto w = start({"--metrics", metrics.string()});
  std::filesystem::rename(stage_ / (ma_name(600) + ".p7s"), inbox_ / (ma_name(600) + ".p7s"));
  std::filesystem::rename(stage_ / ma_name(600), inbox_ / ma_name(600));
  ASSERT_TRUE(wait_for([&] { return std::filesystem::exists(accepted_ / ma_name(600)); }, 10s)) << log();
  const std::time_t now = std::time(nullptr);
  test::write_file(dir_ / "new.crl",
                   test::example_crl_pem("oca", {"supplier-ds"}, now - 60, now + 30 * 86400, now - 60));
  std::filesystem::rename(dir_ / "new.crl", crl_ / "oca.crl");
  ASSERT_TRUE(
      wait_for([&] { return log().find("reloaded the trust anchors and CRLs (a trust") != std::string::npos; }, 10s))
      << log();
  std::filesystem::rename(stage_ / (ma_name(601) + ".p7s"), inbox_ / (ma_name(601) + ".p7s"));
  std::filesystem::rename(stage_ / ma_name(601), inbox_ / ma_name(601));
  ASSERT_TRUE(wait_for([&] { return std::filesystem::exists(rejected_ / ma_name(601)); }, 10s)) << log();
  EXPECT_EQ(result_of(rejected_, ma_name(601))["reason"], "CERT_REVOKED");
  w->signal(SIGHUP);
  ASSERT_TRUE(wait_for([&] { return log().find("(SIGHUP)") != std::string::npos; }, 5s)) << log();
  w->signal(SIGUSR1);
  ASSERT_TRUE(
      wait_for([&] { return log().find("status: 1 accepted, 1 rejected (CERT_REVOKED 1)") != std::string::npos; }, 5s))
      << log();
  ASSERT_TRUE(wait_for(
      [&] {
        return std::filesystem::exists(metrics) &&
               test::read_file(metrics).find("mamsign_intake_rejected_total{reason=\"CERT_REVOKED\"} 1") !=
                   std::string::npos;
      },
      10s));
  const std::string m = test::read_file(metrics);
  EXPECT_NE(m.find("mamsign_intake_accepted_total 1\n"), std::string::npos) << m;
  EXPECT_NE(m.find("mamsign_intake_crl_age_seconds{crl="), std::string::npos) << m;
  w->signal(SIGTERM);
  EXPECT_EQ(w->wait(), 0);
}

// What is not a regular file is never opened: a FIFO (which would block a read), a symbolic link and a
// folder stay where they are, and the pair after them is taken as usual. Each is said once in the log,
// whether a notification or the first listing found it, so that no one waits on it in vain.
TEST_F(Intake, LinksAndFifosAreLeftAlone) {
  make_signed(stage_, 800, 2);
  std::filesystem::create_directory(inbox_ / "a-folder");
  auto w = start({"--pair-timeout", "1s"});
  ASSERT_EQ(::mkfifo((dir_ / "fifo").c_str(), 0644), 0);
  std::filesystem::rename(dir_ / "fifo", inbox_ / ma_name(900));
  std::filesystem::create_symlink(stage_ / ma_name(800), dir_ / "link");
  std::filesystem::create_symlink(stage_ / (ma_name(800) + ".p7s"), dir_ / "link.p7s");
  std::filesystem::rename(dir_ / "link.p7s", inbox_ / (ma_name(901) + ".p7s"));
  std::filesystem::rename(dir_ / "link", inbox_ / ma_name(901));
  std::filesystem::rename(stage_ / (ma_name(801) + ".p7s"), inbox_ / (ma_name(801) + ".p7s"));
  std::filesystem::rename(stage_ / ma_name(801), inbox_ / ma_name(801));
  ASSERT_TRUE(wait_for([&] { return std::filesystem::exists(accepted_ / ma_name(801)); }, 10s)) << log();
  const auto said = [&](const std::string& name, const std::string& what) {
    const std::string line = "left alone: " + (inbox_ / name).string() + " is " + what + ", not a regular file\n";
    const std::string text = log();
    std::size_t count = 0;
    for (auto at = text.find(line); at != std::string::npos; at = text.find(line, at + 1)) ++count;
    return count;
  };
  // The FIFO is looked at when its pair timeout is up.
  ASSERT_TRUE(wait_for([&] { return said(ma_name(900), "a FIFO") > 0; }, 10s)) << log();
  std::this_thread::sleep_for(500ms);
  w->signal(SIGTERM);
  EXPECT_EQ(w->wait(), 0) << log();
  EXPECT_EQ(said(ma_name(900), "a FIFO"), 1u) << log();
  EXPECT_EQ(said(ma_name(901), "a symbolic link"), 1u) << log();
  EXPECT_EQ(said(ma_name(901) + ".p7s", "a symbolic link"), 1u) << log();
  EXPECT_EQ(said("a-folder", "a folder (the inbox is not descended into)"), 1u) << log();
  EXPECT_EQ(test::list_dir(inbox_),
            (std::vector<std::string>{ma_name(900), ma_name(901), ma_name(901) + ".p7s", "a-folder"}));
  EXPECT_EQ(lines_of(ledger_).size(), 1u);
}

// A name that is not UTF-8 is moved like any other, and the ledger carries its bytes as hex.
TEST_F(Intake, ANameThatIsNotUtf8IsRecordedAsHex) {
  const std::string name = "MA_\xff\xfe.csv";
  ASSERT_NO_FATAL_FAILURE(reject_one_pair(name));
  const auto entries = lines_of(ledger_);
  ASSERT_EQ(entries.size(), 1u);
  const json e = json::parse(entries[0]);
  const auto hex = [](const std::string& bytes) { return to_hex(bytes); };
  EXPECT_EQ(e["data"]["to_hex"], hex((rejected_ / name).string()));
  EXPECT_EQ(e["data"]["from_hex"], hex((inbox_ / name).string()));
  EXPECT_EQ(e["signature"]["to_hex"], hex((rejected_ / (name + ".p7s")).string()));
  EXPECT_TRUE(std::filesystem::exists(rejected_ / name));
}

// A newline in a file's name cannot forge a log line (it is written \x0a) nor break the ledger's lines
// (JSON escapes it): the file is routed and recorded as any other.
TEST_F(Intake, ANewlineInANameForgesNoLineInTheLogOrTheLedger) {
  const std::string name = "MA_x\naccepted forged.csv";
  ASSERT_NO_FATAL_FAILURE(reject_one_pair(name));
  const std::string text = log();
  EXPECT_NE(text.find("MA_x\\x0aaccepted forged.csv"), std::string::npos) << text;
  EXPECT_EQ(text.find("\naccepted forged"), std::string::npos) << text;
  const auto entries = lines_of(ledger_);
  ASSERT_EQ(entries.size(), 1u);
  const json e = json::parse(entries[0]);
  EXPECT_EQ(e["data"]["to"], (rejected_ / name).string());
  EXPECT_EQ(e["outcome"], "rejected");
  auto check = test::run({test::app("mam-verify").string(), "--check-ledger", ledger_.string()});
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
}

// --check-ledger reads a line at most 4 MiB long: a longer one is named, not read into memory whole.
TEST_F(Intake, ACheckStopsAtALineOverItsBound) {
  make_signed(stage_, 800, 1);
  auto w = start();
  std::filesystem::rename(stage_ / (ma_name(800) + ".p7s"), inbox_ / (ma_name(800) + ".p7s"));
  std::filesystem::rename(stage_ / ma_name(800), inbox_ / ma_name(800));
  ASSERT_TRUE(wait_for([&] { return lines_of(ledger_).size() == 1; }, 10s)) << log();
  w->signal(SIGTERM);
  EXPECT_EQ(w->wait(), 0);
  {
    std::ofstream out(ledger_, std::ios::binary | std::ios::app);
    out << std::string((4u << 20) + 10, 'x') << "\n";
  }
  auto check = test::run({test::app("mam-verify").string(), "--check-ledger", ledger_.string()});
  EXPECT_EQ(check.exit_code, 1) << check.out << check.err;
  EXPECT_NE((check.out + check.err).find("line 2 is longer than 4 MiB"), std::string::npos) << check.out << check.err;
}

// A name already in the destination is never overwritten: the second file of that name goes under a
// suffix, and its result and ledger entry say so.
TEST_F(Intake, ANameClashGetsASuffixNeverAnOverwrite) {
  make_signed(stage_, 700, 1);
  const std::string name = ma_name(700);
  const std::string first = test::read_file(stage_ / name);
  auto w = start();
  for (int round = 0; round < 2; ++round) {
    std::filesystem::copy_file(stage_ / (name + ".p7s"), dir_ / "sig.tmp",
                               std::filesystem::copy_options::overwrite_existing);
    std::filesystem::copy_file(stage_ / name, dir_ / "data.tmp", std::filesystem::copy_options::overwrite_existing);
    std::filesystem::rename(dir_ / "sig.tmp", inbox_ / (name + ".p7s"));
    std::filesystem::rename(dir_ / "data.tmp", inbox_ / name);
    ASSERT_TRUE(wait_for([&] { return count_files(accepted_) == 3u * (round + 1); }, 10s)) << log();
  }
  w->signal(SIGTERM);
  EXPECT_EQ(w->wait(), 0);
  EXPECT_EQ(test::read_file(accepted_ / name), first);
  ASSERT_TRUE(std::filesystem::exists(accepted_ / (name + ".1")));
  ASSERT_TRUE(std::filesystem::exists(accepted_ / (name + ".1.p7s")));
  const json second = result_of(accepted_, name + ".1");
  EXPECT_EQ(second["intake"]["renamed"], true);
  EXPECT_EQ(second["intake"]["moved_to"], (accepted_ / (name + ".1")).string());
  const auto entries = lines_of(ledger_);
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(json::parse(entries[1])["renamed"], true);
}

// What cannot run is refused at the start, saying why.
TEST_F(Intake, ConfigurationsThatCannotWorkAreRefused) {
  auto first = start();
  auto second = test::run(watch_argv({}));
  EXPECT_EQ(second.exit_code, 3);
  EXPECT_NE(second.err.find("another watcher holds this ledger"), std::string::npos) << second.err;
  first->signal(SIGTERM);
  EXPECT_EQ(first->wait(), 0);
  auto no_dest = test::run(
      {test::app("mam-verify").string(), "--trust", (test::keys_dir() / "trust").string(), "--watch", inbox_.string()});
  EXPECT_EQ(no_dest.exit_code, 2);
  EXPECT_NE(no_dest.err.find("--watch needs --accepted DIR and --rejected DIR"), std::string::npos) << no_dest.err;
  const auto ledger = ledger_;
  ledger_ = inbox_ / "ledger.jsonl";
  auto in_inbox = test::run(watch_argv({}));
  ledger_ = ledger;
  EXPECT_EQ(in_inbox.exit_code, 3);
  EXPECT_NE(in_inbox.err.find("is in the inbox"), std::string::npos) << in_inbox.err;
  struct stat here {
  }, shm{};
  if (::stat("/dev/shm", &shm) == 0 && ::stat(dir_.path().c_str(), &here) == 0 && shm.st_dev != here.st_dev) {
    const auto elsewhere = std::filesystem::path("/dev/shm") / ("mamsign-accepted-" + std::to_string(::getpid()));
    std::filesystem::create_directories(elsewhere);
    accepted_ = elsewhere;
    auto apart = test::run(watch_argv({}));
    std::filesystem::remove_all(elsewhere);
    EXPECT_EQ(apart.exit_code, 3);
    EXPECT_NE(apart.err.find("is on another file system than the inbox"), std::string::npos) << apart.err;
  }
}

}  // namespace
}  // namespace mamsign
