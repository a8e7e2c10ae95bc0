#include "mamsign/cert_store.h"

#include "mamsign/io.h"

#include <openssl/err.h>

#include <algorithm>
#include <atomic>
#include <set>
#include <thread>

namespace mamsign {
namespace {

constexpr std::size_t kMaxStoreFileBytes = 64 * 1024 * 1024;

const std::vector<OrgCertPtr> kNone;

bool hidden(const std::filesystem::path& p) {
  const std::string name = p.filename().string();
  return !name.empty() && name.front() == '.';
}

}  // namespace

Result<std::shared_ptr<CertStore>> CertStore::load(const std::vector<std::filesystem::path>& paths) {
  std::vector<std::filesystem::path> files;
  for (const auto& root : paths) {
    std::error_code ec;
    if (!std::filesystem::exists(root, ec)) {
      return make_error(Reason::IoError, "cannot read certificate store " + root.string() + ": it does not exist");
    }
    if (!std::filesystem::is_directory(root, ec)) {
      files.push_back(root);
      continue;
    }
    std::filesystem::recursive_directory_iterator it(root, std::filesystem::directory_options::skip_permission_denied, ec);
    if (ec) return make_error(Reason::IoError, "cannot read certificate store " + root.string() + ": " + ec.message());
    for (; it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      if (ec) return make_error(Reason::IoError, "cannot read certificate store " + root.string() + ": " + ec.message());
      if (hidden(it->path())) {
        if (it->is_directory(ec)) it.disable_recursion_pending();
        continue;
      }
      if (it->is_regular_file(ec)) files.push_back(it->path());
    }
  }
  std::sort(files.begin(), files.end());

  // Parsing dominates loading; files are independent, so they are shared out between the cores.
  std::vector<std::vector<OrgCertPtr>> parsed(files.size());
  std::vector<std::optional<std::string>> failures(files.size());
  std::atomic<std::size_t> next{0};
  auto work = [&] {
    for (std::size_t i = next++; i < files.size(); i = next++) {
      auto bytes = read_small_file(files[i], kMaxStoreFileBytes, "certificate file");
      if (!bytes) {
        failures[i] = bytes.error().message;
        continue;
      }
      auto certs = OrgCert::parse_all(*bytes, files[i].string());
      if (certs) {
        parsed[i] = std::move(*certs);
      } else {
        failures[i] = certs.error().message;
      }
      ERR_clear_error();
    }
  };
  const unsigned workers = std::clamp(std::thread::hardware_concurrency(), 1u, 8u);
  std::vector<std::thread> threads;
  if (files.size() > 64) {
    for (unsigned t = 1; t < workers; ++t) threads.emplace_back(work);
  }
  work();
  for (auto& t : threads) t.join();

  auto store = std::make_shared<CertStore>();
  std::vector<OrgCertPtr> all;
  for (std::size_t i = 0; i < files.size(); ++i) {
    if (failures[i]) store->problems_.push_back({files[i], *failures[i]});
    for (auto& c : parsed[i]) all.push_back(std::move(c));
  }
  store->index(std::move(all));
  return store;
}

std::shared_ptr<CertStore> CertStore::from_certs(std::vector<OrgCertPtr> certs) {
  auto store = std::make_shared<CertStore>();
  store->index(std::move(certs));
  return store;
}

void CertStore::index(std::vector<OrgCertPtr> certs) {
  std::set<Fingerprint> seen;
  for (auto& c : certs) {
    if (!seen.insert(c->fingerprint()).second) {
      ++duplicates_;
      continue;
    }
    by_serial_[c->serial()].push_back(c);
    if (c->eui64()) by_eui_[*c->eui64()].push_back(c);
    certs_.push_back(std::move(c));
  }
}

const std::vector<OrgCertPtr>& CertStore::by_serial(const std::string& canonical_id) const {
  auto it = by_serial_.find(canonical_id);
  return it == by_serial_.end() ? kNone : it->second;
}

const std::vector<OrgCertPtr>& CertStore::by_eui(const Eui64& eui) const {
  auto it = by_eui_.find(eui);
  return it == by_eui_.end() ? kNone : it->second;
}

std::vector<OrgCertPtr> CertStore::by_party(const Eui64& eui, const PartyOctets& party) const {
  std::vector<OrgCertPtr> out = by_eui(eui);
  for (const auto& [other, certs] : by_eui_) {
    if (other != eui && other.same_party(eui, party)) out.insert(out.end(), certs.begin(), certs.end());
  }
  return out;
}

OrgCertPtr CertStore::find(X509_NAME* issuer, const ASN1_INTEGER* serial) const {
  for (const auto& c : certs_) {
    if (ASN1_INTEGER_cmp(X509_get0_serialNumber(c->x509()), serial) == 0 &&
        X509_NAME_cmp(X509_get_issuer_name(c->x509()), issuer) == 0) {
      return c;
    }
  }
  return nullptr;
}

}  // namespace mamsign
