// mam-sign --timestamp-only: an HSM host without a network signs; another host adds the timestamps.
#include "sign_app.h"

#include "common/vocabulary.h"

#include "mamsign/signature/signature_format.h"

#include <functional>

namespace sign_app {

using namespace mamsign;
using json = nlohmann::ordered_json;

namespace {

std::string render_timestamped(const std::string& file, const Result<SignOutcome>& r, bool as_json) {
  if (as_json) {
    json j = app::json_object("timestamp-result");
    app::path_json(j, "signature", file);
    j["result"] = r ? std::string("timestamped") : std::string(app::failure_result(app::Verb::Sign, r.error().reason));
    j["reason"] = r ? json(nullptr) : json(std::string(reason_name(r.error().reason)));
    j["message"] = r ? std::string("timestamped") : r.error().message;
    j["timestamp"] = r ? timestamp_json(*r) : json(nullptr);
    return app::json_line(j);
  }
  if (!r) {
    return app::safe_text(file + ": " + std::string(app::failure_word(app::Verb::Sign, r.error().reason)) + " " +
                          std::string(reason_name(r.error().reason)) + ": " + r.error().message);
  }
  const std::string shown = timestamp_text(*r);
  return app::safe_text(file + ": timestamped (" + (shown.empty() ? std::string() : shown.substr(2)) + ")");
}

}  // namespace

int run_timestamp_only(Flags& f, const Profile& profile) {
  int exit_code = app::kExitOk;
  const auto tsa = app::make_tsa_client(kProgram, f.tsa, profile, exit_code);
  if (exit_code != app::kExitOk) return exit_code;
  if (!tsa) {
    app::complain_usage(kProgram, "--timestamp-only needs --tsa URL (or tsa_urls in the profile)", kProgram);
    return app::kExitUsage;
  }
  if (!f.batch.from.empty() || f.batch.recursive || f.batch.files.empty()) {
    app::complain_usage(kProgram, "--timestamp-only takes the signature files themselves: FILE.p7s...", kProgram);
    return app::kExitUsage;
  }
  std::vector<std::filesystem::path> files;
  for (const auto& name : f.batch.files) {
    if (auto st = check_path_bytes(name, "signature"); !st) {
      app::complain_usage(kProgram, st.error().message, kProgram);
      return app::kExitUsage;
    }
    files.emplace_back(name);
  }
  f.batch.json = f.json_output;
  if (f.batch.jobs == 0) f.batch.jobs = std::min(64u, available_cores() * 8);
  struct Stamped {
    std::string file;
    Result<SignOutcome> outcome;
  };
  const std::function<Stamped(std::size_t)> work = [&](std::size_t i) {
    const std::string file = files[i].string();
    try {
      return Stamped{file, timestamp_signature_file(files[i], *tsa, f.sync)};
    } catch (const std::exception& e) {
      return Stamped{file, make_error(Reason::IoError, std::string("internal error: ") + e.what())};
    }
  };
  const std::function<app::Verdict(const Stamped&)> show = [&](const Stamped& s) {
    std::string line = render_timestamped(s.file, s.outcome, f.json_output);
    if (!s.outcome) {
      const Reason reason = s.outcome.error().reason;
      return app::Verdict{"", reason, std::move(line), std::string(app::failure_result(app::Verb::Sign, reason))};
    }
    return app::Verdict{"timestamped", std::nullopt, std::move(line), "timestamped"};
  };
  return app::run_batch(kProgram, files, f.batch, "refused", work, show);
}

}  // namespace sign_app
