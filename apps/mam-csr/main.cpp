// mam-csr: the Organisation key and certificate lifecycle: make a CSR in the structure of SEC Appendix M,
// Appendix F; check any CSR against it; accept or reject the certificate that comes back (SEC L11.5-L11.7);
// show a CSR or a certificate in SMKI terms. This file declares the flags and dispatches; each command
// runs in its own file.
#include "csr_app.h"

#include "common/run_error.h"

using namespace mamsign;
using namespace csr_app;

namespace {

// Each command's flags, help and footer.
CLI::App* declare_new(CLI::App& app, Flags& f) {
  auto* make = app.add_subcommand("new", "make a CSR for a key (a file, a PKCS#12 bundle, a pkcs11: URI) or a new key");
  make->add_option("--role", f.role,
                   "(required) the Remote Party Role: a code (02) or a name (supplier, network-operator, ...)")
      ->option_text("ROLE");
  make->add_option("--eui", f.eui,
                   "(required) the EUI-64 of the subject (the supplier's User ID), e.g. 70-B3-D5-1F-30-00-A0-08")
      ->option_text("EUI-64");
  make->add_option("--usage", f.usage, "(required) ds (digitalSignature: signs migration files) or ka (keyAgreement)")
      ->option_text("ds|ka");
  make->add_option("--cn", f.cn, "a commonName for the subject (optional; at most 64 characters)")->option_text("NAME");
  app::add_key_flags(*make, f.keys, false, "the key to certify");
  make->add_option(
          "--new-key", f.new_key,
          "instead of --key: generate a P-256 key and write it to FILE (mode 0600, never over an existing file), "
          "encrypted with the passphrase from --pass-file, --pass-env or the prompt")
      ->option_text("FILE");
  make->add_flag("--no-encrypt", f.no_encrypt,
                 "with --new-key: write the key unencrypted (refuses the protection explicitly)");
  make->add_option("--out", f.out,
                   "(required) where to write the CSR ('-' for standard output); never over an existing "
                   "file without --force")
      ->option_text("FILE");
  make->add_flag("--der", f.der, "write DER instead of PEM");
  make->add_flag("--force", f.force, "replace an existing --out file");
  make->footer(
      "Examples:\n"
      "  mam-csr new --role supplier --eui 70-B3-D5-1F-30-00-A0-08 --usage ds --cn 'Example Supplier A' \\\n"
      "      --new-key supplier-ds.key --pass-file supplier-ds.pass --out supplier-ds.csr\n"
      "  mam-csr new --role 02 --eui 70-B3-D5-1F-30-00-A0-08 --usage ds --key 'pkcs11:token=SMKI;object=supplier-ds' "
      "\\\n"
      "      --pin-file pin --out supplier-ds.csr\n"
      "What is written is checked against Appendix F first; nothing is written that does not conform.\n"
      "Exit codes: 0 written, 1 could not make it, 2 usage error, 3 an input could not be read or the output written.");
  return make;
}

CLI::App* declare_check(CLI::App& app, Flags& f) {
  auto* check = app.add_subcommand(
      "check", "report every departure of CSRs from Appendix F, and whether each self-signature verifies");
  check->add_flag(
      "--json", f.json_output,
      "one JSON object per file: {schema, version, file, result, reason, message, encoding, subject, usage, key, "
      "self_signature, findings: [{rule, expected, found}]}");
  check->add_option("files", f.files, "CSR files: DER, PEM (CERTIFICATE REQUEST or NEW CERTIFICATE REQUEST), or base64")
      ->option_text("FILE...")
      ->required();
  check->footer(
      "Rules and their ids (F1-F12): docs/csr.md.\n"
      "Exit codes: 0 every CSR conforms, 1 a CSR departs from Appendix F (or is not a CSR), 2 usage error, 3 a\n"
      "file could not be read.");
  return check;
}

CLI::App* declare_accept(CLI::App& app, Flags& f) {
  auto* accept =
      app.add_subcommand("accept", "accept or reject an issued certificate now: is it what the CSR asked for?");
  accept->add_option("--csr", f.csr, "(required) the CSR the certificate was issued from")->option_text("FILE");
  accept->add_option("--cert", f.cert, "(required) the issued certificate (PEM or DER)")->option_text("CERT");
  accept
      ->add_option("--trust", f.trust,
                   "SMKI root and OCA: the certificate must chain to them; repeatable (default: "
                   "/etc/mamsign/trust when it exists)")
      ->allow_extra_args(false)
      ->option_text("PATH");
  accept->add_option("--crl", f.crl, "with --trust: CRLs, so a revoked certificate is rejected; repeatable")
      ->allow_extra_args(false)
      ->option_text("PATH");
  app::add_revocation_flags(*accept, f.revocation);
  app::add_key_flags(*accept, f.keys, false, "the key the certificate must be for (optional)");
  app::add_at_option(*accept, f.at, "judge at this ISO 8601 time instead of now");
  accept->add_option("--profile", f.profile, "a JSON profile overriding the built-in one (docs/profile.md)")
      ->option_text("FILE");
  accept->add_flag("--json", f.json_output,
                   "one JSON object: {schema, version, csr, certificate, result, reasons, notes, issued, at}");
  accept->footer(
      "Example:\n"
      "  mam-csr accept --csr supplier-ds.csr --cert supplier-ds.pem --trust keys-example/trust --crl "
      "keys-example/crl\n"
      "Prints ACCEPT, or REJECT with every reason: the key, the role, the EUI-64, the usage, the profile, the\n"
      "validity now (or when it begins), the chain and revocation.\n"
      "Exit codes: 0 accept, 1 reject, 2 usage error, 3 an input could not be read.");
  return accept;
}

CLI::App* declare_show(CLI::App& app, Flags& f) {
  auto* show =
      app.add_subcommand("show", "print CSRs or certificates in SMKI terms: role, EUI-64, usage, key, validity");
  show->add_flag("--json", f.json_output, "one JSON object per file");
  show->add_option("files", f.files, "CSR or certificate files")->option_text("FILE...")->required();
  show->footer("Exit codes: 0 shown, 2 usage error, 3 a file is neither a CSR nor a certificate, or cannot be read.");
  return show;
}

}  // namespace

namespace {

// The whole run; main() wraps it (run_error.h).
int run(int argc, char** argv) {
  CLI::App app{
      "mam-csr: an SMKI Organisation key's certificate lifecycle. Make its Certificate Signing Request in the\n"
      "structure of SEC Appendix M (SMKI Interface Design Specification), Appendix F; check any CSR against\n"
      "it; when the certificate comes back, accept or reject it at once (SEC L11.5-L11.7 deem a certificate\n"
      "not rejected immediately accepted); show a CSR or certificate in SMKI terms. Walkthrough: docs/csr.md.",
      kProgram};
  app.set_version_flag("--version", app::version_text(kProgram));
  app.require_subcommand(1);
  Flags f;

  auto* make = declare_new(app, f);
  auto* check = declare_check(app, f);
  auto* accept = declare_accept(app, f);
  declare_show(app, f);  // the command when no other is

  app.footer(
      "Commands:\n"
      "  new     make a CSR (Appendix F) for a key, or for a new key it generates\n"
      "  check   every departure of a CSR from Appendix F\n"
      "  accept  ACCEPT or REJECT an issued certificate against its CSR, now\n"
      "  show    a CSR or certificate in SMKI terms\n" +
      app::key_help() +
      "Exit codes: 0 done / conforms / accept, 1 departs / reject, 2 usage error, 3 an input could not be read.\n"
      "Run 'mam-csr COMMAND --help' for each command's options.");

  if (auto code = app::parse(app, argc, argv)) return *code;
  try {
    if (make->parsed()) {
      for (const auto& [value, flag] :
           {std::pair{&f.role, "--role"}, {&f.eui, "--eui"}, {&f.usage, "--usage"}, {&f.out, "--out"}}) {
        if (value->empty()) {
          app::complain_usage(kProgram, std::string(flag) + " is required", "mam-csr new");
          return app::kExitUsage;
        }
      }
      return run_new(f);
    }
    if (check->parsed()) return run_check(f);
    if (accept->parsed()) {
      if (f.csr.empty() || f.cert.empty()) {
        app::complain_usage(kProgram, "--csr and --cert are required", "mam-csr accept");
        return app::kExitUsage;
      }
      return run_accept(f);
    }
    return run_show(f);
  } catch (const std::exception& e) {
    app::complain(kProgram, std::string("internal error: ") + e.what());
    return app::kExitUnreadable;
  }
}

}  // namespace

int main(int argc, char** argv) { return mamsign::app::run_main(kProgram, argc, argv, run); }
