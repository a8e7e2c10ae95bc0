// Ownership of OpenSSL handles: every handle the library holds lives in one of these unique_ptrs.
#pragma once

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/cms.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/ess.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string>

namespace mamsign {

template <auto Free>
struct OsslDeleter {
  template <class T>
  void operator()(T* p) const noexcept {
    Free(p);
  }
};

template <class T, auto Free>
using OsslPtr = std::unique_ptr<T, OsslDeleter<Free>>;

namespace detail {
inline void free_x509_stack(STACK_OF(X509) * s) noexcept { sk_X509_pop_free(s, X509_free); }
inline void free_openssl_memory(void* p) noexcept { OPENSSL_free(p); }
inline void free_attribute_stack(STACK_OF(X509_ATTRIBUTE) * s) noexcept {
  sk_X509_ATTRIBUTE_pop_free(s, X509_ATTRIBUTE_free);
}
inline void free_extension_stack(STACK_OF(X509_EXTENSION) * s) noexcept {
  sk_X509_EXTENSION_pop_free(s, X509_EXTENSION_free);
}
inline void free_bio(BIO* b) noexcept { BIO_free_all(b); }
inline void free_asn1_any_stack(ASN1_SEQUENCE_ANY* s) noexcept { sk_ASN1_TYPE_pop_free(s, ASN1_TYPE_free); }
}  // namespace detail

using BioPtr = OsslPtr<BIO, detail::free_bio>;
using BignumPtr = OsslPtr<BIGNUM, BN_free>;
using Asn1IntegerPtr = OsslPtr<ASN1_INTEGER, ASN1_INTEGER_free>;
using Asn1TimePtr = OsslPtr<ASN1_TIME, ASN1_TIME_free>;
using Asn1BitStringPtr = OsslPtr<ASN1_BIT_STRING, ASN1_BIT_STRING_free>;
using Asn1OctetStringPtr = OsslPtr<ASN1_OCTET_STRING, ASN1_OCTET_STRING_free>;
using X509Ptr = OsslPtr<X509, X509_free>;
using X509CrlPtr = OsslPtr<X509_CRL, X509_CRL_free>;
using X509NamePtr = OsslPtr<X509_NAME, X509_NAME_free>;
using X509ExtensionPtr = OsslPtr<X509_EXTENSION, X509_EXTENSION_free>;
using X509RevokedPtr = OsslPtr<X509_REVOKED, X509_REVOKED_free>;
using X509StorePtr = OsslPtr<X509_STORE, X509_STORE_free>;
using X509StoreCtxPtr = OsslPtr<X509_STORE_CTX, X509_STORE_CTX_free>;
using X509StackPtr = OsslPtr<STACK_OF(X509), detail::free_x509_stack>;
using EvpPkeyPtr = OsslPtr<EVP_PKEY, EVP_PKEY_free>;
using EvpPkeyCtxPtr = OsslPtr<EVP_PKEY_CTX, EVP_PKEY_CTX_free>;
using EvpMdCtxPtr = OsslPtr<EVP_MD_CTX, EVP_MD_CTX_free>;
using EcdsaSigPtr = OsslPtr<ECDSA_SIG, ECDSA_SIG_free>;
using CmsPtr = OsslPtr<CMS_ContentInfo, CMS_ContentInfo_free>;
using CertPoliciesPtr = OsslPtr<CERTIFICATEPOLICIES, CERTIFICATEPOLICIES_free>;
using BasicConstraintsPtr = OsslPtr<BASIC_CONSTRAINTS, BASIC_CONSTRAINTS_free>;
using EssSigningCertV2Ptr = OsslPtr<ESS_SIGNING_CERT_V2, ESS_SIGNING_CERT_V2_free>;
using OsslStringPtr = OsslPtr<char, detail::free_openssl_memory>;
using Asn1SequenceAnyPtr = OsslPtr<ASN1_SEQUENCE_ANY, detail::free_asn1_any_stack>;

// Drains OpenSSL's thread-local error queue into one line ("" when it is empty), so that a message can
// say what OpenSSL objected to and the next operation starts with a clean queue.
std::string take_openssl_errors();

// A new reference to a certificate that stays owned elsewhere.
X509Ptr share(X509* cert);

// OpenSSL 3.0 decodes a certificate's public key through decoders it looks up under its library
// context's locks, thousands of times per certificate: two threads decoding at once in one context ran
// slower than one alone (4,000 certificates: 0.59 s against 0.50 s), each in a context of its own 1.9x
// faster. A thread that decodes certificates in bulk holds a ThreadLibraryContext meanwhile, and
// OrgCert::from_der decodes into it. A context loads OpenSSL's configuration file and the providers of
// the default one (so a configuration that selects, say, the FIPS provider still applies; where either
// cannot be loaded, the thread stays in the default context). Making one costs about a millisecond
// (not worth it for a few certificates, nor for signing: tried, a 2,000-file batch gained 1-2%). Contexts
// are pooled (a later thread reuses one) and never freed, since the certificates decoded in them outlive
// the thread.
class ThreadLibraryContext {
 public:
  ThreadLibraryContext();
  ~ThreadLibraryContext();
  ThreadLibraryContext(const ThreadLibraryContext&) = delete;
  ThreadLibraryContext& operator=(const ThreadLibraryContext&) = delete;

 private:
  OSSL_LIB_CTX* context_;
  OSSL_LIB_CTX* previous_;
};

// The calling thread's library context: its ThreadLibraryContext's, or nullptr (OpenSSL's default).
OSSL_LIB_CTX* thread_library_context() noexcept;

}  // namespace mamsign
