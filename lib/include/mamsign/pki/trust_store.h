// Trust anchors (SMKI Root), issuing CAs (OCAs) and CRLs; validates an organisation certificate's chain
// at a chosen time without OpenSSL's purpose checks (organisation certificates carry no EKU).
#pragma once

#include "mamsign/base/error.h"
#include "mamsign/smki/org_cert.h"
#include "mamsign/smki/profile.h"

#include <ctime>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace mamsign {

// What revocation checking found for a certificate: whether a CRL of its issuer was consulted, which,
// and whether it was current at the time checked. Results say this aloud (text note, JSON object).
struct RevocationStatus {
  bool checked = false;  // a CRL of the certificate's issuer was consulted
  std::string issuer;    // the CA whose CRLs were looked for
  std::string crl;       // the file the newest CRL came from
  std::optional<std::time_t> this_update;
  std::optional<std::time_t> next_update;
  bool stale = false;  // past nextUpdate (+ grace) at the time checked
  // Whether the issuing CA itself was checked against its root's CRL (an ARL); unset when a root
  // issued the certificate directly.
  std::optional<bool> issuer_checked;
  std::vector<std::string> notes;  // said even when nothing fails (a stale CRL, an unchecked OCA)
};

class TrustStore {
 public:
  // `paths`: PEM or DER files, PEM bundles, or folders of them (not recursive). Self-signed
  // certificates become roots; the others are candidate issuing CAs, used only when they chain to a
  // root at the time of use, are CAs and (profile.issuer_role) carry the issuing-authority role.
  static Result<std::shared_ptr<TrustStore>> load(const std::vector<std::filesystem::path>& paths,
                                                  const Profile& profile);
  static Result<std::shared_ptr<TrustStore>> from_certs(std::vector<OrgCertPtr> certs, const Profile& profile);

  // CRL files (PEM or DER) or folders of them. Every CRL must be signed by a root or CA of this store
  // (InvalidInput otherwise): an unverifiable CRL would silently revoke nothing.
  Status add_crls(const std::vector<std::filesystem::path>& paths);
  // The CRLs of one file's bytes (PEM blocks or one DER CRL); `origin` names it in messages.
  Status add_crls_from(std::string_view bytes, std::string_view origin);
  Status add_crl(X509CrlPtr crl, std::string_view origin);

  // The chain from `cert` to a root at `at`: UNTRUSTED_CHAIN, CERT_EXPIRED, CERT_NOT_YET_VALID, then
  // CERT_REVOKED (on a CRL, revoked on or before `at`; an OCA revoked on the root's CRL revokes all it
  // issued), then with the profile's require_crl REVOCATION_UNKNOWN (no CRL of the issuing CA) and
  // REVOCATION_STALE (its newest CRL past nextUpdate + crl_grace at `at`). `extra` are untrusted
  // certificates that may hold the issuing CA (those embedded in a CMS signature). `revocation`, when
  // given, says what was checked. Thread-safe; CA results are cached.
  Status verify(const OrgCert& cert, std::time_t at, const std::vector<OrgCertPtr>& extra = {},
                RevocationStatus* revocation = nullptr) const;
  const Profile& profile() const noexcept { return profile_; }

  std::size_t root_count() const noexcept { return roots_.size(); }
  std::size_t ca_count() const noexcept { return cas_.size(); }
  std::size_t crl_count() const noexcept { return crls_.size(); }
  // Each CRL loaded: the file it came from and its thisUpdate and nextUpdate (the intake's metrics and
  // its stale-CRL warnings).
  struct CrlInfo {
    std::string origin;
    std::optional<std::time_t> this_update, next_update;
  };
  std::vector<CrlInfo> crl_infos() const;

  TrustStore(const TrustStore&) = delete;
  TrustStore& operator=(const TrustStore&) = delete;
  TrustStore() = default;

 private:
  struct Crl {
    X509CrlPtr crl;
    Fingerprint issuer;  // the CA whose key verified it
    std::string origin;
  };
  struct CaCheck {
    Status status;
    bool revocation_checked = false;  // against a CRL of the root
    std::vector<std::string> notes;
  };
  // Validates an issuing CA against the roots at `at`, and against the root's CRL when there is one (cached).
  CaCheck verify_ca(const OrgCertPtr& ca, std::time_t at) const;
  // CERT_REVOKED, then (with `required`) REVOCATION_UNKNOWN and REVOCATION_STALE; fills `out`.
  Status check_revocation(const OrgCert& cert, const OrgCert& issuer, std::time_t at, bool required,
                          RevocationStatus& out) const;

  Profile profile_;
  std::vector<OrgCertPtr> roots_;
  std::vector<OrgCertPtr> cas_;
  std::vector<OrgCertPtr> not_cas_;  // given as anchors but no CAs: only for saying so
  std::vector<Crl> crls_;
  mutable std::mutex mutex_;
  mutable std::map<std::pair<Fingerprint, std::time_t>, CaCheck> ca_cache_;
};

}  // namespace mamsign
