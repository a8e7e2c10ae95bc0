// Issues SMKI-style certificates and CRLs for example and test PKIs (keys-example/, the tests, the
// benchmarks). It can also break the profile on purpose, one way at a time, so the checks can be tested.
// Not for production: a real SMKI certificate comes from the DCC's SMKI Registration Authority.
#pragma once

#include "mamsign/base/error.h"
#include "mamsign/smki/eui64.h"
#include "mamsign/base/ossl.h"

#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <vector>

namespace mamsign {

enum class KeyType { P256, P384, Rsa2048 };
Result<EvpPkeyPtr> generate_key(KeyType type);

// How the subject carries the EUI-64.
enum class EuiEncoding {
  BitString64,  // the profile: BIT STRING of exactly 64 bits, whatever its trailing octets
  Utf8String,   // what `openssl req -subj` writes: wrong
  BitString56,  // the first seven octets only: wrong
  Absent,       // wrong
};

struct CertSpec {
  std::optional<std::string> common_name;
  std::optional<std::string> ou;  // the role as written, e.g. "02"
  Eui64 eui64;
  EuiEncoding eui_encoding = EuiEncoding::BitString64;
  std::time_t not_before = 0;
  std::time_t not_after = 0;
  bool key_usage_present = true;
  bool key_usage_critical = true;
  std::uint32_t key_usage = KU_DIGITAL_SIGNATURE;  // KU_* bits of <openssl/x509v3.h>
  std::optional<std::string> policy_oid;
  bool policies_critical = true;
  bool ca = false;                   // basicConstraints cA (critical), for roots and OCAs
  std::vector<std::uint8_t> serial;  // big-endian; empty: 16 random octets, positive
};

// A subject as SMKI writes it: CN (optional), OU = the role code, x500UniqueIdentifier = the EUI-64 (as
// `encoding` says, so tests can break it). Shared by certificates and certificate requests.
Result<X509NamePtr> build_subject(const std::optional<std::string>& common_name, const std::optional<std::string>& ou,
                                  const Eui64& eui64, EuiEncoding encoding);
// The keyUsage BIT STRING for KU_* bits, as DER wants it (no trailing zero bits).
Result<Asn1BitStringPtr> key_usage_bits(std::uint32_t key_usage);

// Signs with ecdsa-with-SHA256 by `issuer_key`; `issuer` null makes a self-signed certificate.
// Subject and authority key identifiers are 8 octets, as in SMKI.
Result<X509Ptr> issue_certificate(const CertSpec& spec, EVP_PKEY* subject_key, X509* issuer, EVP_PKEY* issuer_key);

struct Revocation {
  X509* cert;
  std::time_t revoked_at;
};
Result<X509CrlPtr> issue_crl(X509* ca, EVP_PKEY* ca_key, const std::vector<Revocation>& revoked,
                             std::time_t this_update, std::time_t next_update);

// PEM texts, for writing files. The private key is PKCS#8; with a passphrase it is encrypted
// (AES-256-CBC, PBKDF2).
Result<std::string> certificate_pem(X509* cert);
Result<std::string> crl_pem(X509_CRL* crl);
Result<std::string> private_key_pem(EVP_PKEY* key, const std::string* passphrase = nullptr);

}  // namespace mamsign
