// When an inbox file is complete, and which files are taken together: see inbox.h.
#include "intake/inbox.h"

#include "mamsign/intake/intake.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <ctime>
#include <memory>

namespace mamsign::intake {
namespace {

const std::string kSignatureSuffixes[] = {".p7s", ".sig"};  // the verifier's order (Verifier::find_signature)

std::int64_t ns_of(const timespec& t) { return static_cast<std::int64_t>(t.tv_sec) * 1000000000 + t.tv_nsec; }

std::int64_t realtime_ns() {
  timespec t{};
  ::clock_gettime(CLOCK_REALTIME, &t);
  return ns_of(t);
}

// What a name that is not a regular file is, for the log.
const char* kind_of_mode(mode_t mode) {
  if (S_ISLNK(mode)) return "a symbolic link";
  if (S_ISDIR(mode)) return "a folder (the inbox is not descended into)";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISSOCK(mode)) return "a socket";
  return "a device";
}

FileMark mark_from(const struct stat& st) {
  return FileMark{st.st_dev, st.st_ino, st.st_size, ns_of(st.st_mtim), ns_of(st.st_ctim)};
}

}  // namespace

std::optional<FileMark> mark_of(const std::filesystem::path& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  return mark_from(st);
}

std::vector<std::string> Inbox::signature_names(const std::string& data) {
  std::vector<std::string> out;
  for (const auto& s : kSignatureSuffixes) out.push_back(data + s);
  return out;
}

std::optional<std::string> Inbox::data_of(const std::string& name) {
  for (const auto& s : kSignatureSuffixes) {
    if (name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0) {
      return name.substr(0, name.size() - s.size());
    }
  }
  return std::nullopt;
}

void Inbox::schedule(const std::string& name, Clock::time_point at) { looks_.emplace(at, name); }

void Inbox::seen(const std::string& name, bool renamed_in, Clock::time_point now) {
  if (is_transfer_temporary(name)) return;
  auto [it, fresh] = files_.try_emplace(name);
  File& f = it->second;
  if (fresh) f.first_seen = now;
  if (f.in_flight) return;  // judged already; the mark taken before the move says whether it changed
  f.renamed_in = renamed_in;
  f.mark.reset();
  f.complete = false;
  schedule(name, now);
}

void Inbox::gone(const std::string& name) {
  files_.erase(name);
  candidates_.erase(name);
}

void Inbox::look(const std::string& name, File& f, Clock::time_point now) {
  if (f.renamed_in && !f.mark && !f.complete) {
    // Renamed in whole: complete now, without a look at the disk (the verifying thread looks before and
    // after it reads, and a file that is not there or not regular comes back and is forgotten here).
    f.complete = true;
    f.complete_since = now;
    schedule(name, now + pair_timeout_);
    candidates_.insert(name);
    if (auto data = data_of(name); data && files_.count(*data)) candidates_.insert(*data);
    return;
  }
  // One look: gone, or not a regular file (said), is nothing to take; a rescan sees it if it comes back.
  struct stat st {};
  const bool there = ::lstat((folder_ / name).c_str(), &st) == 0;
  if (!there || !S_ISREG(st.st_mode)) {
    if (there) left_alone(name, kind_of_mode(st.st_mode));
    gone(name);
    return;
  }
  const std::optional<FileMark> mark = mark_from(st);
  // Renamed in and not written since (a write would have said IN_CLOSE_WRITE and cleared renamed_in):
  // complete. Whatever changes while it is verified is seen by the mark taken here.
  const bool unchanged = f.complete && f.mark == mark;
  bool complete = (f.renamed_in && (!f.mark || *f.mark == *mark)) || unchanged;
  f.mark = mark;
  if (!complete) {
    const std::int64_t settle_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(settle_).count();
    const std::int64_t age = realtime_ns() - mark->ctime_ns;
    if (age >= settle_ns) {
      complete = true;
    } else {
      // Written less than --settle ago: looked at again once it would be old enough.
      schedule(name, now + std::chrono::nanoseconds(std::clamp<std::int64_t>(settle_ns - age, 1000000, settle_ns)));
    }
  }
  if (!complete) {
    f.complete = false;
    return;
  }
  if (!f.complete) {
    f.complete = true;
    f.complete_since = now;
    schedule(name, now + pair_timeout_);  // half a pair is taken alone then
  }
  candidates_.insert(name);
  if (auto data = data_of(name); data && files_.count(*data)) candidates_.insert(*data);
}

std::optional<Take> Inbox::try_take(const std::string& name, Clock::time_point now) {
  auto it = files_.find(name);
  if (it == files_.end() || !it->second.complete || it->second.in_flight) return std::nullopt;
  File& f = it->second;
  const bool waited = now - f.complete_since >= pair_timeout_;
  if (auto data = data_of(name)) {
    if (files_.count(*data)) return std::nullopt;  // the data file's own turn takes the pair
    if (!waited) return std::nullopt;
    f.in_flight = true;
    return Take{*data, name, false, std::nullopt, f.mark};
  }
  for (const auto& sig_name : signature_names(name)) {
    auto s = files_.find(sig_name);
    if (s == files_.end()) continue;
    if (!s->second.complete || s->second.in_flight) return std::nullopt;  // its signature is still arriving
    f.in_flight = true;
    s->second.in_flight = true;
    return Take{name, sig_name, true, f.mark, s->second.mark};
  }
  if (!waited) return std::nullopt;
  f.in_flight = true;
  return Take{name, std::nullopt, true, f.mark, std::nullopt};
}

std::vector<Take> Inbox::due(Clock::time_point now, std::size_t max) {
  while (!looks_.empty() && looks_.begin()->first <= now) {
    const std::string name = looks_.begin()->second;
    looks_.erase(looks_.begin());
    auto it = files_.find(name);
    if (it != files_.end() && !it->second.in_flight) look(name, it->second, now);
  }
  std::vector<Take> out;
  while (!candidates_.empty() && out.size() < max) {
    const std::string name = *candidates_.begin();
    candidates_.erase(candidates_.begin());
    if (auto t = try_take(name, now)) out.push_back(std::move(*t));
  }
  return out;
}

void Inbox::put_back(const std::string& name, Clock::time_point now) {
  auto it = files_.find(name);
  if (it == files_.end()) {
    seen(name, false, now);
    return;
  }
  it->second.in_flight = false;
  it->second.complete = false;
  it->second.renamed_in = false;
  schedule(name, now);
}

bool Inbox::rescan(Clock::time_point now) {
  std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir(folder_.c_str()), ::closedir);
  if (!dir) return false;
  std::set<std::string> present, others;
  while (const dirent* e = ::readdir(dir.get())) {
    const std::string name = e->d_name;
    if (name == "." || name == ".." || is_transfer_temporary(name)) continue;
    if (e->d_type != DT_REG && e->d_type != DT_UNKNOWN) {
      others.insert(name);
      left_alone(name, kind_of_mode(DTTOIF(e->d_type)));
      continue;
    }
    present.insert(name);
    if (!files_.count(name)) seen(name, false, now);
  }
  // A name said and no longer there as what it was: said again should it come back.
  for (auto it = said_.begin(); it != said_.end();) it = others.count(*it) ? std::next(it) : said_.erase(it);
  for (auto it = files_.begin(); it != files_.end();) {
    if (!present.count(it->first) && !it->second.in_flight) {
      candidates_.erase(it->first);
      it = files_.erase(it);
    } else {
      ++it;
    }
  }
  return true;
}

void Inbox::left_alone(const std::string& name, const char* what) {
  if (said_.insert(name).second) to_say_.emplace_back(name, what);
}

std::vector<std::pair<std::string, std::string>> Inbox::take_left_alone() {
  std::vector<std::pair<std::string, std::string>> out;
  out.swap(to_say_);
  return out;
}

std::optional<Clock::time_point> Inbox::next_deadline() const {
  if (looks_.empty()) return std::nullopt;
  return looks_.begin()->first;
}

double Inbox::oldest_age(Clock::time_point now) const {
  double oldest = 0;
  for (const auto& [name, f] : files_) {
    oldest = std::max(oldest, std::chrono::duration<double>(now - f.first_seen).count());
  }
  return oldest;
}

}  // namespace mamsign::intake
