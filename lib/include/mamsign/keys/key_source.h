// Private keys: files (PEM or DER), PKCS#12 bundles and keys on PKCS#11 tokens. Secrets never come from
// the command line, are never part of a message, and are wiped from memory when no longer needed.
#pragma once

#include "mamsign/base/error.h"
#include "mamsign/base/ossl.h"
#include "mamsign/keys/pkcs11_token.h"
#include "mamsign/base/secret.h"

#include <filesystem>
#include <string>
#include <vector>

namespace mamsign {

// A private key file: PEM or DER; PKCS#8 (encrypted or not) or the traditional EC and RSA forms.
// IoError when the file (or the passphrase file) cannot be read; InvalidInput when it holds no key or
// the passphrase does not decrypt it.
// `encrypted`, when given, says whether a passphrase was needed (a script that gives one for an
// unencrypted key deserves a word).
Result<EvpPkeyPtr> load_private_key(const std::filesystem::path& path, const PassphraseSource& passphrase,
                                    bool* encrypted = nullptr);

// A PKCS#12 bundle (.p12/.pfx; DER): its private key, the certificate that matches it and the other
// certificates (the chain). The passphrase is asked for only when the bundle is protected by one; a
// wrong one is INVALID_INPUT. Old exports (RC2, 3DES with SHA-1 MACs) are read through OpenSSL's legacy
// provider, loaded only for them.
struct Pkcs12Contents {
  EvpPkeyPtr key;
  std::string certificate;         // DER; empty when the bundle has no certificate for its key
  std::vector<std::string> chain;  // DER, as the bundle lists them
  bool passphrase_used = false;
};
Result<Pkcs12Contents> load_pkcs12(const std::filesystem::path& path, const PassphraseSource& passphrase);

// Where a signing key comes from, all behind one flag (--key): a key file, a PKCS#12 bundle or a
// pkcs11: URI. Whatever the source, the result is an EVP_PKEY, so nothing above this changes.
struct KeySourceOptions {
  PassphraseSource passphrase;  // key files and PKCS#12 bundles
  Pkcs11Options pkcs11;         // tokens: the module and the PIN
};

struct SigningKey {
  enum class Kind { File, Pkcs12, Token };
  Kind kind = Kind::File;
  EvpPkeyPtr key;
  std::string certificate;         // DER, when the source holds the key's certificate (bundle, token)
  std::vector<std::string> chain;  // DER, from a PKCS#12 bundle
  std::string description;         // the file, or the key and token
  std::string uri;                 // for a token key: the URI that names it alone
  bool passphrase_used = false;    // a passphrase (not a PIN) was needed
};

// `certificate`, when the caller already has it, gives a token key its public key.
Result<SigningKey> open_signing_key(const std::string& key, const KeySourceOptions& options,
                                    const X509* certificate = nullptr);

}  // namespace mamsign
