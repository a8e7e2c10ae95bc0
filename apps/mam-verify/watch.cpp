// mam-verify --watch (the intake, mamsign/intake/intake.h) and --check-ledger: the flags, the verdict
// of one file in the one vocabulary, reloading trust and CRLs, and what the CRLs add to the log and the
// metrics. docs/intake.md is the operator's guide.
#include "verify_app.h"

#include "common/run_error.h"
#include "common/vocabulary.h"
#include "mamsign/base/times.h"
#include "mamsign/intake/intake.h"
#include "mamsign/intake/ledger.h"

#include <cmath>
#include <iostream>
#include <mutex>

namespace mamsign::verify_app {
namespace {

using json = nlohmann::ordered_json;

// "500ms", "2s", "1.5s", "10m", "1h": a length of time for the intake's timers, at most a day.
std::optional<std::chrono::milliseconds> parse_interval(const std::string& text) {
  std::size_t used = 0;
  double value = 0;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    return std::nullopt;
  }
  const std::string unit = text.substr(used);
  double ms = 0;
  if (unit == "ms") {
    ms = value;
  } else if (unit == "s") {
    ms = value * 1000;
  } else if (unit == "m") {
    ms = value * 60000;
  } else if (unit == "h") {
    ms = value * 3600000;
  } else {
    return std::nullopt;
  }
  if (!std::isfinite(ms) || ms < 0 || ms > 86400000.0) return std::nullopt;
  return std::chrono::milliseconds(static_cast<long long>(ms));
}

// A Prometheus label value: backslash, quote and newline escaped.
std::string label(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

// The verifier in use, replaced whole when trust or CRLs are reloaded; files being verified keep the
// one they started with.
class CurrentVerifier {
 public:
  CurrentVerifier(std::shared_ptr<TrustStore> trust, const Profile& profile, const VerifyOptions& options)
      : profile_(profile), options_(options) {
    set(std::move(trust));
  }
  std::shared_ptr<const Verifier> get() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return verifier_;
  }
  std::shared_ptr<const TrustStore> trust() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return trust_;
  }
  void set(std::shared_ptr<TrustStore> trust) {
    auto v = std::make_shared<const Verifier>(trust, profile_, options_);
    std::lock_guard<std::mutex> lock(mutex_);
    trust_ = std::move(trust);
    verifier_ = std::move(v);
  }

 private:
  const Profile& profile_;
  VerifyOptions options_;
  mutable std::mutex mutex_;
  std::shared_ptr<const TrustStore> trust_;
  std::shared_ptr<const Verifier> verifier_;
};

IntakeVerdict judge(const CurrentVerifier& current, const Profile& profile, const std::filesystem::path& data,
                    const std::optional<std::filesystem::path>& sig) {
  VerifyResult r;
  try {
    r = current.get()->verify(data, sig);
  } catch (const std::exception& e) {
    r = VerifyResult{};
    r.file = data;
    r.error = make_error(Reason::IoError, std::string("internal error: ") + e.what());
  }
  IntakeVerdict v;
  v.accepted = r.valid();
  v.reason = r.valid() ? "" : std::string(reason_name(r.error->reason));
  v.result_json = render(r, profile, true);
  // The log line says the verdict; the signer and the notes are in the result beside the file.
  v.summary = r.valid() ? std::string(app::kOk)
                        : app::safe_text(std::string(app::failure_word(app::Verb::Verify, r.error->reason)) + " " +
                                         v.reason + ": " + r.error->message);
  if (r.signer && r.signer->eui64()) v.summary += " [signer " + r.signer->eui64()->to_string() + "]";
  return v;
}

// The CRLs' ages for the metrics file.
std::string crl_metrics(const TrustStore& trust) {
  const auto now = static_cast<double>(std::time(nullptr));
  std::string out =
      "# HELP mamsign_intake_crl_age_seconds Seconds since each loaded CRL's thisUpdate.\n"
      "# TYPE mamsign_intake_crl_age_seconds gauge\n";
  std::string next =
      "# HELP mamsign_intake_crl_next_update_seconds Seconds until each loaded CRL's nextUpdate (negative: "
      "stale).\n# TYPE mamsign_intake_crl_next_update_seconds gauge\n";
  for (const auto& c : trust.crl_infos()) {
    const std::string l = "{crl=\"" + label(c.origin) + "\"} ";
    if (c.this_update) out += "mamsign_intake_crl_age_seconds" + l + std::to_string(now - *c.this_update) + "\n";
    if (c.next_update)
      next += "mamsign_intake_crl_next_update_seconds" + l + std::to_string(*c.next_update - now) + "\n";
  }
  return out + next;
}

std::vector<std::string> crl_warnings(const TrustStore& trust, const Profile& profile) {
  std::vector<std::string> out;
  const std::time_t now = std::time(nullptr);
  for (const auto& c : trust.crl_infos()) {
    if (!c.next_update || *c.next_update >= now) continue;
    out.push_back("the CRL " + app::safe_text(c.origin) + " is stale: its nextUpdate was " +
                  format_iso8601(*c.next_update) +
                  (profile.require_crl ? "; files its CA signed are rejected as REVOCATION_STALE once past the grace"
                                       : "; put a fresh one in its place (it is reloaded)"));
  }
  return out;
}

std::optional<std::chrono::milliseconds> interval_or_complain(const char* flag, const std::string& text) {
  auto v = parse_interval(text);
  if (!v) {
    app::complain_usage(kProgram,
                        std::string(flag) + " " + app::safe_text(text) +
                            ": expected a length of time such as 500ms, 2s, 10m or 1h (at most 24h)",
                        kProgram);
  }
  return v;
}

}  // namespace

void declare_watch_flags(CLI::App& app, WatchFlags& w) {
  app.add_option("--watch", w.inbox,
                 "intake: verify each file arriving in this folder, with its signature, and move both to --accepted "
                 "or --rejected with FILE.result.json beside them and an entry in --ledger; runs until SIGTERM "
                 "(docs/intake.md)")
      ->option_text("INBOX");
  app.add_option("--accepted", w.accepted, "(with --watch) where valid files go; on the inbox's file system")
      ->option_text("DIR");
  app.add_option("--rejected", w.rejected, "(with --watch) where every other file goes; on the inbox's file system")
      ->option_text("DIR");
  app.add_option("--ledger", w.ledger,
                 "(with --watch) the hash-chained JSON Lines record of every move, with FILE.head beside it "
                 "(default: intake-ledger.jsonl beside the --accepted folder)")
      ->option_text("FILE");
  app.add_option("--settle", w.settle,
                 "(with --watch) a file written in place is taken once unchanged this long (default 2s); one "
                 "renamed into the inbox at once")
      ->option_text("DUR");
  app.add_option("--pair-timeout", w.pair_timeout,
                 "(with --watch) a data file whose signature has not come this long after it is rejected as "
                 "SIGNATURE_MISSING, a signature alone as DATA_MISSING (default 10m)")
      ->option_text("DUR");
  app.add_option("--rescan", w.rescan,
                 "(with --watch) the inbox is listed again this often, for what notifications missed (default 60s)")
      ->option_text("DUR");
  app.add_option("--metrics", w.metrics,
                 "(with --watch) a Prometheus text file (node_exporter's textfile collector) rewritten every 5 s")
      ->option_text("FILE");
  app.add_option("--check-ledger", w.check_ledger,
                 "check a ledger's chain and head: exit 0 and OK, or 1 naming the first line broken")
      ->option_text("FILE");
}

std::optional<std::string> watch_usage_error(const Flags& f) {
  const auto& w = f.watch;
  if (w.inbox.empty()) {
    for (const auto* s : {&w.accepted, &w.rejected, &w.ledger, &w.metrics}) {
      if (!s->empty()) return "--accepted, --rejected, --ledger and --metrics go with --watch INBOX";
    }
    return std::nullopt;
  }
  if (w.accepted.empty() || w.rejected.empty()) return "--watch needs --accepted DIR and --rejected DIR";
  if (!f.batch.files.empty() || !f.batch.from.empty() || !f.sig.empty()) {
    return "--watch takes its files from the inbox: name no FILE, --from or --sig with it";
  }
  return std::nullopt;
}

int run_check_ledger(const std::string& ledger, bool as_json) {
  const LedgerCheck c = check_ledger(ledger);
  const bool unreadable =
      !c.ok && c.bad_line == 0 && c.entries == 0 && c.message.find("cannot open") != std::string::npos;
  const int code = c.ok ? app::kExitOk : unreadable ? app::kExitUnreadable : app::kExitFailed;
  if (as_json) {
    json j = app::json_object("ledger-check");
    app::path_json(j, "ledger", ledger);
    j["result"] = c.ok ? "ok" : unreadable ? "error" : "broken";
    j["entries"] = c.entries;
    j["bad_line"] = c.bad_line == 0 ? json(nullptr) : json(c.bad_line);
    j["message"] = c.message;
    j["notes"] = c.notes;
    std::cout << app::json_line(j) << "\n";
  } else {
    std::cout << app::safe_text(ledger + ": " +
                                (c.ok         ? "OK: "
                                 : unreadable ? "ERROR: "
                                              : "BROKEN: ") +
                                c.message)
              << "\n";
    for (const auto& n : c.notes) std::cout << app::safe_text("  note: " + n) << "\n";
  }
  return code;
}

int run_watch(const Flags& f, const Profile& profile, const VerifyOptions& options, std::shared_ptr<TrustStore> trust) {
  IntakeOptions o;
  o.inbox = f.watch.inbox;
  o.accepted = f.watch.accepted;
  o.rejected = f.watch.rejected;
  o.ledger = !f.watch.ledger.empty()
                 ? std::filesystem::path(f.watch.ledger)
                 : std::filesystem::absolute(o.accepted).lexically_normal().parent_path() / "intake-ledger.jsonl";
  o.metrics = f.watch.metrics;
  o.jobs = f.batch.jobs;
  const auto settle = interval_or_complain("--settle", f.watch.settle);
  const auto pair = interval_or_complain("--pair-timeout", f.watch.pair_timeout);
  const auto rescan = interval_or_complain("--rescan", f.watch.rescan);
  if (!settle || !pair || !rescan) return app::kExitUsage;
  o.settle = *settle;
  o.pair_timeout = *pair;
  o.rescan = std::max(*rescan, std::chrono::milliseconds(100));
  for (const auto& p : f.trust) o.reload_watch.emplace_back(p);
  for (const auto& p : f.crl) o.reload_watch.emplace_back(p);

  CurrentVerifier current(std::move(trust), profile, options);
  IntakeHooks hooks;
  hooks.judge = [&](const std::filesystem::path& data, const std::optional<std::filesystem::path>& sig) {
    return judge(current, profile, data, sig);
  };
  hooks.reload = [&]() -> Result<std::string> {
    auto loaded = app::read_trust(f.trust, f.crl, profile);
    if (!loaded) return std::move(loaded).error();
    const std::string what = std::to_string((*loaded)->root_count()) + " roots, " +
                             std::to_string((*loaded)->ca_count()) + " CAs, " + std::to_string((*loaded)->crl_count()) +
                             " CRLs";
    current.set(std::move(*loaded));
    return what;
  };
  hooks.metrics = [&] { return crl_metrics(*current.trust()); };
  hooks.warnings = [&] { return crl_warnings(*current.trust(), profile); };
  const Status s = run_intake(o, hooks, std::cerr);
  if (!s) {
    app::complain(kProgram, s.error().message, s.error().reason);
    return app::kExitUnreadable;
  }
  return app::kExitOk;
}

}  // namespace mamsign::verify_app
