// A certificate store: an SMKI repository export (a folder of PEM, DER or PEM-bundle files), indexed
// by certificate ID and by EUI-64. Read-only once loaded, so any number of threads may share it.
#pragma once

#include "mamsign/error.h"
#include "mamsign/eui64.h"
#include "mamsign/org_cert.h"

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace mamsign {

class CertStore {
 public:
  // A file below the store that was skipped, and why.
  struct Problem {
    std::filesystem::path file;
    std::string message;
  };

  // Every regular file below each path (recursively; hidden files and folders skipped). A file that
  // holds no certificate is a Problem, never fatal; an unreadable folder is an IoError.
  static Result<std::shared_ptr<CertStore>> load(const std::vector<std::filesystem::path>& paths);
  static std::shared_ptr<CertStore> from_certs(std::vector<OrgCertPtr> certs);

  // All certificates with this canonical ID (parse_certificate_id); usually one.
  const std::vector<OrgCertPtr>& by_serial(const std::string& canonical_id) const;
  const std::vector<OrgCertPtr>& by_eui(const Eui64& eui) const;
  // Every certificate of the same SEC party as `eui`, those of `eui` itself first.
  std::vector<OrgCertPtr> by_party(const Eui64& eui, const PartyOctets& party) const;
  // The certificate a CMS signer identifier names, if the store has it.
  OrgCertPtr find(X509_NAME* issuer, const ASN1_INTEGER* serial) const;

  std::size_t size() const noexcept { return certs_.size(); }
  std::size_t duplicates() const noexcept { return duplicates_; }
  const std::vector<Problem>& problems() const noexcept { return problems_; }
  const std::vector<OrgCertPtr>& all() const noexcept { return certs_; }

 private:
  void index(std::vector<OrgCertPtr> certs);

  std::vector<OrgCertPtr> certs_;
  std::unordered_map<std::string, std::vector<OrgCertPtr>> by_serial_;
  std::unordered_map<Eui64, std::vector<OrgCertPtr>> by_eui_;
  std::vector<Problem> problems_;
  std::size_t duplicates_ = 0;
};

}  // namespace mamsign
