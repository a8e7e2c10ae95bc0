// Issue 19: the attacks of an attacker's hour, each a regression test run as a script runs the apps.
// No input is ever destroyed; no weakened configuration is taken silently; every printed name stands
// for one path; a file that changes while read is never signed or judged; every signature is counted.
#include "mamsign/base/atomic_file.h"
#include "mamsign/batch.h"
#include "mamsign/signature/digest.h"
#include "mamsign/base/io.h"
#include "mamsign/smki/profile.h"
#include "support/test_support.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <fstream>
#include <regex>
#include <sstream>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

namespace mamsign {
namespace {

using nlohmann::json;

std::string nul() { return std::string(1, '\0'); }

class NeverDestroy : public ::testing::Test {
 protected:
  void SetUp() override {
    ma_ = dir_ / test::kMaName;
    test::write_file(ma_, test::example_ma_content());
  }
  std::vector<std::string> sign_argv(std::vector<std::string> extra) const {
    std::vector<std::string> argv{test::app("mam-sign").string(), "--key", test::example_key("supplier-ds").string(),
                                  "--cert", test::example_cert_path("supplier-ds").string()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return argv;
  }
  test::ProcessResult sign(std::vector<std::string> extra, const std::string& input = "") const {
    return test::run(sign_argv(std::move(extra)), input);
  }
  test::ProcessResult verify(std::vector<std::string> extra, const std::string& input = "") const {
    std::vector<std::string> argv{test::app("mam-verify").string(), "--trust", (test::keys_dir() / "trust").string()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return test::run(argv, input);
  }
  test::ProcessResult certid(std::vector<std::string> extra, const std::string& input = "") const {
    std::vector<std::string> argv{
        test::app("mam-certid").string(),      "check",   "--store",
        (test::keys_dir() / "store").string(), "--trust", (test::keys_dir() / "trust").string()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return test::run(argv, input);
  }
  test::TempDir dir_;
  std::filesystem::path ma_;
};

// Finding 1: "data.csv\0" in a newline-separated list was the data file; its signature's name, cut at
// the NUL by the kernel, was the data file too, and --force renamed the signature over it.
TEST_F(NeverDestroy, NulInAListLineIsRefusedBeforeAnyFileIsTouched) {
  const std::string before = test::read_file(ma_);
  for (const auto& extra : std::vector<std::vector<std::string>>{{"--force"}, {"--force", "--no-name-check"}, {}}) {
    std::vector<std::string> args = extra;
    args.insert(args.end(), {"--json", "--from", "-"});
    auto r = sign(args, ma_.string() + nul() + "\n");
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find("NUL"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("--null"), std::string::npos)
        << "the message names the flag a NUL-separated list needs: " << r.err;
    // Nothing was signed, so no result names a file: the one object is the run's error.
    const auto j = test::json_result(r.out);
    EXPECT_EQ(j["schema"], "mamsign/run-error/1") << r.out;
    EXPECT_EQ(j["exit_code"], 2);
    EXPECT_EQ(test::read_file(ma_), before) << "the data file is as it was";
    EXPECT_EQ(test::list_dir(dir_.path()), std::vector<std::string>{test::kMaName});
  }
  // The same NUL in the middle of a line (a path that names another file than it says).
  auto mid = sign({"--force", "--from", "-"}, ma_.string() + nul() + ".p7s\n");
  EXPECT_EQ(mid.exit_code, 2) << mid.err;
  EXPECT_EQ(test::read_file(ma_), before);
}

// Finding 7: the verifier read the data file as its own signature (MALFORMED_SIGNATURE, and the JSON
// named F\u0000X); and mam-certid takes lists the same way.
TEST_F(NeverDestroy, NulInAListLineIsRefusedByVerifyAndCertid) {
  ASSERT_EQ(sign({"--quiet", ma_.string()}).exit_code, 0);
  for (const auto& r : {verify({"--json", "--from", "-"}, ma_.string() + nul() + "X\n"),
                        certid({"--json", "--from", "-"}, ma_.string() + nul() + "X\n")}) {
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find("--null"), std::string::npos) << r.err;
    EXPECT_EQ(r.out.find("\\u0000"), std::string::npos) << "no result names a path with a NUL: " << r.out;
  }
  // With --null the NUL is the separator and the same bytes are two entries, the second a missing file.
  auto v = verify({"--json", "--from", "-", "--null"}, ma_.string() + nul());
  EXPECT_EQ(v.exit_code, 0) << v.err;
  EXPECT_EQ(test::json_result(v.out)["result"], "valid");
}

// Lists as they come: CRLF, empty lines, no final separator, long lines; never a crash, never a path
// with a NUL, never more than kMaxListEntryBytes held as one entry.
TEST(InputLists, HostileListsAreBoundedAndNeverYieldANul) {
  test::TempDir dir;
  const auto a = dir / "a.csv";
  test::write_file(a, "x");
  struct Case {
    std::string list;
    bool null_separated;
    bool accepted;
    std::size_t files;
  };
  const std::string too_long(kMaxListEntryBytes + 1, 'a');
  const std::string longest = (dir / std::string(200, 'b')).string();
  const std::vector<Case> cases{
      {a.string() + "\r\n" + a.string() + "\r\n", false, true, 2},
      {"\n\n" + a.string() + "\n\n", false, true, 1},
      {a.string(), false, true, 1},
      {a.string() + nul(), false, false, 0},
      {nul() + a.string() + "\n", false, false, 0},
      {a.string() + nul() + nul() + a.string() + nul(), true, true, 2},
      {a.string() + "\n" + a.string() + nul(), true, true, 1},
      {too_long + "\n", false, false, 0},
      {too_long, true, false, 0},
      {std::string(10 * kMaxListEntryBytes, '\n'), false, true, 0},
      {std::string(10 * kMaxListEntryBytes, 'x'), false, false, 0},
      {longest + "\n", false, true, 1},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    std::istringstream in(cases[i].list);
    InputOptions options;
    options.null_separated = cases[i].null_separated;
    auto got = collect_inputs({}, {"-"}, &in, options);
    ASSERT_EQ(static_cast<bool>(got), cases[i].accepted) << "case " << i << (got ? "" : ": " + got.error().message);
    if (!got) {
      EXPECT_EQ(got.error().reason, Reason::InvalidInput) << "case " << i;
      continue;
    }
    EXPECT_EQ(got->files.size(), cases[i].files) << "case " << i;
    for (const auto& f : got->files) EXPECT_EQ(f.native().find('\0'), std::string::npos) << "case " << i;
  }
  // Arguments are paths from outside too.
  auto arg = collect_inputs({a.string() + nul() + "x"}, {}, nullptr, InputOptions{});
  ASSERT_FALSE(arg);
  EXPECT_EQ(arg.error().reason, Reason::IoError);
}

// Every shape a path can take reaches the same file, and the file is never written.
TEST_F(NeverDestroy, EveryPathShapeLeavesTheDataFileAsItWas) {
  const std::string before = test::read_file(ma_);
  const auto sub = dir_ / "sub";
  std::filesystem::create_directory(sub);
  const auto linked = sub / test::kMaName;
  std::filesystem::create_symlink(ma_, linked);
  const std::vector<std::pair<std::vector<std::string>, std::string>> shapes{
      {{ma_.string()}, ""},
      {{"./" + test::kMaName}, ""},
      {{(dir_.path().string() + "//" + test::kMaName)}, ""},
      {{(dir_.path() / "sub" / ".." / test::kMaName).string()}, ""},
      {{linked.string()}, ""},
      {{"--from", "-"}, ma_.string() + "\r\n"},
      {{"--from", "-", "--null"}, "./" + test::kMaName + nul()},
  };
  for (const auto& [args, input] : shapes) {
    std::vector<std::string> argv = sign_argv({"--force", "--quiet"});
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = test::run(argv, input, dir_.path());
    EXPECT_EQ(r.exit_code, 0) << args.front() << ": " << r.err;
    EXPECT_EQ(test::read_file(ma_), before) << args.front();
    EXPECT_EQ(test::read_file(linked), before) << args.front();
  }
  auto v = verify({ma_.string(), linked.string()});
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
}

// The second wall: whatever a name says, no output replaces a file it was made from.
TEST(AtomicWrite, NeverReplacesOneOfItsInputs) {
  test::TempDir dir;
  const auto input = dir / "data.csv";
  test::write_file(input, "the data");
  const auto hard_link = dir / "data.csv.p7s";
  std::filesystem::create_hard_link(input, hard_link);
  for (const auto& target : {input, hard_link}) {
    WriteOptions options;
    options.replace = Replace::Yes;
    options.inputs = {input};
    auto st = write_file_atomically(target, "a signature", options);
    ASSERT_FALSE(st) << target;
    EXPECT_EQ(st.error().reason, Reason::InvalidInput);
    EXPECT_NE(st.error().message.find("input"), std::string::npos) << st.error().message;
    EXPECT_EQ(test::read_file(input), "the data");
  }
  EXPECT_EQ(test::list_dir(dir.path()), (std::vector<std::string>{"data.csv", "data.csv.p7s"})) << "no temporary left";
  auto with_nul = write_file_atomically(dir.path().string() + "/x" + nul() + "y", "z", WriteOptions{});
  ASSERT_FALSE(with_nul);
  EXPECT_EQ(test::list_dir(dir.path()).size(), 2u);
  // Another file is replaced as before.
  const auto other = dir / "other.p7s";
  test::write_file(other, "old");
  WriteOptions options;
  options.replace = Replace::Yes;
  options.inputs = {input};
  ASSERT_TRUE(write_file_atomically(other, "new", options));
  EXPECT_EQ(test::read_file(other), "new");
}

// Through the app: a signature whose name is a hard link to the data file is refused with --force.
TEST_F(NeverDestroy, ASignatureNameThatIsTheDataFileIsNeverWritten) {
  const std::string before = test::read_file(ma_);
  std::filesystem::create_hard_link(ma_, ma_.string() + ".p7s");
  auto r = sign({"--force", "--json", ma_.string()});
  EXPECT_NE(r.exit_code, 0) << r.out;
  EXPECT_EQ(test::json_result(r.out)["result"], "refused") << r.out;
  EXPECT_EQ(test::read_file(ma_), before);
}

// Finding 2: a profile, trust anchor or CRL that others may write is refused, naming the fix.
TEST_F(NeverDestroy, ConfigurationOthersMayWriteIsRefused) {
  const auto conf = dir_ / "conf";
  std::filesystem::create_directory(conf);
  ::chmod(conf.c_str(), 0755);
  const auto profile = conf / "profile.json";
  test::write_file(profile, R"({"signer_roles":["02","03"],"issuer_role":null})");
  ::chmod(profile.c_str(), 0644);
  ASSERT_EQ(sign({"--quiet", ma_.string()}).exit_code, 0);
  auto fine = verify({"--profile", profile.string(), ma_.string()});
  EXPECT_EQ(fine.exit_code, 0) << fine.err;

  ::chmod(profile.c_str(), 0664);
  auto group = verify({"--profile", profile.string(), ma_.string()});
  EXPECT_EQ(group.exit_code, 3) << group.out << group.err;
  EXPECT_NE(group.err.find("writable by its group"), std::string::npos) << group.err;
  EXPECT_NE(group.err.find("chmod go-w"), std::string::npos) << group.err;
  ::chmod(profile.c_str(), 0644);

  ::chmod(conf.c_str(), 0777);
  auto world = test::run({"/usr/bin/env", "MAMSIGN_CONFIG_DIR=" + conf.string(), test::app("mam-verify").string(),
                          "--trust", (test::keys_dir() / "trust").string(), ma_.string()});
  EXPECT_NE(world.exit_code, 0) << world.out;
  EXPECT_NE(world.err.find("a folder above it"), std::string::npos) << world.err;
  EXPECT_NE(world.err.find("writable by everyone"), std::string::npos) << world.err;
  ::chmod(conf.c_str(), 0755);

  // A symbolic link in a folder others may write decides what it points to: refused too.
  const auto open_dir = dir_ / "open";
  std::filesystem::create_directory(open_dir);
  ::chmod(open_dir.c_str(), 0777);
  std::filesystem::create_symlink(profile, open_dir / "profile.json");
  auto via_link = verify({"--profile", (open_dir / "profile.json").string(), ma_.string()});
  EXPECT_EQ(via_link.exit_code, 3) << via_link.err;
  EXPECT_NE(via_link.err.find("writable by everyone"), std::string::npos) << via_link.err;

  // Trust anchors and CRLs.
  const auto trust = dir_ / "trust";
  std::filesystem::copy(test::keys_dir() / "trust", trust);
  ::chmod(trust.c_str(), 0775);
  auto t = test::run({test::app("mam-verify").string(), "--trust", trust.string(), ma_.string()});
  EXPECT_NE(t.exit_code, 0);
  EXPECT_NE(t.err.find("writable by its group"), std::string::npos) << t.err;
  ::chmod(trust.c_str(), 0755);
  EXPECT_EQ(test::run({test::app("mam-verify").string(), "--trust", trust.string(), ma_.string()}).exit_code, 0);
  const auto crl = dir_ / "crl";
  std::filesystem::copy(test::keys_dir() / "crl", crl);
  for (const auto& name : test::list_dir(crl)) ::chmod((crl / name).c_str(), 0666);
  auto c = verify({"--crl", crl.string(), ma_.string()});
  EXPECT_NE(c.exit_code, 0);
  EXPECT_NE(c.err.find("writable by everyone"), std::string::npos) << c.err;
}

// Finding 2: a profile not the built-in one is said in every result, text and JSON.
TEST_F(NeverDestroy, AProfileInEffectIsNamedInEveryResult) {
  const auto profile = dir_ / "profile.json";
  test::write_file(profile, R"({"signer_roles":["02","03"],"issuer_role":null})");
  ::chmod(profile.c_str(), 0644);
  auto s = sign({"--json", "--profile", profile.string(), ma_.string()});
  ASSERT_EQ(s.exit_code, 0) << s.err;
  const json signed_result = test::json_result(s.out);
  EXPECT_EQ(signed_result["profile"]["file"], profile.string());
  EXPECT_EQ(signed_result["profile"]["changes"], (json{"issuer_role", "signer_roles"}));

  auto v = verify({"--json", "--profile", profile.string(), ma_.string()});
  ASSERT_EQ(v.exit_code, 0) << v.err;
  const json verified = test::json_result(v.out);
  EXPECT_EQ(verified["profile"]["file"], profile.string());
  bool noted = false;
  for (const auto& n : verified["notes"])
    noted |= n.get<std::string>().find("changes issuer_role, signer_roles") != std::string::npos;
  EXPECT_TRUE(noted) << verified.dump();
  auto text = verify({"--profile", profile.string(), ma_.string()});
  EXPECT_NE(text.out.find("the profile " + profile.string() + " changes issuer_role, signer_roles"), std::string::npos)
      << text.out;

  auto c = certid({"--json", "--profile", profile.string(), ma_.string()});
  EXPECT_EQ(test::json_result(c.out)["profile"]["file"], profile.string()) << c.out;

  // Without a profile: null, and no note.
  auto plain = verify({"--json", ma_.string()});
  EXPECT_TRUE(test::json_result(plain.out)["profile"].is_null());
  EXPECT_EQ(plain.out.find("changes"), std::string::npos);
}

TEST(ProfileValues, ThatMakeNoSenseAreRefused) {
  for (const char* text : {R"({"party_octets": [1,1,1]})", R"({"signer_roles": ["02","02"]})",
                           R"({"signer_roles": ["00"]})", R"({"signer_roles": ["07"]})",
                           R"({"policy_oids": ["1.2.3", "1.2.3"]})", R"({"file_name_prefixes": ["MA", "MA"]})"}) {
    auto p = Profile::parse(text, "p.json");
    ASSERT_FALSE(p) << text;
    EXPECT_EQ(p.error().reason, Reason::InvalidInput);
    EXPECT_NE(p.error().message.find("p.json"), std::string::npos) << p.error().message;
  }
  EXPECT_NE(Profile::parse(R"({"party_octets": [1,1,1]})").error().message.find("octet 1 is listed twice"),
            std::string::npos);
}

// Finding 3: a literal backslash and a real control character print differently; bidirectional
// controls never reach the terminal.
TEST_F(NeverDestroy, EveryPrintedNameStandsForOnePath) {
  const auto literal = dir_ / "lit\\x0Aname";
  const auto real = dir_ / "lit\nname";
  const auto bidi = dir_ / "MA_\xE2\x80\xAEvsc.csv";  // U+202E RIGHT-TO-LEFT OVERRIDE
  auto r = verify({literal.string(), real.string(), bidi.string()});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.out.find("lit\\\\x0Aname"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("lit\\x0Aname"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("lit\nname"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("MA_\\u202Evsc.csv"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("\xE2\x80\xAE"), std::string::npos) << "no bidirectional control reaches the terminal";
  EXPECT_EQ(r.err.find("\xE2\x80\xAE"), std::string::npos);
}

// Finding 4, at the mechanism: a file read while it grows, or replaced under its name, is FileChanged.
TEST(ChangedFiles, SequentialFileSeesAChange) {
  test::TempDir dir;
  const auto f = dir / "f";
  test::write_file(f, "first version");
  {
    auto in = SequentialFile::open(f, "file");
    ASSERT_TRUE(in);
    EXPECT_TRUE(in->check_unchanged());
    std::ofstream(f, std::ios::app) << "more";
    auto st = in->check_unchanged();
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().reason, Reason::FileChanged);
    EXPECT_NE(st.error().message.find("changed while it was being read"), std::string::npos) << st.error().message;
  }
  {
    auto in = SequentialFile::open(f, "file");
    ASSERT_TRUE(in);
    test::write_file(dir / "g", "another file");
    std::filesystem::rename(dir / "g", f);
    auto st = in->check_unchanged();
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().reason, Reason::FileChanged)
        << st.error().message;  // the old inode's ctime moved as it was unlinked
  }
  auto sum = sha256_file(f);
  EXPECT_TRUE(sum) << "an unchanged file hashes as before";
}

// Finding 4, as the supplier saw it: a 256 MiB file appended to while mam-sign reads it.
class GrowingFile : public NeverDestroy {
 protected:
  // Runs `r` while another thread appends to `file` every millisecond.
  template <class F>
  test::ProcessResult while_appending(const std::filesystem::path& file, F run) {
    std::atomic<bool> done{false};
    std::thread writer([&] {
      while (!done.load()) {
        std::ofstream(file, std::ios::app | std::ios::binary) << '\n';
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    });
    auto r = run();
    done = true;
    writer.join();
    return r;
  }
  void make_big(const std::filesystem::path& file) {
    std::ofstream out(file, std::ios::binary);
    const std::string block(1 << 20, 'x');
    for (int i = 0; i < 256; ++i) out << block;
  }
};

TEST_F(GrowingFile, IsNeverSignedNorJudged) {
  const auto big = dir_ / "big.bin";
  make_big(big);
  auto s = while_appending(big, [&] { return sign({"--json", "--no-name-check", big.string()}); });
  EXPECT_EQ(s.exit_code, 3) << s.out << s.err;
  const json signed_result = test::json_result(s.out);
  EXPECT_EQ(signed_result["result"], "error");
  EXPECT_EQ(signed_result["reason"], "FILE_CHANGED");
  EXPECT_NE(signed_result["message"].get<std::string>().find("nothing was signed"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(big.string() + ".p7s"));
  EXPECT_EQ(test::list_dir(dir_.path()), (std::vector<std::string>{test::kMaName, "big.bin"})) << "no temporary left";

  ASSERT_EQ(sign({"--quiet", "--no-name-check", big.string()}).exit_code, 0);
  auto v = while_appending(big, [&] { return verify({"--json", "--no-name-check", big.string()}); });
  EXPECT_EQ(v.exit_code, 3) << v.out << v.err;
  const json verified = test::json_result(v.out);
  EXPECT_EQ(verified["result"], "error");
  EXPECT_EQ(verified["reason"], "FILE_CHANGED");
}

// Finding 5: results to a full disk. Every signature on disk is counted in the summary, and once results
// cannot be written, no new file is signed.
TEST_F(NeverDestroy, TheSummaryCountsEverySignatureWrittenWhenResultsAreLost) {
  const auto in = dir_ / "in";
  auto made =
      test::run({test::app("mam-testpki").string(), "files", "--out", in.string(), "--count", "400", "--size", "512"});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  const std::string cmd = test::app("mam-sign").string() + " --json --key " +
                          test::example_key("supplier-ds").string() + " --cert " +
                          test::example_cert_path("supplier-ds").string() + " " + in.string() + " > /dev/full";
  auto r = test::run({"/bin/bash", "-c", cmd});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  std::size_t on_disk = 0;
  for (const auto& name : test::list_dir(in)) on_disk += name.size() > 4 && name.substr(name.size() - 4) == ".p7s";
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.err, m, std::regex("([0-9]+) signed"))) << r.err;
  EXPECT_EQ(std::stoul(m[1].str()), on_disk) << r.err;
  EXPECT_LT(on_disk, 400u) << "signing stopped once results could not be written";
  // IO_ERRORs are "error" in the summary, as in JSON.
  auto missing =
      sign({"--quiet", "--no-name-check", (dir_ / "missing-1.csv").string(), (dir_ / "missing-2.csv").string()});
  EXPECT_NE(missing.err.find("2 error (IO_ERROR 2)"), std::string::npos) << missing.err;
}

// Finding 6: an empty --at (an unset shell variable) is a usage error, not "now".
TEST_F(NeverDestroy, AnEmptyAtIsAUsageError) {
  ASSERT_EQ(sign({"--quiet", ma_.string()}).exit_code, 0);
  for (const auto& r :
       {verify({"--at", "", ma_.string()}), verify({"--at=", ma_.string()}), certid({"--at", "", ma_.string()})}) {
    EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
    EXPECT_NE(r.err.find("--at"), std::string::npos) << r.err;
    EXPECT_EQ(r.out, "");
  }
  EXPECT_EQ(verify({"--at", "2026-06-01T00:00:00Z", ma_.string()}).exit_code, 0);
}

}  // namespace
}  // namespace mamsign
