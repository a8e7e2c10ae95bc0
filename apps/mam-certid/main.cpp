// mam-certid: proves the Network Operator certificate IDs in migration files (TMAD 4.47/4.48) against an
// SMKI certificate store and the trust anchors, and answers "whose certificate is this ID?". This file
// declares the flags and makes the setup both commands share; check.cpp and show.cpp run them.
#include "certid_app.h"

#include "common/run_error.h"

#include "mamsign/batch.h"

using namespace mamsign;
using namespace certid_app;

namespace {

// Each command's flags, help and footer.
CLI::App* declare_check(CLI::App& app, Flags& f) {
  auto* check = app.add_subcommand("check", "check the certificate IDs of MA files; report every finding");
  check
      ->add_option(
          "--store,--cert-store", f.store,
          "(required) the certificate store: a folder (searched recursively) of PEM, DER or bundles; repeatable")
      ->allow_extra_args(false)
      ->option_text("DIR");
  check
      ->add_option("--trust", f.trust,
                   "(required unless /etc/mamsign/trust exists) SMKI root and OCA certificates: files, bundles or "
                   "folders; repeatable")
      ->allow_extra_args(false)
      ->option_text("PATH");
  check->add_option("--crl", f.crl, "CRL files or folders; repeatable")->allow_extra_args(false)->option_text("PATH");
  app::add_revocation_flags(*check, f.revocation);
  check
      ->add_option("--registration", f.registration, "JSON: MPAN distributor IDs and MPxNs to network-operator EUI-64s")
      ->option_text("FILE");
  app::add_at_option(*check, f.at, "judge certificates at this ISO 8601 time instead of now");
  check->add_option("--ds-column", f.columns.ds, "header of the DS certificate ID column")->capture_default_str();
  check->add_option("--ka-column", f.columns.ka, "header of the KA certificate ID column")->capture_default_str();
  check->add_option("--mpxn-column", f.columns.mpxn, "header of the MPxN column")->capture_default_str();
  check->add_option("--no-column", f.columns.network_operator, "header of the network operator User ID column")
      ->capture_default_str();
  check->add_option("--group-column", f.columns.group, "header of the GroupID column (optional in the file)")
      ->capture_default_str();
  check->add_option("--profile", f.profile, "a JSON profile overriding the built-in one (docs/profile.md)")
      ->option_text("FILE");
  check->add_flag(
      "--json", f.json_output,
      "one JSON object per file: {schema, version, file, findings: [{line, mpxn, column, id, reason, severity, "
      "message}], rows_checked, rows_with_errors, counts, revocation}");
  // One file's findings stream as they are found; several files are checked on --jobs threads.
  app::add_batch_flags(*check, f.batch, "the MA files (CSV) to check, or folders of them");
  check->footer(
      "Example:\n"
      "  mam-certid check --store keys-example/store --trust keys-example/trust --crl keys-example/crl \\\n"
      "      --registration testdata/registration.json testdata/MA_cgI_70-B3-D5-1F-30-00-A0-08_20190407_182503.csv\n\n"
      "Columns are found by header name, case-insensitively, in any order. Exit codes: 0 no error findings,\n"
      "1 at least one error finding, 2 usage error (also a missing column), 3 an input could not be read.");
  return check;
}

CLI::App* declare_show(CLI::App& app, Flags& f) {
  auto* show = app.add_subcommand("show", "whose certificate is this ID? serial, EUI-64, role, usage, validity, chain");
  show->add_option("--store,--cert-store", f.store, "(required) the certificate store; repeatable")
      ->allow_extra_args(false)
      ->option_text("DIR");
  show->add_option("--trust", f.trust, "trust anchors, to say whether each chains; repeatable")
      ->allow_extra_args(false)
      ->option_text("PATH");
  show->add_option("--crl", f.crl, "CRLs, to say whether each is revoked; repeatable")
      ->allow_extra_args(false)
      ->option_text("PATH");
  app::add_revocation_flags(*show, f.revocation);
  app::add_at_option(*show, f.at, "judge at this ISO 8601 time instead of now");
  show->add_flag("--decimal", f.decimal, "the IDs are decimal serial numbers");
  show->add_flag(
      "--json", f.json_output,
      "one JSON object per certificate: {schema, version, id, found, certificate: {eui64, role, role_name, serial, "
      "subject, issuer, key_usage, not_before, not_after, revocation, chain, chain_message, profile_problems}}");
  show->add_option("ids", f.ids, "certificate IDs (hex; ':' or ' ' between octets and leading zeros optional)")
      ->option_text("ID...");
  show->footer(
      "Example:\n  mam-certid show --store keys-example/store --trust keys-example/trust 1234\n"
      "Exit codes: 0 every ID found, 1 an ID is unknown or malformed, 2 usage error, 3 an input could not be read.");
  return show;
}

}  // namespace

namespace {

// The whole run; main() wraps it (run_error.h).
int run(int argc, char** argv) {
  CLI::App app{
      "mam-certid: prove the Network Operator certificate IDs in SMETS1 migration files (TMAD 4.47/4.48).\n"
      "Each ID must name a network operator's (role 03) certificate of the right usage (DS column:\n"
      "digitalSignature, KA column: keyAgreement), both of the row's network operator User ID, valid, unrevoked,\n"
      "chaining to the SMKI root and OCA, and (with --registration) registered for the row's MPxN.",
      kProgram};
  app.set_version_flag("--version", app::version_text(kProgram));
  app.require_subcommand(1);
  Flags f;

  auto* check = declare_check(app, f);
  auto* show = declare_show(app, f);

  app.footer(
      "Exit codes:\n"
      "  0  check: no error findings (notes allowed); show: every ID found\n"
      "  1  check: at least one error finding; show: an ID is unknown or malformed\n"
      "  2  usage error (also a missing column in an MA file)\n"
      "  3  an input could not be read (an MA file, a malformed CSV, the store, the trust anchors)\n"
      "Run 'mam-certid check --help' or 'mam-certid show --help' for each command's options.");

  if (auto code = app::parse(app, argc, argv)) return *code;

  Setup setup;
  int exit_code = app::kExitOk;
  auto loaded_profile = app::profile_for_run(kProgram, f.profile, f.revocation, false, exit_code);
  if (!loaded_profile) return exit_code;
  setup.profile = std::move(*loaded_profile);
  const auto parsed_at = app::parse_at(kProgram, f.at);
  if (!parsed_at) return app::kExitUsage;
  setup.at = *parsed_at;
  if (f.store.empty()) {
    app::complain_usage(kProgram, "--store is required",
                        std::string("mam-certid ") + (check->parsed() ? "check" : "show"));
    return app::kExitUsage;
  }
  f.trust = app::trust_or_default(f.trust);
  f.crl = app::crls_or_default(f.crl);
  if (check->parsed()) {
    if (f.trust.empty()) {
      app::complain(kProgram, "--trust is required: give the SMKI root and OCA certificates (or put them in " +
                                  app::config_dir().string() + "/trust)");
      return app::kExitUsage;
    }
  } else if (f.ids.empty()) {
    app::complain_usage(kProgram, "no certificate IDs to show", "mam-certid show");
    return app::kExitUsage;
  }

  // --jobs threads (default: the cores available) index the store, then check the files.
  setup.threads = f.batch.jobs != 0 ? f.batch.jobs : available_cores();
  setup.store = app::load_store(kProgram, f.store, setup.threads);
  if (!setup.store) return app::kExitUnreadable;
  if (!f.trust.empty()) {
    setup.trust = app::load_trust(kProgram, f.trust, f.crl, setup.profile);
    if (!setup.trust) return app::kExitUnreadable;
  }

  return show->parsed() ? run_show(f, setup) : run_check(f, setup);
}

}  // namespace

int main(int argc, char** argv) { return mamsign::app::run_main(kProgram, argc, argv, run); }
