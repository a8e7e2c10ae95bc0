#include "mamsign/pki/cert_store.h"

#include "mamsign/base/io.h"
#include "mamsign/base/pem.h"

#include <openssl/asn1t.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <set>
#include <system_error>
#include <thread>

// A certificate as OpenSSL's ASN.1 templates describe it (RFC 5280 section 4.1), except that the
// subjectPublicKeyInfo stays an algorithm and a BIT STRING: the index needs the serial and the
// subject, not the key, and OpenSSL 3.0 spends ~140 us decoding a key inside d2i_X509.
extern "C" {
typedef struct mamsign_index_spki_st {
  X509_ALGOR* algorithm;
  ASN1_BIT_STRING* key;
} MAMSIGN_INDEX_SPKI;

ASN1_SEQUENCE(MAMSIGN_INDEX_SPKI) =
    {
        ASN1_SIMPLE(MAMSIGN_INDEX_SPKI, algorithm, X509_ALGOR),
        ASN1_SIMPLE(MAMSIGN_INDEX_SPKI, key, ASN1_BIT_STRING),
} ASN1_SEQUENCE_END(MAMSIGN_INDEX_SPKI)

        typedef struct mamsign_index_tbs_st {
  ASN1_INTEGER* version;
  ASN1_INTEGER* serial;
  X509_ALGOR* signature;
  X509_NAME* issuer;
  X509_VAL* validity;
  X509_NAME* subject;
  MAMSIGN_INDEX_SPKI* spki;
  ASN1_BIT_STRING* issuer_uid;
  ASN1_BIT_STRING* subject_uid;
  STACK_OF(X509_EXTENSION) * extensions;
} MAMSIGN_INDEX_TBS;

ASN1_SEQUENCE(MAMSIGN_INDEX_TBS) =
    {
        ASN1_EXP_OPT(MAMSIGN_INDEX_TBS, version, ASN1_INTEGER, 0),
        ASN1_SIMPLE(MAMSIGN_INDEX_TBS, serial, ASN1_INTEGER),
        ASN1_SIMPLE(MAMSIGN_INDEX_TBS, signature, X509_ALGOR),
        ASN1_SIMPLE(MAMSIGN_INDEX_TBS, issuer, X509_NAME),
        ASN1_SIMPLE(MAMSIGN_INDEX_TBS, validity, X509_VAL),
        ASN1_SIMPLE(MAMSIGN_INDEX_TBS, subject, X509_NAME),
        ASN1_SIMPLE(MAMSIGN_INDEX_TBS, spki, MAMSIGN_INDEX_SPKI),
        ASN1_IMP_OPT(MAMSIGN_INDEX_TBS, issuer_uid, ASN1_BIT_STRING, 1),
        ASN1_IMP_OPT(MAMSIGN_INDEX_TBS, subject_uid, ASN1_BIT_STRING, 2),
        ASN1_EXP_SEQUENCE_OF_OPT(MAMSIGN_INDEX_TBS, extensions, X509_EXTENSION, 3),
} ASN1_SEQUENCE_END(MAMSIGN_INDEX_TBS)

        typedef struct mamsign_index_cert_st {
  MAMSIGN_INDEX_TBS* tbs;
  X509_ALGOR* signature_algorithm;
  ASN1_BIT_STRING* signature;
} MAMSIGN_INDEX_CERT;

ASN1_SEQUENCE(MAMSIGN_INDEX_CERT) =
    {
        ASN1_SIMPLE(MAMSIGN_INDEX_CERT, tbs, MAMSIGN_INDEX_TBS),
        ASN1_SIMPLE(MAMSIGN_INDEX_CERT, signature_algorithm, X509_ALGOR),
        ASN1_SIMPLE(MAMSIGN_INDEX_CERT, signature, ASN1_BIT_STRING),
} ASN1_SEQUENCE_END(MAMSIGN_INDEX_CERT)

        DECLARE_ASN1_FUNCTIONS(MAMSIGN_INDEX_CERT) IMPLEMENT_ASN1_FUNCTIONS(MAMSIGN_INDEX_CERT)
}

namespace mamsign {

struct CertStore::Entry {
  std::string der;
  std::string serial;
  std::optional<Eui64> eui64;
  mutable std::once_flag once;
  mutable OrgCertPtr cert;  // built on first use

  OrgCertPtr get() const {
    // The index parse and d2i_X509 share every template but the key's, whose decode never fails a
    // parse, so a certificate that was indexed always builds.
    std::call_once(once, [this] { cert = OrgCert::from_der(der); });
    return cert;
  }
};

namespace {

constexpr std::size_t kMaxStoreFileBytes = 64 * 1024 * 1024;

using IndexCertPtr = OsslPtr<MAMSIGN_INDEX_CERT, MAMSIGN_INDEX_CERT_free>;

// The DER of every certificate in a file: PEM blocks named CERTIFICATE (others skipped), or one DER.
Result<std::vector<std::string>> certificate_ders(const std::string& bytes, const std::string& origin) {
  return der_objects(bytes, origin, {PEM_STRING_X509, PEM_STRING_X509_OLD}, "certificate");
}

struct Indexed {
  std::string der;
  std::string serial;
  std::optional<Eui64> eui64;
  Fingerprint fingerprint{};
};

// One store file read and indexed: its certificates, or why it is skipped whole.
struct IndexedFile {
  std::vector<Indexed> certs;
  std::optional<std::string> problem;
};

// Index keys of one DER certificate.
Result<Indexed> index_entry(std::string der, const std::string& origin) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  IndexCertPtr cert(d2i_MAMSIGN_INDEX_CERT(nullptr, &p, static_cast<long>(der.size())));
  if (!cert || p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) {
    ERR_clear_error();
    return make_error(Reason::InvalidInput, origin + " is not a DER or PEM certificate");
  }
  Indexed out;
  out.serial = serial_text(cert->tbs->serial);
  out.eui64 = subject_eui64(cert->tbs->subject);
  out.fingerprint = sha256_fingerprint(der);
  out.der = std::move(der);
  return out;
}

IndexedFile index_file(const std::filesystem::path& file) {
  IndexedFile out;
  auto bytes = read_small_file(file, kMaxStoreFileBytes, "certificate file");
  if (!bytes) {
    out.problem = bytes.error().message;
    return out;
  }
  auto ders = certificate_ders(*bytes, file.string());
  if (!ders) {
    out.problem = ders.error().message;
    return out;
  }
  for (std::size_t i = 0; i < ders->size(); ++i) {
    const std::string origin =
        ders->size() == 1 ? file.string() : file.string() + " (certificate " + std::to_string(i + 1) + ")";
    auto entry = index_entry(std::move((*ders)[i]), origin);
    if (!entry) {
      out.problem = entry.error().message;  // a damaged bundle is skipped whole
      out.certs.clear();
      return out;
    }
    out.certs.push_back(std::move(*entry));
  }
  return out;
}

// index_file for each file, on up to `threads` threads; in file order.
std::vector<IndexedFile> index_files(const std::vector<std::filesystem::path>& files, unsigned threads) {
  std::vector<IndexedFile> out(files.size());
  std::atomic<std::size_t> next{0};
  std::mutex failed_mutex;
  std::exception_ptr failed;  // the first exception of a helper, rethrown here
  auto work = [&] {
    try {
      for (std::size_t i = next++; i < files.size(); i = next++) out[i] = index_file(files[i]);
    } catch (...) {
      std::lock_guard lock(failed_mutex);
      if (!failed) failed = std::current_exception();
      next = files.size();
    }
  };
  {
    std::vector<std::jthread> helpers;
    const std::size_t extra = std::min<std::size_t>(threads, files.size()) - std::min<std::size_t>(1, files.size());
    try {
      for (std::size_t t = 0; t < extra; ++t) helpers.emplace_back(work);
    } catch (const std::system_error&) {
      // No thread to be had: fewer do the work.
    }
    work();
  }
  if (failed) std::rethrow_exception(failed);
  return out;
}

}  // namespace

CertStore::CertStore() = default;
CertStore::~CertStore() = default;

Result<std::shared_ptr<CertStore>> CertStore::load(const std::vector<std::filesystem::path>& paths, unsigned threads) {
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
    auto found = list_files(root, true, "certificate store");
    if (!found) return std::move(found).error();
    files.insert(files.end(), found->begin(), found->end());
  }
  std::sort(files.begin(), files.end());

  // Files are read and indexed in parallel, then added in their sorted order: the store is the same
  // whatever the number of threads.
  auto indexed = index_files(files, std::max(1u, threads));
  auto store = std::make_shared<CertStore>();
  std::set<Fingerprint> seen;
  for (std::size_t f = 0; f < files.size(); ++f) {
    if (indexed[f].problem) {
      store->problems_.push_back({files[f], *indexed[f].problem});
      continue;
    }
    for (auto& e : indexed[f].certs) {
      if (!seen.insert(e.fingerprint).second) {
        ++store->duplicates_;
        continue;
      }
      auto entry = std::make_unique<Entry>();
      entry->der = std::move(e.der);
      entry->serial = std::move(e.serial);
      entry->eui64 = e.eui64;
      store->by_serial_[entry->serial].push_back(entry.get());
      if (entry->eui64) store->by_eui_[*entry->eui64].push_back(entry.get());
      store->entries_.push_back(std::move(entry));
    }
    indexed[f] = IndexedFile{};  // its memory goes now, not at the end
  }
  return store;
}

std::shared_ptr<CertStore> CertStore::from_certs(std::vector<OrgCertPtr> certs) {
  auto store = std::make_shared<CertStore>();
  std::set<Fingerprint> seen;
  for (auto& c : certs) {
    if (!seen.insert(c->fingerprint()).second) {
      ++store->duplicates_;
      continue;
    }
    auto entry = std::make_unique<Entry>();
    entry->serial = c->serial();
    entry->eui64 = c->eui64();
    std::call_once(entry->once, [&] { entry->cert = c; });
    store->by_serial_[entry->serial].push_back(entry.get());
    if (entry->eui64) store->by_eui_[*entry->eui64].push_back(entry.get());
    store->entries_.push_back(std::move(entry));
  }
  return store;
}

std::vector<OrgCertPtr> CertStore::materialize(const std::vector<const Entry*>& entries) const {
  std::vector<OrgCertPtr> out;
  out.reserve(entries.size());
  for (const auto* e : entries) {
    if (auto c = e->get()) out.push_back(std::move(c));
  }
  return out;
}

std::vector<OrgCertPtr> CertStore::by_serial(const std::string& canonical_id) const {
  auto it = by_serial_.find(canonical_id);
  return it == by_serial_.end() ? std::vector<OrgCertPtr>{} : materialize(it->second);
}

std::vector<OrgCertPtr> CertStore::by_eui(const Eui64& eui) const {
  auto it = by_eui_.find(eui);
  return it == by_eui_.end() ? std::vector<OrgCertPtr>{} : materialize(it->second);
}

std::vector<OrgCertPtr> CertStore::by_party(const Eui64& eui, const PartyOctets& party) const {
  std::vector<OrgCertPtr> out = by_eui(eui);
  for (const auto& [other, entries] : by_eui_) {
    if (other != eui && other.same_party(eui, party)) {
      auto more = materialize(entries);
      out.insert(out.end(), more.begin(), more.end());
    }
  }
  return out;
}

std::vector<OrgCertPtr> CertStore::all() const {
  std::vector<const Entry*> entries;
  for (const auto& e : entries_) entries.push_back(e.get());
  return materialize(entries);
}

std::size_t CertStore::materialized() const noexcept {
  return static_cast<std::size_t>(
      std::count_if(entries_.begin(), entries_.end(), [](const auto& e) { return e->cert != nullptr; }));
}

OrgCertPtr CertStore::find(X509_NAME* issuer, const ASN1_INTEGER* serial) const {
  for (const auto& c : by_serial(serial_text(serial))) {
    if (X509_NAME_cmp(X509_get_issuer_name(c->x509()), issuer) == 0) return c;
  }
  return nullptr;
}

}  // namespace mamsign
