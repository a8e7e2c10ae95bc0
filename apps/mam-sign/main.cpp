// mam-sign: signs SMETS1 migration files with a supplier's SMKI Organisation Certificate (MAM 7.5.3).
// This file declares the flags and runs the batch; signer_setup.cpp makes the signer, render.cpp each
// file's line.
#include "sign_app.h"

#include "common/run_error.h"
#include "common/vocabulary.h"

#include <functional>
#include <iostream>

using namespace mamsign;
using namespace sign_app;

namespace {

// Every flag of mam-sign, its help and its footer.
void declare_flags(CLI::App& app, Flags& f) {
  app::add_key_flags(app, f.keys, true, "(required) the signer's private key");
  app.add_option("--cert", f.cert,
                 "the signer's Organisation Certificate: PEM or DER, or a pkcs11: URI with type=cert (default: the "
                 "PKCS#12 bundle's, or the token's certificate with the key's id; required with a key file)")
      ->option_text("CERT");
  app.add_option("--chain", f.chain,
                 "certificates to embed after the signer's (the OCA); repeatable (a PKCS#12 "
                 "bundle's chain comes first)")
      ->allow_extra_args(false)
      ->option_text("PEM");
  app.add_option("--trust", f.trust,
                 "SMKI root and OCA: refuse to sign unless the certificate chains to them (as the DCC will check); "
                 "repeatable")
      ->allow_extra_args(false)
      ->option_text("PATH");
  app.add_option("--crl", f.crl, "with --trust: refuse to sign with a revoked certificate; repeatable")
      ->allow_extra_args(false)
      ->option_text("PATH");
  app::add_revocation_flags(app, f.revocation);
  app.add_option("--format", f.format,
                 "cms: detached CMS SignedData in FILE.p7s; raw: bare ECDSA signature in FILE.sig")
      ->check(CLI::IsMember({"cms", "raw"}))
      ->capture_default_str();
  app.add_option("--out", f.out, "where to write the signature (one FILE only)")->option_text("PATH");
  app.add_flag("--force", f.force, "replace an existing signature");
  app.add_flag("--skip-signed", f.skip_signed, "leave files whose existing signature verifies for this signer");
  app.add_flag("--no-name-check", f.no_name_check,
               "sign files that are not migration files: skip the file-name and signer-party checks");
  app.add_flag("--json", f.json_output,
               "one JSON object per file, on its own line, then a summary object (mamsign/summary/1)");
  app.add_option("--profile", f.profile,
                 "a JSON profile overriding the built-in one (default: $MAMSIGN_PROFILE, else "
                 "/etc/mamsign/profile.json; docs/profile.md)")
      ->option_text("FILE");
  app.add_flag("--print-profile", f.print_profile,
               "print the profile in effect as JSON (its $comment says where it came from) and exit");
  app.add_flag("--sync", f.sync, "fsync every signature before reporting it (survives power loss; slower)");
  app::add_tsa_flags(app, f.tsa);
  app.add_flag("--timestamp-only", f.timestamp_only,
               "add a timestamp (--tsa) to the CMS signatures named (FILE.p7s...) that have none, without touching "
               "their signed part; no key is needed");
  app::add_batch_flags(app, f.batch, "files to sign, or folders of them");
  app.footer(
      "Examples:\n"
      "  mkdir -p /tmp/outbox && cp testdata/MA_cgI_70-B3-D5-1F-30-00-A0-08_20190407_182503.csv /tmp/outbox/\n"
      "  mam-sign --key keys-example/keys/supplier-ds.key --cert keys-example/store/supplier-ds.pem \\\n"
      "           /tmp/outbox/MA_cgI_70-B3-D5-1F-30-00-A0-08_20190407_182503.csv\n"
      "  mam-sign --key supplier.key --pass-file supplier.pass --cert supplier.pem --chain oca.pem --json MA_*.csv\n"
      "  find outbox -name 'MA_*.csv' -print0 | mam-sign --key k.pem --cert c.pem --skip-signed --from - --null\n"
      "  mam-sign --pkcs11-module /usr/lib/softhsm/libsofthsm2.so --list-keys\n"
      "  mam-sign --key 'pkcs11:token=SMKI;object=supplier-ds' --pin-file pin.txt --jobs 2 MA_*.csv\n"
      "  mam-sign --key supplier.p12 --pass-file p12.pass MA_*.csv\n"
      "  mam-sign --key k.pem --cert c.pem --tsa https://tsa.example/ --tsa-trust tsa-ca.pem MA_*.csv   # RFC 3161\n"
      "  mam-sign --timestamp-only --tsa https://tsa.example/ MA_*.csv.p7s   # timestamps added later\n\n"
      "Batches: files, folders (-r to descend) and --from lists are signed on --jobs threads; results come in input\n"
      "order on standard output, a summary on standard error. --skip-signed makes a re-run sign only what is left.\n"
      "SIGINT/SIGTERM finish the files in flight and stop; no partial signature is ever left.\n\n" +
      app::key_help() + "\n" + app::exit_code_help(true));
}

// --out names one signature file: refused (having said why) with several files or a folder.
bool out_fits(const Flags& f, std::size_t files) {
  if (f.out.empty()) return true;
  if (files != 1) {
    app::complain(kProgram, "--out names one signature file, but " + std::to_string(files) + " files were given");
    return false;
  }
  if (std::error_code ec; std::filesystem::is_directory(f.out, ec)) {
    app::complain(kProgram, "--out names the signature file to write, but " + f.out +
                                " is a folder; give a file name, or leave --out out to write FILE.p7s beside FILE");
    return false;
  }
  return true;
}

SignOptions sign_options(const Flags& f, SignatureFormat format) {
  SignOptions options;
  options.format = format;
  if (!f.out.empty()) options.out = f.out;
  options.replace = f.force;
  options.check_names = !f.no_name_check;
  options.skip_signed = f.skip_signed;
  options.sync = f.sync;
  return options;
}

}  // namespace

namespace {

// The whole run; main() wraps it (run_error.h).
int run(int argc, char** argv) {
  CLI::App app{
      "mam-sign: sign SMETS1 migration files (MA and MAPASSWORD; other prefixes, such as the dormant-meter\n"
      "notification's, once added to the profile's file_name_prefixes: docs/profile.md) with a supplier's SMKI\n"
      "Organisation Certificate, as MAM clause 7.5.3 requires (profile: docs/signing-profile.md).\n\n"
      "Before signing it checks the certificate (role 02 supplier, digitalSignature only, P-256, valid now, the\n"
      "policy OID), that the key is the certificate's, and that each file name is a migration file name naming\n"
      "the signer's party. The signature goes beside the file (FILE.p7s, or FILE.sig with --format raw), written\n"
      "atomically; an existing signature is never replaced without --force.",
      kProgram};
  app.set_version_flag("--version", app::version_text(kProgram));
  Flags f;
  declare_flags(app, f);

  if (auto code = app::parse(app, argc, argv)) return *code;

  int exit_code = app::kExitOk;
  const auto loaded_profile = app::profile_for_run(kProgram, f.profile, f.revocation, f.print_profile, exit_code);
  if (!loaded_profile) return exit_code;
  const Profile& profile = *loaded_profile;
  if (f.timestamp_only) return run_timestamp_only(f, profile);
  if (!app::check_key_flags(kProgram, f.keys)) return app::kExitUsage;
  if (f.keys.list_keys_given()) return app::list_keys(kProgram, f.keys, f.json_output);
  if (f.keys.key.empty()) {
    app::complain_usage(kProgram,
                        "--key is required (a key file, a PKCS#12 bundle or a pkcs11: URI; --list-keys "
                        "shows the keys on a token)",
                        kProgram);
    return app::kExitUsage;
  }
  f.batch.json = f.json_output;
  f.batch.require_files = f.batch.require_files || profile.require_files;
  std::map<std::filesystem::path, std::vector<std::string>> hidden_in_folder;
  auto files = app::collect(kProgram, f.batch, exit_code, &hidden_in_folder);
  if (!files) return exit_code;
  if (!out_fits(f, files->size())) return app::kExitUsage;
  const SignatureFormat format = *parse_format(f.format);

  // The signer is made and judged before the first file, even with no file to sign: a cron job over an
  // empty outbox still learns tonight that its certificate has expired.
  const auto tsa = app::make_tsa_client(kProgram, f.tsa, profile, exit_code);
  if (exit_code != app::kExitOk) return exit_code;
  if (tsa && format == SignatureFormat::Raw) {
    app::complain_usage(kProgram, "--tsa: a raw signature (--format raw) cannot carry a timestamp; sign with CMS",
                        kProgram);
    return app::kExitUsage;
  }
  auto signer = make_signer(f, profile, exit_code);
  if (!signer) return exit_code;
  if (tsa) {
    signer->set_timestamping(tsa);
    if (!tsa->options().trust) {
      app::complain(kProgram,
                    "warning: without --tsa-trust the TSA's certificate chain is not checked (its signature and "
                    "usage are); the DCC will check it");
    }
    // A TSA is a network round trip: more files in flight than cores, so that the requests overlap.
    if (f.batch.jobs == 0) f.batch.jobs = std::min(64u, available_cores() * 8);
  }
  if (files->empty()) return app::no_files(kProgram, f.batch, "sign");
  const SignOptions options = sign_options(f, format);

  remove_stale_temporaries_for(*files, options, hidden_in_folder);
  std::ios::sync_with_stdio(false);
  const std::function<FileReport(std::size_t)> work = [&](std::size_t i) {
    const std::string file = (*files)[i].string();
    try {
      return FileReport{file, signer->sign_file((*files)[i], options)};
    } catch (const std::exception& e) {
      return FileReport{file,
                        Result<SignOutcome>(make_error(Reason::IoError, std::string("internal error: ") + e.what()))};
    }
  };
  const std::function<app::Verdict(const FileReport&)> show = [&](const FileReport& report) {
    std::string line = render(report, &*signer, profile, format, f.json_output);
    if (!report.outcome) {
      const Reason reason = report.outcome.error().reason;
      return app::Verdict{"", reason, std::move(line), std::string(app::failure_result(app::Verb::Sign, reason))};
    }
    const std::string word(report.outcome->kind == SignOutcome::Kind::Signed ? app::kSigned : app::kSkipped);
    return app::Verdict{word, std::nullopt, std::move(line), word};
  };
  return app::run_batch(kProgram, *files, f.batch, "refused", work, show);
}

}  // namespace

int main(int argc, char** argv) { return mamsign::app::run_main(kProgram, argc, argv, run); }
