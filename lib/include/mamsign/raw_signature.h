// The raw signature of SPEC section 4 (--format raw, ".sig"): a bare DER ECDSA-Sig-Value over SHA-256 of
// the file's bytes, exactly what `openssl dgst -sha256 -sign KEY -out F.sig F` writes.
#pragma once

#include "mamsign/digest.h"
#include "mamsign/error.h"
#include "mamsign/ossl.h"

#include <string>
#include <string_view>

namespace mamsign {

// Signs a SHA-256 digest with an EC key: DER ECDSA-Sig-Value.
Result<std::string> make_raw_signature(EVP_PKEY* key, const Sha256& digest);

// MalformedSignature unless `signature` is exactly one DER ECDSA-Sig-Value (no BER, nothing after it).
Status check_raw_signature_syntax(std::string_view signature);

// Whether `signature` (DER ECDSA-Sig-Value) verifies over `digest` with `key`.
bool verify_digest_signature(EVP_PKEY* key, std::string_view signature, const Sha256& digest);

}  // namespace mamsign
