// `mam-csr new`: a CSR in the structure of Appendix F for a key given with --key or generated with
// --new-key, checked as any CSR is before a byte of it is written.
#include "csr_app.h"

#include "common/output.h"

#include "mamsign/base/atomic_file.h"
#include "mamsign/pki/cert_builder.h"

#include <unistd.h>

#include <iostream>

namespace csr_app {

using namespace mamsign;

namespace {

constexpr std::size_t kMinNewPassphrase = 8;

// What the request is to say, from --role, --eui and --usage.
struct Subject {
  std::uint8_t role = 0;
  Eui64 eui;
  Usage usage = Usage::DigitalSignature;
};

// The flags of `new`, parsed and checked against each other; nullopt (having said why) on a usage error.
std::optional<Subject> parse_new_flags(const Flags& f) {
  const auto refuse = [](const std::string& why) -> std::optional<Subject> {
    app::complain_usage(kProgram, why, "mam-csr new");
    return std::nullopt;
  };
  const auto role = parse_role(f.role);
  if (!role) {
    return refuse("--role takes a Remote Party Role code (02) or name (supplier, network-operator, ...), not \"" +
                  f.role + "\"");
  }
  auto eui = Eui64::parse(f.eui);
  if (!eui) return refuse("--eui: " + eui.error().message);
  const auto usage = parse_usage(f.usage);
  if (!usage) return refuse("--usage takes ds (digitalSignature) or ka (keyAgreement), not \"" + f.usage + "\"");
  if (f.keys.key.empty() == f.new_key.empty()) {
    return refuse("give the key to certify with --key, or --new-key FILE to generate one (one of them)");
  }
  if (!f.cn.empty() && f.cn.size() > 64)
    return refuse("--cn is at most 64 characters (X.520's upper bound for commonName)");
  if (f.no_encrypt && f.new_key.empty()) return refuse("--no-encrypt is for --new-key");
  if (!f.new_key.empty() && (!f.keys.pin_file.empty() || !f.keys.pin_env.empty())) {
    return refuse("--new-key writes a key file; --pin-file and --pin-env are for a pkcs11: --key");
  }
  if (!f.new_key.empty() && f.no_encrypt && (!f.keys.pass_file.empty() || !f.keys.pass_env.empty())) {
    return refuse("--no-encrypt and a passphrase contradict each other");
  }
  if (!app::check_key_flags(kProgram, f.keys)) return std::nullopt;
  return Subject{*role, *eui, *usage};
}

// The passphrase for a new key: nullopt (having said why, `exit_code` set) when there is none to take.
std::optional<SecretString> new_passphrase(const Flags& f, int& exit_code) {
  auto secret = read_secret(
      secret_source(f.keys.pass_file, f.keys.pass_env),
      {"the new key " + f.new_key + " is written encrypted", "New passphrase for " + f.new_key + ": ",
       "--pass-file FILE or --pass-env VAR, or refuse the protection with --no-encrypt", "passphrase", true});
  if (!secret) {
    app::complain(kProgram, secret.error().message);
    exit_code = secret.error().reason == Reason::IoError ? app::kExitUnreadable : app::kExitUsage;
    return std::nullopt;
  }
  if (secret->value().size() < kMinNewPassphrase) {
    app::complain(kProgram, "the passphrase for " + f.new_key + " is shorter than 8 characters; choose a longer one");
    exit_code = app::kExitUsage;
    return std::nullopt;
  }
  return std::move(*secret);
}

// --new-key: a P-256 key generated and written (mode 0600, never over a file); null and `exit_code` set
// when it cannot be.
EvpPkeyPtr generate_new_key(const Flags& f, int& exit_code) {
  std::error_code ec;
  // Refused before anything is generated: a key file is never replaced.
  if (std::filesystem::exists(std::filesystem::symlink_status(f.new_key, ec))) {
    app::complain(kProgram, f.new_key + " already exists; a key is never written over (choose another --new-key)");
    exit_code = app::kExitUsage;
    return nullptr;
  }
  SecretString passphrase;
  if (!f.no_encrypt) {
    auto secret = new_passphrase(f, exit_code);
    if (!secret) return nullptr;
    passphrase = std::move(*secret);
  }
  auto generated = generate_key(KeyType::P256);
  auto pem = generated ? private_key_pem(generated->get(), f.no_encrypt ? nullptr : &passphrase.value())
                       : Result<std::string>(generated.error());
  if (!pem) {
    app::complain(kProgram, pem.error().message);
    exit_code = app::kExitFailed;
    return nullptr;
  }
  SecretString pem_text(std::move(*pem));
  if (auto st = write_file_atomically(f.new_key, pem_text.value(), {Replace::No, true, 0600, {}}); !st) {
    app::complain(kProgram, "cannot write the new key: " + st.error().message);
    exit_code = app::kExitUnreadable;
    return nullptr;
  }
  app::complain(kProgram, "wrote the new P-256 key " + f.new_key + " (mode 0600, " +
                              (f.no_encrypt ? std::string("NOT encrypted, as --no-encrypt asked")
                                            : std::string("encrypted: PKCS#8, AES-256")) +
                              ")");
  return std::move(*generated);
}

// The CSR's DER, made and read back and checked as any CSR is: it must conform, or nothing is written.
std::optional<std::string> conforming_csr(const Subject& subject, const std::string& cn, EVP_PKEY* key,
                                          int& exit_code) {
  CsrSpec spec;
  if (!cn.empty()) spec.common_name = cn;
  spec.ou = role_code(subject.role);
  spec.eui64 = subject.eui;
  spec.key_usage = subject.usage == Usage::DigitalSignature ? KU_DIGITAL_SIGNATURE : KU_KEY_AGREEMENT;
  auto der = build_csr(spec, key);
  if (!der) {
    app::complain(kProgram, "cannot make the CSR: " + der.error().message);
    exit_code = der.error().reason == Reason::IoError ? app::kExitUnreadable : app::kExitFailed;
    return std::nullopt;
  }
  auto made = CertificateRequest::read(*der);
  if (!made) {
    app::complain(kProgram, "internal error: the CSR made does not read back: " + made.error().message);
    exit_code = app::kExitFailed;
    return std::nullopt;
  }
  if (const auto findings = made->check(); !findings.empty()) {
    for (const auto& finding : findings) {
      app::complain(kProgram, "the CSR would break " + finding.rule + ": expected " + finding.expected + ", found " +
                                  finding.found);
    }
    app::complain(kProgram, "nothing was written");
    exit_code = app::kExitFailed;
    return std::nullopt;
  }
  return std::move(*der);
}

// The CSR to --out (atomically) or standard output, PEM or --der.
int write_csr(const Flags& f, const std::string& der) {
  const std::string bytes = f.der ? der : csr_pem(der);
  if (f.out == "-") {
    if (f.der && ::isatty(STDOUT_FILENO)) {
      app::complain(kProgram, "--der to a terminal: give --out FILE, or redirect standard output");
      return app::kExitUsage;
    }
    std::cout.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    std::cout.flush();
    if (!std::cout) return app::with_output_checked(kProgram, app::kExitUnreadable);
  } else if (auto st = write_file_atomically(f.out, bytes, {f.force ? Replace::Yes : Replace::No, true, 0644, {}});
             !st) {
    app::complain(kProgram, "cannot write the CSR: " + st.error().message);
    return app::kExitUnreadable;
  }
  auto made = CertificateRequest::read(der);
  app::complain(kProgram, (f.out == "-" ? std::string("wrote the CSR") : "wrote " + f.out) + ": " +
                              (made ? request_words(*made) : std::string("?")) +
                              "; it conforms to Appendix F (check it any time with mam-csr check)");
  return app::kExitOk;
}

}  // namespace

int run_new(const Flags& f) {
  const auto subject = parse_new_flags(f);
  if (!subject) return app::kExitUsage;
  std::error_code ec;
  if (f.out != "-" && !f.force && std::filesystem::exists(std::filesystem::symlink_status(f.out, ec))) {
    app::complain(kProgram, f.out + " already exists; choose another --out or give --force to replace it");
    return app::kExitUsage;
  }
  int exit_code = app::kExitOk;
  EvpPkeyPtr key;
  if (!f.new_key.empty()) {
    key = generate_new_key(f, exit_code);
    if (!key) return exit_code;
  } else {
    auto opened = app::open_key(kProgram, f.keys, nullptr);
    if (!opened) return app::kExitUnreadable;
    key = std::move(opened->key);
  }
  const auto der = conforming_csr(*subject, f.cn, key.get(), exit_code);
  if (!der) return exit_code;
  return write_csr(f, *der);
}

}  // namespace csr_app
