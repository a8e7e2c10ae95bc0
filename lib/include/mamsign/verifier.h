// Verifying a migration file against its signature: every check of SPEC section 5, in a fixed order,
// stopping at the first failure and saying what was expected and what was found.
#pragma once

#include "mamsign/pki/cert_store.h"
#include "mamsign/signature/cms_signature.h"
#include "mamsign/signature/digest.h"
#include "mamsign/base/error.h"
#include "mamsign/smki/org_cert.h"
#include "mamsign/smki/profile.h"
#include "mamsign/signature/signature_format.h"
#include "mamsign/timestamp/timestamp_token.h"
#include "mamsign/pki/trust_store.h"

#include <ctime>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace mamsign {

struct VerifyOptions {
  std::time_t at = std::time(nullptr);  // certificates are judged at this instant (default: now)
  // `at` was asked for (--at), not now: a signature that says it was made after it gets a note.
  bool at_given = false;
  bool check_names = true;                 // off (--no-name-check): no FILE_NAME_INVALID / SIGNER_MISMATCH
  OrgCertPtr cert;                         // --cert: the signer of raw signatures and CMS without certificates;
                                           // with one, a CMS signed by another certificate is SIGNER_NOT_FOUND
  std::shared_ptr<const CertStore> store;  // --cert-store: where signers are looked up
  // RFC 3161 timestamps. A token present is always checked; its TSA must chain to `tsa_trust` for its
  // time to count (without, the token is checked but not trusted, and said so).
  std::shared_ptr<const TsaTrust> tsa_trust;
  bool at_timestamp = false;       // --at timestamp: the signer judged at the token's genTime, not `at`
  bool require_timestamp = false;  // --require-timestamp: no token is TIMESTAMP_MISSING
};

struct VerifyResult {
  std::filesystem::path file;
  std::filesystem::path signature;  // empty when none was found
  std::optional<SignatureFormat> format;
  std::optional<Error> error;                  // none: the file is valid
  OrgCertPtr signer;                           // as far as it was identified
  std::optional<std::time_t> signing_time;     // CMS signingTime
  std::optional<Sha256> sha256;                // of the file as it is
  std::optional<std::string> diagnosis;        // why the content differs, where that can be told
  std::optional<std::string> bound_name;       // the file name the signature binds
  std::vector<std::string> notes;              // facts that are not failures
  std::optional<RevocationStatus> revocation;  // what revocation checking found, once the chain was checked
  bool timestamp_present = false;              // the signature carries a signatureTimeStampToken
  std::optional<TimestampInfo> timestamp;      // what the token says, once it was checked and found good

  bool valid() const noexcept { return !error.has_value(); }
};

class Verifier {
 public:
  Verifier(std::shared_ptr<const TrustStore> trust, Profile profile, VerifyOptions options);

  // `signature`: the signature file; by default FILE.p7s, else FILE.sig. Thread-safe.
  VerifyResult verify(const std::filesystem::path& file,
                      const std::optional<std::filesystem::path>& signature = std::nullopt) const;

  // FILE.p7s if it exists, else FILE.sig if it exists.
  static std::optional<std::filesystem::path> find_signature(const std::filesystem::path& file);

  const VerifyOptions& options() const noexcept { return options_; }

 private:
  void verify_cms(VerifyResult& r, Result<CmsSignature> cms) const;
  void verify_raw(VerifyResult& r, std::string_view bytes) const;
  // Everything about the signer's certificate: algorithm, chain, validity, revocation, profile,
  // role, usage. Cached per certificate (and the certificates that came with it).
  struct SignerCheck {
    Status status;
    std::optional<RevocationStatus> revocation;  // set once the chain was checked
  };
  // At `at` (by default options().at; only that time is cached).
  SignerCheck check_signer(const OrgCertPtr& signer, const std::vector<OrgCertPtr>& extra) const;
  SignerCheck check_signer(const OrgCertPtr& signer, const std::vector<OrgCertPtr>& extra, std::time_t at) const;
  // TIMESTAMP_* and the time the signer is judged at: the token's genTime under --at timestamp.
  // False (r.error set) when the timestamp fails the verification.
  bool check_timestamp(VerifyResult& r, const CmsSignature& cms, std::time_t& judged_at) const;
  // Copies what the signer check found into the result: its failure, revocation status and notes.
  static bool take(VerifyResult& r, SignerCheck checked);
  // FORMAT_NOT_ALLOWED: a signature over the content itself ("raw", "cms-no-attributes") that the
  // profile does not list, or over content that is a DER structure (check_content_not_der).
  Status check_form_without_attributes(const VerifyResult& r, std::string_view form) const;
  // FILE_RENAMED, FILE_NAME_INVALID, SIGNER_MISMATCH.
  Status check_names(const VerifyResult& r, const OrgCert& signer) const;

  std::shared_ptr<const TrustStore> trust_;
  Profile profile_;
  VerifyOptions options_;
  mutable std::mutex mutex_;
  mutable std::map<std::pair<Fingerprint, Fingerprint>, SignerCheck> signer_cache_;
  mutable CertificateCache certificates_;  // the embedded signer certificates, parsed once
};

}  // namespace mamsign
