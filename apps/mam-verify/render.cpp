// mam-verify's result line: one JSON object (docs/schema/verify-result.schema.json) or one line of text.
#include "verify_app.h"

#include "common/vocabulary.h"
#include "mamsign/base/times.h"

namespace mamsign::verify_app {
namespace {

using json = nlohmann::ordered_json;

// {"present", "checked", "trusted", "gen_time", "tsa", "policy", "serial"}: what the result says of a timestamp.
json timestamp_json(const VerifyResult& r) {
  json j{{"present", r.timestamp_present}, {"checked", r.timestamp.has_value()}};
  j["trusted"] = r.timestamp ? json(r.timestamp->trusted) : json(nullptr);
  j["gen_time"] = r.timestamp ? json(format_iso8601(r.timestamp->gen_time)) : json(nullptr);
  j["tsa"] = r.timestamp ? json(r.timestamp->tsa) : json(nullptr);
  j["policy"] = r.timestamp ? json(r.timestamp->policy) : json(nullptr);
  j["serial"] = r.timestamp ? json(r.timestamp->serial) : json(nullptr);
  return j;
}

}  // namespace

std::string render(const VerifyResult& r, const Profile& profile, bool as_json) {
  const std::vector<std::string> notes = app::with_profile_note(r.notes, profile);
  if (as_json) {
    json j = app::json_object("verify-result");
    app::path_json(j, "file", r.file.string());
    if (r.signature.empty()) {
      j["signature"] = nullptr;
    } else {
      app::path_json(j, "signature", r.signature.string());
    }
    j["format"] = r.format ? json(std::string(format_name(*r.format))) : json(nullptr);
    // One vocabulary with mam-sign: an input that cannot be read is "error" (exit 3), whatever the app.
    j["result"] = r.valid() ? app::kValid : app::failure_result(app::Verb::Verify, r.error->reason);
    j["reason"] = r.valid() ? json(nullptr) : json(std::string(reason_name(r.error->reason)));
    j["message"] = r.valid() ? "valid" : r.error->message;
    j["signer"] = r.signer ? app::signer_json(*r.signer) : json(nullptr);
    j["signing_time"] = app::time_json(r.signing_time);
    j["sha256"] = r.sha256 ? json(to_hex(*r.sha256)) : json(nullptr);
    j["diagnosis"] = r.diagnosis ? json(*r.diagnosis) : json(nullptr);
    j["bound_name"] = r.bound_name ? json(*r.bound_name) : json(nullptr);
    j["notes"] = notes;
    j["revocation"] = app::revocation_json(r.revocation);
    j["timestamp"] = timestamp_json(r);
    j["profile"] = app::profile_json(profile);
    return app::json_line(j);
  }
  std::string line = r.file.string() + ": ";
  if (r.valid()) {
    line += app::kOk;
  } else {
    line += std::string(app::failure_word(app::Verb::Verify, r.error->reason)) + " " +
            std::string(reason_name(r.error->reason)) + ": " + r.error->message;
  }
  if (r.signer) line += " [signer " + app::signer_text(*r.signer);
  if (r.signer && r.signing_time) line += ", signed " + format_iso8601(*r.signing_time);
  if (r.signer && r.timestamp) {
    line += ", timestamp " + format_iso8601(r.timestamp->gen_time) + " by " + r.timestamp->tsa +
            (r.timestamp->trusted ? "" : " (not trusted)");
  }
  if (r.signer) line += "]";
  return app::safe_text(line + app::notes_text(notes));
}

}  // namespace mamsign::verify_app
