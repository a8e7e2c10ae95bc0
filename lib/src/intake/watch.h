// Internal: the intake's loop (intake.cpp: descriptors, signals, events, dispatch) and its moves
// (commit.cpp: plans, the pending group, metrics, status, reloads).
#pragma once

#include "intake/inbox.h"
#include "intake/metrics.h"
#include "intake/mover.h"
#include "mamsign/intake/intake.h"
#include "mamsign/intake/ledger.h"

#include <unistd.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

namespace mamsign::intake {

// A name or path for a log line: control bytes as \xNN, so a file name cannot forge a line.
std::string safe(std::string_view s);
std::string utc_now_text();
std::string random_id();
// What the trust and CRL paths look like now: any file replaced, added or removed changes it.
std::string fingerprint(const std::vector<std::filesystem::path>& paths);
Status run(const IntakeOptions& o, const IntakeHooks& hooks, std::ostream& log);

struct Job {
  Take take;
  std::optional<FileMark> data_mark, sig_mark;
};
struct Finished {
  Job job;
  IntakeVerdict verdict;
  MoveItem item;         // the move to the file's own name, prepared on the verifying thread
  bool changed = false;  // the files changed (or a signature came) while they were verified: taken again
};

// Whether the files of `take` stayed what they were while `judge` ran: each is looked at before and after
// (on the verifying thread, so the loop makes no system call for it).
bool unchanged_around(const std::filesystem::path& inbox, const Take& take, const std::function<void()>& judge);

// The verifying threads: jobs in, verdicts out, an eventfd written when the first of them is done.
class Workers {
 public:
  Workers(unsigned n, const IntakeHooks& hooks, std::filesystem::path inbox, int wake,
          std::function<void(Finished&)> prepare)
      : hooks_(hooks), inbox_(std::move(inbox)), wake_(wake), prepare_(std::move(prepare)) {
    for (unsigned i = 0; i < n; ++i) threads_.emplace_back([this] { work(); });
  }
  ~Workers() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
  }
  Workers(const Workers&) = delete;
  Workers& operator=(const Workers&) = delete;
  void submit(Job job) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      jobs_.push_back(std::move(job));
    }
    cv_.notify_one();
  }
  std::vector<Finished> collect() {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<Finished> out(std::make_move_iterator(done_.begin()), std::make_move_iterator(done_.end()));
    done_.clear();
    return out;
  }

 private:
  void work() {
    while (true) {
      Job job;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        cv_.wait(lock, [this] { return stop_ || !jobs_.empty(); });
        if (jobs_.empty()) return;
        job = std::move(jobs_.front());
        jobs_.pop_front();
      }
      // A signature alone is judged by its data file's name: the verifier says DATA_MISSING.
      const auto sig = job.take.sig && job.take.data_present
                           ? std::optional<std::filesystem::path>(inbox_ / *job.take.sig)
                           : std::nullopt;
      IntakeVerdict verdict;
      const bool same =
          unchanged_around(inbox_, job.take, [&] { verdict = hooks_.judge(inbox_ / job.take.data, sig); });
      Finished f{std::move(job), std::move(verdict), {}, !same};
      prepare_(f);
      bool first = false;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        first = done_.empty();
        done_.push_back(std::move(f));
      }
      // The loop takes every verdict done when it wakes: only the first of them need wake it.
      if (first) {
        const std::uint64_t one = 1;
        (void)!::write(wake_, &one, sizeof one);
      }
    }
  }
  const IntakeHooks& hooks_;
  std::filesystem::path inbox_;
  int wake_;
  std::function<void(Finished&)> prepare_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<Job> jobs_;
  std::vector<Finished> done_;
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

// A descriptor closed when it goes.
struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
};

class Watch {
 public:
  Watch(const IntakeOptions& o, const IntakeHooks& h, std::ostream& log, std::unique_ptr<Ledger> ledger)
      : o_(o), hooks_(h), log_(log), ledger_(std::move(ledger)), inbox_(o.inbox, o.settle, o.pair_timeout) {}
  Status run();

 private:
  // A log line; written at once (say) or with the group it belongs to (say_later, then flush_log). Each
  // is handed to the stream whole: standard error is unbuffered, and a line put in three pieces costs
  // three system calls on the loop's thread (and can be interleaved with another writer's).
  void say(const std::string& line) {
    flush_log();
    log_line_.assign(o_.log_prefix).append(line).push_back('\n');
    log_.write(log_line_.data(), static_cast<std::streamsize>(log_line_.size()));
    log_.flush();
  }
  void say_later(const std::string& line) { later_.append(o_.log_prefix).append(line).push_back('\n'); }
  void flush_log() {
    if (later_.empty()) return;
    log_.write(later_.data(), static_cast<std::streamsize>(later_.size()));
    log_.flush();
    later_.clear();
  }
  Status open_descriptors();
  void loop_once();
  void read_signals();
  void read_events();
  void dispatch(Clock::time_point now);
  void commit(std::vector<Finished> finished);
  // The move of a verified file to `name` in its destination, its result and ledger entry written out.
  MoveItem plan(const Finished& f, const std::string& name) const;
  // On the verifying thread: the move to the file's own name planned, its result written beside it.
  void prepare(Finished& f) const;
  // The name it goes to: its own, or with a numeric suffix when that clashes.
  std::string free_name(const Finished& f, std::set<std::string>& reserved) const;
  void settle_pending(Pending pending, bool fresh);
  void retry_pending(bool fresh = false);
  void periodic(Clock::time_point now);
  void reload(const std::string& why);
  void write_metrics(Clock::time_point now);
  void status();
  int poll_timeout(Clock::time_point now) const;
  bool commit_due(Clock::time_point now) const;
  void report(const MoveItem& item);
  std::uint64_t rejected_count() const;

  const IntakeOptions& o_;
  const IntakeHooks& hooks_;
  std::ostream& log_;
  std::string log_line_, later_;  // the line being said; the group's lines not yet written
  std::unique_ptr<Ledger> ledger_;
  Inbox inbox_;
  std::unique_ptr<Fd> inotify_, signals_, wake_;
  std::unique_ptr<Workers> workers_;
  unsigned jobs_ = 1;
  std::size_t in_flight_ = 0;
  std::vector<Finished> waiting_commit_;  // verdicts not yet moved: waiting for their group, or held back while a
                                          // failed group is retried
  Clock::time_point first_waiting_{};     // when the first of waiting_commit_ came back
  std::optional<Pending> stuck_;          // a group that could not be completed yet (a full disk)
  std::vector<char> reported_;            // which of stuck_'s items were logged as moved
  bool stopping_ = false;
  bool paused_ = false;  // stuck_ failed: said once, retried
  bool metrics_failed_ = false;
  Status fatal_;                     // why the loop stopped on its own (the inbox went away)
  Clock::time_point pause_until_{};  // no files taken before (the pending journal could not be written)
  Counters counters_;
  std::string trust_fingerprint_;
  std::set<std::string> warned_;
  std::set<std::string> clashed_;  // destination names found taken by a rename that refused
  Clock::time_point next_rescan_, next_metrics_, next_reload_check_, next_retry_, next_warnings_;
};

}  // namespace mamsign::intake
