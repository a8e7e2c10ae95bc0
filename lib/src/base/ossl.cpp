#include "mamsign/base/ossl.h"

#include <openssl/err.h>
#include <openssl/conf.h>
#include <openssl/provider.h>
#include <sys/stat.h>

#include <mutex>
#include <string>
#include <vector>

namespace mamsign {

std::string take_openssl_errors() {
  std::string out;
  unsigned long code = 0;
  char buf[256];
  while ((code = ERR_get_error()) != 0) {
    ERR_error_string_n(code, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out;
}

X509Ptr share(X509* cert) {
  if (cert != nullptr) X509_up_ref(cert);
  return X509Ptr(cert);
}

namespace {

thread_local OSSL_LIB_CTX* t_thread_library_context = nullptr;

// Contexts not held by any thread now. Reachable for the whole run (certificates refer to them), so
// never a leak; OpenSSL's own cleanup at exit leaves contexts it did not make alone.
struct ContextPool {
  std::mutex mutex;
  std::vector<OSSL_LIB_CTX*> idle;
};
ContextPool& context_pool() {
  static auto* pool = new ContextPool;
  return *pool;
}

// A context like the default one: OpenSSL's configuration file loaded into it as into the default
// context (so a configuration that selects, say, the FIPS provider and fips=yes still applies), and
// every provider the default context has loaded.
OSSL_LIB_CTX* new_context() {
  std::vector<std::string> providers;
  OSSL_PROVIDER_do_all(
      nullptr,
      [](OSSL_PROVIDER* provider, void* names) {
        static_cast<std::vector<std::string>*>(names)->emplace_back(OSSL_PROVIDER_get0_name(provider));
        return 1;
      },
      &providers);
  OsslPtr<OSSL_LIB_CTX, OSSL_LIB_CTX_free> ctx(OSSL_LIB_CTX_new());
  bool ok = ctx != nullptr;
  // $OPENSSL_CONF, else the system's openssl.cnf; absent, the default context did without it too.
  const OsslPtr<char, detail::free_openssl_memory> config(CONF_get1_default_config_file());
  struct stat st {};
  if (ok && config && ::stat(config.get(), &st) == 0) ok = OSSL_LIB_CTX_load_config(ctx.get(), config.get()) == 1;
  // Loaded for the context's life: a context without its providers does nothing.
  for (const auto& name : providers) ok = ok && OSSL_PROVIDER_load(ctx.get(), name.c_str()) != nullptr;
  ERR_clear_error();
  // A configuration or provider that will not load here: the thread works in the default context,
  // slower but the same.
  return ok ? ctx.release() : nullptr;
}

}  // namespace

ThreadLibraryContext::ThreadLibraryContext() : context_(nullptr), previous_(t_thread_library_context) {
  {
    auto& pool = context_pool();
    std::lock_guard lock(pool.mutex);
    if (!pool.idle.empty()) {
      context_ = pool.idle.back();
      pool.idle.pop_back();
    }
  }
  if (context_ == nullptr) context_ = new_context();
  t_thread_library_context = context_;
}

ThreadLibraryContext::~ThreadLibraryContext() {
  t_thread_library_context = previous_;
  if (context_ == nullptr) return;
  auto& pool = context_pool();
  std::lock_guard lock(pool.mutex);
  pool.idle.push_back(context_);
}

OSSL_LIB_CTX* thread_library_context() noexcept { return t_thread_library_context; }

}  // namespace mamsign
