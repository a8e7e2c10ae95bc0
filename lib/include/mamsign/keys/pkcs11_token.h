// Keys and certificates on PKCS#11 tokens (HSMs, smart cards, SoftHSM2), named by RFC 7512 URIs.
//
// mamsign talks PKCS#11 itself: it loads the module, logs in once per run with a PIN from a file, an
// environment variable or the terminal (never tried twice: tokens lock after a few wrong PINs), and signs
// with C_Sign(CKM_ECDSA) on one session per thread. The key is handed on as an EVP_PKEY whose signing
// goes to the token, so the signer above it does not know or care where the key is. docs/hsm.md says why
// this route and not OpenSSL's pkcs11 provider or engine.
#pragma once

#include "mamsign/base/error.h"
#include "mamsign/base/ossl.h"
#include "mamsign/keys/pkcs11_uri.h"
#include "mamsign/base/secret.h"

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace mamsign {

struct Pkcs11Options {
  // The module: this path, else the URI's module-path, else $MAMSIGN_PKCS11_MODULE, else the system's
  // p11-kit proxy when it is installed.
  std::optional<std::filesystem::path> module;
  PassphraseSource pin;  // the user PIN; asked for only when the token needs a login
};

// One object on a token, as --list-keys shows it.
struct TokenObject {
  enum class Kind { PrivateKey, PublicKey, Certificate };
  Kind kind = Kind::PrivateKey;
  std::string label;        // CKA_LABEL
  std::string id;           // CKA_ID, raw bytes
  std::string key_type;     // "EC P-256", "EC P-384", "RSA 2048", ... (empty for certificates)
  std::string certificate;  // DER, for certificates
  std::string uri;          // the exact URI that names this object alone
};

struct TokenListing {
  unsigned long slot_id = 0;
  std::string label, manufacturer, model, serial;
  bool login_required = false;
  bool logged_in = false;  // private keys are visible only after a login
  std::string pin_state;   // "", "few tries remain", "one try remains", "locked"
  std::string uri;         // the token alone
  std::vector<TokenObject> objects;
};

struct ModuleListing {
  std::string module;   // the module's path
  std::string library;  // its CK_INFO: manufacturer and description, version
  std::vector<TokenListing> tokens;
};

// The tokens `filter` matches (every token when it names none) and their keys and certificates. With
// `login`, logs in to tokens that need it (the PIN from `options`) so private keys show; without, lists
// what is visible without a PIN.
Result<ModuleListing> list_token_objects(const Pkcs11Uri& filter, const Pkcs11Options& options, bool login);

// A private key on a token, ready to sign.
struct TokenKey {
  EvpPkeyPtr key;           // signs on the token; the public half is the certificate's or the token's
  std::string certificate;  // DER of the certificate with the key's CKA_ID on the token; empty when none
  std::string uri;          // the URI that names the key alone
  std::string description;  // "token SMKI (SoftHSM v2, serial ...), key supplier-ds, id 01"
};

// The private key `uri` names (type=private implied). Refuses, each with a message that lists what there
// is: no module, no token matching (the tokens present), several tokens matching, no key matching (the
// keys present), several keys matching, a key that is not EC P-256 (UNSUPPORTED_ALGORITHM), a wrong or
// locked PIN. `certificate`, when given, supplies the public key (the token's certificate and
// public-key object are used otherwise).
Result<TokenKey> open_token_key(const Pkcs11Uri& uri, const Pkcs11Options& options, const X509* certificate = nullptr);

// The certificate `uri` names (type=cert implied), as DER.
Result<std::string> read_token_certificate(const Pkcs11Uri& uri, const Pkcs11Options& options);

// The module that would be used, and how it was chosen ("--pkcs11-module", "the URI's module-path",
// "$MAMSIGN_PKCS11_MODULE", "the p11-kit proxy"); an error listing what was tried when there is none.
struct ModuleChoice {
  std::filesystem::path path;
  std::string how;
};
Result<ModuleChoice> choose_pkcs11_module(const Pkcs11Options& options, const Pkcs11Uri* uri);

}  // namespace mamsign
