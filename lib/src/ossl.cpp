#include "mamsign/ossl.h"

#include <openssl/err.h>

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

}  // namespace mamsign
