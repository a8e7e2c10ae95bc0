// Secrets (passphrases, token PINs): where they come from and how they are held. A secret never comes
// from the command line, is never part of a message, and is wiped from memory when it goes.
#pragma once

#include "mamsign/base/error.h"

#include <string>
#include <string_view>

namespace mamsign {

// A string wiped (OPENSSL_cleanse) when it goes; cannot be copied.
class SecretString {
 public:
  SecretString() = default;
  explicit SecretString(std::string value) : value_(std::move(value)) {}
  SecretString(SecretString&& other) noexcept : value_(std::move(other.value_)) { other.wipe(); }
  SecretString& operator=(SecretString&& other) noexcept {
    if (this != &other) {
      wipe();
      value_ = std::move(other.value_);
      other.wipe();
    }
    return *this;
  }
  SecretString(const SecretString&) = delete;
  SecretString& operator=(const SecretString&) = delete;
  ~SecretString() { wipe(); }

  const std::string& value() const noexcept { return value_; }
  std::string& mutable_value() noexcept { return value_; }
  void wipe() noexcept;

 private:
  std::string value_;
};

// Where a secret comes from: the passphrase of an encrypted key or PKCS#12 bundle, or a token's PIN.
// Asked for only when it is needed.
struct PassphraseSource {
  enum class Kind {
    None,    // an encrypted key is an error that says how to give the passphrase
    File,    // the first line of a file (mode 0600 recommended)
    Env,     // an environment variable
    Prompt,  // asked on the terminal, without echo
  };
  Kind kind = Kind::None;
  std::string where;  // the file's path or the variable's name
};

// What a secret is for, so that every message about it is precise.
struct SecretPurpose {
  std::string needed_for;  // "the key supplier.key is encrypted", "the token SMKI needs its user PIN"
  std::string prompt;      // "Passphrase for supplier.key: "
  std::string flags;       // "--pass-file FILE or --pass-env VAR", "--pin-file FILE or --pin-env VAR"
  std::string noun;        // "passphrase", "PIN"
  bool confirm = false;    // at the prompt, ask twice (a new secret that nothing can check yet)
};

// Reads the secret from its source: a file's first line (CR/LF and what follows dropped; a pipe is fine),
// an environment variable, or the terminal without echo. INVALID_INPUT says why none could be had and
// how to give one, never the secret; IO_ERROR when the file cannot be read. At most 1024 bytes.
Result<SecretString> read_secret(const PassphraseSource& source, const SecretPurpose& purpose);

// The source the flags name, else the terminal when there is one, else none (a script gets an error that
// says how to give the secret). `file` and `env` are the flags' values, empty when not given.
PassphraseSource secret_source(const std::string& file, const std::string& env);

}  // namespace mamsign
