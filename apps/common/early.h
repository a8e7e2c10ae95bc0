// A load that runs while the app lists its files: the trust anchors and CRLs. On a second core the two
// overlap (listing a folder of 2,000 files and their signatures takes ~3 ms, reading the trust anchors
// ~2 ms: OpenSSL 3.0 sets up its decoders on the first certificate); on one core the load runs when its
// result is first asked for, as if it had been written there.
#pragma once

#include "mamsign/batch.h"

#include <functional>
#include <future>
#include <system_error>
#include <utility>

namespace mamsign::app {

// Only for loads the user does not see happen: no prompt, no token login, no message. The caller says
// what get() returns where it said it before, so the output is the same whichever way it ran. A load
// still running when its Early is destroyed (an early return) is waited for, never left behind.
template <class T>
class Early {
 public:
  explicit Early(std::function<T()> load) {
    if (available_cores() > 1) {
      try {
        result_ = std::async(std::launch::async, load);
        return;
      } catch (const std::system_error&) {
        // No thread to be had: it runs when asked for.
      }
    }
    result_ = std::async(std::launch::deferred, std::move(load));
  }

  // The load's result (or its exception, if it threw); once only.
  T get() { return result_.get(); }

 private:
  std::future<T> result_;
};

}  // namespace mamsign::app
