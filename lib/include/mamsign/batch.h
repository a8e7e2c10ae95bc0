// Batch work: which files a command line means, and running one job per file on several threads while
// results come back in input order. The library only runs and orders; showing progress, summaries and
// handling signals belong to the apps (they pass a stop flag in).
#pragma once

#include "mamsign/base/error.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <istream>
#include <map>
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
  // Verifying: a signature whose data file is not there gives that data file's path as an input, so
  // that its result says DATA_MISSING, once, instead of the signature passing unseen.
  bool data_of_lone_signatures = false;
};

// A signature named as an input (an argument or a list entry) whose data file was not named: the
// tools take data files and find the signature beside each, so this is a usage error the app says.
struct NamedSignature {
  std::filesystem::path signature;
  std::filesystem::path data;  // the data file it signs: `signature` without its extension
  bool data_exists = false;
};

struct Inputs {
  std::vector<std::filesystem::path> files;  // in order: arguments, then list entries; folders sorted
  std::vector<std::string> skipped;          // what was left out and why, for a warning
  // Signatures named without their data file (and, unless data_of_lone_signatures, without it
  // existing either). A signature named with its data file is the pair a shell glob gives: left out.
  std::vector<NamedSignature> named_signatures;
  // Each folder listed whole (without `recursive`), as its files' parent_path() gives it, with the names
  // of its hidden entries: where a signer finds the temporaries of an earlier run without listing again.
  std::map<std::filesystem::path, std::vector<std::string>> hidden_in_folder;
};

// A list entry longer than this is no path (Linux's PATH_MAX is 4096): refused, not read as one.
inline constexpr std::size_t kMaxListEntryBytes = 4096;

// Expands arguments and lists into data files. Folders give their regular files (sorted; hidden files,
// signatures and temporaries left out; sub-folders only with `recursive`; with data_of_lone_signatures,
// the data file of a signature whose data file is not there, in its sorted place). A named temporary is
// skipped with a note; a named signature goes to named_signatures (or, its data file absent and
// data_of_lone_signatures set, gives that data file); a named file that does not exist is kept, so that
// its own result says so. IoError when a folder or list cannot be read; InvalidInput for a list
// entry holding a NUL byte (a NUL-separated list read without `null_separated`) or longer than
// kMaxListEntryBytes.
Result<Inputs> collect_inputs(const std::vector<std::string>& args, const std::vector<std::string>& lists,
                              std::istream* standard_input, const InputOptions& options);

struct BatchOptions {
  unsigned jobs = 1;
  const std::atomic<bool>* stop = nullptr;  // set (by a signal handler): take no new items
  // Called on the calling thread while it waits, at most every `tick` (progress display), never while a
  // result is being delivered.
  std::function<void(std::size_t done)> on_tick;
  std::chrono::milliseconds tick{250};
  // How far past the next result to deliver work may run ahead; 0: a few items per thread. With
  // --fail-fast it is the number of threads, so that little runs on after the first failure.
  std::size_t read_ahead = 0;
  // Called after a run of results has been delivered, when the next is not ready yet: the moment to
  // flush what delivery has buffered (results then leave in batches, not one system call each).
  std::function<void()> after_delivery;
};

// Results are delivered in runs of this many ready ones (or fewer: at the end, when the window is full,
// when stopping, or at each tick), not one at a time: fewer lock round trips and writes per file.
inline constexpr std::size_t kDeliverBatch = 16;

// Runs `work(i)` for i in [0, n) on `jobs` threads and hands each result to `deliver(i, result)` in index
// order, one call at a time (never two at once). `deliver` runs on whichever thread finds a run of
// results ready, usually the worker that completed it: no thread is woken per result, and on a machine
// with as many cores as jobs no third thread competes with the workers. `deliver` returns false to stop
// taking new items (--fail-fast). Items already started always finish and are delivered. Results wait in
// a window of a few per thread, so memory stays flat however long the batch. The calling thread waits,
// calls `on_tick`, and delivers at each tick what is ready (a slow batch still shows its results).
// Returns how many items were delivered.
template <class R>
std::size_t run_ordered(std::size_t n, const std::function<R(std::size_t)>& work,
                        const std::function<bool(std::size_t, R&)>& deliver, const BatchOptions& options) {
  const unsigned jobs = std::max(1u, options.jobs);
  const std::size_t window = options.read_ahead != 0 ? options.read_ahead : static_cast<std::size_t>(jobs) * 8 + 16;
  std::mutex mutex;
  std::condition_variable advanced;  // the delivered count moved, or stopping: room in the window
  std::condition_variable finished;  // the last worker ended
  std::vector<std::optional<R>> slots(std::min(n, window));
  std::size_t next = 0;       // next item to start
  std::size_t delivered = 0;  // items handed to deliver
  bool stopping = false;
  bool delivering = false;  // a thread holds the right to deliver
  unsigned running = jobs;  // workers not yet ended

  auto stop_requested = [&] { return stopping || (options.stop != nullptr && options.stop->load()); };
  auto head_ready = [&] { return delivered < next && slots[delivered % window].has_value(); };
  // Whether a worker that just filled a slot should deliver now (under the lock).
  auto worth_delivering = [&] {
    if (!head_ready()) return false;
    if (next >= n || stop_requested() || next >= delivered + window) return true;
    std::size_t run = 0;
    for (std::size_t j = delivered; j < next && run < kDeliverBatch && slots[j % window]; ++j) ++run;
    return run >= kDeliverBatch;
  };
  // Delivers every ready result at the head, in order, then flushes; again while `more()` says so. The
  // caller holds the lock and has taken the right to deliver; it still holds both on return.
  auto deliver_ready = [&](std::unique_lock<std::mutex>& lock, const auto& more) {
    do {
      while (head_ready()) {
        R result = std::move(*slots[delivered % window]);
        slots[delivered % window].reset();
        const std::size_t index = delivered;
        lock.unlock();
        const bool go_on = deliver(index, result);
        lock.lock();
        ++delivered;
        if (!go_on) stopping = true;
        advanced.notify_all();
      }
      if (options.after_delivery) {
        lock.unlock();
        options.after_delivery();
        lock.lock();
      }
    } while (more());
  };
  auto worker = [&] {
    std::unique_lock lock(mutex);
    for (;;) {
      advanced.wait(lock, [&] { return stop_requested() || next >= n || next < delivered + window; });
      if (stop_requested() || next >= n) break;
      const std::size_t i = next++;
      lock.unlock();
      R result = work(i);
      lock.lock();
      slots[i % window].emplace(std::move(result));
      if (!delivering && worth_delivering()) {
        delivering = true;
        deliver_ready(lock, worth_delivering);
        delivering = false;
      }
    }
    if (--running == 0) finished.notify_all();
  };
  std::vector<std::thread> threads;
  threads.reserve(jobs);
  for (unsigned t = 0; t < jobs; ++t) threads.emplace_back(worker);

  {
    std::unique_lock lock(mutex);
    while (running > 0) {
      if (finished.wait_for(lock, options.tick, [&] { return running == 0; })) break;
      if (options.stop != nullptr && options.stop->load()) advanced.notify_all();
      if (delivering) continue;  // a worker is delivering; the next tick shows progress
      delivering = true;
      if (options.on_tick) {
        const std::size_t done = delivered;
        lock.unlock();
        options.on_tick(done);
        lock.lock();
      }
      // A result filled while this thread held the right to deliver was left to it: look again.
      deliver_ready(lock, worth_delivering);
      delivering = false;
    }
  }
  for (auto& t : threads) t.join();
  // Every worker has ended: what was started and not yet delivered is ready now.
  std::unique_lock lock(mutex);
  delivering = true;
  deliver_ready(lock, [] { return false; });
  return delivered;
}

}  // namespace mamsign
