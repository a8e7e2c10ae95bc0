// What the apps share: exit codes, flag parsing conventions, and how results look in text and JSON.
// The library decides; these only render.
#pragma once

#include "mamsign/pki/cert_store.h"
#include "mamsign/base/error.h"
#include "mamsign/smki/org_cert.h"
#include "mamsign/smki/profile.h"
#include "mamsign/pki/trust_store.h"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <ctime>
#include <filesystem>
#include <optional>
#include <ostream>
#include <string_view>
#include <string>
#include <vector>

namespace mamsign::app {

// Documented in the README and every --help.
enum ExitCode : int {
  kExitOk = 0,          // every file signed / valid / clean
  kExitFailed = 1,      // at least one file refused, invalid, or with error findings
  kExitUsage = 2,       // the command line is wrong
  kExitUnreadable = 3,  // an input could not be read (a file, the key, the trust anchors, a profile)
  kExitInterrupted = 130,
  kExitTerminated = 143,
};

// "mam-sign 0.1.0 (commit 0123456789ab, OpenSSL 3.0.x 1 Jan 2025)": the version, the commit built from and
// the OpenSSL it runs with.
std::string version_text(const std::string& program);

// Parses the command line the CLI11 way; returns an exit code when the program should stop now
// (help, version: 0; a usage error: 2, said on standard error with a pointer to --help).
std::optional<int> parse(CLI::App& app, int argc, char** argv);

// Text from outside (file names, certificate subjects, messages quoting them) made safe for a terminal
// and for line-based scripts, reversibly (each printed name stands for one name): a backslash becomes
// \\, control characters (a newline in a file name would forge a result line), C1 controls and bytes
// that are not UTF-8 become \xNN, code points that show as nothing or reorder the line (bidirectional
// controls such as U+202E, zero-width spaces, private use) become \uXXXX or \UXXXXXXXX; the rest of
// printable UTF-8 is kept.
std::string safe_text(std::string_view text);
// One line of text output: `line` made safe, then a newline. Every text line on standard error goes
// through here; on standard output, print() (checked, whole lines, see output.h).
void text_line(std::ostream& out, std::string_view line);
// A text line (made safe) or a JSON object (one line) on standard output. False once output failed.
bool print(std::string_view line);
bool print_json(const nlohmann::ordered_json& j);

// Sets j[key] to a path, and, when its bytes are not UTF-8 (which JSON cannot carry), j[key + "_hex"]
// to the bytes in hex, so a script can recover the real name.
void path_json(nlohmann::ordered_json& j, const std::string& key, const std::string& path);

// "mam-sign: <message>" on standard error. Unless it is a "warning: " or "note: ", it is the run's error
// too (run_error.h), with `reason` when the caller knows the cause.
void complain(const std::string& program, const std::string& message, std::optional<Reason> reason = std::nullopt);
// A usage error: the message, then "Run '<command> --help' for usage."
void complain_usage(const std::string& program, const std::string& message, const std::string& command);

// IO_ERROR is exit 3; every other reason is a refusal or an invalid result: exit 1.
int exit_code_for(Reason reason);

// The signer as JSON: {"eui64", "role", "role_name", "serial", "subject", "issuer", "not_before", "not_after"}.
nlohmann::ordered_json signer_json(const OrgCert& cert);
// "70-B3-D5-1F-30-00-A0-08 (role 02 supplier, serial 0A1B..., valid 2025-01-01T00:00:00Z to 2045-...)"
std::string signer_text(const OrgCert& cert);

// Every JSON object the apps write starts here: {"schema": "mamsign/<kind>/<n>", "version": "0.1.0"}. The
// schema names the object's shape (docs/schema/), its number `n` changes only when a key changes meaning
// or goes.
nlohmann::ordered_json json_object(std::string_view kind, int schema_version = 1);

// One JSON object on one line. Invalid UTF-8 (a file name from outside) is replaced, never fatal.
std::string json_line(const nlohmann::ordered_json& j);

nlohmann::ordered_json time_json(const std::optional<std::time_t>& t);

// 3 when standard output failed (said on standard error), else `code`.
int with_output_checked(const std::string& program, int code);

// The exit-code paragraph every --help ends with.
std::string exit_code_help(bool interrupts);

// --require-crl and --crl-grace: they override the profile's require_crl and crl_grace.
struct RevocationFlags {
  bool require_crl = false;
  std::string crl_grace;
};
void add_revocation_flags(CLI::App& app, RevocationFlags& flags);
// Applies the flags to the profile; false (said on standard error) when --crl-grace is not a duration.
bool apply_revocation_flags(const std::string& program, const RevocationFlags& flags, Profile& profile);

// {"checked", "crl_issuer", "crl", "this_update", "next_update", "stale", "issuer_checked"}; every value
// null but "checked": false when the chain was never checked as far as revocation.
nlohmann::ordered_json revocation_json(const std::optional<RevocationStatus>& revocation);

// The profile in every result, so that a profile other than the built-in one is never taken silently:
// null for the built-in profile, else {"file", "changes": [keys that differ from the built-in one]}.
nlohmann::ordered_json profile_json(const Profile& profile);
// `notes` with the profile's change note (Profile::change_note) added when a profile file is in effect.
std::vector<std::string> with_profile_note(std::vector<std::string> notes, const Profile& profile);

// Notes as they follow a result in text output: " (note: a; note: b)", or "" for none.
std::string notes_text(const std::vector<std::string>& notes);

// Setup shared by the apps. Each says what is wrong on standard error and returns nothing when the
// input cannot be used: the caller exits with kExitUnreadable (kExitUsage for --at).
// The folder of the host's configuration: $MAMSIGN_CONFIG_DIR, else /etc/mamsign. It may hold
// profile.json, trust/ (anchors, and CRLs) and crl/.
std::filesystem::path config_dir();
// The profile: `path` (--profile), else $MAMSIGN_PROFILE, else config_dir()/profile.json, else built-in.
std::optional<Profile> load_profile(const std::string& program, const std::string& path);
// --trust and --crl when given; else config_dir()/trust and config_dir()/crl where they exist.
std::vector<std::string> trust_or_default(const std::vector<std::string>& given);
std::vector<std::string> crls_or_default(const std::vector<std::string>& given);
// What --print-profile writes: the profile as JSON, its "$comment" saying where it came from.
std::string profile_text(const Profile& profile);
// The profile a run uses: load_profile, then the revocation flags (--require-crl, ...) applied. nullopt
// with `exit_code` set when the run ends here: the profile cannot be read (3), the flags conflict with it
// (2), or `print` (--print-profile) asked for it to be printed, which it is (0, or 3 if it cannot be).
std::optional<Profile> profile_for_run(const std::string& program, const std::string& path,
                                       const RevocationFlags& flags, bool print, int& exit_code);
// --at TIME: `at` holds the text when the flag was given, even empty (an unset shell variable).
void add_at_option(CLI::App& app, std::optional<std::string>& at, const std::string& help);
// The time --at names, or now when it was not given; an empty or unparsable value is said on standard
// error and gives nullopt (a usage error: "--at ''" never quietly means now).
std::optional<std::time_t> parse_at(const std::string& program, const std::optional<std::string>& text);
std::shared_ptr<TrustStore> load_trust(const std::string& program, const std::vector<std::string>& trust,
                                       const std::vector<std::string>& crls, const Profile& profile);
// load_trust in two halves, so that the reading can run early (early.h): read_trust says nothing (an
// error's message names --trust or --crl); trust_or_complain says what it found, as load_trust does.
Result<std::shared_ptr<TrustStore>> read_trust(const std::vector<std::string>& trust,
                                               const std::vector<std::string>& crls, const Profile& profile);
std::shared_ptr<TrustStore> trust_or_complain(const std::string& program,
                                              const Result<std::shared_ptr<TrustStore>>& read);
// Files that hold no certificate are warned about and skipped.
std::shared_ptr<const CertStore> load_store(const std::string& program, const std::vector<std::string>& paths,
                                            unsigned threads = 1);

}  // namespace mamsign::app
