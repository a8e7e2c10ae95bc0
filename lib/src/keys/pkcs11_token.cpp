#include "mamsign/keys/pkcs11_token.h"

#include "mamsign/base/io.h"
#include "mamsign/smki/org_cert.h"

#include <dlfcn.h>
#include <sys/stat.h>
#include <p11-kit/pkcs11.h>

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
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>

namespace mamsign {
namespace {

constexpr std::size_t kMaxObjects = 1024;          // objects read from one token for one search
constexpr std::size_t kMaxAttributeBytes = 64 * 1024;  // a certificate is a few hundred bytes
constexpr std::size_t kMaxSlots = 256;

// Where Debian (and other distributions) put the p11-kit proxy module.
constexpr std::array<const char*, 4> kProxyPaths = {
    "/usr/lib/x86_64-linux-gnu/p11-kit-proxy.so", "/usr/lib/aarch64-linux-gnu/p11-kit-proxy.so",
    "/usr/lib64/p11-kit-proxy.so", "/usr/lib/p11-kit-proxy.so"};

std::string rv_name(CK_RV rv) {
  switch (rv) {
    case CKR_OK: return "CKR_OK";
    case CKR_HOST_MEMORY: return "CKR_HOST_MEMORY";
    case CKR_GENERAL_ERROR: return "CKR_GENERAL_ERROR";
    case CKR_FUNCTION_FAILED: return "CKR_FUNCTION_FAILED";
    case CKR_ARGUMENTS_BAD: return "CKR_ARGUMENTS_BAD";
    case CKR_CANT_LOCK: return "CKR_CANT_LOCK";
    case CKR_ATTRIBUTE_SENSITIVE: return "CKR_ATTRIBUTE_SENSITIVE";
    case CKR_ATTRIBUTE_TYPE_INVALID: return "CKR_ATTRIBUTE_TYPE_INVALID";
    case CKR_DEVICE_ERROR: return "CKR_DEVICE_ERROR";
    case CKR_DEVICE_MEMORY: return "CKR_DEVICE_MEMORY";
    case CKR_DEVICE_REMOVED: return "CKR_DEVICE_REMOVED";
    case CKR_FUNCTION_NOT_SUPPORTED: return "CKR_FUNCTION_NOT_SUPPORTED";
    case CKR_KEY_HANDLE_INVALID: return "CKR_KEY_HANDLE_INVALID";
    case CKR_KEY_TYPE_INCONSISTENT: return "CKR_KEY_TYPE_INCONSISTENT";
    case CKR_KEY_FUNCTION_NOT_PERMITTED: return "CKR_KEY_FUNCTION_NOT_PERMITTED";
    case CKR_MECHANISM_INVALID: return "CKR_MECHANISM_INVALID";
    case CKR_OBJECT_HANDLE_INVALID: return "CKR_OBJECT_HANDLE_INVALID";
    case CKR_OPERATION_ACTIVE: return "CKR_OPERATION_ACTIVE";
    case CKR_PIN_INCORRECT: return "CKR_PIN_INCORRECT";
    case CKR_PIN_INVALID: return "CKR_PIN_INVALID";
    case CKR_PIN_LEN_RANGE: return "CKR_PIN_LEN_RANGE";
    case CKR_PIN_EXPIRED: return "CKR_PIN_EXPIRED";
    case CKR_PIN_LOCKED: return "CKR_PIN_LOCKED";
    case CKR_SESSION_CLOSED: return "CKR_SESSION_CLOSED";
    case CKR_SESSION_COUNT: return "CKR_SESSION_COUNT";
    case CKR_SESSION_HANDLE_INVALID: return "CKR_SESSION_HANDLE_INVALID";
    case CKR_TOKEN_NOT_PRESENT: return "CKR_TOKEN_NOT_PRESENT";
    case CKR_TOKEN_NOT_RECOGNIZED: return "CKR_TOKEN_NOT_RECOGNIZED";
    case CKR_USER_ALREADY_LOGGED_IN: return "CKR_USER_ALREADY_LOGGED_IN";
    case CKR_USER_NOT_LOGGED_IN: return "CKR_USER_NOT_LOGGED_IN";
    case CKR_USER_PIN_NOT_INITIALIZED: return "CKR_USER_PIN_NOT_INITIALIZED";
    case CKR_USER_TYPE_INVALID: return "CKR_USER_TYPE_INVALID";
    case CKR_BUFFER_TOO_SMALL: return "CKR_BUFFER_TOO_SMALL";
    case CKR_CRYPTOKI_NOT_INITIALIZED: return "CKR_CRYPTOKI_NOT_INITIALIZED";
    case CKR_CRYPTOKI_ALREADY_INITIALIZED: return "CKR_CRYPTOKI_ALREADY_INITIALIZED";
    default: {
      char buf[32];
      std::snprintf(buf, sizeof buf, "CKR 0x%08lx", static_cast<unsigned long>(rv));
      return buf;
    }
  }
}

// A blank-padded CK_UTF8CHAR field as a string.
template <std::size_t N>
std::string padded(const CK_UTF8CHAR (&field)[N]) {
  std::string s(reinterpret_cast<const char*>(field), N);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\0')) s.pop_back();
  return s;
}

// ---------------------------------------------------------------------------------------------------
// The module: loaded and initialised once per process and path, finalised when the last user goes.

class Module {
 public:
  static Result<std::shared_ptr<Module>> get(const ModuleChoice& choice) {
    static std::mutex registry_mutex;
    static std::map<std::string, std::weak_ptr<Module>> registry;
    const std::lock_guard<std::mutex> lock(registry_mutex);
    if (auto existing = registry[choice.path.string()].lock()) return existing;
    auto loaded = load(choice);
    if (!loaded) return std::move(loaded).error();
    registry[choice.path.string()] = *loaded;
    return loaded;
  }

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

  static Result<std::shared_ptr<Module>> load(const ModuleChoice& choice) {
    std::shared_ptr<Module> m(new Module());
    m->path_ = choice.path.string();
    const std::string where = "the PKCS#11 module " + m->path_ + " (" + choice.how + ")";
    // A path is looked at before the dynamic loader opens it: a FIFO there would block dlopen for ever, a
    // device or folder give a worse message than this. (A bare name is searched for by the loader, in
    // the system's library folders, as dlopen does.)
    if (m->path_.find('/') != std::string::npos) {
      struct stat st {};
      if (::stat(m->path_.c_str(), &st) != 0) {
        return make_error(Reason::IoError, "cannot load " + where + ": " + errno_text(errno));
      }
      if (!S_ISREG(st.st_mode)) {
        return make_error(Reason::IoError, "cannot load " + where + ": it is not a regular file (a module is a .so file)");
      }
    }
    m->handle_ = dlopen(m->path_.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (m->handle_ == nullptr) {
      const char* why = dlerror();
      return make_error(Reason::IoError, "cannot load " + where + ": " + (why ? why : "unknown error"));
    }
    auto get_list = reinterpret_cast<CK_C_GetFunctionList>(dlsym(m->handle_, "C_GetFunctionList"));
    if (get_list == nullptr || get_list(&m->functions_) != CKR_OK || m->functions_ == nullptr) {
      return make_error(Reason::IoError, where + " is not a PKCS#11 module (no C_GetFunctionList)");
    }
    if (m->functions_->version.major != 2) {
      return make_error(Reason::IoError, where + " speaks PKCS#11 " + std::to_string(m->functions_->version.major) +
                                             "." + std::to_string(m->functions_->version.minor) + "; 2.x is needed");
    }
    CK_C_INITIALIZE_ARGS args{};
    args.flags = CKF_OS_LOCKING_OK;
    CK_RV rv = m->functions_->C_Initialize(&args);
    if (rv == CKR_CANT_LOCK) {
      // The module cannot lock for itself: it is used from one thread at a time.
      m->serialize_ = true;
      rv = m->functions_->C_Initialize(nullptr);
    }
    if (rv == CKR_CRYPTOKI_ALREADY_INITIALIZED) {
      rv = CKR_OK;  // someone else in this process initialised it; they finalise it
    } else if (rv == CKR_OK) {
      m->initialized_ = true;
    }
    if (rv != CKR_OK) return make_error(Reason::IoError, "cannot initialise " + where + ": C_Initialize " + rv_name(rv));
    CK_INFO info{};
    if (m->functions_->C_GetInfo(&info) == CKR_OK) {
      m->library_ = padded(info.manufacturerID) + " " + padded(info.libraryDescription) + " " +
                    std::to_string(info.libraryVersion.major) + "." + std::to_string(info.libraryVersion.minor);
    }
    return m;
  }

  void* handle_ = nullptr;
  CK_FUNCTION_LIST* functions_ = nullptr;
  bool initialized_ = false;
  bool serialize_ = false;
  std::mutex mutex_;
  std::string path_, library_;
};

// ---------------------------------------------------------------------------------------------------
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

Result<std::unique_ptr<Session>> open_session(const std::shared_ptr<Module>& module, CK_SLOT_ID slot) {
  CK_SESSION_HANDLE h = CK_INVALID_HANDLE;
  auto lock = module->guard();
  const CK_RV rv = module->f()->C_OpenSession(slot, CKF_SERIAL_SESSION, nullptr, nullptr, &h);
  if (rv != CKR_OK) return make_error(Reason::IoError, "cannot open a session on the token: C_OpenSession " + rv_name(rv));
  return std::make_unique<Session>(module, h);
}

// One attribute's value; nullopt when the object does not have it (or will not say).
std::optional<std::string> attribute(Module& m, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type) {
  CK_ATTRIBUTE a{type, nullptr, 0};
  auto lock = m.guard();
  if (m.f()->C_GetAttributeValue(s, o, &a, 1) != CKR_OK || a.ulValueLen == CK_UNAVAILABLE_INFORMATION ||
      a.ulValueLen > kMaxAttributeBytes) {
    return std::nullopt;
  }
  std::string value(a.ulValueLen, '\0');
  a.pValue = value.data();
  if (m.f()->C_GetAttributeValue(s, o, &a, 1) != CKR_OK || a.ulValueLen > value.size()) return std::nullopt;
  value.resize(a.ulValueLen);
  return value;
}

std::optional<CK_ULONG> ulong_attribute(Module& m, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type) {
  auto v = attribute(m, s, o, type);
  if (!v || v->size() != sizeof(CK_ULONG)) return std::nullopt;
  CK_ULONG out = 0;
  std::memcpy(&out, v->data(), sizeof out);
  return out;
}

bool bool_attribute(Module& m, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type) {
  auto v = attribute(m, s, o, type);
  return v && v->size() == sizeof(CK_BBOOL) && (*v)[0] != 0;
}

Result<std::vector<CK_OBJECT_HANDLE>> find_objects(Module& m, CK_SESSION_HANDLE s, std::optional<CK_OBJECT_CLASS> cls,
                                                   const std::optional<std::string>& label,
                                                   const std::optional<std::string>& id) {
  std::vector<CK_ATTRIBUTE> tmpl;
  CK_OBJECT_CLASS class_value = cls.value_or(0);
  if (cls) tmpl.push_back({CKA_CLASS, &class_value, sizeof class_value});
  if (label) tmpl.push_back({CKA_LABEL, const_cast<char*>(label->data()), label->size()});
  if (id) tmpl.push_back({CKA_ID, const_cast<char*>(id->data()), id->size()});
  auto lock = m.guard();
  CK_RV rv = m.f()->C_FindObjectsInit(s, tmpl.empty() ? nullptr : tmpl.data(), tmpl.size());
  if (rv != CKR_OK) return make_error(Reason::IoError, "cannot search the token: C_FindObjectsInit " + rv_name(rv));
  std::vector<CK_OBJECT_HANDLE> found;
  std::array<CK_OBJECT_HANDLE, 64> batch{};
  while (found.size() < kMaxObjects) {
    CK_ULONG n = 0;
    rv = m.f()->C_FindObjects(s, batch.data(), batch.size(), &n);
    if (rv != CKR_OK || n == 0) break;
    found.insert(found.end(), batch.begin(), batch.begin() + static_cast<std::ptrdiff_t>(std::min<CK_ULONG>(n, batch.size())));
  }
  m.f()->C_FindObjectsFinal(s);
  if (rv != CKR_OK) return make_error(Reason::IoError, "cannot search the token: C_FindObjects " + rv_name(rv));
  if (found.size() > kMaxObjects) found.resize(kMaxObjects);
  return found;
}

// ---------------------------------------------------------------------------------------------------
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

bool token_matches(const Token& t, const Pkcs11Uri& uri) {
  if (uri.slot_id && *uri.slot_id != t.slot) return false;
  if (uri.token && *uri.token != t.label()) return false;
  if (uri.manufacturer && *uri.manufacturer != t.manufacturer()) return false;
  if (uri.model && *uri.model != t.model()) return false;
  if (uri.serial && *uri.serial != t.serial()) return false;
  return true;
}

Result<std::vector<Token>> present_tokens(Module& m) {
  auto lock = m.guard();
  CK_ULONG n = 0;
  CK_RV rv = m.f()->C_GetSlotList(CK_TRUE, nullptr, &n);
  if (rv != CKR_OK) return make_error(Reason::IoError, "cannot list the module's slots: C_GetSlotList " + rv_name(rv));
  n = std::min<CK_ULONG>(n, kMaxSlots);
  std::vector<CK_SLOT_ID> slots(n);
  if (n > 0) {
    rv = m.f()->C_GetSlotList(CK_TRUE, slots.data(), &n);
    if (rv != CKR_OK && rv != CKR_BUFFER_TOO_SMALL) {
      return make_error(Reason::IoError, "cannot list the module's slots: C_GetSlotList " + rv_name(rv));
    }
    slots.resize(std::min<CK_ULONG>(n, slots.size()));
  }
  std::vector<Token> tokens;
  for (CK_SLOT_ID slot : slots) {
    Token t;
    t.slot = slot;
    if (m.f()->C_GetTokenInfo(slot, &t.info) != CKR_OK) continue;
    if ((t.info.flags & CKF_TOKEN_INITIALIZED) == 0) continue;
    tokens.push_back(t);
  }
  return tokens;
}

std::string list_of_tokens(const std::vector<Token>& tokens) {
  if (tokens.empty()) return "no initialised token is present";
  std::string out = "present: ";
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    out += (i ? "; " : "") + tokens[i].describe() + " = " + tokens[i].uri().to_string();
  }
  return out;
}

Result<Token> the_token(Module& m, const Pkcs11Uri& uri) {
  auto tokens = present_tokens(m);
  if (!tokens) return std::move(tokens).error();
  std::vector<Token> matching;
  for (const auto& t : *tokens) {
    if (token_matches(t, uri)) matching.push_back(t);
  }
  if (matching.empty()) {
    return make_error(Reason::InvalidInput, "no token in " + m.path() + " matches " + uri.describe() + " (" +
                                                list_of_tokens(*tokens) + ")");
  }
  if (matching.size() > 1) {
    return make_error(Reason::InvalidInput, std::to_string(matching.size()) + " tokens match " + uri.describe() +
                                                "; add serial= to name one (" + list_of_tokens(matching) + ")");
  }
  return matching.front();
}

// The token's fresh view of its PIN counters, after a failed login.
std::string pin_counter_words(Module& m, CK_SLOT_ID slot) {
  Token t;
  t.slot = slot;
  {
    auto lock = m.guard();
    if (m.f()->C_GetTokenInfo(slot, &t.info) != CKR_OK) return "the token did not say how many tries remain";
  }
  const std::string state = t.pin_state();
  if (state == "locked") return "the token now reports the user PIN locked: its Security Officer must unlock it";
  if (state.empty()) return "the token does not report how many tries remain (PKCS#11 gives only 'low', 'final' and 'locked')";
  return "the token reports: " + state + " before it locks";
}

// Logs the user in on `session` once. A wrong PIN is never tried again.
Status login(Module& m, const Token& token, CK_SESSION_HANDLE session, const PassphraseSource& pin_source,
             SecretString* keep_pin) {
  if ((token.info.flags & CKF_LOGIN_REQUIRED) == 0) return Status::ok();
  if ((token.info.flags & CKF_USER_PIN_LOCKED) != 0) {
    return make_error(Reason::InvalidInput, "the user PIN of " + token.describe() +
                                                " is locked; nothing was tried (its Security Officer must unlock it)");
  }
  if ((token.info.flags & CKF_USER_PIN_INITIALIZED) == 0) {
    return make_error(Reason::InvalidInput, token.describe() + " has no user PIN set yet");
  }
  SecretString pin;
  const bool pin_pad = (token.info.flags & CKF_PROTECTED_AUTHENTICATION_PATH) != 0 && pin_source.kind != PassphraseSource::Kind::File &&
                       pin_source.kind != PassphraseSource::Kind::Env;
  if (!pin_pad) {
    auto read = read_secret(pin_source, {"the " + token.describe() + " needs its user PIN",
                                         "User PIN for token " + token.label() + ": ", "--pin-file FILE or --pin-env VAR", "PIN"});
    if (!read) return std::move(read).error();
    pin = std::move(*read);
  }
  CK_RV rv;
  {
    auto lock = m.guard();
    rv = m.f()->C_Login(session, CKU_USER,
                        pin_pad ? nullptr : reinterpret_cast<CK_UTF8CHAR*>(pin.mutable_value().data()),
                        pin_pad ? 0 : pin.value().size());
  }
  if (rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN) {
    if (keep_pin != nullptr) *keep_pin = std::move(pin);
    return Status::ok();
  }
  if (rv == CKR_PIN_INCORRECT || rv == CKR_PIN_INVALID || rv == CKR_PIN_LEN_RANGE) {
    return make_error(Reason::InvalidInput, "the PIN for " + token.describe() + " is wrong (" + rv_name(rv) +
                                                "); it was tried once and will not be retried, because tokens lock "
                                                "after a few wrong PINs; " +
                                                pin_counter_words(m, token.slot));
  }
  if (rv == CKR_PIN_LOCKED) {
    return make_error(Reason::InvalidInput, "the user PIN of " + token.describe() +
                                                " is locked (CKR_PIN_LOCKED); its Security Officer must unlock it");
  }
  if (rv == CKR_PIN_EXPIRED) {
    return make_error(Reason::InvalidInput, "the user PIN of " + token.describe() + " has expired; set a new one first");
  }
  return make_error(Reason::IoError, "cannot log in to " + token.describe() + ": C_Login " + rv_name(rv));
}

// "EC P-256", "EC P-384", "RSA 2048", ...: from CKA_KEY_TYPE and, for EC, the curve in CKA_EC_PARAMS
// (an OID, decoded by OpenSSL).
std::string key_type_words(Module& m, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, int* curve_nid = nullptr) {
  const auto type = ulong_attribute(m, s, o, CKA_KEY_TYPE);
  if (!type) return "unknown";
  if (*type == CKK_EC) {
    auto params = attribute(m, s, o, CKA_EC_PARAMS);
    if (!params) return "EC (curve unknown)";
    const auto* p = reinterpret_cast<const unsigned char*>(params->data());
    OsslPtr<ASN1_OBJECT, ASN1_OBJECT_free> oid(d2i_ASN1_OBJECT(nullptr, &p, static_cast<long>(params->size())));
    ERR_clear_error();
    if (!oid) return "EC (explicit or unknown curve)";
    const int nid = OBJ_obj2nid(oid.get());
    if (curve_nid != nullptr) *curve_nid = nid;
    if (nid == NID_X9_62_prime256v1) return "EC P-256";
    if (nid == NID_secp384r1) return "EC P-384";
    if (nid == NID_secp521r1) return "EC P-521";
    const char* name = OBJ_nid2sn(nid);
    return std::string("EC ") + (name && nid != NID_undef ? name : "(unknown curve)");
  }
  if (*type == CKK_RSA) {
    auto modulus = attribute(m, s, o, CKA_MODULUS);
    if (modulus) {
      BignumPtr n(BN_bin2bn(reinterpret_cast<const unsigned char*>(modulus->data()), static_cast<int>(modulus->size()), nullptr));
      if (n) return "RSA " + std::to_string(BN_num_bits(n.get()));
    }
    if (auto bits = ulong_attribute(m, s, o, CKA_MODULUS_BITS)) return "RSA " + std::to_string(*bits);
    return "RSA";
  }
  if (*type == CKK_EC_EDWARDS) return "EdDSA";
  return "key type " + std::to_string(*type);
}

Pkcs11Uri object_uri(const Token& token, std::string_view type, const std::optional<std::string>& label,
                     const std::optional<std::string>& id) {
  Pkcs11Uri u = token.uri();
  u.object = label;
  u.id = id;
  u.type = std::string(type);
  return u;
}

std::vector<TokenObject> objects_of(Module& m, const Token& token, CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls,
                                    const Pkcs11Uri& filter) {
  std::vector<TokenObject> out;
  auto handles = find_objects(m, s, cls, filter.object, filter.id);
  if (!handles) return out;
  for (CK_OBJECT_HANDLE h : *handles) {
    TokenObject o;
    o.kind = cls == CKO_PRIVATE_KEY ? TokenObject::Kind::PrivateKey
             : cls == CKO_PUBLIC_KEY ? TokenObject::Kind::PublicKey
                                     : TokenObject::Kind::Certificate;
    const auto label = attribute(m, s, h, CKA_LABEL);
    const auto id = attribute(m, s, h, CKA_ID);
    o.label = label.value_or("");
    o.id = id.value_or("");
    if (cls == CKO_CERTIFICATE) {
      o.certificate = attribute(m, s, h, CKA_VALUE).value_or("");
    } else {
      o.key_type = key_type_words(m, s, h);
    }
    o.uri = object_uri(token, cls == CKO_PRIVATE_KEY ? "private" : cls == CKO_PUBLIC_KEY ? "public" : "cert",
                       label && !label->empty() ? label : std::nullopt, id && !id->empty() ? id : std::nullopt)
                .to_string();
    out.push_back(std::move(o));
  }
  return out;
}

std::string list_of_objects(const std::vector<TokenObject>& objects, std::string_view what) {
  if (objects.empty()) return "the token holds no " + std::string(what) + " visible to this login";
  std::string out = "the token holds: ";
  for (std::size_t i = 0; i < objects.size() && i < 20; ++i) {
    out += (i ? "; " : "") + objects[i].uri + (objects[i].key_type.empty() ? "" : " (" + objects[i].key_type + ")");
  }
  if (objects.size() > 20) out += "; and " + std::to_string(objects.size() - 20) + " more (--list-keys shows all)";
  return out;
}

// ---------------------------------------------------------------------------------------------------
// A key on a token, signing through a pool of sessions (one per thread at a time; the login is shared
// by every session of the process, as PKCS#11 defines it).

class KeyOnToken {
 public:
  KeyOnToken(std::shared_ptr<Module> module, Token token, CK_OBJECT_HANDLE key, std::string description)
      : module_(std::move(module)), token_(std::move(token)), key_(key), description_(std::move(description)) {}

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
      return make_error(Reason::IoError, "the " + token_.describe() + " logged out mid-run (" + std::string(step) + " " +
                                             rv_name(rv) + "); nothing more is signed with it in this run");
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
  static const int index = CRYPTO_get_ex_new_index(
      CRYPTO_EX_INDEX_EC_KEY, 0, nullptr, nullptr, nullptr,
      [](void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) { delete static_cast<std::shared_ptr<KeyOnToken>*>(ptr); });
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

int token_sign(int, const unsigned char* digest, int size, unsigned char* out, unsigned int* out_len, const BIGNUM* kinv,
               const BIGNUM* r, EC_KEY* ec) {
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
  ec.release();  // owned by pkey now
  return pkey;
}

#pragma GCC diagnostic pop

// The uncompressed point of a public key OpenSSL holds (from a certificate).
Result<std::string> point_of(const EVP_PKEY* pub) {
  std::string point(133, '\0');
  std::size_t len = 0;
  if (EVP_PKEY_get_octet_string_param(pub, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, reinterpret_cast<unsigned char*>(point.data()),
                                      point.size(), &len) != 1) {
    return make_error(Reason::InvalidInput, "the certificate's public key is not an EC point: " + take_openssl_errors());
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
    return make_error(Reason::IoError, "the " + description + " could not make a test signature: " + take_openssl_errors());
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

Status refuse_pin_value(const Pkcs11Uri& uri) {
  if (!uri.has_pin_value) return Status::ok();
  return make_error(Reason::InvalidInput,
                    "the PKCS#11 URI carries pin-value: a PIN on the command line is visible to every user of this "
                    "machine (ps, shell history); remove it and give the PIN with --pin-file FILE, --pin-env VAR or "
                    "at the terminal prompt");
}

PassphraseSource pin_source_of(const Pkcs11Uri& uri, const Pkcs11Options& options) {
  if (uri.pin_source && options.pin.kind != PassphraseSource::Kind::File && options.pin.kind != PassphraseSource::Kind::Env) {
    std::string path = *uri.pin_source;
    if (path.rfind("file:", 0) == 0) path = path.substr(5);
    return {PassphraseSource::Kind::File, path};
  }
  return options.pin;
}

struct Opened {
  std::shared_ptr<Module> module;
  Token token;
};

Result<Opened> open_token(const Pkcs11Uri& uri, const Pkcs11Options& options) {
  if (auto st = refuse_pin_value(uri); !st) return std::move(st).error();
  auto choice = choose_pkcs11_module(options, &uri);
  if (!choice) return std::move(choice).error();
  auto module = Module::get(*choice);
  if (!module) return std::move(module).error();
  auto token = the_token(**module, uri);
  if (!token) return std::move(token).error();
  return Opened{std::move(*module), std::move(*token)};
}

}  // namespace

Result<ModuleChoice> choose_pkcs11_module(const Pkcs11Options& options, const Pkcs11Uri* uri) {
  if (options.module) return ModuleChoice{*options.module, "--pkcs11-module"};
  if (uri != nullptr && uri->module_path) return ModuleChoice{*uri->module_path, "the URI's module-path"};
  if (const char* env = std::getenv("MAMSIGN_PKCS11_MODULE"); env != nullptr && *env != '\0') {
    return ModuleChoice{env, "$MAMSIGN_PKCS11_MODULE"};
  }
  std::string tried;
  for (const char* path : kProxyPaths) {
    std::error_code ec;
    if (std::filesystem::exists(path, ec)) return ModuleChoice{path, "the p11-kit proxy"};
    tried += (tried.empty() ? "" : ", ") + std::string(path);
  }
  return make_error(Reason::InvalidInput,
                    "no PKCS#11 module: none was given with --pkcs11-module or $MAMSIGN_PKCS11_MODULE (or module-path in "
                    "the URI), and the p11-kit proxy is not installed (tried " + tried +
                        "; Debian: apt install p11-kit-modules). SoftHSM2's module is /usr/lib/softhsm/libsofthsm2.so");
}

Result<ModuleListing> list_token_objects(const Pkcs11Uri& filter, const Pkcs11Options& options, bool with_login) {
  if (auto st = refuse_pin_value(filter); !st) return std::move(st).error();
  auto choice = choose_pkcs11_module(options, &filter);
  if (!choice) return std::move(choice).error();
  auto module = Module::get(*choice);
  if (!module) return std::move(module).error();
  Module& m = **module;
  auto tokens = present_tokens(m);
  if (!tokens) return std::move(tokens).error();
  ModuleListing listing;
  listing.module = m.path();
  listing.library = m.library();
  for (const Token& token : *tokens) {
    if (!token_matches(token, filter)) continue;
    TokenListing t;
    t.slot_id = token.slot;
    t.label = token.label();
    t.manufacturer = token.manufacturer();
    t.model = token.model();
    t.serial = token.serial();
    t.login_required = (token.info.flags & CKF_LOGIN_REQUIRED) != 0;
    t.pin_state = token.pin_state();
    t.uri = token.uri().to_string();
    auto session = open_session(*module, token.slot);
    if (!session) return std::move(session).error();
    if (with_login && t.login_required) {
      if (auto st = login(m, token, (*session)->handle(), pin_source_of(filter, options), nullptr); !st) {
        return std::move(st).error();
      }
      t.logged_in = true;
    }
    for (CK_OBJECT_CLASS cls : {CKO_PRIVATE_KEY, CKO_PUBLIC_KEY, CKO_CERTIFICATE}) {
      if (filter.type && ((*filter.type == "private") != (cls == CKO_PRIVATE_KEY) ||
                          (*filter.type == "public") != (cls == CKO_PUBLIC_KEY) ||
                          (*filter.type == "cert") != (cls == CKO_CERTIFICATE))) {
        continue;
      }
      auto found = objects_of(m, token, (*session)->handle(), cls, filter);
      t.objects.insert(t.objects.end(), std::make_move_iterator(found.begin()), std::make_move_iterator(found.end()));
    }
    if (t.logged_in) {
      auto lock = m.guard();
      m.f()->C_Logout((*session)->handle());
    }
    listing.tokens.push_back(std::move(t));
  }
  return listing;
}

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
      return make_error(Reason::InvalidInput, "no private key on the " + token.describe() + " matches " + uri.describe() +
                                                  " (" + list_of_objects(all, "private key") + ")");
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
    return make_error(Reason::UnsupportedAlgorithm, "the " + description + " is " + type +
                                                        "; the profile requires EC P-256 (prime256v1)");
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
      return make_error(Reason::InvalidInput, "the " + description +
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

Result<std::string> read_token_certificate(const Pkcs11Uri& uri, const Pkcs11Options& options) {
  if (uri.type && *uri.type != "cert") {
    return make_error(Reason::InvalidInput, "--cert names a " + *uri.type + " object; a certificate is type=cert");
  }
  auto opened = open_token(uri, options);
  if (!opened) return std::move(opened).error();
  Module& m = *opened->module;
  auto session = open_session(opened->module, opened->token.slot);
  if (!session) return std::move(session).error();
  const CK_SESSION_HANDLE s = (*session)->handle();
  auto certs = find_objects(m, s, CKO_CERTIFICATE, uri.object, uri.id);
  if (!certs) return std::move(certs).error();
  if (certs->size() != 1) {
    const auto all = objects_of(m, opened->token, s, CKO_CERTIFICATE, Pkcs11Uri{});
    return make_error(Reason::InvalidInput,
                      (certs->empty() ? std::string("no certificate") : std::to_string(certs->size()) + " certificates") +
                          " on the " + opened->token.describe() + " match " + uri.describe() + " (" +
                          list_of_objects(all, "certificate") + ")");
  }
  auto value = attribute(m, s, certs->front(), CKA_VALUE);
  if (!value || value->empty()) {
    return make_error(Reason::InvalidInput, "the certificate " + uri.describe() + " on the token has no value");
  }
  return *value;
}

}  // namespace mamsign
