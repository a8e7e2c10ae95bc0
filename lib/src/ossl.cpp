#include "mamsign/ossl.h"

#include <openssl/err.h>
#include <openssl/provider.h>

#include <mutex>
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

thread_local OSSL_LIB_CTX* t_decoding_context = nullptr;

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

OSSL_LIB_CTX* new_context() {
  OSSL_LIB_CTX* ctx = OSSL_LIB_CTX_new();
  // Held for the context's life: a context without its provider decodes nothing.
  if (ctx != nullptr && OSSL_PROVIDER_load(ctx, "default") == nullptr) {
    OSSL_LIB_CTX_free(ctx);
    ctx = nullptr;
  }
  ERR_clear_error();
  return ctx;  // nullptr: the thread decodes in the default context, slower but the same
}

}  // namespace

ThreadLibraryContext::ThreadLibraryContext() : context_(nullptr), previous_(t_decoding_context) {
  {
    auto& pool = context_pool();
    std::lock_guard lock(pool.mutex);
    if (!pool.idle.empty()) {
      context_ = pool.idle.back();
      pool.idle.pop_back();
    }
  }
  if (context_ == nullptr) context_ = new_context();
  t_decoding_context = context_;
}

ThreadLibraryContext::~ThreadLibraryContext() {
  t_decoding_context = previous_;
  if (context_ == nullptr) return;
  auto& pool = context_pool();
  std::lock_guard lock(pool.mutex);
  pool.idle.push_back(context_);
}

OSSL_LIB_CTX* decoding_context() noexcept { return t_decoding_context; }

}  // namespace mamsign
