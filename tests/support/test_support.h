// Shared by the tests: where the repository's example files are, scratch folders, real processes.
#pragma once

#include "mamsign/keys/key_source.h"
#include "mamsign/smki/org_cert.h"
#include "mamsign/pki/trust_store.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>
#include <vector>

namespace mamsign::test {

std::filesystem::path source_dir();
std::filesystem::path keys_dir();                    // keys-example/
std::filesystem::path testdata_dir();                // testdata/
std::filesystem::path app(const std::string& name);  // a built app, e.g. "mam-sign"

// keys-example/store/<name>.pem, loaded (the test fails if it cannot be).
OrgCertPtr example_cert(const std::string& name);
std::filesystem::path example_key(const std::string& name);  // keys-example/keys/<name>.key
std::filesystem::path example_cert_path(const std::string& name);
// keys-example/trust (root and OCA) and, with `with_crl`, keys-example/crl.
std::shared_ptr<TrustStore> example_trust(bool with_crl = true);

// A PEM CRL from the example CA `ca` ("oca" or "root"), revoking the keys-example/store certificates
// `revoked` (or, for the root, "oca" for keys-example/trust/oca.pem) at `revoked_at`.
std::string example_crl_pem(const std::string& ca, const std::vector<std::string>& revoked, std::time_t this_update,
                            std::time_t next_update, std::time_t revoked_at);

// The private key of keys-example/store/<name>.pem.
EvpPkeyPtr example_private_key(const std::string& name);

// Signatures of `file` by keys-example certificate `name`, made by the library's own signature code
// but without the signer's refusals, so that certificates breaking the profile can sign too.
// `bound_name` defaults to the file's base name.
std::string cms_sign_as(const std::string& name, const std::filesystem::path& file,
                        const std::vector<std::string>& chain = {}, const std::string& bound_name = "");
std::string raw_sign_as(const std::string& name, const std::filesystem::path& file);

// The example supplier's migration file name and content (CRLF line endings).
inline const std::string kMaName = "MA_cgI_70-B3-D5-1F-30-00-A0-08_20190407_182503.csv";
std::string example_ma_content();

// 2026-06-01T00:00:00Z: inside every valid example certificate's validity.
std::time_t example_time();

// A fresh folder removed with everything in it when the object goes.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

std::string read_file(const std::filesystem::path& p);
void write_file(const std::filesystem::path& p, const std::string& content);

struct ProcessResult {
  int exit_code = -1;  // 128 + signal when killed by a signal
  std::string out;
  std::string err;
};
// Runs a program (no shell), feeding `input` to its standard input.
// A --json run's standard output read as a script reads it: the result objects (every line before the
// mamsign/summary/1 line that ends the run), the summary itself (a test failure when the last line is
// not one), and the one result of a run over one file.
std::vector<nlohmann::json> json_results(const std::string& out);
nlohmann::json json_summary(const std::string& out);
nlohmann::json json_result(const std::string& out);

ProcessResult run(const std::vector<std::string>& argv, const std::string& input = "",
                  const std::filesystem::path& cwd = {});

// A program running in the background, its output going to files, for tests that signal it.
class BackgroundProcess {
 public:
  BackgroundProcess(const std::vector<std::string>& argv, const std::filesystem::path& out,
                    const std::filesystem::path& err);
  ~BackgroundProcess();
  BackgroundProcess(const BackgroundProcess&) = delete;
  BackgroundProcess& operator=(const BackgroundProcess&) = delete;
  void signal(int sig);
  int wait();  // the exit code; 128 + signal when killed
  int pid() const { return pid_; }

 private:
  int pid_ = -1;
  bool reaped_ = false;
  int code_ = -1;
};

// Every file name in a folder (not recursive), sorted.
std::vector<std::string> list_dir(const std::filesystem::path& dir);

}  // namespace mamsign::test
