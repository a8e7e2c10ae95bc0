// Internal: what the intake knows of the inbox's files, and when each is complete. A file is complete
// when it was renamed into the inbox and has not changed since, or when its ctime is --settle old (no
// write, truncate or chmod for that long); hidden names and transfer temporaries are never considered.
// A data file is taken with its signature (FILE.p7s, else FILE.sig) once both are complete, or alone
// once it has waited --pair-timeout; a signature alone after the same wait.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <ctime>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace mamsign::intake {

using Clock = std::chrono::steady_clock;

// What a file is, as far as a change to it would show.
struct FileMark {
  dev_t dev = 0;
  ino_t ino = 0;
  off_t size = 0;
  std::int64_t mtime_ns = 0, ctime_ns = 0;
  bool operator==(const FileMark&) const = default;
};
// None when the path is not a regular file (or not there).
std::optional<FileMark> mark_of(const std::filesystem::path& path);

struct Take {
  std::string data;                             // the data file's name; for a signature alone, the name it signs
  std::optional<std::string> sig;               // the signature's name
  bool data_present = true;                     // false: a signature alone
  std::optional<FileMark> data_mark, sig_mark;  // as they were found complete
};

class Inbox {
 public:
  Inbox(std::filesystem::path folder, std::chrono::milliseconds settle, std::chrono::milliseconds pair_timeout)
      : folder_(std::move(folder)), settle_(settle), pair_timeout_(pair_timeout) {}

  // A name the kernel reported: renamed in (IN_MOVED_TO) or written (IN_CREATE, IN_CLOSE_WRITE).
  void seen(const std::string& name, bool renamed_in, Clock::time_point now);
  void gone(const std::string& name);
  // Lists the folder: names not known are seen, names known and not there are gone. False if it cannot
  // be listed.
  bool rescan(Clock::time_point now);
  // Looks again at the files whose time has come; returns what may be taken now (at most `max`), marked
  // in flight.
  std::vector<Take> due(Clock::time_point now, std::size_t max);
  // A taken name comes back (it changed while verified, or could not be moved): looked at again.
  void put_back(const std::string& name, Clock::time_point now);
  // A taken name left the inbox.
  void done(const std::string& name) { gone(name); }
  // When the next look is due (none: nothing scheduled); candidates waiting for room in flight aside.
  std::optional<Clock::time_point> next_deadline() const;
  bool has_candidates() const noexcept { return !candidates_.empty(); }

  std::size_t waiting() const noexcept { return files_.size(); }
  // Seconds the longest-waiting file has been in the inbox (0 when none).
  double oldest_age(Clock::time_point now) const;
  const std::filesystem::path& folder() const noexcept { return folder_; }
  // The signature names of a data file, in the verifier's order.
  static std::vector<std::string> signature_names(const std::string& data);
  // The data file a signature name signs; none for a data file's name.
  static std::optional<std::string> data_of(const std::string& name);
  // The names found since the last call that are not regular files and so are never taken, each with
  // what it is ("a symbolic link"); a name is said once while it stays (again if it goes and comes back).
  std::vector<std::pair<std::string, std::string>> take_left_alone();

 private:
  struct File {
    bool renamed_in = false;
    std::optional<FileMark> mark;  // when last looked at
    bool complete = false;
    bool in_flight = false;
    Clock::time_point first_seen, complete_since;
  };
  void schedule(const std::string& name, Clock::time_point at);
  void look(const std::string& name, File& f, Clock::time_point now);
  std::optional<Take> try_take(const std::string& name, Clock::time_point now);
  void left_alone(const std::string& name, const char* what);  // said once (take_left_alone)

  std::filesystem::path folder_;
  std::chrono::milliseconds settle_, pair_timeout_;
  std::map<std::string, File> files_;
  std::multimap<Clock::time_point, std::string> looks_;      // when to look at a name again
  std::set<std::string> candidates_;                         // names whose state changed since the last due()
  std::set<std::string> said_;                               // left alone and said (pruned at each rescan)
  std::vector<std::pair<std::string, std::string>> to_say_;  // left alone, not said yet
};

}  // namespace mamsign::intake
