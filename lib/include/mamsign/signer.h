// Signing migration files (MAM 7.5.3 as SPEC section 4 defines it). The signer checks its key and
// certificate once, checks each file's name, streams the file through SHA-256 and writes the signature
// atomically beside it; it never modifies the input and never leaves a partial signature.
#pragma once

#include "mamsign/signature/cms_signature.h"
#include "mamsign/signature/digest.h"
#include "mamsign/base/error.h"
#include "mamsign/smki/org_cert.h"
#include "mamsign/base/ossl.h"
#include "mamsign/smki/profile.h"
#include "mamsign/signature/signature_format.h"
#include "mamsign/pki/trust_store.h"
#include "mamsign/timestamp/tsa_client.h"

#include <ctime>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace mamsign {

struct SignOptions {
  SignatureFormat format = SignatureFormat::Cms;
  std::optional<std::filesystem::path> out;  // default: FILE.p7s / FILE.sig
  bool replace = false;                      // --force: replace an existing signature
  bool check_names = true;                   // off: --no-name-check, for files that are not migration files
  bool skip_signed = false;                  // leave a file whose signature verifies for this signer
  bool sync = false;                         // fsync each signature before reporting it written
};

struct SignOutcome {
  enum class Kind { Signed, Skipped };
  Kind kind = Kind::Signed;
  std::filesystem::path signature;
  Sha256 sha256{};
  // Signed: when (a CMS signature carries it as signingTime; a raw one carries no time). Skipped: the
  // existing signature's signingTime, when it has one.
  std::optional<std::time_t> signing_time;
  // With timestamping: what the TSA's token says and which TSA gave it.
  std::optional<TimestampInfo> timestamp;
  std::string tsa_url;
};

class Signer {
 public:
  // Refuses a key and certificate that cannot sign migration files: UNSUPPORTED_ALGORITHM (not
  // P-256), KEY_MISMATCH, the profile check, WRONG_ROLE (not a configured signer role),
  // WRONG_KEY_USAGE (not digitalSignature only), CERT_EXPIRED / CERT_NOT_YET_VALID at `now`; with
  // `trust`, also UNTRUSTED_CHAIN, CERT_REVOKED and (the trust store's profile requiring CRLs)
  // REVOCATION_UNKNOWN / REVOCATION_STALE, as a verifier would judge the signature.
  static Result<Signer> create(EvpPkeyPtr key, OrgCertPtr cert, std::vector<OrgCertPtr> chain, Profile profile,
                               std::time_t now, const TrustStore* trust = nullptr);

  // IO_ERROR (a path that cannot be read, before anything else), FILE_NAME_INVALID, SIGNER_MISMATCH
  // (refused before reading the file), SIGNATURE_EXISTS, FILE_CHANGED.
  Result<SignOutcome> sign_file(const std::filesystem::path& file, const SignOptions& options) const;

  // Every CMS signature from here on carries an RFC 3161 timestamp from `tsa` (its token over the
  // signature value, as id-aa-signatureTimeStampToken); a file for which no TSA gives one is refused,
  // TIMESTAMP_UNAVAILABLE, and nothing is written. Raw signatures cannot carry one: refused too.
  void set_timestamping(std::shared_ptr<const TsaClient> tsa) { tsa_ = std::move(tsa); }
  bool timestamping() const noexcept { return tsa_ != nullptr; }

  // The signature bytes for a digest and a bound name, signed now.
  Result<std::string> sign_digest(const Sha256& digest, std::string_view bound_name, SignatureFormat format,
                                  std::time_t signing_time) const;

  // Whether an existing signature of `file` (its digest given) verifies for this signer; when it does,
  // `signing_time` (if given) receives the signingTime it carries.
  bool signed_by_me(const std::filesystem::path& signature, SignatureFormat format, const Sha256& digest,
                    std::string_view bound_name, std::optional<std::time_t>* signing_time = nullptr) const;

  // What revocation checking found for the signer's certificate (only when created with a trust store).
  const std::optional<RevocationStatus>& revocation() const noexcept { return revocation_; }
  const OrgCert& certificate() const noexcept { return *cert_; }
  const OrgCertPtr& certificate_ptr() const noexcept { return cert_; }
  const Profile& profile() const noexcept { return profile_; }

 private:
  Signer() = default;
  EvpPkeyPtr key_;
  OrgCertPtr cert_;
  std::vector<OrgCertPtr> chain_;
  Profile profile_;
  std::optional<RevocationStatus> revocation_;
  std::optional<CmsSignatureMaker> maker_;  // the per-signer part of every CMS signature, encoded once
  std::shared_ptr<const TsaClient> tsa_;
};

// `cms_der` with a timestamp from `tsa` over its signature value added (the signed part untouched).
// `outcome` (when given) receives what the token says. TIMESTAMP_UNAVAILABLE, MALFORMED_SIGNATURE.
Result<std::string> timestamp_cms(std::string_view cms_der, const TsaClient& tsa, SignOutcome* outcome = nullptr);

// mam-sign --timestamp-only: adds a timestamp to a CMS signature file that has none, in place (written
// atomically; the signed part untouched, so it verifies as before). MALFORMED_SIGNATURE for a raw or
// unreadable signature, or one that carries a timestamp already; TIMESTAMP_UNAVAILABLE; IO_ERROR.
Result<SignOutcome> timestamp_signature_file(const std::filesystem::path& signature, const TsaClient& tsa, bool sync);

// The certificate checks both sides share: WRONG_ROLE unless the certificate's role is one of the
// profile's signer roles; WRONG_KEY_USAGE unless its keyUsage is digitalSignature only.
Status check_signer_role(const OrgCert& cert, const Profile& profile);
Status check_signer_usage(const OrgCert& cert);

// The name checks both sides share: FILE_NAME_INVALID unless `base_name` is a migration file name,
// SIGNER_MISMATCH unless it names `signer`'s party.
Status check_file_name(std::string_view base_name, const OrgCert& signer, const Profile& profile);

}  // namespace mamsign
