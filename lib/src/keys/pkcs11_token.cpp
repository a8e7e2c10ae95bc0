// Signing with a key on a token (open_token_key of pkcs11_token.h): a pool of logged-in sessions
// (KeyOnToken), the EVP_PKEY bridge that routes OpenSSL's ECDSA signing to the token, and open_token_key,
// which finds the key and proves it belongs to its public key before anything is signed.
#include "mamsign/keys/pkcs11_token.h"

#include "keys/pkcs11_module.h"

#include "mamsign/smki/org_cert.h"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include <algorithm>
#include <array>

namespace mamsign {

using namespace pkcs11_detail;

namespace {

// ---------------------------------------------------------------------------------------------------
// A key on a token, signing through a pool of sessions (one per thread at a time; the login is shared
// by every session of the process, as PKCS#11 defines it).

class KeyOnToken {
 public:
  KeyOnToken(std::shared_ptr<Module> module, Token token, CK_OBJECT_HANDLE key, std::string description)
      : module_(std::move(module)), token_(token), key_(key), description_(std::move(description)) {}

  ~KeyOnToken() {
    auto lock = module_->guard();
    if (!idle_.empty()) module_->f()->C_Logout(idle_.front());
    for (CK_SESSION_HANDLE s : idle_) module_->f()->C_CloseSession(s);
  }
  KeyOnToken(const KeyOnToken&) = delete;
  KeyOnToken& operator=(const KeyOnToken&) = delete;

  void adopt_session(CK_SESSION_HANDLE s) { idle_.push_back(s); }
  void keep_pin_for_each_signature(SecretString pin) {
    always_authenticate_ = true;
    pin_ = std::move(pin);
  }

  // r || s, each 32 bytes, for a 32-byte digest.
  Result<std::string> sign(const unsigned char* digest, std::size_t size) {
    CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
    {
      const std::lock_guard<std::mutex> lock(pool_mutex_);
      if (!idle_.empty()) {
        s = idle_.back();
        idle_.pop_back();
      }
    }
    if (s == CK_INVALID_HANDLE) {
      auto lock = module_->guard();
      const CK_RV rv = module_->f()->C_OpenSession(token_.slot, CKF_SERIAL_SESSION, nullptr, nullptr, &s);
      if (rv != CKR_OK) return failure("C_OpenSession", rv);
    }
    std::string signature(132, '\0');
    CK_ULONG length = signature.size();
    CK_RV rv;
    const char* step = "C_SignInit";
    {
      auto lock = module_->guard();
      CK_MECHANISM mechanism{CKM_ECDSA, nullptr, 0};
      rv = module_->f()->C_SignInit(s, &mechanism, key_);
      if (rv == CKR_OK && always_authenticate_) {
        step = "C_Login (CKU_CONTEXT_SPECIFIC)";
        rv = module_->f()->C_Login(s, CKU_CONTEXT_SPECIFIC, reinterpret_cast<CK_UTF8CHAR*>(pin_.mutable_value().data()),
                                   pin_.value().size());
      }
      if (rv == CKR_OK) {
        step = "C_Sign";
        rv = module_->f()->C_Sign(s, const_cast<unsigned char*>(digest), size,
                                  reinterpret_cast<CK_BYTE*>(signature.data()), &length);
      }
    }
    if (rv != CKR_OK) {
      auto lock = module_->guard();
      module_->f()->C_CloseSession(s);  // its state is unknown now
      return failure(step, rv);
    }
    {
      const std::lock_guard<std::mutex> lock(pool_mutex_);
      idle_.push_back(s);
    }
    if (length != 64) {
      return make_error(Reason::IoError, "the token returned a " + std::to_string(length) +
                                             "-byte ECDSA signature; P-256 gives 64 (r and s)");
    }
    signature.resize(length);
    return signature;
  }

  const std::string& description() const noexcept { return description_; }

 private:
  Error failure(const char* step, CK_RV rv) const {
    if (rv == CKR_USER_NOT_LOGGED_IN) {
      return make_error(Reason::IoError, "the " + token_.describe() + " logged out mid-run (" + std::string(step) +
                                             " " + rv_name(rv) + "); nothing more is signed with it in this run");
    }
    if (rv == CKR_DEVICE_REMOVED || rv == CKR_TOKEN_NOT_PRESENT || rv == CKR_SESSION_HANDLE_INVALID ||
        rv == CKR_SESSION_CLOSED) {
      return make_error(Reason::IoError, "the " + token_.describe() + " went away mid-run (" + std::string(step) + " " +
                                             rv_name(rv) + ")");
    }
    return make_error(Reason::IoError, "the " + token_.describe() + " refused to sign with " + description_ + " (" +
                                           std::string(step) + " " + rv_name(rv) + ")");
  }

  std::shared_ptr<Module> module_;
  Token token_;
  CK_OBJECT_HANDLE key_;
  std::string description_;
  std::mutex pool_mutex_;
  std::vector<CK_SESSION_HANDLE> idle_;
  bool always_authenticate_ = false;
  SecretString pin_;
};

// ---------------------------------------------------------------------------------------------------
// The EVP_PKEY bridge: an EC_KEY holding the public key, whose ECDSA signing is the token's. OpenSSL 3.0
// treats a key with its own EC_KEY_METHOD as "foreign" and routes EVP_PKEY_sign, EVP_DigestSign and CMS
// signing to the method; everything else (the public key, EVP_PKEY_eq, the group) stays OpenSSL's.
// EC_KEY_METHOD is deprecated in OpenSSL 3 but supported through 3.x; it is confined to this block.

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

void free_ec_key(EC_KEY* ec) noexcept { EC_KEY_free(ec); }
void free_ec_group(EC_GROUP* g) noexcept { EC_GROUP_free(g); }

int key_index() {
  static const int index = CRYPTO_get_ex_new_index(CRYPTO_EX_INDEX_EC_KEY, 0, nullptr, nullptr, nullptr,
                                                   [](void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
                                                     delete static_cast<std::shared_ptr<KeyOnToken>*>(ptr);
                                                   });
  return index;
}

ECDSA_SIG* token_sign_sig(const unsigned char* digest, int size, const BIGNUM*, const BIGNUM*, EC_KEY* ec) {
  auto* holder = static_cast<std::shared_ptr<KeyOnToken>*>(EC_KEY_get_ex_data(ec, key_index()));
  if (holder == nullptr || size <= 0) {
    ERR_raise_data(ERR_LIB_USER, ERR_R_PASSED_INVALID_ARGUMENT, "no token key behind this EC_KEY");
    return nullptr;
  }
  // CKM_ECDSA signs what it is given, as ECDSA_sign would: the digest cut to the order's 32 bytes.
  auto raw = (*holder)->sign(digest, static_cast<std::size_t>(std::min(size, 32)));
  if (!raw) {
    ERR_raise_data(ERR_LIB_USER, ERR_R_OPERATION_FAIL, "%s", raw.error().message.c_str());
    return nullptr;
  }
  EcdsaSigPtr sig(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw->data()), 32, nullptr);
  BIGNUM* s = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw->data()) + 32, 32, nullptr);
  if (!sig || r == nullptr || s == nullptr || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return nullptr;
  }
  return sig.release();
}

int token_sign(int, const unsigned char* digest, int size, unsigned char* out, unsigned int* out_len,
               const BIGNUM* kinv, const BIGNUM* r, EC_KEY* ec) {
  EcdsaSigPtr sig(token_sign_sig(digest, size, kinv, r, ec));
  if (!sig) return 0;
  const int n = i2d_ECDSA_SIG(sig.get(), &out);
  if (n <= 0) return 0;
  *out_len = static_cast<unsigned int>(n);
  return 1;
}

const EC_KEY_METHOD* token_method() {
  static EC_KEY_METHOD* method = [] {
    EC_KEY_METHOD* m = EC_KEY_METHOD_new(EC_KEY_OpenSSL());
    int (*sign_setup)(EC_KEY*, BN_CTX*, BIGNUM**, BIGNUM**) = nullptr;
    EC_KEY_METHOD_get_sign(EC_KEY_OpenSSL(), nullptr, &sign_setup, nullptr);
    EC_KEY_METHOD_set_sign(m, token_sign, sign_setup, token_sign_sig);
    return m;
  }();
  return method;
}

// The public point (uncompressed octets) made into a key that signs on the token.
Result<EvpPkeyPtr> evp_key_on_token(std::shared_ptr<KeyOnToken> key, const std::string& point) {
  OsslPtr<EC_KEY, free_ec_key> ec(EC_KEY_new());
  if (!ec || EC_KEY_set_method(ec.get(), token_method()) != 1) {
    return make_error(Reason::IoError, "cannot set up the token key: " + take_openssl_errors());
  }
  OsslPtr<EC_GROUP, free_ec_group> group(EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1));
  if (!group || EC_KEY_set_group(ec.get(), group.get()) != 1 ||
      EC_KEY_oct2key(ec.get(), reinterpret_cast<const unsigned char*>(point.data()), point.size(), nullptr) != 1) {
    return make_error(Reason::InvalidInput, "the token's public key is not a P-256 point: " + take_openssl_errors());
  }
  auto* holder = new std::shared_ptr<KeyOnToken>(std::move(key));
  if (EC_KEY_set_ex_data(ec.get(), key_index(), holder) != 1) {
    delete holder;
    return make_error(Reason::IoError, "cannot set up the token key: " + take_openssl_errors());
  }
  EvpPkeyPtr pkey(EVP_PKEY_new());
  if (!pkey || EVP_PKEY_assign_EC_KEY(pkey.get(), ec.get()) != 1) {
    return make_error(Reason::IoError, "cannot set up the token key: " + take_openssl_errors());
  }
  (void)ec.release();  // owned by pkey now
  return pkey;
}

#pragma GCC diagnostic pop

// The uncompressed point of a public key OpenSSL holds (from a certificate).
Result<std::string> point_of(const EVP_PKEY* pub) {
  std::string point(133, '\0');
  std::size_t len = 0;
  if (EVP_PKEY_get_octet_string_param(pub, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
                                      reinterpret_cast<unsigned char*>(point.data()), point.size(), &len) != 1) {
    return make_error(Reason::InvalidInput,
                      "the certificate's public key is not an EC point: " + take_openssl_errors());
  }
  point.resize(len);
  return point;
}

// CKA_EC_POINT: a DER OCTET STRING holding the point (PKCS#11 2.40); some modules give the bare point.
std::string point_from_attribute(const std::string& value) {
  const auto* p = reinterpret_cast<const unsigned char*>(value.data());
  Asn1OctetStringPtr os(d2i_ASN1_OCTET_STRING(nullptr, &p, static_cast<long>(value.size())));
  ERR_clear_error();
  if (os && p == reinterpret_cast<const unsigned char*>(value.data()) + value.size()) {
    return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(os.get())),
                       static_cast<std::size_t>(ASN1_STRING_length(os.get())));
  }
  return value;
}

// Signs a random digest with `key` (on the token) and verifies it with the public key it carries.
Status prove_key_pair(EVP_PKEY* key, const std::string& description, bool from_certificate) {
  std::array<unsigned char, 32> digest{};
  std::array<unsigned char, 80> signature{};
  std::size_t length = signature.size();
  EvpPkeyCtxPtr sign_ctx(EVP_PKEY_CTX_new(key, nullptr));
  if (RAND_bytes(digest.data(), digest.size()) != 1 || !sign_ctx || EVP_PKEY_sign_init(sign_ctx.get()) != 1 ||
      EVP_PKEY_sign(sign_ctx.get(), signature.data(), &length, digest.data(), digest.size()) != 1) {
    return make_error(Reason::IoError,
                      "the " + description + " could not make a test signature: " + take_openssl_errors());
  }
  EvpPkeyCtxPtr verify_ctx(EVP_PKEY_CTX_new(key, nullptr));
  const bool ok = verify_ctx && EVP_PKEY_verify_init(verify_ctx.get()) == 1 &&
                  EVP_PKEY_verify(verify_ctx.get(), signature.data(), length, digest.data(), digest.size()) == 1;
  ERR_clear_error();
  if (ok) return Status::ok();
  return make_error(Reason::KeyMismatch,
                    "the " + description + " does not belong to " +
                        (from_certificate ? "the certificate" : "the public key stored with it") +
                        ": a test signature made on the token does not verify with its public key");
}

}  // namespace

Result<TokenKey> open_token_key(const Pkcs11Uri& uri, const Pkcs11Options& options, const X509* certificate) {
  if (uri.type && *uri.type != "private") {
    return make_error(Reason::InvalidInput, "--key names a " + *uri.type + " object; a signing key is type=private");
  }
  auto opened = open_token(uri, options);
  if (!opened) return std::move(opened).error();
  Module& m = *opened->module;
  const Token& token = opened->token;
  auto session = open_session(opened->module, token.slot);
  if (!session) return std::move(session).error();
  const CK_SESSION_HANDLE s = (*session)->handle();
  SecretString pin;
  if (auto st = login(m, token, s, pin_source_of(uri, options), &pin); !st) return std::move(st).error();

  auto keys = find_objects(m, s, CKO_PRIVATE_KEY, uri.object, uri.id);
  if (!keys) return std::move(keys).error();
  if (keys->size() != 1) {
    const auto all = objects_of(m, token, s, CKO_PRIVATE_KEY, Pkcs11Uri{});
    if (keys->empty()) {
      return make_error(Reason::InvalidInput, "no private key on the " + token.describe() + " matches " +
                                                  uri.describe() + " (" + list_of_objects(all, "private key") + ")");
    }
    return make_error(Reason::InvalidInput, std::to_string(keys->size()) + " private keys on the " + token.describe() +
                                                " match " + uri.describe() + "; name one with id= or object= (" +
                                                list_of_objects(all, "private key") + ")");
  }
  const CK_OBJECT_HANDLE key = keys->front();
  const auto label = attribute(m, s, key, CKA_LABEL);
  const auto id = attribute(m, s, key, CKA_ID);
  const std::string description =
      "key \"" + label.value_or("") + "\" (id " +
      to_hex(reinterpret_cast<const std::uint8_t*>(id.value_or("").data()), id.value_or("").size()) + ") on the " +
      token.describe();
  int curve = NID_undef;
  const std::string type = key_type_words(m, s, key, &curve);
  if (type != "EC P-256") {
    return make_error(Reason::UnsupportedAlgorithm,
                      "the " + description + " is " + type + "; the profile requires EC P-256 (prime256v1)");
  }
  if (!bool_attribute(m, s, key, CKA_SIGN)) {
    return make_error(Reason::InvalidInput, "the " + description + " may not sign (its CKA_SIGN is false)");
  }

  TokenKey out;
  out.uri = object_uri(token, "private", label && !label->empty() ? label : std::nullopt,
                       id && !id->empty() ? id : std::nullopt)
                .to_string();
  out.description = description;
  // The certificate with the key's CKA_ID, and the public key: the given certificate's, the token's
  // certificate's, or the token's public-key object's.
  if (id && !id->empty()) {
    auto certs = find_objects(m, s, CKO_CERTIFICATE, std::nullopt, id);
    if (certs && certs->size() == 1) out.certificate = attribute(m, s, certs->front(), CKA_VALUE).value_or("");
  }
  std::string point;
  OrgCertPtr token_cert = out.certificate.empty() ? nullptr : OrgCert::from_der(out.certificate);
  const X509* cert = certificate != nullptr ? certificate : (token_cert ? token_cert->x509() : nullptr);
  if (cert != nullptr) {
    auto p = point_of(X509_get0_pubkey(cert));
    if (!p) return std::move(p).error();
    point = std::move(*p);
  } else {
    std::optional<std::string> from_object;
    if (id && !id->empty()) {
      auto pubs = find_objects(m, s, CKO_PUBLIC_KEY, std::nullopt, id);
      if (pubs && pubs->size() == 1) from_object = attribute(m, s, pubs->front(), CKA_EC_POINT);
    }
    if (!from_object) from_object = attribute(m, s, key, CKA_EC_POINT);
    if (!from_object) {
      return make_error(Reason::InvalidInput,
                        "the " + description +
                            " has no certificate or public key with its id on the token; give the "
                            "certificate with --cert");
    }
    point = point_from_attribute(*from_object);
  }

  auto holder = std::make_shared<KeyOnToken>(opened->module, token, key, description);
  if (bool_attribute(m, s, key, CKA_ALWAYS_AUTHENTICATE)) holder->keep_pin_for_each_signature(std::move(pin));
  holder->adopt_session((*session)->release());  // the logged-in session stays open for the run
  auto pkey = evp_key_on_token(std::move(holder), point);
  if (!pkey) return std::move(pkey).error();
  // The public key came from a certificate or an object beside the key, not from the key: one signature
  // made on the token and checked against it proves they belong together before anything is signed.
  if (auto st = prove_key_pair(pkey->get(), description, cert != nullptr); !st) return std::move(st).error();
  out.key = std::move(*pkey);
  return out;
}

}  // namespace mamsign
