// Private to lib/src/keys/: the PKCS#11 module, its sessions, attributes and tokens, as the three parts
// of pkcs11_token.h share them: pkcs11_module.cpp (loading, sessions, tokens, login), pkcs11_objects.cpp
// (discovering keys and certificates) and pkcs11_token.cpp (a key on a token as an OpenSSL key).
#pragma once

#include "mamsign/keys/pkcs11_token.h"

#include <p11-kit/pkcs11.h>

#include <dlfcn.h>

#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mamsign::pkcs11_detail {

// CKR_PIN_INCORRECT, ...: a return value's name, for messages.
std::string rv_name(CK_RV rv);

// A blank-padded CK_UTF8CHAR field as a string.
template <std::size_t N>
std::string padded(const CK_UTF8CHAR (&field)[N]) {
  std::string s(reinterpret_cast<const char*>(field), N);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\0')) s.pop_back();
  return s;
}

// The module: loaded and initialised once per process and path, finalised when the last user goes.
class Module {
 public:
  // The module at `choice.path`, loaded and initialised on first use.
  static Result<std::shared_ptr<Module>> get(const ModuleChoice& choice);

  ~Module() {
    if (initialized_) functions_->C_Finalize(nullptr);
    if (handle_ != nullptr) dlclose(handle_);
  }
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  CK_FUNCTION_LIST* f() const noexcept { return functions_; }
  const std::string& path() const noexcept { return path_; }
  const std::string& library() const noexcept { return library_; }

  // When the module cannot use the operating system's locks, every call is made under one mutex.
  std::unique_lock<std::mutex> guard() {
    return serialize_ ? std::unique_lock<std::mutex>(mutex_) : std::unique_lock<std::mutex>();
  }

 private:
  Module() = default;

  static Result<std::shared_ptr<Module>> load(const ModuleChoice& choice);

  void* handle_ = nullptr;
  CK_FUNCTION_LIST* functions_ = nullptr;
  bool initialized_ = false;
  bool serialize_ = false;
  std::mutex mutex_;
  std::string path_, library_;
};

// Sessions and attributes.

class Session {
 public:
  Session(std::shared_ptr<Module> module, CK_SESSION_HANDLE handle) : module_(std::move(module)), handle_(handle) {}
  ~Session() {
    if (handle_ != CK_INVALID_HANDLE) {
      auto lock = module_->guard();
      module_->f()->C_CloseSession(handle_);
    }
  }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  CK_SESSION_HANDLE handle() const noexcept { return handle_; }
  // Keeps the session open past this object (the key's pool owns it from here).
  CK_SESSION_HANDLE release() noexcept { return std::exchange(handle_, CK_INVALID_HANDLE); }

 private:
  std::shared_ptr<Module> module_;
  CK_SESSION_HANDLE handle_;
};

Result<std::unique_ptr<Session>> open_session(const std::shared_ptr<Module>& module, CK_SLOT_ID slot);

// One attribute's value; nullopt when the object does not have it (or will not say).
std::optional<std::string> attribute(Module& m, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type);
std::optional<CK_ULONG> ulong_attribute(Module& m, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type);
bool bool_attribute(Module& m, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type);

// The objects matching class, label and id (each optional), at most kMaxObjects of them.
Result<std::vector<CK_OBJECT_HANDLE>> find_objects(Module& m, CK_SESSION_HANDLE s, std::optional<CK_OBJECT_CLASS> cls,
                                                   const std::optional<std::string>& label,
                                                   const std::optional<std::string>& id);

// Tokens.

struct Token {
  CK_SLOT_ID slot = 0;
  CK_TOKEN_INFO info{};
  std::string label() const { return padded(info.label); }
  std::string manufacturer() const { return padded(info.manufacturerID); }
  std::string model() const { return padded(info.model); }
  std::string serial() const { return padded(info.serialNumber); }
  Pkcs11Uri uri() const {
    Pkcs11Uri u;
    u.model = model();
    u.manufacturer = manufacturer();
    u.serial = serial();
    u.token = label();
    return u;
  }
  std::string describe() const {
    return "token \"" + label() + "\" (" + manufacturer() + " " + model() + ", serial " + serial() + ", slot " +
           std::to_string(slot) + ")";
  }
  std::string pin_state() const {
    if ((info.flags & CKF_USER_PIN_LOCKED) != 0) return "locked";
    if ((info.flags & CKF_USER_PIN_FINAL_TRY) != 0) return "one try remains";
    if ((info.flags & CKF_USER_PIN_COUNT_LOW) != 0) return "few tries remain";
    return "";
  }
};

bool token_matches(const Token& t, const Pkcs11Uri& uri);
// The initialised tokens present in the module's slots.
Result<std::vector<Token>> present_tokens(Module& m);
// The one token `uri` names; an error listing the present tokens when none or several match.
Result<Token> the_token(Module& m, const Pkcs11Uri& uri);

// Logs the user in on `session` once. A wrong PIN is never tried again. The PIN is kept in `keep_pin`
// when given (a key that wants it for each signature).
Status login(Module& m, const Token& token, CK_SESSION_HANDLE session, const PassphraseSource& pin_source,
             SecretString* keep_pin);

// A URI with pin-value is refused: a PIN on the command line is visible to every user.
Status refuse_pin_value(const Pkcs11Uri& uri);
// Where the PIN comes from: --pin-file or --pin-env first, then the URI's pin-source, then the options.
PassphraseSource pin_source_of(const Pkcs11Uri& uri, const Pkcs11Options& options);

struct Opened {
  std::shared_ptr<Module> module;
  Token token;
};
// The module and the one token `uri` names.
Result<Opened> open_token(const Pkcs11Uri& uri, const Pkcs11Options& options);

// "EC P-256", "EC P-384", "RSA 2048", ...: from CKA_KEY_TYPE and, for EC, the curve in CKA_EC_PARAMS.
std::string key_type_words(Module& m, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, int* curve_nid = nullptr);
Pkcs11Uri object_uri(const Token& token, std::string_view type, const std::optional<std::string>& label,
                     const std::optional<std::string>& id);
// The objects of class `cls` matching the filter's label and id, described.
std::vector<TokenObject> objects_of(Module& m, const Token& token, CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls,
                                    const Pkcs11Uri& filter);
// "the token holds: URI (EC P-256); ...", for messages (at most 20).
std::string list_of_objects(const std::vector<TokenObject>& objects, std::string_view what);

}  // namespace mamsign::pkcs11_detail
