// The intake's moves: a verdict becomes a planned move (names that clash with nothing), a group of them
// the pending journal, applied by mover.h; then the log line, the counters, the metrics file. Also the
// status line (SIGUSR1) and reloads (SIGHUP, a changed trust or CRL file).
#include "intake/watch.h"

#include "mamsign/base/atomic_file.h"
#include "mamsign/base/text.h"

#include <nlohmann/json.hpp>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <iterator>
#include <numeric>

namespace mamsign::intake {
namespace {

using ojson = nlohmann::ordered_json;

std::string dump(const ojson& j) { return j.dump(-1, ' ', false, ojson::error_handler_t::replace); }

// `s` as a JSON string at the end of `out`: printable ASCII as it is, anything else as nlohmann writes
// it (escapes; U+FFFD for bytes that are not UTF-8). The entries are written by hand, not built as
// objects: they are the loop's work per file.
void put_string(std::string& out, std::string_view s) {
  const bool plain = std::all_of(s.begin(), s.end(), [](char ch) {
    const auto c = static_cast<unsigned char>(ch);
    return c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
  });
  if (!plain) {
    out += dump(ojson(std::string(s)));
    return;
  }
  out += '"';
  out += s;
  out += '"';
}

// `,"key":` then the value, to an object being written.
void put_key(std::string& out, std::string_view key) {
  if (out.size() > 1) out += ',';
  put_string(out, key);
  out += ':';
}
void put(std::string& out, std::string_view key, std::string_view value) {
  put_key(out, key);
  put_string(out, value);
}
void put_path_or_null(std::string& out, std::string_view key, const std::filesystem::path& p) {
  put_key(out, key);
  if (p.empty()) {
    out += "null";
  } else {
    put_string(out, p.string());
  }
}

// The object `json_text` with `key: value` added at its end (the app's result stays as the app wrote it).
std::string with_member(const std::string& json_text, std::string_view key, const std::string& value) {
  std::string body = json_text;
  while (!body.empty() && (body.back() == '\n' || body.back() == ' ')) body.pop_back();
  if (body.size() < 2 || body.front() != '{' || body.back() != '}') {
    body = dump(ojson{{"unparsed_result", json_text}});
  }
  body.pop_back();
  put_key(body, key);
  return body + value + "}";
}

// {"from": ..., "to": ...}, with from_hex / to_hex beside a name that is not UTF-8 (as the verify result
// has file_hex): the JSON text of such a name carries U+FFFD, the hex every byte.
void put_moved_pair(std::string& out, std::string_view key, const std::filesystem::path& from,
                    const std::filesystem::path& to) {
  put_key(out, key);
  std::string pair = "{";
  put(pair, "from", from.string());
  put(pair, "to", to.string());
  if (!is_utf8(from.string())) put(pair, "from_hex", to_hex(from.string()));
  if (!is_utf8(to.string())) put(pair, "to_hex", to_hex(to.string()));
  out += pair + "}";
}

}  // namespace

bool unchanged_around(const std::filesystem::path& inbox, const Take& take, const std::function<void()>& judge) {
  // Plain marks with a flag (an empty mark: not there), so that comparing them is plain too.
  const auto look = [](const std::filesystem::path& p) { return mark_of(p).value_or(FileMark{}); };
  const auto expected = [](const std::optional<FileMark>& m) { return m.value_or(FileMark{}); };
  const FileMark none{};
  const FileMark data_before = take.data_present ? look(inbox / take.data) : none;
  const FileMark sig_before = take.sig ? look(inbox / *take.sig) : none;
  // Not there, or not a regular file (a link, a FIFO renamed in): never opened; the loop forgets it.
  if ((take.data_present && data_before == none) || (take.sig && sig_before == none)) return false;
  judge();
  if (take.data_present && (data_before == none || !(look(inbox / take.data) == data_before))) return false;
  if (take.sig && (sig_before == none || !(look(inbox / *take.sig) == sig_before))) return false;
  // Changed since it was found complete.
  if (take.data_mark && !(expected(take.data_mark) == data_before)) return false;
  if (take.sig_mark && !(expected(take.sig_mark) == sig_before)) return false;
  if (!take.data_present && mark_of(inbox / take.data)) return false;  // its data file came: a pair now
  if (take.data_present && !take.sig) {
    for (const auto& name : Inbox::signature_names(take.data)) {
      if (mark_of(inbox / name)) return false;  // its signature came: a pair now
    }
  }
  return true;
}

std::uint64_t Watch::rejected_count() const {
  return std::accumulate(counters_.rejected.begin(), counters_.rejected.end(), std::uint64_t{0},
                         [](std::uint64_t n, const auto& kv) { return n + kv.second; });
}

std::string Watch::free_name(const Finished& f, std::set<std::string>& reserved) const {
  const Take& take = f.job.take;
  const std::string dest = ((f.verdict.accepted ? o_.accepted : o_.rejected) / "").string();
  // Never over anything: the renames refuse to replace (RENAME_NOREPLACE), and a name they found taken
  // is remembered, so the file comes back and goes to the name with the next numeric suffix, said in its
  // result. No name is probed before: the kernel's refusal is the one check that cannot race.
  static constexpr const char* kSuffixes[] = {"", ".p7s", ".sig", ".result.json"};
  std::string name = take.data;
  for (int n = 1;; ++n) {
    const bool clash = std::any_of(std::begin(kSuffixes), std::end(kSuffixes), [&](const char* suffix) {
      const std::string p = dest + name + suffix;
      return reserved.count(p) != 0 || clashed_.count(p) != 0;
    });
    if (!clash) break;
    name = take.data + "." + std::to_string(n);
  }
  for (const char* suffix : kSuffixes) reserved.insert(dest + name + suffix);
  return name;
}

void Watch::prepare(Finished& f) const {
  f.item = plan(f, f.job.take.data);
  WriteOptions o;
  o.mode = 0644;
  // Written ahead on this thread; renamed into place only after the group is written down. Failing
  // here (a full disk) is not an error yet: the loop writes it again when it moves the file.
  if (auto temp = write_temporary(f.item.result_to, f.item.result_text, o)) f.item.result_temp = *temp;
}

MoveItem Watch::plan(const Finished& f, const std::string& name) const {
  const Take& take = f.job.take;
  const auto& dest = f.verdict.accepted ? o_.accepted : o_.rejected;
  const std::string sig_suffix = take.sig ? take.sig->substr(take.data.size()) : "";
  MoveItem item;
  item.id = random_id();
  if (take.data_present) {
    item.data_from = o_.inbox / take.data;
    item.data_to = dest / name;
  }
  if (take.sig) {
    item.sig_from = o_.inbox / *take.sig;
    item.sig_to = dest / (name + sig_suffix);
  }
  item.result_to = dest / (name + ".result.json");
  item.outcome = f.verdict.accepted ? "accepted" : "rejected";
  item.reason = f.verdict.reason;
  item.summary = f.verdict.summary;
  const std::string time = utc_now_text();
  const bool renamed = name != take.data;
  std::string entry = "{";
  put(entry, "id", item.id);
  put(entry, "time", time);
  put(entry, "outcome", item.outcome);
  put_key(entry, "reason");
  if (item.reason.empty()) {
    entry += "null";
  } else {
    put_string(entry, item.reason);
  }
  if (take.data_present) {
    put_moved_pair(entry, "data", item.data_from, item.data_to);
  } else {
    put_key(entry, "data");
    entry += "null";
  }
  if (take.sig) {
    put_moved_pair(entry, "signature", item.sig_from, item.sig_to);
  } else {
    put_key(entry, "signature");
    entry += "null";
  }
  put(entry, "result_file", item.result_to.string());
  put_key(entry, "renamed");
  entry += renamed ? "true}" : "false}";
  item.entry = with_member(entry, "result", f.verdict.result_json);
  std::string intake = "{";
  put(intake, "id", item.id);
  put(intake, "time", time);
  put(intake, "outcome", item.outcome);
  put_path_or_null(intake, "received_as", take.data_present ? o_.inbox / take.data : std::filesystem::path());
  put_path_or_null(intake, "moved_to", item.data_to);
  put_path_or_null(intake, "signature_moved_to", item.sig_to);
  put_key(intake, "renamed");
  intake += renamed ? "true" : "false";
  put(intake, "ledger", o_.ledger.string());
  item.result_text = with_member(f.verdict.result_json, "intake", intake + "}") + "\n";
  return item;
}

void Watch::commit(std::vector<Finished> finished) {
  std::set<std::string> reserved;
  Pending p;
  p.ledger_bytes = ledger_->head().bytes;
  const auto now = Clock::now();
  for (auto& f : finished) {
    const Take& t = f.job.take;
    if (f.changed || f.verdict.reason == "FILE_CHANGED") {
      if (!f.item.result_temp.empty()) (void)::unlink(f.item.result_temp.c_str());
      // Still being written, or replaced: judged again once complete.
      say("changed while it was verified, taken again once complete: " + safe((o_.inbox / t.data).string()));
      if (t.data_present) inbox_.put_back(t.data, now);
      if (t.sig) inbox_.put_back(*t.sig, now);
      continue;
    }
    const std::string name = free_name(f, reserved);
    if (name == f.job.take.data) {
      p.items.push_back(std::move(f.item));
    } else {
      if (!f.item.result_temp.empty()) (void)::unlink(f.item.result_temp.c_str());
      p.items.push_back(plan(f, name));
    }
  }
  if (p.items.empty()) return;
  if (auto s = write_pending(o_.ledger, p); !s) {
    ++counters_.errors;
    say("error: nothing moved, cannot write the pending journal: " + s.error().message + "; no files taken for 5 s");
    for (const auto& item : p.items) {
      if (!item.result_temp.empty()) (void)::unlink(item.result_temp.c_str());
    }
    for (const auto& f : finished) {
      if (f.job.take.data_present) inbox_.put_back(f.job.take.data, now);
      if (f.job.take.sig) inbox_.put_back(*f.job.take.sig, now);
    }
    pause_until_ = now + std::chrono::seconds(5);
    return;
  }
  settle_pending(std::move(p), true);
}

void Watch::settle_pending(Pending pending, bool fresh) {
  reported_.assign(pending.items.size(), 0);
  stuck_ = std::move(pending);
  retry_pending(fresh);
}

void Watch::report(const MoveItem& item) {
  const auto& from = item.data_from.empty() ? item.sig_from : item.data_from;
  const auto& to = item.data_to.empty() ? item.sig_to : item.data_to;
  say_later(item.outcome + " " + safe(from.string()) + " -> " + safe(to.string()) + ": " + item.summary);
  if (item.outcome == "accepted") {
    ++counters_.accepted;
  } else {
    ++counters_.rejected[item.reason.empty() ? "UNKNOWN" : item.reason];
  }
  counters_.last_move_time = static_cast<double>(std::time(nullptr));
}

void Watch::retry_pending(bool fresh) {
  Applied a = apply_pending(*stuck_, *ledger_, o_.accepted, fresh);
  for (const auto& n : a.notes) say(n);
  const auto now = Clock::now();
  for (std::size_t i = 0; i < stuck_->items.size(); ++i) {
    if (!a.moved[i] || reported_[i]) continue;
    reported_[i] = 1;
    report(stuck_->items[i]);
  }
  flush_log();
  if (!a.status) {
    if (!paused_) {
      ++counters_.errors;
      say("error: " + a.status.error().message + "; taking no files until this group of " +
          std::to_string(stuck_->items.size()) + " is moved (retrying every 5 s)");
    }
    paused_ = true;
    next_retry_ = now + std::chrono::seconds(5);
    return;
  }
  for (auto i : a.clashes) {
    const auto& item = stuck_->items[i];
    for (const auto* p : {&item.data_to, &item.sig_to, &item.result_to}) {
      if (!p->empty()) clashed_.insert(p->string());
    }
    say("a file of that name is already in the destination; it goes under the next suffix: " +
        safe((item.data_to.empty() ? item.sig_to : item.data_to).string()));
  }
  if (paused_) say("resumed: the group is moved");
  paused_ = false;
  for (std::size_t i = 0; i < stuck_->items.size(); ++i) {
    const auto& item = stuck_->items[i];
    for (const auto* p : {&item.data_from, &item.sig_from}) {
      if (p->empty()) continue;
      const std::string name = p->filename().string();
      if (a.moved[i]) {
        inbox_.done(name);
      } else {
        inbox_.put_back(name, now);
      }
    }
  }
  stuck_.reset();
}

void Watch::reload(const std::string& why) {
  trust_fingerprint_ = fingerprint(o_.reload_watch);
  if (!hooks_.reload) return;
  auto r = hooks_.reload();
  if (r) {
    ++counters_.reloads;
    say("reloaded the trust anchors and CRLs (" + why + "): " + *r);
  } else {
    ++counters_.errors;
    say("error: the trust anchors and CRLs were not reloaded (" + why + "): " + r.error().message +
        "; the ones loaded before stay in use");
  }
}

void Watch::write_metrics(Clock::time_point now) {
  if (o_.metrics.empty()) return;
  Gauges g;
  g.waiting = inbox_.waiting();
  g.in_flight = in_flight_ + waiting_commit_.size() + (stuck_ ? stuck_->items.size() : 0);
  g.oldest_waiting_seconds = inbox_.oldest_age(now);
  g.paused = paused_;
  g.ledger_entries = ledger_->head().entries;
  WriteOptions w;
  w.replace = Replace::Yes;
  if (auto s =
          write_file_atomically(o_.metrics, prometheus_text(counters_, g, hooks_.metrics ? hooks_.metrics() : ""), w);
      !s && !metrics_failed_) {
    say("warning: cannot write the metrics file: " + s.error().message);
    metrics_failed_ = true;
  } else if (s) {
    metrics_failed_ = false;
  }
}

void Watch::status() {
  std::string reasons;
  for (const auto& [reason, n] : counters_.rejected)
    reasons += (reasons.empty() ? "" : ", ") + reason + " " + std::to_string(n);
  const auto now = Clock::now();
  char oldest[32];
  std::snprintf(oldest, sizeof oldest, "%.1f", inbox_.oldest_age(now));
  say("status: " + std::to_string(counters_.accepted) + " accepted, " + std::to_string(rejected_count()) + " rejected" +
      (reasons.empty() ? "" : " (" + reasons + ")") + "; " + std::to_string(inbox_.waiting()) +
      " waiting in the inbox (oldest " + oldest + " s), " + std::to_string(in_flight_ + waiting_commit_.size()) +
      " in flight; ledger " + std::to_string(ledger_->head().entries) + " entries; " +
      std::to_string(counters_.reloads) + " reloads, " + std::to_string(counters_.errors) + " errors" +
      (paused_ ? "; PAUSED: a move cannot be completed" : ""));
}

}  // namespace mamsign::intake
