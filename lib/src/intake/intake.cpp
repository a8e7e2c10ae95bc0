// The intake's loop: inotify and rescans feed the inbox's state (inbox.h), complete pairs go to the
// verifying threads, verdicts come back and are moved in groups (mover.h); signals, reloads and metrics
// between. docs/intake.md describes it for operators.
#include "mamsign/intake/intake.h"

#include "intake/watch.h"
#include "mamsign/base/atomic_file.h"
#include "mamsign/base/io.h"
#include "mamsign/base/text.h"
#include "mamsign/intake/ledger.h"

#include <nlohmann/json.hpp>
#include <openssl/rand.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <set>
#include <thread>

namespace mamsign {

bool is_transfer_temporary(std::string_view name) {
  if (name.empty() || name.front() == '.' || name.back() == '~' || is_temporary_name(name)) return true;
  static const std::string_view kSuffixes[] = {".part", ".tmp", ".partial", ".filepart", ".crdownload", ".swp"};
  for (auto s : kSuffixes) {
    if (name.size() <= s.size()) continue;
    const auto tail = name.substr(name.size() - s.size());
    if (std::equal(tail.begin(), tail.end(), s.begin(), [](char a, char b) { return std::tolower(a) == b; })) {
      return true;
    }
  }
  return false;
}

namespace intake {
namespace {

using std::chrono::milliseconds;
// Files in flight per verifying thread: enough that one group is moved and synced while the next is
// verified, and that a group's fsyncs are shared by hundreds of files.
constexpr std::size_t kInFlightPerThread = 128;
// A group is moved once it has this many files, or its first has waited this long.
constexpr std::size_t kGroupFiles = 64;
constexpr auto kGroupWait = std::chrono::milliseconds(5);

}  // namespace

// A name or path for a log line: control bytes as \xNN, so a file name cannot forge a line.
std::string safe(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0x0F];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

std::string random_id() {
  unsigned char b[16];
  if (RAND_bytes(b, sizeof b) != 1) throw std::runtime_error("no random bytes for a ledger id");
  return to_hex(b, sizeof b);
}

std::string utc_now_text() {
  timespec t{};
  ::clock_gettime(CLOCK_REALTIME, &t);
  std::tm tm{};
  ::gmtime_r(&t.tv_sec, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, t.tv_nsec / 1000000);
  return buf;
}

// What the trust and CRL paths look like: a change in any of them (a file replaced, added or removed)
// changes it.
std::string fingerprint(const std::vector<std::filesystem::path>& paths) {
  std::string out;
  auto add = [&out](const std::filesystem::path& p) {
    struct stat st {};
    if (::stat(p.c_str(), &st) != 0) {
      out += p.string() + ":missing;";
      return;
    }
    out += p.string() + ":" + std::to_string(st.st_ino) + ":" + std::to_string(st.st_size) + ":" +
           std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec) + ";";
  };
  for (const auto& p : paths) {
    add(p);
    std::error_code ec;
    if (!std::filesystem::is_directory(p, ec)) continue;
    std::set<std::filesystem::path> entries;
    for (const auto& e : std::filesystem::directory_iterator(p, ec)) entries.insert(e.path());
    for (const auto& e : entries) add(e);
  }
  return out;
}

Status Watch::open_descriptors() {
  // Signals are read from a descriptor, in the loop: blocked here, before any thread starts, so that no
  // thread is interrupted by them.
  sigset_t set;
  sigemptyset(&set);
  for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGUSR1}) sigaddset(&set, sig);
  if (::pthread_sigmask(SIG_BLOCK, &set, nullptr) != 0) return make_error(Reason::IoError, "cannot block signals");
  signals_ = std::make_unique<Fd>(::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC));
  inotify_ = std::make_unique<Fd>(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
  wake_ = std::make_unique<Fd>(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (signals_->fd < 0 || inotify_->fd < 0 || wake_->fd < 0) {
    return make_error(Reason::IoError, "cannot set up notifications: " + errno_text(errno));
  }
  const std::uint32_t mask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_DELETE_SELF |
                             IN_MOVE_SELF | IN_ONLYDIR | IN_EXCL_UNLINK;
  if (::inotify_add_watch(inotify_->fd, o_.inbox.c_str(), mask) < 0) {
    return make_error(Reason::IoError, "cannot watch " + o_.inbox.string() + ": " + errno_text(errno) +
                                           " (see /proc/sys/fs/inotify/max_user_watches)");
  }
  return Status::ok();
}

void Watch::read_signals() {
  signalfd_siginfo si{};
  while (::read(signals_->fd, &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
    const int sig = static_cast<int>(si.ssi_signo);
    if (sig == SIGTERM || sig == SIGINT) {
      if (!stopping_) {
        say(std::string("stopping (") + (sig == SIGTERM ? "SIGTERM" : "SIGINT") + "): finishing " +
            std::to_string(in_flight_ + waiting_commit_.size()) + " files in flight, taking no more");
      }
      stopping_ = true;
    } else if (sig == SIGHUP) {
      reload("SIGHUP");
    } else if (sig == SIGUSR1) {
      status();
    }
  }
}

void Watch::read_events() {
  alignas(inotify_event) char buf[64 * 1024];
  const auto now = Clock::now();
  while (true) {
    const ssize_t n = ::read(inotify_->fd, buf, sizeof buf);
    if (n <= 0) return;
    for (ssize_t at = 0; at < n;) {
      const auto* e = reinterpret_cast<const inotify_event*>(buf + at);
      at += static_cast<ssize_t>(sizeof(inotify_event) + e->len);
      if (e->mask & IN_Q_OVERFLOW) {
        ++counters_.overflows;
        say("the kernel's notification queue overflowed (fs.inotify.max_queued_events): rescanning the inbox");
        inbox_.rescan(now);
        continue;
      }
      if (e->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) {
        fatal_ = make_error(Reason::IoError, "the inbox " + o_.inbox.string() + " was removed or moved");
        stopping_ = true;
        continue;
      }
      if (e->len == 0) continue;
      const std::string name(e->name);
      if (e->mask & IN_MOVED_TO) {
        inbox_.seen(name, true, now);
      } else if (e->mask & (IN_CLOSE_WRITE | IN_CREATE)) {
        inbox_.seen(name, false, now);
      } else if (e->mask & (IN_DELETE | IN_MOVED_FROM)) {
        inbox_.gone(name);
      }
    }
  }
}

void Watch::dispatch(Clock::time_point now) {
  const std::size_t cap = static_cast<std::size_t>(jobs_) * kInFlightPerThread;
  if (in_flight_ + waiting_commit_.size() >= cap) return;
  for (auto& take : inbox_.due(now, cap - in_flight_ - waiting_commit_.size())) {
    Job job;
    job.data_mark = take.data_mark;
    job.sig_mark = take.sig_mark;
    job.take = std::move(take);
    workers_->submit(std::move(job));
    ++in_flight_;
  }
}

bool Watch::commit_due(Clock::time_point now) const {
  // A group's syncs are shared by its files: it waits for kGroupFiles verdicts, or kGroupWait for the
  // first of them, or for nothing more to come.
  if (waiting_commit_.empty()) return false;
  return waiting_commit_.size() >= kGroupFiles || in_flight_ == 0 || stopping_ || now - first_waiting_ >= kGroupWait;
}

int Watch::poll_timeout(Clock::time_point now) const {
  Clock::time_point next = std::min({next_rescan_, next_metrics_, next_reload_check_, next_warnings_});
  if (!waiting_commit_.empty()) next = std::min(next, first_waiting_ + kGroupWait);
  if (stuck_) next = std::min(next, next_retry_);
  if (auto d = inbox_.next_deadline()) next = std::min(next, *d);
  const bool room = in_flight_ + waiting_commit_.size() < static_cast<std::size_t>(jobs_) * kInFlightPerThread;
  if (inbox_.has_candidates() && room && !stuck_ && !stopping_) return 0;
  const auto ms = std::chrono::duration_cast<milliseconds>(next - now).count();
  return static_cast<int>(std::clamp<long long>(ms, 0, 1000));
}

void Watch::loop_once() {
  pollfd fds[3] = {{signals_->fd, POLLIN, 0}, {inotify_->fd, POLLIN, 0}, {wake_->fd, POLLIN, 0}};
  if (::poll(fds, 3, poll_timeout(Clock::now())) < 0 && errno != EINTR) {
    fatal_ = make_error(Reason::IoError, "poll: " + errno_text(errno));
    stopping_ = true;
    return;
  }
  if (fds[0].revents & POLLIN) read_signals();
  if (fds[1].revents & POLLIN) read_events();
  if (fds[2].revents & POLLIN) {
    std::uint64_t count = 0;
    (void)!::read(wake_->fd, &count, sizeof count);
  }
  auto finished = workers_->collect();
  in_flight_ -= finished.size();
  const auto now = Clock::now();
  if (waiting_commit_.empty() && !finished.empty()) first_waiting_ = now;
  for (auto& f : finished) waiting_commit_.push_back(std::move(f));
  if (!stuck_ && commit_due(now)) commit(std::exchange(waiting_commit_, {}));
  if (!stopping_ && !stuck_ && now >= pause_until_) dispatch(now);
  periodic(now);
  // Never taken and never opened, but said, so that no one waits on it in vain.
  for (const auto& [name, what] : inbox_.take_left_alone()) {
    say("left alone: " + safe((o_.inbox / name).string()) + " is " + what + ", not a regular file");
  }
}

void Watch::periodic(Clock::time_point now) {
  if (now >= next_rescan_) {
    inbox_.rescan(now);
    ++counters_.rescans;
    next_rescan_ = now + o_.rescan;
  }
  if (now >= next_reload_check_) {
    next_reload_check_ = now + std::chrono::seconds(2);
    if (!o_.reload_watch.empty() && fingerprint(o_.reload_watch) != trust_fingerprint_) {
      reload("a trust or CRL file changed");
    }
  }
  if (stuck_ && now >= next_retry_) retry_pending();
  if (now >= next_warnings_) {
    next_warnings_ = now + std::chrono::seconds(30);
    if (hooks_.warnings) {
      for (const auto& w : hooks_.warnings()) {
        if (warned_.insert(w).second) say("warning: " + w);
      }
    }
  }
  if (now >= next_metrics_) {
    next_metrics_ = now + o_.metrics_interval;
    write_metrics(now);
  }
}

Status Watch::run() {
  if (auto s = open_descriptors(); !s) return s;
  jobs_ = o_.jobs != 0 ? o_.jobs : std::max(1u, std::thread::hardware_concurrency());
  workers_ = std::make_unique<Workers>(jobs_, hooks_, o_.inbox, wake_->fd, [this](Finished& f) { prepare(f); });
  counters_.start_time = static_cast<double>(std::time(nullptr));
  trust_fingerprint_ = fingerprint(o_.reload_watch);
  // A group a crash left half done is completed before anything else is taken.
  auto pending = read_pending(o_.ledger);
  if (!pending) return pending.error();
  if (*pending) {
    say("completing the group of " + std::to_string((*pending)->items.size()) +
        " files a stop or crash left half moved (" + pending_path(o_.ledger).string() + ")");
    settle_pending(std::move(**pending), false);
  }
  for (const auto& folder : {o_.accepted, o_.rejected}) (void)remove_stale_temporaries(folder);
  const auto now = Clock::now();
  inbox_.rescan(now);
  next_rescan_ = now + o_.rescan;
  next_metrics_ = next_reload_check_ = next_warnings_ = next_retry_ = now;
  say("watching " + safe(o_.inbox.string()) + ": accepted to " + safe(o_.accepted.string()) + ", rejected to " +
      safe(o_.rejected.string()) + ", ledger " + safe(o_.ledger.string()) + " (" +
      std::to_string(ledger_->head().entries) + " entries); settle " + std::to_string(o_.settle.count()) +
      " ms, pair timeout " + std::to_string(o_.pair_timeout.count() / 1000) + " s, rescan every " +
      std::to_string(o_.rescan.count() / 1000) + " s, " + std::to_string(jobs_) + " threads");
  while (!(stopping_ && in_flight_ == 0 && (waiting_commit_.empty() || stuck_))) loop_once();
  workers_.reset();
  if (!o_.metrics.empty()) write_metrics(Clock::now());
  say("stopped: " + std::to_string(counters_.accepted) + " accepted, " + std::to_string(rejected_count()) +
      " rejected since the start; ledger " + std::to_string(ledger_->head().entries) + " entries" +
      (stuck_ ? "; a group is still pending and is completed at the next start" : ""));
  return fatal_;
}

Status run(const IntakeOptions& o, const IntakeHooks& hooks, std::ostream& log) {
  struct stat in {};
  if (::stat(o.inbox.c_str(), &in) != 0 || !S_ISDIR(in.st_mode)) {
    return make_error(Reason::IoError, "--watch " + o.inbox.string() + ": not a folder");
  }
  for (const auto& [flag, folder] : {std::pair{"--accepted", o.accepted}, std::pair{"--rejected", o.rejected}}) {
    struct stat st {};
    if (::stat(folder.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      return make_error(Reason::IoError, std::string(flag) + " " + folder.string() + ": not a folder (create it)");
    }
    if (st.st_dev != in.st_dev) {
      return make_error(Reason::InvalidInput,
                        std::string(flag) + " " + folder.string() + " is on another file system than the inbox " +
                            o.inbox.string() + ": files are moved by rename, which works within one file system only");
    }
    if (st.st_ino == in.st_ino) return make_error(Reason::InvalidInput, std::string(flag) + " is the inbox itself");
  }
  for (const auto& [flag, file] : {std::pair{"--ledger", o.ledger}, std::pair{"--metrics", o.metrics}}) {
    if (file.empty()) continue;
    struct stat parent {};
    const auto dir = file.has_parent_path() ? file.parent_path() : std::filesystem::path(".");
    if (::stat(dir.c_str(), &parent) != 0 || !S_ISDIR(parent.st_mode)) {
      return make_error(Reason::IoError, std::string(flag) + " " + file.string() + ": its folder does not exist");
    }
    if (parent.st_dev == in.st_dev && parent.st_ino == in.st_ino) {
      return make_error(Reason::InvalidInput, std::string(flag) + " " + file.string() +
                                                  " is in the inbox, where it would be taken as a file");
    }
  }
  std::vector<std::string> notes;
  auto ledger = Ledger::open(o.ledger, notes);
  if (!ledger) return ledger.error();
  for (const auto& n : notes) log << o.log_prefix << n << std::endl;
  Watch watch(o, hooks, log, std::move(*ledger));
  return watch.run();
}

}  // namespace intake

Status run_intake(const IntakeOptions& options, const IntakeHooks& hooks, std::ostream& log) {
  return intake::run(options, hooks, log);
}

}  // namespace mamsign
