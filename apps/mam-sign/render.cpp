// One file's result line from mam-sign.
#include "sign_app.h"

#include "common/vocabulary.h"

#include "mamsign/base/times.h"

namespace sign_app {

using namespace mamsign;
using json = nlohmann::ordered_json;

std::string timestamp_text(const SignOutcome& outcome) {
  if (!outcome.timestamp) return "";
  return ", timestamp " + format_iso8601(outcome.timestamp->gen_time) + " by " + outcome.tsa_url +
         (outcome.timestamp->trusted ? "" : " (TSA chain not checked: no --tsa-trust)");
}

json timestamp_json(const SignOutcome& outcome) {
  if (!outcome.timestamp) return nullptr;
  const TimestampInfo& t = *outcome.timestamp;
  return json{{"gen_time", format_iso8601(t.gen_time)},
              {"tsa", t.tsa},
              {"url", outcome.tsa_url},
              {"policy", t.policy},
              {"serial", t.serial},
              {"trusted", t.trusted}};
}

std::string render(const FileReport& r, const Signer* signer, const Profile& profile, SignatureFormat format,
                   bool as_json) {
  if (as_json) {
    json j = app::json_object("sign-result");
    app::path_json(j, "file", r.file);
    j["format"] = std::string(format_name(format));
    if (r.outcome) {
      app::path_json(j, "signature", r.outcome->signature.string());
      j["result"] = r.outcome->kind == SignOutcome::Kind::Signed ? app::kSigned : app::kSkipped;
      j["reason"] = nullptr;
      j["message"] =
          r.outcome->kind == SignOutcome::Kind::Signed ? "signed" : "an existing signature verifies for this signer";
      j["sha256"] = to_hex(r.outcome->sha256);
      j["signing_time"] = app::time_json(r.outcome->signing_time);
      j["timestamp"] = r.outcome->kind == SignOutcome::Kind::Signed ? timestamp_json(*r.outcome) : json(nullptr);
    } else {
      j["signature"] = nullptr;
      j["result"] = app::failure_result(app::Verb::Sign, r.outcome.error().reason);
      j["reason"] = std::string(reason_name(r.outcome.error().reason));
      j["message"] = r.outcome.error().message;
      j["sha256"] = nullptr;
      j["signing_time"] = nullptr;
      j["timestamp"] = nullptr;
    }
    j["signer"] = signer ? app::signer_json(signer->certificate()) : json(nullptr);
    j["revocation"] = app::revocation_json(signer ? signer->revocation() : std::nullopt);
    j["profile"] = app::profile_json(profile);
    return app::json_line(j);
  }
  const std::string notes = app::notes_text(app::with_profile_note({}, profile));
  if (r.outcome) {
    // The line is the supplier's audit record: what was signed (its SHA-256), by which certificate
    // (its serial) and when (the signingTime the signature carries).
    const std::string serial = signer ? ", signer serial " + signer->certificate().serial() : "";
    const std::string when = r.outcome->signing_time          ? ", signed " + format_iso8601(*r.outcome->signing_time)
                             : format == SignatureFormat::Raw ? ", no signing time (raw)"
                                                              : ", no signing time";
    if (r.outcome->kind == SignOutcome::Kind::Skipped) {
      return app::safe_text(r.file + ": skipped: " + r.outcome->signature.string() +
                            " already verifies for this signer (sha256 " + to_hex(r.outcome->sha256) + serial + when +
                            ")" + notes);
    }
    return app::safe_text(r.file + ": signed -> " + r.outcome->signature.string() + " (" +
                          std::string(format_name(format)) + ", sha256 " + to_hex(r.outcome->sha256) + serial + when +
                          timestamp_text(*r.outcome) + ")" + notes);
  }
  const Reason reason = r.outcome.error().reason;
  return app::safe_text(r.file + ": " + std::string(app::failure_word(app::Verb::Sign, reason)) + " " +
                        std::string(reason_name(reason)) + ": " + r.outcome.error().message + notes);
}

}  // namespace sign_app
