// mam-verify: verifies SMETS1 migration files against their signatures, with every check of the
// signing profile (docs/signing-profile.md), and says exactly why a file fails.
#include "common/run_error.h"
#include "common/app_common.h"
#include "common/batch_ui.h"
#include "common/early.h"
#include "common/tsa_flags.h"
#include "common/vocabulary.h"
#include "verify_app.h"

#include "mamsign/pki/cert_store.h"
#include "mamsign/base/times.h"
#include "mamsign/verifier.h"

#include <iostream>

namespace {

using namespace mamsign;
using namespace mamsign::verify_app;

// Every flag of mam-verify, its help and its footer.
void declare_flags(CLI::App& app, Flags& f) {
  app.add_option("--trust", f.trust,
                 "(required unless /etc/mamsign/trust exists) SMKI root and OCA certificates (and their CRLs): PEM/DER "
                 "files, bundles or folders; repeatable (default: /etc/mamsign/trust)")
      ->allow_extra_args(false)
      ->option_text("PATH");
  app.add_option("--crl", f.crl,
                 "CRL file or folder from the OCA or root; a revoked signer is CERT_REVOKED; repeatable (default: "
                 "/etc/mamsign/crl)")
      ->allow_extra_args(false)
      ->option_text("PATH");
  app::add_revocation_flags(app, f.revocation);
  app::add_at_option(app, f.at,
                     "judge certificates at this ISO 8601 time instead of now, e.g. 2026-11-28T12:00:00Z; or "
                     "'timestamp': at the time of each signature's RFC 3161 timestamp (needs --tsa-trust)");
  app::add_tsa_trust_flag(app, f.tsa_trust,
                          "the trust anchors of Time-Stamping Authorities: a timestamp's time counts only when its TSA "
                          "chains to them (default: the config directory's tsa-trust/); repeatable");
  app.add_flag("--require-timestamp", f.require_timestamp,
               "a signature without an RFC 3161 timestamp is TIMESTAMP_MISSING (profile: require_timestamp)");
  app.add_option("--sig", f.sig, "the signature file (one FILE only); default FILE.p7s, else FILE.sig")
      ->option_text("PATH");
  app.add_option("--cert", f.cert, "the signer's certificate, for raw signatures and CMS without certificates")
      ->option_text("CERT");
  app.add_option("--cert-store", f.cert_store, "a folder of organisation certificates to find signers in; repeatable")
      ->allow_extra_args(false)
      ->option_text("DIR");
  app.add_flag("--no-name-check", f.no_name_check, "do not require a migration file name naming the signer's party");
  app.add_flag("--json", f.json_output,
               "one JSON object per file, on its own line, then a summary object (mamsign/summary/1)");
  app.add_option("--profile", f.profile,
                 "a JSON profile overriding the built-in one (default: $MAMSIGN_PROFILE, else "
                 "/etc/mamsign/profile.json; docs/profile.md)")
      ->option_text("FILE");
  app.add_flag("--print-profile", f.print_profile,
               "print the profile in effect as JSON (its $comment says where it came from) and exit");
  app::add_batch_flags(app, f.batch, "data files to verify (not their signatures), or folders of them");
  declare_watch_flags(app, f.watch);
  app.footer(
      "Examples:\n"
      "  mam-verify --trust keys-example/trust --crl keys-example/crl --require-crl \\\n"
      "             /tmp/outbox/MA_cgI_70-B3-D5-1F-30-00-A0-08_20190407_182503.csv   # signed by mam-sign's example\n"
      "  mam-verify --trust root.pem --trust oca.pem --crl oca.crl --json incoming/MA_*.csv\n"
      "  mam-verify --trust keys-example/trust --cert-store keys-example/store MA_file.csv   # raw .sig\n"
      "  mam-verify --trust smki/ --crl smki/crl --json -r inbox/ > results.jsonl\n"
      "  mam-verify --trust smki/ --crl smki/crl --tsa-trust tsa-ca.pem --at timestamp MA_file.csv   # valid when "
      "signed?\n"
      "  mam-verify --trust smki/ --crl smki/crl --require-crl --watch /srv/intake/inbox \\\n"
      "             --accepted /srv/intake/accepted --rejected /srv/intake/rejected \\\n"
      "             --ledger /var/lib/mamsign/ledger.jsonl   # the DCC's intake\n"
      "  mam-verify --check-ledger /var/lib/mamsign/ledger.jsonl   # exit 0: every entry and the head intact\n\n"
      "Batches: files, folders (-r to descend) and --from lists are verified on --jobs threads; results come in\n"
      "input order, a summary on standard error. The trust anchors, CRLs and every certificate's checks are\n"
      "loaded and computed once.\n\n"
      "Signatures are found beside their data files: name the data files. In a folder or list, a signature\n"
      "whose data file is not there is a result of its own, DATA_MISSING.\n\n"
      "Text output: one line per file, 'FILE: OK', 'FILE: FAILED <REASON>: <message>' or 'FILE: ERROR IO_ERROR: "
      "<message>'\n"
      "(the file could not be read), then the signer and notes; a summary on standard error (-q: only failures).\n"
      "JSON output (--json): {schema, version, file, signature, format, result: valid|invalid|error, reason, message, "
      "signer,\n"
      "signing_time, sha256, diagnosis, bound_name, notes, revocation: {checked, crl_issuer, crl, this_update,\n"
      "next_update, stale, issuer_checked}}, then one summary line {schema: mamsign/summary/1, files, results,\n"
      "reasons, not_processed, interrupted, seconds, files_per_second}.\n\n" +
      app::exit_code_help(true));
}

// --cert and --cert-store, where the verifier finds signers' certificates; false (having said why) when
// they cannot be read.
bool load_signer_certificates(const Flags& f, VerifyOptions& options) {
  if (!f.cert.empty()) {
    auto cert = OrgCert::load(f.cert);
    if (!cert) {
      app::complain(kProgram, "--cert: " + cert.error().message);
      return false;
    }
    options.cert = *cert;
  }
  if (!f.cert_store.empty()) {
    options.store = app::load_store(kProgram, f.cert_store);
    if (!options.store) return false;
  }
  return true;
}

// The files a batch verifies; none (with the exit code set) when the flags do not name them rightly.
std::optional<std::vector<std::filesystem::path>> collect_files(Flags& f, const Profile& profile, int& exit_code) {
  f.batch.json = f.json_output;
  f.batch.require_files = f.batch.require_files || profile.require_files;
  f.batch.data_of_lone_signatures = true;  // X.csv.p7s without X.csv is a result: DATA_MISSING
  auto files = app::collect(kProgram, f.batch, exit_code);
  if (files && !f.sig.empty() && files->size() != 1) {
    app::complain(kProgram,
                  "--sig names one signature file, but " + std::to_string(files->size()) + " files were given");
    exit_code = app::kExitUsage;
    return std::nullopt;
  }
  return files;
}

// --at, --require-timestamp, --tsa-trust and --no-name-check as options; an exit code when they are wrong
// (said before any file is read).
std::optional<int> verify_options(const Flags& f, const Profile& profile, VerifyOptions& options) {
  const bool at_timestamp = f.at && *f.at == "timestamp";
  const auto at = app::parse_at(kProgram, at_timestamp ? std::nullopt : f.at);
  if (!at) return app::kExitUsage;
  options.at = *at;
  options.at_given = f.at.has_value() && !at_timestamp;
  options.at_timestamp = at_timestamp;
  options.require_timestamp = f.require_timestamp || profile.require_timestamp;
  bool tsa_ok = true;
  options.tsa_trust = app::load_tsa_trust(kProgram, f.tsa_trust, tsa_ok);
  if (!tsa_ok) return app::kExitUnreadable;
  if (at_timestamp && !options.tsa_trust) {
    app::complain_usage(kProgram,
                        "--at timestamp trusts each signature's timestamp for its time: give the TSAs' trust anchors "
                        "with --tsa-trust (or put them in " +
                            app::config_dir().string() + "/tsa-trust)",
                        kProgram);
    return app::kExitUsage;
  }
  options.check_names = !f.no_name_check;
  return std::nullopt;
}

// Every file of the batch on --jobs threads, results in input order (batch_ui.h).
int verify_batch(const Flags& f, const Profile& profile, const VerifyOptions& options,
                 std::shared_ptr<TrustStore> trust, const std::vector<std::filesystem::path>& files_in) {
  const auto* files = &files_in;
  const Verifier verifier(trust, profile, options);
  std::ios::sync_with_stdio(false);
  const std::optional<std::filesystem::path> sig =
      f.sig.empty() ? std::nullopt : std::optional<std::filesystem::path>(f.sig);
  const std::function<VerifyResult(std::size_t)> work = [&](std::size_t i) {
    try {
      return verifier.verify((*files)[i], sig);
    } catch (const std::exception& e) {
      VerifyResult r;
      r.file = (*files)[i];
      r.error = make_error(Reason::IoError, std::string("internal error: ") + e.what());
      return r;
    }
  };
  const std::function<app::Verdict(const VerifyResult&)> show = [&](const VerifyResult& r) {
    std::string result(r.valid() ? app::kValid : app::failure_result(app::Verb::Verify, r.error->reason));
    return r.valid() ? app::Verdict{std::string(app::kOk), std::nullopt, render(r, profile, f.json_output), result}
                     : app::Verdict{"", r.error->reason, render(r, profile, f.json_output), result};
  };
  return app::run_batch(kProgram, *files, f.batch, "failed", work, show);
}

}  // namespace

namespace {

// The whole run; main() wraps it (run_error.h).
int run(int argc, char** argv) {
  CLI::App app{
      "mam-verify: verify SMETS1 migration files against their signatures (MAM clause 7.5.3 as\n"
      "docs/signing-profile.md defines it): the signature, the content byte for byte, the signer's certificate\n"
      "(chain to the SMKI root and OCA, validity, revocation, role 02, digitalSignature, policy), and that the file\n"
      "name is a migration file name naming the signer's party. A failure names one reason code\n"
      "(docs/reason-codes.md) and says what was expected and what was found.",
      kProgram};
  app.set_version_flag("--version", app::version_text(kProgram));
  Flags f;
  declare_flags(app, f);

  if (auto code = app::parse(app, argc, argv)) return *code;

  if (!f.watch.check_ledger.empty()) return run_check_ledger(f.watch.check_ledger, f.json_output);
  if (auto wrong = watch_usage_error(f)) {
    app::complain_usage(kProgram, *wrong, kProgram);
    return app::kExitUsage;
  }
  int exit_code = app::kExitOk;
  const auto loaded_profile = app::profile_for_run(kProgram, f.profile, f.revocation, f.print_profile, exit_code);
  if (!loaded_profile) return exit_code;
  const Profile& profile = *loaded_profile;
  f.trust = app::trust_or_default(f.trust);
  f.crl = app::crls_or_default(f.crl);
  if (f.trust.empty()) {
    app::complain_usage(kProgram,
                        "--trust is required: give the SMKI root and OCA certificates (or put them in " +
                            app::config_dir().string() + "/trust)",
                        kProgram);
    return app::kExitUsage;
  }
  // The trust anchors and CRLs are read while the files are listed (early.h); what they give is said
  // below, where it always was.
  app::Early<Result<std::shared_ptr<TrustStore>>> early_trust(
      [trust = f.trust, crl = f.crl, &profile] { return app::read_trust(trust, crl, profile); });
  VerifyOptions options;
  if (auto code = verify_options(f, profile, options)) return *code;
  const bool watching = !f.watch.inbox.empty();
  std::optional<std::vector<std::filesystem::path>> files;
  if (!watching) {
    files = collect_files(f, profile, exit_code);
    if (!files) return exit_code;
    if (files->empty()) return app::no_files(kProgram, f.batch, "verify");
  }
  const auto trust = app::trust_or_complain(kProgram, early_trust.get());
  if (!trust) return app::kExitUnreadable;
  if (!load_signer_certificates(f, options)) return app::kExitUnreadable;
  if (watching) return run_watch(f, profile, options, trust);

  return verify_batch(f, profile, options, trust, *files);
}

}  // namespace

int main(int argc, char** argv) { return mamsign::app::run_main(kProgram, argc, argv, run); }
