// What one certificate costs OpenSSL on this machine, apart from mamsign: parsing (d2i_X509), path
// validation (X509_verify_cert against the OCA) and the bare ECDSA P-256 signature check inside
// it. These bound the certid worst case (every certificate of a store named): see README "Speed".
// Built and run by bench/certid.sh: cert_costs STORE_DIR TRUST_DIR; prints one JSON object.
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace {

constexpr std::size_t kCertificates = 2000;

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;

// Every certificate in the PEM files under `dir`, as DER.
std::vector<std::string> read_ders(const std::filesystem::path& dir, std::size_t limit) {
  std::vector<std::string> ders;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file() || ders.size() >= limit) continue;
    std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(entry.path().c_str(), "r"), std::fclose);
    if (!f) continue;
    while (ders.size() < limit) {
      X509Ptr x(PEM_read_X509(f.get(), nullptr, nullptr, nullptr));
      if (!x) break;
      unsigned char* der = nullptr;
      const int n = i2d_X509(x.get(), &der);
      if (n > 0) ders.emplace_back(reinterpret_cast<char*>(der), static_cast<std::size_t>(n));
      OPENSSL_free(der);
    }
    ERR_clear_error();
  }
  return ders;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: cert_costs STORE_DIR TRUST_DIR\n");
    return 2;
  }
  const auto ders = read_ders(argv[1], kCertificates);
  std::unique_ptr<X509_STORE, void (*)(X509_STORE*)> trust(X509_STORE_new(), X509_STORE_free);
  for (const auto& anchor : read_ders(argv[2], 16)) {
    const auto* p = reinterpret_cast<const unsigned char*>(anchor.data());
    X509Ptr x(d2i_X509(nullptr, &p, static_cast<long>(anchor.size())));
    if (x) X509_STORE_add_cert(trust.get(), x.get());
  }
  // As mamsign does: the OCA, checked once against the root, is a trust anchor for the leaves, so each
  // leaf costs one signature check rather than two.
  X509_STORE_set_flags(trust.get(), X509_V_FLAG_PARTIAL_CHAIN);
  if (ders.empty()) {
    std::fprintf(stderr, "cert_costs: no certificates under %s\n", argv[1]);
    return 1;
  }
  // A first pass warms OpenSSL's provider caches, as a long run would be.
  for (std::size_t i = 0; i < 50 && i < ders.size(); ++i) {
    const auto* p = reinterpret_cast<const unsigned char*>(ders[i].data());
    X509Ptr(d2i_X509(nullptr, &p, static_cast<long>(ders[i].size())));
  }

  // One certificate at a time, as mam-certid meets them: parse, validate, check the signature alone
  // against the issuer the validation found, free. Each step is timed on its own.
  using Clock = std::chrono::steady_clock;
  Clock::duration parse{}, validate{}, signature{};
  std::size_t valid = 0, signatures_good = 0;
  for (const auto& der : ders) {
    const auto* p = reinterpret_cast<const unsigned char*>(der.data());
    const auto t0 = Clock::now();
    X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
    const auto t1 = Clock::now();
    parse += t1 - t0;
    if (!cert) continue;
    std::unique_ptr<X509_STORE_CTX, void (*)(X509_STORE_CTX*)> ctx(X509_STORE_CTX_new(), X509_STORE_CTX_free);
    const auto t2 = Clock::now();
    const bool ok =
        X509_STORE_CTX_init(ctx.get(), trust.get(), cert.get(), nullptr) == 1 && X509_verify_cert(ctx.get()) == 1;
    const auto t3 = Clock::now();
    validate += t3 - t2;
    valid += ok;
    STACK_OF(X509)* chain = X509_STORE_CTX_get0_chain(ctx.get());
    if (!ok || sk_X509_num(chain) < 2) continue;
    EVP_PKEY* issuer_key = X509_get0_pubkey(sk_X509_value(chain, 1));
    const auto t4 = Clock::now();
    signatures_good += X509_verify(cert.get(), issuer_key) == 1;
    signature += Clock::now() - t4;
  }
  const auto each = [](Clock::duration d, std::size_t n) {
    return n == 0 ? 0.0 : std::chrono::duration<double, std::micro>(d).count() / static_cast<double>(n);
  };
  std::printf(
      "{\"certificates\": %zu, \"d2i_X509_us\": %.1f, \"X509_verify_cert_us\": %.1f, \"chains_valid\": %zu, "
      "\"ecdsa_signature_us\": %.1f, \"signatures_valid\": %zu}\n",
      ders.size(), each(parse, ders.size()), each(validate, ders.size()), valid, each(signature, signatures_good),
      signatures_good);
  return 0;
}
