#include "support/test_support.h"

#include "mamsign/pki/cert_builder.h"

#include "mamsign/signature/cms_signature.h"
#include "mamsign/signature/digest.h"
#include "mamsign/signature/raw_signature.h"
#include "mamsign/base/times.h"

#include <csignal>
#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

namespace mamsign::test {

std::filesystem::path source_dir() { return MAMSIGN_SOURCE_DIR; }
std::filesystem::path keys_dir() { return source_dir() / "keys-example"; }
std::filesystem::path testdata_dir() { return source_dir() / "testdata"; }
std::filesystem::path app(const std::string& name) { return std::filesystem::path(MAMSIGN_APPS_DIR) / name; }

std::filesystem::path example_cert_path(const std::string& name) { return keys_dir() / "store" / (name + ".pem"); }
std::filesystem::path example_key(const std::string& name) { return keys_dir() / "keys" / (name + ".key"); }

OrgCertPtr example_cert(const std::string& name) {
  auto c = OrgCert::load(example_cert_path(name));
  if (!c) ADD_FAILURE() << "cannot load example certificate " << name << ": " << c.error().message;
  return c ? *c : nullptr;
}

std::shared_ptr<TrustStore> example_trust(bool with_crl) {
  auto t = TrustStore::load({keys_dir() / "trust"}, Profile::defaults());
  if (!t) {
    ADD_FAILURE() << t.error().message;
    return nullptr;
  }
  if (with_crl) {
    auto st = (*t)->add_crls({keys_dir() / "crl"});
    if (!st) ADD_FAILURE() << st.error().message;
  }
  return *t;
}

std::string example_crl_pem(const std::string& ca, const std::vector<std::string>& revoked, std::time_t this_update,
                            std::time_t next_update, std::time_t revoked_at) {
  auto ca_cert = OrgCert::load(keys_dir() / "trust" / (ca + ".pem"));
  auto ca_key = load_private_key(keys_dir() / "ca" / (ca + ".key"), {});
  if (!ca_cert || !ca_key) {
    ADD_FAILURE() << "example CA " << ca << " cannot be loaded";
    return {};
  }
  std::vector<OrgCertPtr> certs;
  std::vector<Revocation> list;
  for (const auto& name : revoked) {
    certs.push_back(name == "oca" ? *OrgCert::load(keys_dir() / "trust/oca.pem") : example_cert(name));
    list.push_back(Revocation{certs.back()->x509(), revoked_at});
  }
  auto crl = issue_crl((*ca_cert)->x509(), ca_key->get(), list, this_update, next_update);
  if (!crl) {
    ADD_FAILURE() << crl.error().message;
    return {};
  }
  return *crl_pem(crl->get());
}

EvpPkeyPtr example_private_key(const std::string& name) {
  auto key = load_private_key(example_key(name), {});
  if (!key) {
    ADD_FAILURE() << key.error().message;
    return nullptr;
  }
  return std::move(*key);
}

std::string cms_sign_as(const std::string& name, const std::filesystem::path& file,
                        const std::vector<std::string>& chain, const std::string& bound_name) {
  auto cert = example_cert(name);
  auto key = example_private_key(name);
  CmsSignRequest request;
  request.digest = *sha256_file(file);
  request.bound_name = bound_name.empty() ? file.filename().string() : bound_name;
  request.key = key.get();
  request.signer = cert.get();
  for (const auto& c : chain) request.chain.push_back(*OrgCert::load(c));
  request.signing_time = example_time();
  auto sig = make_cms_signature(request);
  if (!sig) ADD_FAILURE() << sig.error().message;
  return sig ? *sig : std::string();
}

std::string raw_sign_as(const std::string& name, const std::filesystem::path& file) {
  auto key = example_private_key(name);
  auto sig = make_raw_signature(key.get(), *sha256_file(file));
  if (!sig) ADD_FAILURE() << sig.error().message;
  return sig ? *sig : std::string();
}

std::string example_ma_content() { return read_file(testdata_dir() / kMaName); }

std::time_t example_time() { return *parse_iso8601("2026-06-01T00:00:00Z"); }

TempDir::TempDir() {
  std::random_device rd;
  const auto base = std::filesystem::temp_directory_path();
  for (int i = 0; i < 100; ++i) {
    auto candidate = base / ("mamsign-test-" + std::to_string(getpid()) + "-" + std::to_string(rd()));
    if (std::filesystem::create_directory(candidate)) {
      path_ = candidate;
      return;
    }
  }
  throw std::runtime_error("cannot make a temporary folder");
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file(const std::filesystem::path& p, const std::string& content) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << content;
  if (!out) ADD_FAILURE() << "cannot write " << p;
}

BackgroundProcess::BackgroundProcess(const std::vector<std::string>& argv, const std::filesystem::path& out,
                                     const std::filesystem::path& err) {
  const pid_t pid = fork();
  if (pid == 0) {
    const int o = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int e = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int n = ::open("/dev/null", O_RDONLY);
    dup2(n, 0);
    dup2(o, 1);
    dup2(e, 2);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  pid_ = pid;
}

BackgroundProcess::~BackgroundProcess() {
  if (!reaped_ && pid_ > 0) {
    ::kill(pid_, SIGKILL);
    wait();
  }
}

void BackgroundProcess::signal(int sig) { ::kill(pid_, sig); }

int BackgroundProcess::wait() {
  if (reaped_) return code_;
  int status = 0;
  waitpid(pid_, &status, 0);
  reaped_ = true;
  code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return code_;
}

std::vector<std::string> list_dir(const std::filesystem::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

ProcessResult run(const std::vector<std::string>& argv, const std::string& input, const std::filesystem::path& cwd) {
  signal(SIGPIPE, SIG_IGN);  // a child that exits early must not kill the test with its closed stdin
  int in_pipe[2], out_pipe[2], err_pipe[2];
  if (pipe2(in_pipe, O_CLOEXEC) || pipe2(out_pipe, O_CLOEXEC) || pipe2(err_pipe, O_CLOEXEC)) {
    throw std::runtime_error("pipe failed");
  }
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(in_pipe[0], 0);
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    if (!cwd.empty() && chdir(cwd.c_str()) != 0) _exit(126);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  close(in_pipe[0]);
  close(out_pipe[1]);
  close(err_pipe[1]);
  ProcessResult r;
  std::size_t written = 0;
  if (input.empty()) {
    close(in_pipe[1]);
    in_pipe[1] = -1;
  }
  pollfd fds[3] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}, {in_pipe[1], POLLOUT, 0}};
  int open_fds = 2;
  while (open_fds > 0 || fds[2].fd >= 0) {
    if (poll(fds, 3, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd >= 0 && (fds[i].revents & (POLLIN | POLLHUP))) {
        char buf[65536];
        const ssize_t n = read(fds[i].fd, buf, sizeof buf);
        if (n <= 0) {
          close(fds[i].fd);
          fds[i].fd = -1;
          --open_fds;
        } else {
          (i == 0 ? r.out : r.err).append(buf, static_cast<std::size_t>(n));
        }
      }
    }
    if (fds[2].fd >= 0 && (fds[2].revents & (POLLOUT | POLLERR | POLLHUP))) {
      const ssize_t n = write(fds[2].fd, input.data() + written, input.size() - written);
      if (n > 0) written += static_cast<std::size_t>(n);
      if (n <= 0 || written == input.size()) {
        close(fds[2].fd);
        fds[2].fd = -1;
      }
    }
  }
  int status = 0;
  waitpid(pid, &status, 0);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

std::vector<nlohmann::json> json_results(const std::string& out) {
  std::vector<nlohmann::json> results;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    auto j = nlohmann::json::parse(line);
    if (j.value("schema", "") != "mamsign/summary/1") results.push_back(std::move(j));
  }
  return results;
}

nlohmann::json json_summary(const std::string& out) {
  const auto end = out.find_last_not_of('\n');
  const auto start = end == std::string::npos ? std::string::npos : out.rfind('\n', end);
  const std::string last =
      end == std::string::npos ? std::string() : out.substr(start == std::string::npos ? 0 : start + 1);
  auto j = nlohmann::json::parse(last.empty() ? "{}" : last);
  EXPECT_EQ(j.value("schema", ""), "mamsign/summary/1") << "a --json run ends with its summary line:\n" << out;
  return j;
}

nlohmann::json json_result(const std::string& out) {
  auto results = json_results(out);
  EXPECT_EQ(results.size(), 1u) << out;
  return results.empty() ? nlohmann::json::object() : results.front();
}

}  // namespace mamsign::test
