// A certificate store: an SMKI repository export (a folder of PEM, DER or PEM-bundle files), indexed
// by certificate ID and by EUI-64. Read-only once loaded, so any number of threads may share it.
//
// Loading indexes each certificate with a light parse that leaves its public key alone, and builds
// the full OrgCert only when a lookup returns it: OpenSSL 3.0 spends most of d2i_X509 decoding the
// key (openssl/openssl#19119), and an export holds far more certificates than one file names.
#pragma once

#include "mamsign/base/error.h"
#include "mamsign/smki/eui64.h"
#include "mamsign/smki/org_cert.h"

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
  // Files are read and indexed on up to `threads` threads; the store is the same whatever the number.
  static Result<std::shared_ptr<CertStore>> load(const std::vector<std::filesystem::path>& paths, unsigned threads = 1);
  static std::shared_ptr<CertStore> from_certs(std::vector<OrgCertPtr> certs);

  // All certificates with this canonical ID (parse_certificate_id); usually one.
  std::vector<OrgCertPtr> by_serial(const std::string& canonical_id) const;
  // Whether any certificate has this canonical ID, without building it.
  bool has_serial(const std::string& canonical_id) const { return by_serial_.count(canonical_id) != 0; }
  std::vector<OrgCertPtr> by_eui(const Eui64& eui) const;
  // Every certificate of the same SEC party as `eui`, those of `eui` itself first.
  std::vector<OrgCertPtr> by_party(const Eui64& eui, const PartyOctets& party) const;
  // The certificate a CMS signer identifier names, if the store has it.
  OrgCertPtr find(X509_NAME* issuer, const ASN1_INTEGER* serial) const;

  std::size_t size() const noexcept { return entries_.size(); }
  std::size_t duplicates() const noexcept { return duplicates_; }
  const std::vector<Problem>& problems() const noexcept { return problems_; }
  // Every certificate (builds them all: for rare lookups only).
  std::vector<OrgCertPtr> all() const;
  // How many certificates have been built from their index entries so far.
  std::size_t materialized() const noexcept;

  struct Entry;  // one certificate: its DER, its index keys, the OrgCert once built

  CertStore();
  ~CertStore();
  CertStore(const CertStore&) = delete;
  CertStore& operator=(const CertStore&) = delete;

 private:
  // Indexes a DER certificate; false (and nothing indexed) when it is not one.
  bool add(std::string der, std::string* problem);
  std::vector<OrgCertPtr> materialize(const std::vector<const Entry*>& entries) const;

  std::vector<std::unique_ptr<Entry>> entries_;
  std::unordered_map<std::string, std::vector<const Entry*>> by_serial_;
  std::unordered_map<Eui64, std::vector<const Entry*>> by_eui_;
  std::vector<Problem> problems_;
  std::size_t duplicates_ = 0;
};

}  // namespace mamsign
