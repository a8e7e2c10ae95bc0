#include "mamsign/keys/key_source.h"

#include "mamsign/base/io.h"

#include <openssl/decoder.h>
#include <openssl/pkcs12.h>
#include <openssl/provider.h>
#include <openssl/err.h>
#include <openssl/ui.h>

#include <cstdlib>
#include <algorithm>
#include <cctype>
#include <cstring>

namespace mamsign {
namespace {

constexpr std::size_t kMaxKeyFileBytes = 64 * 1024;
constexpr std::size_t kMaxPkcs12Bytes = 256 * 1024;  // a key and a chain of three are ~3 KiB
constexpr std::int64_t kMaxPkcs12Iterations = 10'000'000;

Result<SecretString> read_file_secretly(const std::filesystem::path& path, const char* what, std::size_t limit) {
  auto file = SequentialFile::open(path, what);
  if (!file) return std::move(file).error();
  SecretString bytes;
  bytes.mutable_value().resize(limit + 1);
  auto n = file->read(std::span(reinterpret_cast<std::uint8_t*>(bytes.mutable_value().data()), bytes.value().size()));
  if (!n) return std::move(n).error();
  if (*n > limit) {
    return make_error(Reason::InvalidInput, std::string(what) + " " + path.string() + " is larger than " +
                                                std::to_string(limit / 1024) + " KiB");
  }
  bytes.mutable_value().resize(*n);
  return bytes;
}

Error key_file_too_large(const std::filesystem::path& path) {
  return make_error(Reason::InvalidInput, "private key " + path.string() + " is larger than 64 KiB: not a key file");
}

using Pkcs12Ptr = OsslPtr<PKCS12, PKCS12_free>;

void unload_provider(OSSL_PROVIDER* p) noexcept { OSSL_PROVIDER_unload(p); }

Pkcs12Ptr parse_pkcs12_der(const std::string& bytes) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  Pkcs12Ptr p12(d2i_PKCS12(nullptr, &p, static_cast<long>(bytes.size())));
  ERR_clear_error();
  if (p12 && p != reinterpret_cast<const unsigned char*>(bytes.data()) + bytes.size()) return nullptr;
  return p12;
}

std::string der_of(X509* cert) {
  unsigned char* der = nullptr;
  const int n = i2d_X509(cert, &der);
  if (n <= 0) return {};
  std::string out(reinterpret_cast<const char*>(der), static_cast<std::size_t>(n));
  OPENSSL_free(der);
  return out;
}

struct PassphraseState {
  const PassphraseSource* source;
  const std::filesystem::path* key_path;
  bool asked = false;
  std::optional<Error> error;  // why no passphrase could be had
};

SecretPurpose key_passphrase(const std::filesystem::path& key_path) {
  return {"the key " + key_path.string() + " is encrypted", "Passphrase for " + key_path.string() + ": ",
          "--pass-file FILE or --pass-env VAR", "passphrase"};
}

int passphrase_callback(char* pass, size_t pass_size, size_t* pass_len, const OSSL_PARAM*, void* arg) {
  auto* state = static_cast<PassphraseState*>(arg);
  state->asked = true;
  auto secret = read_secret(*state->source, key_passphrase(*state->key_path));
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

// A PKCS#12 bundle by its name (.p12, .pfx) or, failing that, by its content.
bool looks_like_pkcs12(const std::filesystem::path& path, const std::string& bytes) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (ext == ".p12" || ext == ".pfx") return true;
  return !bytes.empty() && bytes[0] == 0x30 && parse_pkcs12_der(bytes) != nullptr;
}

Result<Pkcs12Contents> decode_pkcs12(const SecretString& bytes, const std::filesystem::path& path,
                                     const PassphraseSource& passphrase) {
  Pkcs12Ptr p12 = parse_pkcs12_der(bytes.value());
  if (!p12) {
    return make_error(Reason::InvalidInput, path.string() +
                                                " is not a PKCS#12 bundle (expected DER, as .p12/.pfx "
                                                "exports are)");
  }
  Pkcs12Contents out;
  SecretString pass;
  const auto ask = [&]() -> Status {
    auto secret = read_secret(
        passphrase, {"the PKCS#12 bundle " + path.string() + " is protected by a passphrase",
                     "Passphrase for " + path.string() + ": ", "--pass-file FILE or --pass-env VAR", "passphrase"});
    if (!secret) return std::move(secret).error();
    pass = std::move(*secret);
    out.passphrase_used = true;
    return Status::ok();
  };
  // Which passphrase: none, the empty one, or the one its source gives, asked for only when needed.
  // The MAC says which is right without decrypting anything.
  std::optional<const char*> chosen;
  if (PKCS12_mac_present(p12.get()) == 1) {
    // The bundle sets its own work factor: a hostile one could ask for hours of PBKDF rounds.
    const ASN1_INTEGER* iterations = nullptr;
    PKCS12_get0_mac(nullptr, nullptr, nullptr, &iterations, p12.get());
    std::int64_t n = 1;
    if (iterations != nullptr && (ASN1_INTEGER_get_int64(&n, iterations) != 1 || n > kMaxPkcs12Iterations)) {
      ERR_clear_error();
      return make_error(Reason::InvalidInput, "the PKCS#12 bundle " + path.string() +
                                                  " asks for more than 10,000,000 MAC iterations; refused (exports use "
                                                  "2,048 to 600,000)");
    }
    for (const char* candidate : {static_cast<const char*>(nullptr), ""}) {
      if (PKCS12_verify_mac(p12.get(), candidate, 0) == 1) {
        chosen = candidate;
        break;
      }
    }
    ERR_clear_error();
    if (!chosen) {
      if (auto st = ask(); !st) return std::move(st).error();
      if (PKCS12_verify_mac(p12.get(), pass.value().c_str(), static_cast<int>(pass.value().size())) != 1) {
        ERR_clear_error();
        return make_error(Reason::InvalidInput, "cannot open the PKCS#12 bundle " + path.string() +
                                                    ": the passphrase is wrong (its integrity check fails)");
      }
      chosen = pass.value().c_str();
    }
  }
  const auto parse = [&](const char* pw) {
    EVP_PKEY* key = nullptr;
    X509* cert = nullptr;
    STACK_OF(X509)* ca = nullptr;
    const bool ok = PKCS12_parse(p12.get(), pw, &key, &cert, &ca) == 1 && key != nullptr;
    EvpPkeyPtr key_holder(key);
    X509Ptr cert_holder(cert);
    X509StackPtr ca_holder(ca);
    if (!ok) return false;
    out.key = std::move(key_holder);
    if (cert != nullptr) out.certificate = der_of(cert);
    out.chain.clear();
    for (int i = 0; ca != nullptr && i < sk_X509_num(ca); ++i) out.chain.push_back(der_of(sk_X509_value(ca, i)));
    return true;
  };
  // Old exports encrypt with RC2 or similar: OpenSSL 3 reads them only through its legacy provider,
  // loaded for this bundle and unloaded once its key is out.
  OsslPtr<OSSL_PROVIDER, unload_provider> legacy;
  const auto parse_any = [&](const char* pw) {
    if (parse(pw)) return true;
    ERR_clear_error();
    if (!legacy && OSSL_PROVIDER_available(nullptr, "legacy") == 0) {
      legacy.reset(OSSL_PROVIDER_try_load(nullptr, "legacy", 1));
      if (legacy && parse(pw)) return true;
    }
    ERR_clear_error();
    return false;
  };
  if (chosen) {
    if (parse_any(*chosen)) return out;
    return make_error(Reason::InvalidInput, "cannot open the PKCS#12 bundle " + path.string() +
                                                ": it holds no private key it can decrypt (or uses an algorithm "
                                                "OpenSSL does not offer)");
  }
  // No MAC: try without a passphrase, then with one.
  if (parse_any(nullptr) || parse_any("")) return out;
  if (auto st = ask(); !st) return std::move(st).error();
  if (parse_any(pass.value().c_str())) return out;
  return make_error(Reason::InvalidInput, "cannot open the PKCS#12 bundle " + path.string() +
                                              ": the passphrase is wrong, or it holds no private key");
}

Result<EvpPkeyPtr> decode_private_key(const SecretString& bytes, const std::filesystem::path& path,
                                      const PassphraseSource& passphrase, bool* encrypted) {
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
    return make_error(Reason::InvalidInput,
                      "cannot decrypt the private key " + path.string() + ": the passphrase is wrong");
  }
  return make_error(Reason::InvalidInput, path.string() +
                                              " holds no private key (expected PEM or DER, PKCS#8 "
                                              "or traditional EC)");
}

}  // namespace

Result<Pkcs12Contents> load_pkcs12(const std::filesystem::path& path, const PassphraseSource& passphrase) {
  auto bytes = read_file_secretly(path, "PKCS#12 bundle", kMaxPkcs12Bytes);
  if (!bytes) return std::move(bytes).error();
  return decode_pkcs12(*bytes, path, passphrase);
}

Result<SigningKey> open_signing_key(const std::string& key, const KeySourceOptions& options, const X509* certificate) {
  SigningKey out;
  if (is_pkcs11_uri(key)) {
    auto uri = parse_pkcs11_uri(key);
    if (!uri) return std::move(uri).error();
    auto token_key = open_token_key(*uri, options.pkcs11, certificate);
    if (!token_key) return std::move(token_key).error();
    out.kind = SigningKey::Kind::Token;
    out.key = std::move(token_key->key);
    out.certificate = std::move(token_key->certificate);
    out.description = std::move(token_key->description);
    out.uri = std::move(token_key->uri);
    return out;
  }
  // The file is read once, whatever it turns out to hold.
  auto bytes = read_file_secretly(key, "private key", kMaxPkcs12Bytes);
  if (!bytes) return std::move(bytes).error();
  if (looks_like_pkcs12(key, bytes->value())) {
    auto bundle = decode_pkcs12(*bytes, key, options.passphrase);
    if (!bundle) return std::move(bundle).error();
    out.kind = SigningKey::Kind::Pkcs12;
    out.key = std::move(bundle->key);
    out.certificate = std::move(bundle->certificate);
    out.chain = std::move(bundle->chain);
    out.passphrase_used = bundle->passphrase_used;
    out.description = "the PKCS#12 bundle " + key;
    return out;
  }
  if (bytes->value().size() > kMaxKeyFileBytes) return key_file_too_large(key);
  auto file_key = decode_private_key(*bytes, key, options.passphrase, &out.passphrase_used);
  if (!file_key) return std::move(file_key).error();
  out.key = std::move(*file_key);
  out.description = key;
  return out;
}

Result<EvpPkeyPtr> load_private_key(const std::filesystem::path& path, const PassphraseSource& passphrase,
                                    bool* encrypted) {
  auto bytes = read_file_secretly(path, "private key", kMaxKeyFileBytes + 1);
  if (!bytes) return std::move(bytes).error();
  if (bytes->value().size() > kMaxKeyFileBytes) return key_file_too_large(path);
  return decode_private_key(*bytes, path, passphrase, encrypted);
}

}  // namespace mamsign
