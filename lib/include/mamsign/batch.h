// Batch work: which files a command line means, and running one job per file on several threads while
// results come back in input order. The library only runs and orders; showing progress, summaries and
// handling signals belong to the apps (they pass a stop flag in).
#pragma once

#include "mamsign/error.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <istream>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace mamsign {

// The cores this process may run on (respects taskset and cgroup CPU masks), at least 1.
unsigned available_cores();

struct InputOptions {
  bool recursive = false;       // descend into sub-folders of folder arguments
  bool null_separated = false;  // list files are NUL-separated (find -print0), not one path a line
};

struct Inputs {
  std::vector<std::filesystem::path> files;  // in order: arguments, then list entries; folders sorted
  std::vector<std::string> skipped;          // what was left out and why, for a warning
};

// Expands arguments and lists into data files. Folders give their regular files (sorted; hidden files,
// signatures and temporaries left out; sub-folders only with `recursive`). A named file that is a
// signature (.p7s, .sig) or a temporary is skipped with a note; a named file that does not exist is kept,
// so that its own result says so. IoError when a folder or list cannot be read.
Result<Inputs> collect_inputs(const std::vector<std::string>& args, const std::vector<std::string>& lists,
                              std::istream* standard_input, const InputOptions& options);

struct BatchOptions {
  unsigned jobs = 1;
  const std::atomic<bool>* stop = nullptr;  // set (by a signal handler): take no new items
  // Called on the calling thread while it waits, at most every `tick` (progress display).
  std::function<void(std::size_t done)> on_tick;
  std::chrono::milliseconds tick{250};
  // How far past the next result to deliver work may run ahead; 0: a few items per thread. With
  // --fail-fast it is the number of threads, so that little runs on after the first failure.
  std::size_t read_ahead = 0;
  // Called on the calling thread, outside the lock, before it waits for the next result: the moment to
  // flush what it has buffered (results then leave in batches, not one system call each).
  std::function<void()> before_wait;
};

// The calling thread is woken for a run of this many ready results (or sooner: when the workers are
// done, would block, or are stopping), not once per result: fewer thread hand-offs per file.
inline constexpr std::size_t kDeliverBatch = 16;

// Runs `work(i)` for i in [0, n) on `jobs` threads and hands each result to `deliver(i, result)` on the
// calling thread, in index order. `deliver` returns false to stop taking new items (--fail-fast). Items
// already started always finish and are delivered. Results wait in a window of a few per thread, so
// memory stays flat however long the batch. Returns how many items were delivered.
template <class R>
std::size_t run_ordered(std::size_t n, const std::function<R(std::size_t)>& work,
                        const std::function<bool(std::size_t, R&)>& deliver, const BatchOptions& options) {
  const unsigned jobs = std::max(1u, options.jobs);
  const std::size_t window = options.read_ahead != 0 ? options.read_ahead : static_cast<std::size_t>(jobs) * 8 + 16;
  std::mutex mutex;
  std::condition_variable ready;     // a result arrived
  std::condition_variable advanced;  // the delivered count moved, or stopping
  std::vector<std::optional<R>> slots(std::min(n, window));
  std::size_t next = 0;       // next item to start
  std::size_t delivered = 0;  // items handed to deliver
  bool stopping = false;

  bool deliverer_waiting = false;

  auto stop_requested = [&] { return stopping || (options.stop != nullptr && options.stop->load()); };
  // Whether a worker that just filled a slot should wake the waiting deliverer (under the lock).
  auto worth_waking = [&] {
    if (!slots[delivered % window]) return false;
    if (next >= n || stop_requested() || next >= delivered + window) return true;
    std::size_t run = 0;
    for (std::size_t j = delivered; j < next && run < kDeliverBatch && slots[j % window]; ++j) ++run;
    return run >= kDeliverBatch;
  };
  auto worker = [&] {
    std::unique_lock lock(mutex);
    for (;;) {
      advanced.wait(lock, [&] { return stop_requested() || next >= n || next < delivered + window; });
      if (stop_requested() || next >= n) return;
      const std::size_t i = next++;
      lock.unlock();
      R result = work(i);
      lock.lock();
      slots[i % window].emplace(std::move(result));
      if (deliverer_waiting && worth_waking()) ready.notify_one();
    }
  };
  std::vector<std::thread> threads;
  threads.reserve(jobs);
  for (unsigned t = 0; t < jobs; ++t) threads.emplace_back(worker);

  {
    std::unique_lock lock(mutex);
    for (;;) {
      // Everything started is delivered; nothing more is started once stopping.
      if (delivered == next && (next >= n || stop_requested())) break;
      auto& slot = slots[delivered % window];
      if (!slot) {
        if (options.before_wait) {
          lock.unlock();
          options.before_wait();
          lock.lock();
          if (slot) continue;
        }
        deliverer_waiting = true;
        const bool woken = ready.wait_for(lock, options.tick, [&] { return slot.has_value() && worth_waking(); });
        deliverer_waiting = false;
        if (!woken && options.on_tick) {
          const std::size_t done = delivered;
          lock.unlock();
          options.on_tick(done);
          lock.lock();
        }
        if (options.stop != nullptr && options.stop->load()) advanced.notify_all();
        continue;
      }
      R result = std::move(*slot);
      slot.reset();
      const std::size_t index = delivered;
      lock.unlock();
      const bool go_on = deliver(index, result);
      lock.lock();
      ++delivered;
      if (!go_on) stopping = true;
      advanced.notify_all();
    }
    stopping = true;
    advanced.notify_all();
  }
  for (auto& t : threads) t.join();
  return delivered;
}

}  // namespace mamsign
