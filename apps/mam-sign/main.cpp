// mam-sign: signs SMETS1 migration files with a supplier's SMKI Organisation Certificate (MAM 7.5.3).
#include "common/app_common.h"
#include "common/batch_ui.h"
#include "common/key_flags.h"
#include "common/vocabulary.h"

#include "mamsign/base/atomic_file.h"
#include "mamsign/keys/key_source.h"
#include "mamsign/signer.h"
#include "mamsign/base/times.h"

#include <fcntl.h>
#include <unistd.h>

#include <iostream>
#include <set>

namespace {

using namespace mamsign;
using json = nlohmann::ordered_json;

const char* const kProgram = "mam-sign";

struct Flags {
  std::string cert, format = "cms", out, profile;
  app::KeyFlags keys;
  std::vector<std::string> chain, trust, crl;
  bool force = false, no_name_check = false, json_output = false, skip_signed = false, sync = false, print_profile = false;
  app::RevocationFlags revocation;
  app::BatchFlags batch;
};

// What happened to one file, and how it is shown.
struct FileReport {
  std::string file;
  Result<SignOutcome> outcome;
};

// The result's line on standard output: JSON, or text made safe.
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
      j["message"] = r.outcome->kind == SignOutcome::Kind::Signed ? "signed" : "an existing signature verifies for this signer";
      j["sha256"] = to_hex(r.outcome->sha256);
      j["signing_time"] = r.outcome->kind == SignOutcome::Kind::Signed && format == SignatureFormat::Cms
                              ? app::time_json(r.outcome->signing_time)
                              : json(nullptr);
    } else {
      j["signature"] = nullptr;
      j["result"] = app::failure_result(app::Verb::Sign, r.outcome.error().reason);
      j["reason"] = std::string(reason_name(r.outcome.error().reason));
      j["message"] = r.outcome.error().message;
      j["sha256"] = nullptr;
      j["signing_time"] = nullptr;
    }
    j["signer"] = signer ? app::signer_json(signer->certificate()) : json(nullptr);
    j["revocation"] = app::revocation_json(signer ? signer->revocation() : std::nullopt);
    j["profile"] = app::profile_json(profile);
    return app::json_line(j);
  }
  const std::string notes = app::notes_text(app::with_profile_note({}, profile));
  if (r.outcome) {
    if (r.outcome->kind == SignOutcome::Kind::Skipped) {
      return app::safe_text(r.file + ": skipped: " + r.outcome->signature.string() + " already verifies for this signer" + notes);
    }
    return app::safe_text(r.file + ": signed -> " + r.outcome->signature.string() + " (" + std::string(format_name(format)) +
                          ", sha256 " + to_hex(r.outcome->sha256) + ")" + notes);
  }
  const Reason reason = r.outcome.error().reason;
  return app::safe_text(r.file + ": " + std::string(app::failure_word(app::Verb::Sign, reason)) + " " +
                        std::string(reason_name(reason)) + ": " + r.outcome.error().message + notes);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "mam-sign: sign SMETS1 migration files (MA, MAPASSWORD, dormant-meter notifications) with a supplier's\n"
      "SMKI Organisation Certificate, as MAM clause 7.5.3 requires (profile: docs/signing-profile.md).\n\n"
      "Before signing it checks the certificate (role 02 supplier, digitalSignature only, P-256, valid now, the\n"
      "policy OID), that the key is the certificate's, and that each file name is a migration file name naming\n"
      "the signer's party. The signature goes beside the file (FILE.p7s, or FILE.sig with --format raw), written\n"
      "atomically; an existing signature is never replaced without --force.",
      kProgram};
  app.set_version_flag("--version", app::version_text(kProgram));
  Flags f;
  app::add_key_flags(app, f.keys, true, "(required) the signer's private key");
  app.add_option("--cert", f.cert,
                 "the signer's Organisation Certificate: PEM or DER, or a pkcs11: URI with type=cert (default: the "
                 "PKCS#12 bundle's, or the token's certificate with the key's id; required with a key file)")
      ->option_text("CERT");
  app.add_option("--chain", f.chain, "certificates to embed after the signer's (the OCA); repeatable (a PKCS#12 "
                                     "bundle's chain comes first)")
      ->allow_extra_args(false)->option_text("PEM");
  app.add_option("--trust", f.trust,
                 "SMKI root and OCA: refuse to sign unless the certificate chains to them (as the DCC will check); "
                 "repeatable")
      ->allow_extra_args(false)
      ->option_text("PATH");
  app.add_option("--crl", f.crl, "with --trust: refuse to sign with a revoked certificate; repeatable")
      ->allow_extra_args(false)
      ->option_text("PATH");
  app::add_revocation_flags(app, f.revocation);
  app.add_option("--format", f.format, "cms: detached CMS SignedData in FILE.p7s; raw: bare ECDSA signature in FILE.sig")
      ->check(CLI::IsMember({"cms", "raw"}))
      ->capture_default_str();
  app.add_option("--out", f.out, "where to write the signature (one FILE only)")->option_text("PATH");
  app.add_flag("--force", f.force, "replace an existing signature");
  app.add_flag("--skip-signed", f.skip_signed, "leave files whose existing signature verifies for this signer");
  app.add_flag("--no-name-check", f.no_name_check,
               "sign files that are not migration files: skip the file-name and signer-party checks");
  app.add_flag("--json", f.json_output, "one JSON object per file, on its own line");
  app.add_option("--profile", f.profile, "a JSON profile overriding the built-in one (default: $MAMSIGN_PROFILE, else /etc/mamsign/profile.json; docs/profile.md)")->option_text("FILE");
  app.add_flag("--print-profile", f.print_profile, "print the profile in effect as JSON (its $comment says where it came from) and exit");
  app.add_flag("--sync", f.sync, "fsync every signature before reporting it (survives power loss; slower)");
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
      "  mam-sign --key supplier.p12 --pass-file p12.pass MA_*.csv\n\n"
      "Batches: files, folders (-r to descend) and --from lists are signed on --jobs threads; results come in input\n"
      "order on standard output, a summary on standard error. --skip-signed makes a re-run sign only what is left.\n"
      "SIGINT/SIGTERM finish the files in flight and stop; no partial signature is ever left.\n\n" +
      app::key_help() + "\n" +
      app::exit_code_help(true));

  if (auto code = app::parse(app, argc, argv)) return *code;

  auto loaded_profile = app::load_profile(kProgram, f.profile);
  if (!loaded_profile) return app::kExitUnreadable;
  if (!app::apply_revocation_flags(kProgram, f.revocation, *loaded_profile)) return app::kExitUsage;
  const Profile& profile = *loaded_profile;
  if (f.print_profile) {
    app::Output::standard().line(app::profile_text(profile));
    return app::with_output_checked(kProgram, app::kExitOk);
  }
  if (!app::check_key_flags(kProgram, f.keys)) return app::kExitUsage;
  if (f.keys.list_keys_given()) return app::list_keys(kProgram, f.keys, f.json_output);
  if (f.keys.key.empty()) {
    app::complain_usage(kProgram, "--key is required (a key file, a PKCS#12 bundle or a pkcs11: URI; --list-keys "
                                  "shows the keys on a token)", kProgram);
    return app::kExitUsage;
  }
  int exit_code = app::kExitOk;
  std::map<std::filesystem::path, std::vector<std::string>> hidden_in_folder;
  auto files = app::collect(kProgram, f.batch, exit_code, &hidden_in_folder);
  if (!files) return exit_code;
  if (files->empty()) {
    app::complain(kProgram, "0 files: the folders and lists given hold no file to sign");
    return app::kExitOk;
  }
  if (!f.out.empty() && files->size() != 1) {
    app::complain(kProgram, "--out names one signature file, but " + std::to_string(files->size()) + " files were given");
    return app::kExitUsage;
  }
  if (std::error_code ec; !f.out.empty() && std::filesystem::is_directory(f.out, ec)) {
    app::complain(kProgram, "--out names the signature file to write, but " + f.out +
                                " is a folder; give a file name, or leave --out out to write FILE.p7s beside FILE");
    return app::kExitUsage;
  }
  const SignatureFormat format = *parse_format(f.format);

  // The certificate first when it is named: a token key takes its public key from it.
  OrgCertPtr cert;
  if (!f.cert.empty()) {
    auto loaded = app::load_certificate(kProgram, "certificate", f.cert, f.keys);
    if (!loaded) return app::kExitUnreadable;
    cert = *loaded;
  }
  auto key = app::open_key(kProgram, f.keys, cert ? cert->x509() : nullptr);
  if (!key) return app::kExitUnreadable;
  if (!cert) {
    if (key->certificate.empty()) {
      app::complain_usage(kProgram, "--cert is required: " + key->description + " holds no certificate for its key",
                          kProgram);
      return app::kExitUsage;
    }
    cert = OrgCert::from_der(key->certificate);
    if (!cert) {
      app::complain(kProgram, "certificate: the certificate in " + key->description + " is not an X.509 certificate");
      return app::kExitUnreadable;
    }
  }
  std::vector<OrgCertPtr> chain;
  for (const auto& der : key->chain) {
    if (auto c = OrgCert::from_der(der)) chain.push_back(c);
  }
  for (const auto& path : f.chain) {
    auto loaded = OrgCert::load(path);
    if (!loaded) {
      app::complain(kProgram, "chain: " + loaded.error().message);
      return app::kExitUnreadable;
    }
    chain.push_back(*loaded);
  }

  f.trust = app::trust_or_default(f.trust);
  if (!f.trust.empty()) f.crl = app::crls_or_default(f.crl);
  std::shared_ptr<TrustStore> trust;
  if (!f.trust.empty()) {
    trust = app::load_trust(kProgram, f.trust, f.crl, profile);
    if (!trust) return app::kExitUnreadable;
  } else if (!f.crl.empty()) {
    app::complain(kProgram, "--crl needs --trust: a CRL is checked against the trust anchors that issued it");
    return app::kExitUsage;
  } else if (profile.require_crl) {
    app::complain(kProgram, "--require-crl needs --trust and --crl: revocation is checked along the chain to the SMKI root");
    return app::kExitUsage;
  }

  // The key and certificate are checked once; a refusal here refuses every file, each with its line.
  auto signer = Signer::create(std::move(key->key), cert, std::move(chain), profile, std::time(nullptr), trust.get());
  // Setup mistakes are said once, before any file: a key that is not the certificate's, or trust
  // anchors that cannot validate the certificate's chain at all. (A certificate the profile refuses is
  // each file's refusal, as before.)
  if (!signer && (signer.error().reason == Reason::KeyMismatch || signer.error().reason == Reason::UntrustedChain)) {
    app::complain(kProgram, std::string(reason_name(signer.error().reason)) + ": " + signer.error().message +
                                "; nothing was signed (check --key, --cert and --trust)");
    return app::kExitUnreadable;
  }
  if (signer && !trust) {
    app::complain(kProgram, "warning: without --trust the certificate's chain to the SMKI root and its revocation are not "
                            "checked; the DCC will check both");
  } else if (signer && signer->revocation()) {
    const RevocationStatus& rev = *signer->revocation();
    if (!rev.checked) {
      app::complain(kProgram, "warning: revocation not checked: no CRL of " + rev.issuer +
                                  " was given (--crl; --require-crl makes this a refusal)");
    }
    for (const auto& note : rev.notes) app::complain(kProgram, "warning: " + note);
  }
  SignOptions options;
  options.format = format;
  if (!f.out.empty()) options.out = f.out;
  options.replace = f.force;
  options.check_names = !f.no_name_check;
  options.skip_signed = f.skip_signed;
  options.sync = f.sync;

  if (signer) {
    // Temporaries left by an earlier run that was killed go before this run writes beside them.
    std::set<std::filesystem::path> folders;
    for (const auto& file : *files) folders.insert(options.out ? options.out->parent_path() : file.parent_path());
    for (const auto& folder : folders) {
      const auto listed = hidden_in_folder.find(folder);  // its hidden names are known: not listed again
      remove_stale_temporaries(folder, listed != hidden_in_folder.end() ? &listed->second : nullptr);
    }
  }

  std::ios::sync_with_stdio(false);
  const std::function<FileReport(std::size_t)> work = [&](std::size_t i) {
    const std::string file = (*files)[i].string();
    if (!signer) return FileReport{file, Result<SignOutcome>(signer.error())};
    try {
      return FileReport{file, signer->sign_file((*files)[i], options)};
    } catch (const std::exception& e) {
      return FileReport{file, Result<SignOutcome>(make_error(Reason::IoError, std::string("internal error: ") + e.what()))};
    }
  };
  const std::function<app::Verdict(const FileReport&)> show = [&](const FileReport& report) {
    std::string line = render(report, signer ? &*signer : nullptr, profile, format, f.json_output);
    if (!report.outcome) return app::Verdict{"", report.outcome.error().reason, std::move(line)};
    return app::Verdict{std::string(report.outcome->kind == SignOutcome::Kind::Signed ? app::kSigned : app::kSkipped), std::nullopt,
                        std::move(line)};
  };
  return app::run_batch(kProgram, *files, f.batch, "refused", work, show);
}
