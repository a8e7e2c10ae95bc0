// Private keys and their passphrases. Secrets never come from the command line, are never part of a
// message, and are wiped from memory when they are no longer needed.
#pragma once

#include "mamsign/error.h"
#include "mamsign/ossl.h"

#include <filesystem>
#include <string>

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

// Where the passphrase of an encrypted key comes from. Asked for only when the key is encrypted.
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

// A private key file: PEM or DER; PKCS#8 (encrypted or not) or the traditional EC and RSA forms.
// IoError when the file (or the passphrase file) cannot be read; InvalidInput when it holds no key or
// the passphrase does not decrypt it.
// `encrypted`, when given, says whether a passphrase was needed (a script that gives one for an
// unencrypted key deserves a word).
Result<EvpPkeyPtr> load_private_key(const std::filesystem::path& path, const PassphraseSource& passphrase,
                                    bool* encrypted = nullptr);

}  // namespace mamsign
