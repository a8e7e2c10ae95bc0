#include "mamsign/key_source.h"

#include "mamsign/io.h"

#include <openssl/decoder.h>
#include <openssl/err.h>
#include <openssl/ui.h>

#include <cstdlib>
#include <cstring>

namespace mamsign {
namespace {

constexpr std::size_t kMaxKeyFileBytes = 64 * 1024;
constexpr std::size_t kMaxPassphraseBytes = 1024;

struct PassphraseState {
  const PassphraseSource* source;
  const std::filesystem::path* key_path;
  bool asked = false;
  std::optional<Error> error;  // why no passphrase could be had
};

// The passphrase, as told by its source. Errors name the source, never the secret.
Result<SecretString> fetch_passphrase(const PassphraseSource& source, const std::filesystem::path& key_path) {
  switch (source.kind) {
    case PassphraseSource::Kind::None:
      return make_error(Reason::InvalidInput, "the key " + key_path.string() +
                                                  " is encrypted: give its passphrase with --pass-file FILE or "
                                                  "--pass-env VAR (or run on a terminal to be asked)");
    case PassphraseSource::Kind::File: {
      // A pipe is fine for a secret (`--pass-file <(vault read ...)`); the read is bounded either way.
      auto file = SequentialFile::open(source.where, "passphrase file", Readable::RegularFileOrPipe);
      if (!file) return std::move(file).error();
      SecretString text;
      text.mutable_value().resize(kMaxPassphraseBytes + 1);
      auto n = file->read(std::span(reinterpret_cast<std::uint8_t*>(text.mutable_value().data()), text.value().size()));
      if (!n) return std::move(n).error();
      text.mutable_value().resize(*n);
      const std::size_t eol = text.value().find_first_of("\r\n");
      if (eol != std::string::npos) {
        OPENSSL_cleanse(text.mutable_value().data() + eol, text.value().size() - eol);
        text.mutable_value().resize(eol);
      }
      if (text.value().size() > kMaxPassphraseBytes) {
        return make_error(Reason::InvalidInput, "the passphrase in " + source.where + " is longer than 1024 bytes");
      }
      return text;
    }
    case PassphraseSource::Kind::Env: {
      const char* value = std::getenv(source.where.c_str());
      if (value == nullptr) {
        return make_error(Reason::InvalidInput, "the environment variable " + source.where +
                                                    " (named by --pass-env) is not set");
      }
      return SecretString(value);
    }
    case PassphraseSource::Kind::Prompt: {
      SecretString text;
      text.mutable_value().resize(kMaxPassphraseBytes + 1);
      const std::string prompt = "Passphrase for " + key_path.string() + ": ";
      if (EVP_read_pw_string_min(text.mutable_value().data(), 1, static_cast<int>(kMaxPassphraseBytes), prompt.c_str(),
                                 0) != 0) {
        ERR_clear_error();
        return make_error(Reason::InvalidInput, "no passphrase was entered for " + key_path.string());
      }
      text.mutable_value().resize(std::strlen(text.value().c_str()));
      return text;
    }
  }
  return make_error(Reason::InvalidInput, "no passphrase source");
}

int passphrase_callback(char* pass, size_t pass_size, size_t* pass_len, const OSSL_PARAM*, void* arg) {
  auto* state = static_cast<PassphraseState*>(arg);
  state->asked = true;
  auto secret = fetch_passphrase(*state->source, *state->key_path);
  if (!secret) {
    state->error = std::move(secret).error();
    return 0;
  }
  if (secret->value().size() > pass_size) {
    state->error = make_error(Reason::InvalidInput, "the passphrase is too long");
    return 0;
  }
  std::memcpy(pass, secret->value().data(), secret->value().size());
  *pass_len = secret->value().size();
  return 1;
}

}  // namespace

void SecretString::wipe() noexcept {
  if (!value_.empty()) OPENSSL_cleanse(value_.data(), value_.size());
  value_.clear();
}

Result<EvpPkeyPtr> load_private_key(const std::filesystem::path& path, const PassphraseSource& passphrase,
                                    bool* encrypted) {
  auto file = SequentialFile::open(path, "private key");
  if (!file) return std::move(file).error();
  SecretString bytes;
  bytes.mutable_value().resize(kMaxKeyFileBytes + 1);
  auto n = file->read(std::span(reinterpret_cast<std::uint8_t*>(bytes.mutable_value().data()), bytes.value().size()));
  if (!n) return std::move(n).error();
  if (*n > kMaxKeyFileBytes) {
    return make_error(Reason::InvalidInput, "private key " + path.string() + " is larger than 64 KiB: not a key file");
  }
  bytes.mutable_value().resize(*n);

  EVP_PKEY* raw = nullptr;
  OsslPtr<OSSL_DECODER_CTX, OSSL_DECODER_CTX_free> ctx(
      OSSL_DECODER_CTX_new_for_pkey(&raw, nullptr, nullptr, nullptr, EVP_PKEY_KEYPAIR, nullptr, nullptr));
  if (!ctx) return make_error(Reason::InvalidInput, "cannot set up key decoding: " + take_openssl_errors());
  PassphraseState state{&passphrase, &path, false, std::nullopt};
  OSSL_DECODER_CTX_set_passphrase_cb(ctx.get(), passphrase_callback, &state);
  const auto* data = reinterpret_cast<const unsigned char*>(bytes.value().data());
  std::size_t len = bytes.value().size();
  const bool ok = OSSL_DECODER_from_data(ctx.get(), &data, &len) == 1 && raw != nullptr;
  EvpPkeyPtr key(raw);
  ERR_clear_error();  // the decoders that did not match leave noise behind
  if (ok) {
    if (encrypted != nullptr) *encrypted = state.asked;
    return key;
  }
  if (state.error) return *state.error;
  if (state.asked) {
    return make_error(Reason::InvalidInput, "cannot decrypt the private key " + path.string() +
                                                ": the passphrase is wrong");
  }
  return make_error(Reason::InvalidInput, path.string() + " holds no private key (expected PEM or DER, PKCS#8 "
                                                          "or traditional EC)");
}

}  // namespace mamsign
