#include "common/app_common.h"

#include "common/output.h"
#include "common/run_error.h"

#include <openssl/crypto.h>

#include "mamsign/smki/eui64.h"
#include "mamsign/smki/profile.h"
#include "mamsign/base/text.h"
#include "mamsign/base/times.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iostream>

namespace mamsign::app {

namespace {

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

// The flags and commands a user may have meant: "--trust", "check".
std::vector<std::string> known_words(CLI::App& app) {
  std::vector<std::string> words;
  for (CLI::App* level : {&app, app.get_subcommands().empty() ? nullptr : app.get_subcommands().front()}) {
    if (level == nullptr) continue;
    for (const CLI::Option* opt : level->get_options()) {
      for (const auto& l : opt->get_lnames()) words.push_back("--" + l);
    }
  }
  for (const CLI::App* sub : app.get_subcommands({})) words.push_back(sub->get_name());
  return words;
}

// " (did you mean --trust?)" when one known word is close to `word`.
std::string did_you_mean(CLI::App& app, std::string_view word) {
  const std::string_view bare = word.substr(0, word.find('='));
  std::string best;
  std::size_t best_distance = 3;
  for (const auto& known : known_words(app)) {
    const std::size_t d = edit_distance(bare, known);
    if (d < best_distance) {
      best_distance = d;
      best = known;
    }
  }
  return best.empty() ? std::string() : " (did you mean " + best + "?)";
}

// CLI11's messages, said as this project says things: what was expected, what was found.
std::string plain_message(CLI::App& app, const CLI::ParseError& e) {
  const std::string what = e.what();
  if (dynamic_cast<const CLI::ExtrasError*>(&e) != nullptr) {
    const std::size_t colon = what.find(": ");
    const std::string extras = colon == std::string::npos ? what : what.substr(colon + 2);
    const std::string first = extras.substr(0, extras.find(' '));
    if (!first.empty() && first.front() == '-') return "unknown option " + first + did_you_mean(app, first);
    return "unexpected argument " + first + did_you_mean(app, first);
  }
  if (what == "A subcommand is required") {
    std::string commands;
    for (const CLI::App* sub : app.get_subcommands({})) commands += (commands.empty() ? "" : " or ") + sub->get_name();
    const auto& rest = app.remaining();
    if (!rest.empty())
      return "unknown command " + rest.front() + did_you_mean(app, rest.front()) + ": the commands are " + commands;
    return "a command is required: " + commands;
  }
  if (what.find("At Most 1 required but received") != std::string::npos) {
    return what.substr(0, what.find(':')) + " may be given only once";
  }
  if (what.find("not in range") != std::string::npos) {
    // "--jobs: Value abc not in range 1 to 1024"
    const std::string flag = what.substr(0, what.find(':'));
    const std::size_t v = what.find("Value ");
    const std::size_t r = what.find(" not in range ");
    const std::string value = v == std::string::npos ? "" : what.substr(v + 6, r - v - 6);
    return flag + " takes a whole number from " + what.substr(r + 14) + ", not " + printable(value, 40);
  }
  if (const std::size_t in = what.find(" not in {"); in != std::string::npos) {
    // "--format: xyz not in {cms,raw}"
    const std::string flag = what.substr(0, what.find(':'));
    const std::string value = what.substr(flag.size() + 2, in - flag.size() - 2);
    std::string choices = what.substr(in + 9, what.find('}', in) - in - 9);
    std::replace(choices.begin(), choices.end(), ',', '|');
    return flag + " takes " + choices + ", not " + printable(value, 40);
  }
  return what;
}

}  // namespace

std::string version_text(const std::string& program) {
  return program + " " + MAMSIGN_VERSION + " (commit " + MAMSIGN_GIT_COMMIT + ", " + OpenSSL_version(OPENSSL_VERSION) +
         ")";
}

std::optional<int> parse(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    complain_usage(app.get_name(), plain_message(app, e), app.get_name());
    return kExitUsage;
  }
  return std::nullopt;
}

namespace {

// The length of the valid UTF-8 sequence at `s[i]` encoding a printable code point (no C0/C1 control,
// no DEL), or 0.
std::size_t printable_utf8_at(std::string_view s, std::size_t i) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char c = b(0);
  if (c >= 0x20 && c < 0x7F) return 1;
  auto cont = [&](std::size_t k) { return i + k < s.size() && (b(k) & 0xC0) == 0x80; };
  if (c >= 0xC2 && c <= 0xDF && cont(1)) return c == 0xC2 && b(1) < 0xA0 ? 0 : 2;  // U+0080..U+009F: C1 controls
  if (c >= 0xE0 && c <= 0xEF && cont(1) && cont(2)) {
    if ((c == 0xE0 && b(1) < 0xA0) || (c == 0xED && b(1) >= 0xA0)) return 0;  // overlong, surrogates
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4 && cont(1) && cont(2) && cont(3)) {
    if ((c == 0xF0 && b(1) < 0x90) || (c == 0xF4 && b(1) >= 0x90)) return 0;
    return 4;
  }
  return 0;
}

// The code point of the valid UTF-8 sequence of `n` bytes at `s[i]`.
char32_t code_point_at(std::string_view s, std::size_t i, std::size_t n) {
  const auto b = [&](std::size_t k) { return static_cast<char32_t>(static_cast<unsigned char>(s[i + k])); };
  if (n == 2) return ((b(0) & 0x1F) << 6) | (b(1) & 0x3F);
  if (n == 3) return ((b(0) & 0x0F) << 12) | ((b(1) & 0x3F) << 6) | (b(2) & 0x3F);
  return ((b(0) & 0x07) << 18) | ((b(1) & 0x3F) << 12) | ((b(2) & 0x3F) << 6) | (b(3) & 0x3F);
}

// Code points a terminal shows as nothing, or that reorder what follows (the bidirectional controls of
// Trojan Source): a name holding one would print like another name.
bool invisible(char32_t c) {
  return c == 0xAD || c == 0x34F || c == 0x61C || c == 0x115F || c == 0x1160 || c == 0x17B4 || c == 0x17B5 ||
         (c >= 0x180B && c <= 0x180F) || (c >= 0x200B && c <= 0x200F) || (c >= 0x2028 && c <= 0x202E) ||
         (c >= 0x2060 && c <= 0x206F) || c == 0x3164 || (c >= 0xFE00 && c <= 0xFE0F) || c == 0xFEFF || c == 0xFFA0 ||
         (c >= 0xFFF0 && c <= 0xFFFB) || (c >= 0xFDD0 && c <= 0xFDEF) || (c & 0xFFFE) == 0xFFFE ||
         (c >= 0xE000 && c <= 0xF8FF) || (c >= 0x1D173 && c <= 0x1D17A) || (c >= 0xE0000 && c <= 0xE0FFF) ||
         c >= 0xF0000;
}

}  // namespace

std::string safe_text(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    // The escape character escaped too: "\\x0A" is a backslash and "x0A", never a newline.
    if (text[i] == '\\') {
      out += "\\\\";
      ++i;
      continue;
    }
    if (const std::size_t n = printable_utf8_at(text, i); n > 0) {
      if (n > 1) {
        if (const char32_t c = code_point_at(text, i, n); invisible(c)) {
          char buf[16];
          std::snprintf(buf, sizeof buf, c > 0xFFFF ? "\\U%08X" : "\\u%04X", static_cast<unsigned>(c));
          out += buf;
          i += n;
          continue;
        }
      }
      out.append(text.substr(i, n));
      i += n;
      continue;
    }
    char buf[8];
    std::snprintf(buf, sizeof buf, "\\x%02X", static_cast<unsigned char>(text[i]));
    out += buf;
    ++i;
  }
  return out;
}

void text_line(std::ostream& out, std::string_view line) { out << safe_text(line) << '\n'; }

bool print(std::string_view line) { return Output::standard().line(safe_text(line)); }
bool print_json(const nlohmann::ordered_json& j) { return Output::standard().line(json_line(j)); }

int with_output_checked(const std::string& program, int code) {
  const Output& out = Output::standard();
  if (!out.failed()) return code;
  complain(program, "cannot write to standard output: " + out.error() + " (exit code 3)");
  return 3;
}

void path_json(nlohmann::ordered_json& j, const std::string& key, const std::string& path) {
  j[key] = path;
  if (!is_utf8(path)) j[key + "_hex"] = to_hex(path);
}

void complain(const std::string& program, const std::string& message, std::optional<Reason> reason) {
  text_line(std::cerr, program + ": " + message);
  if (message.rfind("warning: ", 0) == 0 || message.rfind("note: ", 0) == 0) return;
  note_run_error(reason ? std::optional<std::string_view>(reason_name(*reason)) : std::nullopt, message);
}

void complain_usage(const std::string& program, const std::string& message, const std::string& command) {
  text_line(std::cerr, program + ": " + message);
  note_run_error(kUsageReason, message);
  std::cerr << "Run '" << command << " --help' for usage.\n";
}

int exit_code_for(Reason reason) { return is_input_error(reason) ? kExitUnreadable : kExitFailed; }

nlohmann::ordered_json time_json(const std::optional<std::time_t>& t) {
  return t ? nlohmann::ordered_json(format_iso8601(*t)) : nlohmann::ordered_json(nullptr);
}

nlohmann::ordered_json signer_json(const OrgCert& cert) {
  nlohmann::ordered_json j;
  j["eui64"] = cert.eui64() ? nlohmann::ordered_json(cert.eui64()->to_string()) : nlohmann::ordered_json(nullptr);
  j["role"] = cert.role() ? nlohmann::ordered_json(role_code(*cert.role())) : nlohmann::ordered_json(nullptr);
  j["role_name"] =
      cert.role() ? nlohmann::ordered_json(std::string(role_name(*cert.role()))) : nlohmann::ordered_json(nullptr);
  j["serial"] = cert.serial();
  j["subject"] = cert.subject();
  j["issuer"] = cert.issuer();
  j["key_usage"] = cert.key_usage_text();
  j["not_before"] = format_iso8601(cert.not_before());
  j["not_after"] = format_iso8601(cert.not_after());
  return j;
}

std::string signer_text(const OrgCert& cert) {
  std::string s = cert.eui64() ? cert.eui64()->to_string() : cert.subject();
  s += " (";
  if (cert.role()) s += "role " + role_code(*cert.role()) + " " + std::string(role_name(*cert.role())) + ", ";
  s += "serial " + cert.serial() + ", valid " + format_iso8601(cert.not_before()) + " to " +
       format_iso8601(cert.not_after()) + ")";
  return s;
}

nlohmann::ordered_json json_object(std::string_view kind, int schema_version) {
  nlohmann::ordered_json j;
  j["schema"] = "mamsign/" + std::string(kind) + "/" + std::to_string(schema_version);
  j["version"] = MAMSIGN_VERSION;
  return j;
}

std::string json_line(const nlohmann::ordered_json& j) {
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

std::string exit_code_help(bool interrupts) {
  std::string s =
      "Exit codes: (the worst file decides)\n"
      "  0  every file succeeded; also 0 files (an empty folder or list), unless --require-files\n"
      "  1  at least one file was refused or is invalid, none unreadable; 0 files with --require-files\n"
      "  2  usage error (the command line is wrong; a signature named without its data file)\n"
      "  3  an input could not be read (IO_ERROR: a file, the key, the trust anchors, a profile), the signer\n"
      "     cannot sign (said once, nothing signed), or results could not be written (a full disk, a\n"
      "     file-size limit: every line that was written is whole)\n"
      "With --json, a run that fails before its first result writes one mamsign/run-error/1 object.\n";
  if (interrupts) s += "  130, 143  interrupted by SIGINT or SIGTERM (files in flight finished, no partial output)\n";
  return s;
}

std::filesystem::path config_dir() {
  const char* dir = std::getenv("MAMSIGN_CONFIG_DIR");
  return dir != nullptr && *dir != '\0' ? std::filesystem::path(dir) : std::filesystem::path("/etc/mamsign");
}

std::vector<std::string> trust_or_default(const std::vector<std::string>& given) {
  std::error_code ec;
  if (!given.empty() || !std::filesystem::is_directory(config_dir() / "trust", ec)) return given;
  return {(config_dir() / "trust").string()};
}

std::vector<std::string> crls_or_default(const std::vector<std::string>& given) {
  std::error_code ec;
  if (!given.empty() || !std::filesystem::is_directory(config_dir() / "crl", ec)) return given;
  return {(config_dir() / "crl").string()};
}

std::string profile_text(const Profile& profile) {
  auto doc = nlohmann::ordered_json::parse(profile.to_json());
  nlohmann::ordered_json out;
  out["$comment"] = "in effect: " + profile.origin;
  for (auto& [key, value] : doc.items()) out[key] = value;
  return out.dump(2);
}

std::optional<Profile> load_profile(const std::string& program, const std::string& given) {
  std::string path = given;
  if (path.empty()) {
    const char* env = std::getenv("MAMSIGN_PROFILE");
    std::error_code ec;
    if (env != nullptr && *env != '\0') {
      path = env;
    } else if (std::filesystem::exists(config_dir() / "profile.json", ec)) {
      path = (config_dir() / "profile.json").string();
    }
  }
  if (path.empty()) return Profile::defaults();
  auto loaded = Profile::load(path);
  if (!loaded) {
    complain(program, loaded.error().message, loaded.error().reason);
    return std::nullopt;
  }
  return std::move(*loaded);
}

std::optional<Profile> profile_for_run(const std::string& program, const std::string& path,
                                       const RevocationFlags& flags, bool print, int& exit_code) {
  auto profile = load_profile(program, path);
  exit_code = kExitUnreadable;
  if (!profile) return std::nullopt;
  exit_code = kExitUsage;
  if (!apply_revocation_flags(program, flags, *profile)) return std::nullopt;
  exit_code = kExitOk;
  if (!print) return profile;
  Output::standard().line(profile_text(*profile));
  exit_code = with_output_checked(program, kExitOk);
  return std::nullopt;
}

void add_at_option(CLI::App& app, std::optional<std::string>& at, const std::string& help) {
  app.add_option_function<std::string>(
         "--at", [&at](const std::string& value) { at = value; }, help)
      ->option_text("TIME");
}

std::optional<std::time_t> parse_at(const std::string& program, const std::optional<std::string>& text) {
  if (!text) return std::time(nullptr);
  if (text->empty()) {
    complain_usage(program,
                   "--at was given an empty time: give an ISO 8601 time such as 2026-11-28T12:00:00Z, or "
                   "leave --at out to judge at the present time",
                   program);
    return std::nullopt;
  }
  auto at = parse_iso8601(*text);
  if (!at) {
    complain(program, "--at: " + at.error().message);
    return std::nullopt;
  }
  return *at;
}

Result<std::shared_ptr<TrustStore>> read_trust(const std::vector<std::string>& trust,
                                               const std::vector<std::string>& crls, const Profile& profile) {
  auto store = TrustStore::load(std::vector<std::filesystem::path>(trust.begin(), trust.end()), profile);
  if (!store) return make_error(store.error().reason, "--trust: " + store.error().message);
  if (!crls.empty()) {
    if (auto st = (*store)->add_crls(std::vector<std::filesystem::path>(crls.begin(), crls.end())); !st) {
      return make_error(st.error().reason, "--crl: " + st.error().message);
    }
  }
  return *store;
}

std::shared_ptr<TrustStore> trust_or_complain(const std::string& program,
                                              const Result<std::shared_ptr<TrustStore>>& read) {
  if (!read) {
    complain(program, read.error().message, read.error().reason);
    return nullptr;
  }
  if ((*read)->ca_count() == 0) {
    // Said once, not as one UNTRUSTED_CHAIN per file with no hint why.
    complain(program,
             "warning: --trust holds a root but no issuing CA (OCA): only signatures that carry their OCA can "
             "verify; give the OCA's certificate with --trust too");
  }
  return *read;
}

std::shared_ptr<TrustStore> load_trust(const std::string& program, const std::vector<std::string>& trust,
                                       const std::vector<std::string>& crls, const Profile& profile) {
  return trust_or_complain(program, read_trust(trust, crls, profile));
}

std::shared_ptr<const CertStore> load_store(const std::string& program, const std::vector<std::string>& paths,
                                            unsigned threads) {
  auto store = CertStore::load(std::vector<std::filesystem::path>(paths.begin(), paths.end()), threads);
  if (!store) {
    complain(program, "--store: " + store.error().message);
    return nullptr;
  }
  for (const auto& p : (*store)->problems())
    complain(program, "warning: a certificate store file was skipped: " + p.message);
  if ((*store)->size() == 0) {
    // Every ID would be unknown: a setup mistake, said once instead of once per row.
    std::string where;
    for (const auto& p : paths) where += (where.empty() ? "" : ", ") + p;
    complain(program, "--store: the certificate store holds no certificate (" + where + ")");
    return nullptr;
  }
  return *store;
}

void add_revocation_flags(CLI::App& app, RevocationFlags& flags) {
  app.add_flag("--require-crl", flags.require_crl,
               "revocation must be known: no CRL of the certificate's issuing CA is REVOCATION_UNKNOWN, a CRL past its "
               "nextUpdate REVOCATION_STALE (profile: require_crl)");
  app.add_option("--crl-grace", flags.crl_grace,
                 "how long past its nextUpdate a CRL still counts as current, e.g. 12h (default 0; profile: crl_grace)")
      ->option_text("DURATION");
}

bool apply_revocation_flags(const std::string& program, const RevocationFlags& flags, Profile& profile) {
  if (flags.require_crl) profile.require_crl = true;
  if (!flags.crl_grace.empty()) {
    auto grace = parse_duration(flags.crl_grace);
    if (!grace) {
      complain(program, "--crl-grace: " + grace.error().message);
      return false;
    }
    profile.crl_grace = *grace;
  }
  return true;
}

nlohmann::ordered_json revocation_json(const std::optional<RevocationStatus>& revocation) {
  using json = nlohmann::ordered_json;
  json j;
  const bool reached = revocation && !revocation->issuer.empty();
  j["checked"] = reached && revocation->checked;
  j["crl_issuer"] = reached ? json(revocation->issuer) : json(nullptr);
  j["crl"] = reached && revocation->checked ? json(revocation->crl) : json(nullptr);
  j["this_update"] = reached ? time_json(revocation->this_update) : json(nullptr);
  j["next_update"] = reached ? time_json(revocation->next_update) : json(nullptr);
  j["stale"] = reached && revocation->checked ? json(revocation->stale) : json(nullptr);
  j["issuer_checked"] = reached && revocation->issuer_checked ? json(*revocation->issuer_checked) : json(nullptr);
  return j;
}

nlohmann::ordered_json profile_json(const Profile& profile) {
  if (profile.file.empty()) return nullptr;
  nlohmann::ordered_json j;
  path_json(j, "file", profile.file);
  j["changes"] = profile.changes;
  return j;
}

std::vector<std::string> with_profile_note(std::vector<std::string> notes, const Profile& profile) {
  if (!profile.file.empty()) notes.push_back(profile.change_note());
  return notes;
}

std::string notes_text(const std::vector<std::string>& notes) {
  std::string s;
  for (const auto& n : notes) s += (s.empty() ? " (note: " : "; note: ") + n;
  return s.empty() ? s : s + ")";
}

}  // namespace mamsign::app
