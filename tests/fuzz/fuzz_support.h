// Shared by the fuzz targets: the example PKI, loaded once, as the world a fuzzed input meets.
#pragma once

#include "mamsign/pki/cert_store.h"
#include "mamsign/smki/org_cert.h"
#include "mamsign/smki/profile.h"
#include "mamsign/pki/trust_store.h"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

namespace mamsign::fuzz {

inline std::string_view bytes(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Setup that cannot fail in a healthy checkout: if it does, the target stops at once, loudly.
template <class T>
T must(Result<T> r) {
  if (!r) std::abort();
  return std::move(*r);
}

inline const std::string& source_dir() {
  static const std::string dir = MAMSIGN_SOURCE_DIR;
  return dir;
}

inline std::shared_ptr<TrustStore> example_trust(bool with_crl) {
  auto t = must(TrustStore::load({source_dir() + "/keys-example/trust"}, Profile::defaults()));
  if (with_crl && !t->add_crls({source_dir() + "/keys-example/crl"})) std::abort();
  return t;
}

inline OrgCertPtr example_cert(const std::string& name) {
  return must(OrgCert::load(source_dir() + "/keys-example/store/" + name + ".pem"));
}

// 2026-06-01T00:00:00Z, inside every valid example certificate's validity.
constexpr std::time_t kExampleTime = 1780272000;

}  // namespace mamsign::fuzz
