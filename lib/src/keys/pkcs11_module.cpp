// The PKCS#11 module: loaded and initialised once per process and path; its sessions, attributes and
// tokens; logging in; and which module to load.
#include "keys/pkcs11_module.h"

#include "mamsign/base/io.h"

#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>

namespace mamsign {
namespace pkcs11_detail {
namespace {

constexpr std::size_t kMaxObjects = 1024;              // objects read from one token for one search
constexpr std::size_t kMaxAttributeBytes = 64 * 1024;  // a certificate is a few hundred bytes
constexpr std::size_t kMaxSlots = 256;

// Where Debian (and other distributions) put the p11-kit proxy module.
constexpr std::array<const char*, 4> kProxyPaths = {"/usr/lib/x86_64-linux-gnu/p11-kit-proxy.so",
                                                    "/usr/lib/aarch64-linux-gnu/p11-kit-proxy.so",
                                                    "/usr/lib64/p11-kit-proxy.so", "/usr/lib/p11-kit-proxy.so"};

}  // namespace

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

Result<std::shared_ptr<Module>> Module::get(const ModuleChoice& choice) {
  static std::mutex registry_mutex;
  static std::map<std::string, std::weak_ptr<Module>> registry;
  const std::lock_guard<std::mutex> lock(registry_mutex);
  if (auto existing = registry[choice.path.string()].lock()) return existing;
  auto loaded = load(choice);
  if (!loaded) return std::move(loaded).error();
  registry[choice.path.string()] = *loaded;
  return loaded;
}

Result<std::shared_ptr<Module>> Module::load(const ModuleChoice& choice) {
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
      return make_error(Reason::IoError,
                        "cannot load " + where + ": it is not a regular file (a module is a .so file)");
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
    return make_error(Reason::IoError, where + " speaks PKCS#11 " + std::to_string(m->functions_->version.major) + "." +
                                           std::to_string(m->functions_->version.minor) + "; 2.x is needed");
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

Result<std::unique_ptr<Session>> open_session(const std::shared_ptr<Module>& module, CK_SLOT_ID slot) {
  CK_SESSION_HANDLE h = CK_INVALID_HANDLE;
  auto lock = module->guard();
  const CK_RV rv = module->f()->C_OpenSession(slot, CKF_SERIAL_SESSION, nullptr, nullptr, &h);
  if (rv != CKR_OK)
    return make_error(Reason::IoError, "cannot open a session on the token: C_OpenSession " + rv_name(rv));
  return std::make_unique<Session>(module, h);
}

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
    found.insert(found.end(), batch.begin(),
                 batch.begin() + static_cast<std::ptrdiff_t>(std::min<CK_ULONG>(n, batch.size())));
  }
  m.f()->C_FindObjectsFinal(s);
  if (rv != CKR_OK) return make_error(Reason::IoError, "cannot search the token: C_FindObjects " + rv_name(rv));
  if (found.size() > kMaxObjects) found.resize(kMaxObjects);
  return found;
}

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
    return make_error(Reason::InvalidInput,
                      "no token in " + m.path() + " matches " + uri.describe() + " (" + list_of_tokens(*tokens) + ")");
  }
  if (matching.size() > 1) {
    return make_error(Reason::InvalidInput, std::to_string(matching.size()) + " tokens match " + uri.describe() +
                                                "; add serial= to name one (" + list_of_tokens(matching) + ")");
  }
  return matching.front();
}

namespace {

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
  if (state.empty())
    return "the token does not report how many tries remain (PKCS#11 gives only 'low', 'final' and 'locked')";
  return "the token reports: " + state + " before it locks";
}

}  // namespace

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
  const bool pin_pad = (token.info.flags & CKF_PROTECTED_AUTHENTICATION_PATH) != 0 &&
                       pin_source.kind != PassphraseSource::Kind::File &&
                       pin_source.kind != PassphraseSource::Kind::Env;
  if (!pin_pad) {
    auto read = read_secret(
        pin_source, {"the " + token.describe() + " needs its user PIN", "User PIN for token " + token.label() + ": ",
                     "--pin-file FILE or --pin-env VAR", "PIN"});
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
    return make_error(Reason::InvalidInput,
                      "the user PIN of " + token.describe() + " has expired; set a new one first");
  }
  return make_error(Reason::IoError, "cannot log in to " + token.describe() + ": C_Login " + rv_name(rv));
}

// "EC P-256", "EC P-384", "RSA 2048", ...: from CKA_KEY_TYPE and, for EC, the curve in CKA_EC_PARAMS

Status refuse_pin_value(const Pkcs11Uri& uri) {
  if (!uri.has_pin_value) return Status::ok();
  return make_error(Reason::InvalidInput,
                    "the PKCS#11 URI carries pin-value: a PIN on the command line is visible to every user of this "
                    "machine (ps, shell history); remove it and give the PIN with --pin-file FILE, --pin-env VAR or "
                    "at the terminal prompt");
}

PassphraseSource pin_source_of(const Pkcs11Uri& uri, const Pkcs11Options& options) {
  if (uri.pin_source && options.pin.kind != PassphraseSource::Kind::File &&
      options.pin.kind != PassphraseSource::Kind::Env) {
    std::string path = *uri.pin_source;
    if (path.rfind("file:", 0) == 0) path = path.substr(5);
    return {PassphraseSource::Kind::File, path};
  }
  return options.pin;
}

Result<Opened> open_token(const Pkcs11Uri& uri, const Pkcs11Options& options) {
  if (auto st = refuse_pin_value(uri); !st) return std::move(st).error();
  auto choice = choose_pkcs11_module(options, &uri);
  if (!choice) return std::move(choice).error();
  auto module = Module::get(*choice);
  if (!module) return std::move(module).error();
  auto token = the_token(**module, uri);
  if (!token) return std::move(token).error();
  return Opened{std::move(*module), *token};
}

}  // namespace pkcs11_detail

using namespace pkcs11_detail;

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
  return make_error(
      Reason::InvalidInput,
      "no PKCS#11 module: none was given with --pkcs11-module or $MAMSIGN_PKCS11_MODULE (or module-path in "
      "the URI), and the p11-kit proxy is not installed (tried " +
          tried + "; Debian: apt install p11-kit-modules). SoftHSM2's module is /usr/lib/softhsm/libsofthsm2.so");
}

}  // namespace mamsign
