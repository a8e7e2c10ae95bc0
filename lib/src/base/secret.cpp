#include "mamsign/base/secret.h"

#include "mamsign/base/io.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ui.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace mamsign {
namespace {

constexpr std::size_t kMaxSecretBytes = 1024;

}  // namespace

void SecretString::wipe() noexcept {
  if (!value_.empty()) OPENSSL_cleanse(value_.data(), value_.size());
  value_.clear();
}

Result<SecretString> read_secret(const PassphraseSource& source, const SecretPurpose& purpose) {
  switch (source.kind) {
    case PassphraseSource::Kind::None:
      return make_error(Reason::InvalidInput, purpose.needed_for + ": give its " + purpose.noun + " with " +
                                                  purpose.flags + " (or run on a terminal to be asked)");
    case PassphraseSource::Kind::File: {
      // A pipe is fine for a secret (`--pass-file <(vault read ...)`); the read is bounded either way.
      auto file = SequentialFile::open(source.where, purpose.noun + " file", Readable::RegularFileOrPipe);
      if (!file) return std::move(file).error();
      SecretString text;
      text.mutable_value().resize(kMaxSecretBytes + 1);
      auto n = file->read(std::span(reinterpret_cast<std::uint8_t*>(text.mutable_value().data()), text.value().size()));
      if (!n) return std::move(n).error();
      text.mutable_value().resize(*n);
      const std::size_t eol = text.value().find_first_of("\r\n");
      if (eol != std::string::npos) {
        OPENSSL_cleanse(text.mutable_value().data() + eol, text.value().size() - eol);
        text.mutable_value().resize(eol);
      }
      if (text.value().size() > kMaxSecretBytes) {
        return make_error(Reason::InvalidInput,
                          "the " + purpose.noun + " in " + source.where + " is longer than 1024 bytes");
      }
      return text;
    }
    case PassphraseSource::Kind::Env: {
      const char* value = std::getenv(source.where.c_str());
      if (value == nullptr) {
        return make_error(Reason::InvalidInput, "the environment variable " + source.where +
                                                    " (which should hold the " + purpose.noun + ") is not set");
      }
      if (std::strlen(value) > kMaxSecretBytes) {
        return make_error(Reason::InvalidInput,
                          "the " + purpose.noun + " in " + source.where + " is longer than 1024 bytes");
      }
      return SecretString(value);
    }
    case PassphraseSource::Kind::Prompt: {
      SecretString text;
      text.mutable_value().resize(kMaxSecretBytes + 1);
      if (EVP_read_pw_string_min(text.mutable_value().data(), 1, static_cast<int>(kMaxSecretBytes),
                                 purpose.prompt.c_str(), purpose.confirm ? 1 : 0) != 0) {
        ERR_clear_error();
        return make_error(Reason::InvalidInput, "no " + purpose.noun + " was entered (" + purpose.needed_for + ")");
      }
      text.mutable_value().resize(std::strlen(text.value().c_str()));
      return text;
    }
  }
  return make_error(Reason::InvalidInput, "no " + purpose.noun + " source");
}

PassphraseSource secret_source(const std::string& file, const std::string& env) {
  if (!file.empty()) return {PassphraseSource::Kind::File, file};
  if (!env.empty()) return {PassphraseSource::Kind::Env, env};
  // Ask on the terminal only when there is one; a script gets an error saying how to give it.
  const int tty = ::open("/dev/tty", O_RDONLY | O_CLOEXEC);
  if (tty >= 0) {
    ::close(tty);
    return {PassphraseSource::Kind::Prompt, ""};
  }
  return {};
}

}  // namespace mamsign
