// The raw signature of SPEC section 4 (--format raw, ".sig"): a bare DER ECDSA-Sig-Value over SHA-256 of
// the file's bytes, exactly what `openssl dgst -sha256 -sign KEY -out F.sig F` writes.
#pragma once

#include "mamsign/signature/digest.h"
#include "mamsign/base/error.h"
#include "mamsign/base/ossl.h"

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace mamsign {

// Signs a SHA-256 digest with an EC key: DER ECDSA-Sig-Value.
Result<std::string> make_raw_signature(EVP_PKEY* key, const Sha256& digest);

// MalformedSignature unless `signature` is exactly one DER ECDSA-Sig-Value (no BER, nothing after it).
Status check_raw_signature_syntax(std::string_view signature);

// A signature over SHA-256 of the content itself (raw, or CMS without signed attributes) cannot be told
// from a CMS signature's, which is over SHA-256 of the DER signed attributes (a SET), nor from a CSR's
// (a SEQUENCE): the same key makes all of them. So such a signature is never made or accepted over
// content that is itself one DER SET or SEQUENCE: FORMAT_NOT_ALLOWED. A migration file is CSV, never
// DER. IoError when the file cannot be read.
Status check_content_not_der(const std::filesystem::path& file);
// The same judgement on the first bytes of a content of `size` bytes (all of it, up to 1 MiB).
Status check_bytes_not_der(std::string_view head, std::uint64_t size, std::string_view name = "content");

// Whether `signature` (DER ECDSA-Sig-Value) verifies over `digest` with `key`.
bool verify_digest_signature(EVP_PKEY* key, std::string_view signature, const Sha256& digest);

}  // namespace mamsign
