#include "mamsign/pki/trust_store.h"

#include "mamsign/base/io.h"
#include "mamsign/base/pem.h"
#include "mamsign/base/times.h"

#include <openssl/err.h>
#include <openssl/pem.h>

#include <algorithm>
#include <set>

namespace mamsign {
namespace {

constexpr std::size_t kMaxTrustFileBytes = 16 * 1024 * 1024;

bool has_extension(const std::filesystem::path& p, std::initializer_list<std::string_view> exts) {
  const std::string ext = p.extension().string();
  return std::any_of(exts.begin(), exts.end(), [&](std::string_view e) { return ext == e; });
}

// The files a --trust or --crl argument stands for: the file itself, or a folder's files with one of
// `exts` (sorted, so that results do not depend on directory order).
Result<std::vector<std::filesystem::path>> expand(const std::filesystem::path& path,
                                                  std::initializer_list<std::string_view> exts, std::string_view what) {
  std::error_code ec;
  if (!std::filesystem::is_directory(path, ec)) return std::vector<std::filesystem::path>{path};
  auto all = list_files(path, false, what);
  if (!all) return std::move(all).error();
  std::vector<std::filesystem::path> out;
  for (auto& f : *all) {
    if (has_extension(f, exts)) out.push_back(std::move(f));
  }
  if (out.empty()) {
    std::string list;
    for (auto e : exts) list += (list.empty() ? "" : ", ") + std::string(e);
    return make_error(Reason::IoError, std::string(what) + " folder " + path.string() + " has no files ending " + list);
  }
  return out;
}

// Turns a failed X509_verify_cert into the project's reason codes.
Error verify_error(X509_STORE_CTX* ctx, std::time_t at, std::string_view role_of_target) {
  const int err = X509_STORE_CTX_get_error(ctx);
  X509* bad = X509_STORE_CTX_get_current_cert(ctx);
  const std::string who = bad != nullptr ? OrgCert(share(bad)).describe() : std::string(role_of_target);
  switch (err) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
      return make_error(Reason::CertExpired, "certificate " + who + " expired at " +
                                                 format_iso8601(to_time_t(X509_get0_notAfter(bad)).value_or(0)) +
                                                 " (checked at " + format_iso8601(at) + ")");
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return make_error(Reason::CertNotYetValid, "certificate " + who + " is not valid before " +
                                                     format_iso8601(to_time_t(X509_get0_notBefore(bad)).value_or(0)) +
                                                     " (checked at " + format_iso8601(at) + ")");
    default:
      return make_error(Reason::UntrustedChain, "the chain of " + std::string(role_of_target) +
                                                    " does not verify at certificate " + who + ": " +
                                                    X509_verify_cert_error_string(err));
  }
}

X509StackPtr stack_of(const std::vector<OrgCertPtr>& certs) {
  X509StackPtr stack(sk_X509_new_null());
  for (const auto& c : certs) {
    X509_up_ref(c->x509());
    sk_X509_push(stack.get(), c->x509());
  }
  return stack;
}

}  // namespace

Result<std::shared_ptr<TrustStore>> TrustStore::load(const std::vector<std::filesystem::path>& paths,
                                                     const Profile& profile) {
  // One folder may hold the anchors and their CRLs: certificates become anchors, CRLs are applied.
  std::vector<OrgCertPtr> certs;
  std::vector<std::pair<std::string, std::string>> crl_files;  // bytes, origin
  for (const auto& arg : paths) {
    auto files = expand(arg, {".pem", ".crt", ".cer", ".der", ".crl"}, "trust");
    if (!files) return std::move(files).error();
    for (const auto& file : *files) {
      if (auto st = check_not_writable_by_others(file, "the trust anchor file"); !st) return std::move(st).error();
      auto bytes = read_small_file(file, kMaxTrustFileBytes, "trust anchor file");
      if (!bytes) return std::move(bytes).error();
      auto kinds = pki_contents(*bytes, file.string());
      if (!kinds) return make_error(Reason::IoError, "cannot use trust anchor file: " + kinds.error().message);
      if (kinds->crls) crl_files.emplace_back(*bytes, file.string());
      if (!kinds->certificates) continue;
      auto parsed = OrgCert::parse_all(*bytes, file.string());
      if (!parsed) return make_error(Reason::IoError, "cannot use trust anchor file: " + parsed.error().message);
      certs.insert(certs.end(), parsed->begin(), parsed->end());
    }
  }
  auto store = from_certs(std::move(certs), profile);
  if (!store) return store;
  for (const auto& [bytes, origin] : crl_files) {
    if (auto st = (*store)->add_crls_from(bytes, origin); !st) return std::move(st).error();
  }
  return store;
}

Result<std::shared_ptr<TrustStore>> TrustStore::from_certs(std::vector<OrgCertPtr> certs, const Profile& profile) {
  auto store = std::make_shared<TrustStore>();
  store->profile_ = profile;
  std::set<Fingerprint> seen;
  for (auto& c : certs) {
    if (!seen.insert(c->fingerprint()).second) continue;
    // A root is a self-signed CA, checked by its own signature; any other CA is a candidate issuer. A
    // self-signed certificate that is no CA anchors nothing; it is kept only to say so.
    const bool self_signed = X509_self_signed(c->x509(), 1) == 1;
    if (self_signed && c->is_ca()) {
      store->roots_.push_back(std::move(c));
    } else if (c->is_ca()) {
      store->cas_.push_back(std::move(c));
    } else {
      store->not_cas_.push_back(std::move(c));
    }
    ERR_clear_error();
  }
  if (store->roots_.empty()) {
    std::string leaves;
    for (const auto& c : store->not_cas_) leaves += (leaves.empty() ? "" : "; ") + c->describe();
    return make_error(Reason::IoError,
                      "the trust anchors hold no self-signed root CA certificate (" + std::to_string(certs.size()) +
                          " certificates read" +
                          (leaves.empty() ? std::string() : "; not CAs, so they anchor nothing: " + leaves) +
                          "); give the SMKI Root and the OCA with --trust");
  }
  return store;
}

Status TrustStore::add_crls(const std::vector<std::filesystem::path>& paths) {
  for (const auto& arg : paths) {
    std::error_code ec;
    const bool folder = std::filesystem::is_directory(arg, ec);
    auto files = expand(arg, {".crl", ".pem", ".der", ".crt", ".cer"}, "CRL");
    if (!files) return std::move(files).error();
    for (const auto& file : *files) {
      if (auto st = check_not_writable_by_others(file, "the CRL"); !st) return st;
      auto bytes = read_small_file(file, kMaxTrustFileBytes, "CRL");
      if (!bytes) return std::move(bytes).error();
      // In a folder shared with the anchors, a file of certificates only is theirs, not a bad CRL.
      auto kinds = pki_contents(*bytes, file.string());
      if (folder && kinds && kinds->certificates && !kinds->crls) continue;
      if (auto st = add_crls_from(*bytes, file.string()); !st) return st;
    }
  }
  return Status::ok();
}

Status TrustStore::add_crls_from(std::string_view bytes, std::string_view origin) {
  auto ders = der_objects(bytes, origin, {PEM_STRING_X509_CRL}, "CRL");
  if (!ders) return make_error(Reason::IoError, "cannot use CRL " + ders.error().message);
  for (const auto& der : *ders) {
    // Each CRL whole, nothing after it: a damaged or padded CRL is an error, never skipped.
    const auto* p = reinterpret_cast<const unsigned char*>(der.data());
    X509CrlPtr crl(d2i_X509_CRL(nullptr, &p, static_cast<long>(der.size())));
    if (!crl || p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) {
      const std::string why = crl ? std::string("bytes follow the CRL") : "it is not a CRL " + take_openssl_errors();
      return make_error(Reason::IoError, "cannot use CRL " + std::string(origin) + ": " + why);
    }
    // The same CRL given twice (a folder named by --trust and --crl) counts once.
    const bool known = std::any_of(crls_.begin(), crls_.end(), [&](const Crl& c) {
      return X509_CRL_cmp(c.crl.get(), crl.get()) == 0 && X509_CRL_match(c.crl.get(), crl.get()) == 0;
    });
    if (known) continue;
    if (auto st = add_crl(std::move(crl), origin); !st) return st;
  }
  return Status::ok();
}

Status TrustStore::add_crl(X509CrlPtr crl, std::string_view origin) {
  for (const auto* group : {&roots_, &cas_}) {
    for (const auto& ca : *group) {
      if (X509_NAME_cmp(X509_CRL_get_issuer(crl.get()), X509_get_subject_name(ca->x509())) == 0 &&
          X509_CRL_verify(crl.get(), X509_get0_pubkey(ca->x509())) == 1) {
        crls_.push_back(Crl{std::move(crl), ca->fingerprint(), std::string(origin)});
        return Status::ok();
      }
    }
  }
  ERR_clear_error();
  BioPtr bio(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(bio.get(), X509_CRL_get_issuer(crl.get()), 0, XN_FLAG_ONELINE & ~XN_FLAG_SPC_EQ);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return make_error(Reason::InvalidInput, "CRL " + std::string(origin) + " (issuer " +
                                              std::string(data, static_cast<std::size_t>(len)) +
                                              ") is not signed by any root or CA given with --trust");
}

TrustStore::CaCheck TrustStore::verify_ca(const OrgCertPtr& ca, std::time_t at) const {
  const auto key = std::make_pair(ca->fingerprint(), at);
  {
    std::lock_guard lock(mutex_);
    if (auto it = ca_cache_.find(key); it != ca_cache_.end()) return it->second;
  }
  CaCheck result;
  result.status = [&]() -> Status {
    if (profile_.issuer_role && ca->role() != profile_.issuer_role) {
      return make_error(Reason::UntrustedChain,
                        "the issuing CA " + ca->subject() +
                            " does not carry the issuing-authority role (OU=" + role_code(*profile_.issuer_role) + ")");
    }
    X509StoreCtxPtr ctx(X509_STORE_CTX_new());
    X509StackPtr anchors = stack_of(roots_);
    if (!ctx || X509_STORE_CTX_init(ctx.get(), nullptr, ca->x509(), nullptr) != 1) {
      return make_error(Reason::UntrustedChain, "cannot set up chain validation: " + take_openssl_errors());
    }
    X509_STORE_CTX_set0_trusted_stack(ctx.get(), anchors.get());
    X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx.get()), at);
    if (X509_verify_cert(ctx.get()) != 1) {
      Error e = verify_error(ctx.get(), at, "the issuing CA " + ca->subject());
      ERR_clear_error();
      return e;
    }
    STACK_OF(X509)* chain = X509_STORE_CTX_get0_chain(ctx.get());
    X509* root = chain != nullptr && sk_X509_num(chain) > 1 ? sk_X509_value(chain, 1) : nullptr;
    for (const auto& r : roots_) {
      if (root == nullptr || X509_cmp(r->x509(), root) != 0) continue;
      // The root's CRL (an ARL) is applied when given; the profile requires only the issuing CA's CRL.
      RevocationStatus arl;
      Status st = check_revocation(*ca, *r, at, false, arl);
      result.revocation_checked = arl.checked;
      for (auto& n : arl.notes) result.notes.push_back(std::move(n));
      if (!st)
        return make_error(st.error().reason,
                          "the issuing CA is revoked, and with it every certificate it issued: " + st.error().message);
      return st;
    }
    return Status::ok();
  }();
  std::lock_guard lock(mutex_);
  ca_cache_.emplace(key, result);
  return result;
}

Status TrustStore::verify(const OrgCert& cert, std::time_t at, const std::vector<OrgCertPtr>& extra,
                          RevocationStatus* revocation) const {
  RevocationStatus ignored;
  RevocationStatus& rev = revocation != nullptr ? *revocation : ignored;
  rev = RevocationStatus{};
  // Every CA that could have issued the certificate (name, key identifiers, key usage), before any
  // signature is checked.
  std::vector<OrgCertPtr> candidates;
  auto consider = [&](const OrgCertPtr& c) {
    if (X509_check_issued(c->x509(), cert.x509()) != X509_V_OK) return;
    for (const auto& have : candidates) {
      if (have->fingerprint() == c->fingerprint()) return;
    }
    candidates.push_back(c);
  };
  for (const auto& c : roots_) consider(c);
  for (const auto& c : cas_) consider(c);
  for (const auto& c : extra) {
    // An embedded self-signed certificate is never an anchor; an embedded CA must chain to a root.
    if (c->is_ca() && X509_self_signed(c->x509(), 0) != 1) consider(c);
  }
  ERR_clear_error();
  if (candidates.empty()) {
    for (const auto& c : not_cas_) {
      if (c->fingerprint() == cert.fingerprint() ||
          X509_NAME_cmp(X509_get_subject_name(c->x509()), X509_get_issuer_name(cert.x509())) == 0) {
        return make_error(Reason::UntrustedChain,
                          "certificate " + c->describe() + " was given as a trust anchor, but it is not a CA " +
                              "(no basicConstraints cA=TRUE): an organisation certificate cannot vouch for " +
                              (c->fingerprint() == cert.fingerprint() ? "itself" : "another") +
                              "; give the SMKI Root and the OCA that issued it with --trust");
      }
    }
    std::string known;
    bool same_name = false;
    for (const auto* group : {&roots_, &cas_}) {
      for (const auto& c : *group) {
        known += (known.empty() ? "" : "; ") + c->subject();
        same_name |= X509_NAME_cmp(X509_get_subject_name(c->x509()), X509_get_issuer_name(cert.x509())) == 0;
      }
    }
    if (same_name) {
      return make_error(Reason::UntrustedChain,
                        "certificate " + cert.describe() + " names the trusted CA " + cert.issuer() +
                            " as its issuer, but that CA's key did not issue it: another CA with the same name did");
    }
    return make_error(Reason::UntrustedChain, "no trusted CA issued " + cert.describe() + ": its issuer is " +
                                                  cert.issuer() + "; the trust anchors are " + known);
  }

  std::vector<OrgCertPtr> usable;
  std::vector<std::optional<CaCheck>> usable_checks;  // none for a root
  std::optional<Error> ca_failure;
  for (const auto& c : candidates) {
    const bool is_root = std::any_of(roots_.begin(), roots_.end(),
                                     [&](const OrgCertPtr& r) { return r->fingerprint() == c->fingerprint(); });
    if (is_root) {
      usable.push_back(c);
      usable_checks.emplace_back();
      continue;
    }
    CaCheck checked = verify_ca(c, at);
    if (checked.status) {
      usable.push_back(c);
      usable_checks.push_back(std::move(checked));
    } else if (!ca_failure) {
      ca_failure = std::move(checked.status).error();
    }
  }
  if (usable.empty()) return *ca_failure;

  // The issuing CAs were validated up to a root above, so the leaf is checked against them as
  // anchors: one signature per certificate, however many files it signs.
  X509StoreCtxPtr ctx(X509_STORE_CTX_new());
  X509StackPtr anchors = stack_of(usable);
  if (!ctx || X509_STORE_CTX_init(ctx.get(), nullptr, cert.x509(), nullptr) != 1) {
    return make_error(Reason::UntrustedChain, "cannot set up chain validation: " + take_openssl_errors());
  }
  X509_STORE_CTX_set0_trusted_stack(ctx.get(), anchors.get());
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  X509_VERIFY_PARAM_set_time(param, at);
  X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_PARTIAL_CHAIN);
  if (X509_verify_cert(ctx.get()) != 1) {
    Error e = verify_error(ctx.get(), at, "certificate " + cert.describe());
    ERR_clear_error();
    return e;
  }
  STACK_OF(X509)* chain = X509_STORE_CTX_get0_chain(ctx.get());
  X509* issuer = sk_X509_num(chain) > 1 ? sk_X509_value(chain, 1) : nullptr;
  if (issuer == nullptr) return Status::ok();  // the certificate is itself a trust anchor
  for (std::size_t i = 0; i < usable.size(); ++i) {
    if (X509_cmp(usable[i]->x509(), issuer) != 0) continue;
    Status st = check_revocation(cert, *usable[i], at, profile_.require_crl, rev);
    if (const auto& ca = usable_checks[i]) {
      rev.issuer_checked = ca->revocation_checked;
      rev.notes.insert(rev.notes.end(), ca->notes.begin(), ca->notes.end());
    }
    return st;
  }
  return make_error(Reason::UntrustedChain, "the chain of " + cert.describe() + " ends at no known CA");
}

Status TrustStore::check_revocation(const OrgCert& cert, const OrgCert& issuer, std::time_t at, bool required,
                                    RevocationStatus& out) const {
  out.issuer = issuer.subject();
  const Crl* newest = nullptr;
  std::optional<std::time_t> newest_this_update;
  for (const auto& entry : crls_) {
    if (entry.issuer != issuer.fingerprint()) continue;
    // Any CRL of the issuer that lists the certificate, revoked at or before `at`, is proof of
    // revocation, however old the CRL.
    X509_REVOKED* revoked = nullptr;
    // 1: listed; 2: listed as removeFromCRL, which is not a revocation.
    if (X509_CRL_get0_by_cert(entry.crl.get(), &revoked, cert.x509()) == 1) {
      const auto when = to_time_t(X509_REVOKED_get0_revocationDate(revoked));
      if (!when || *when <= at) {
        ERR_clear_error();
        out.checked = true;
        out.crl = entry.origin;
        return make_error(Reason::CertRevoked, "certificate " + cert.describe() + " was revoked at " +
                                                   format_iso8601(when.value_or(0)) + " (CRL " + entry.origin + " of " +
                                                   issuer.subject() + ")");
      }
    }
    const auto this_update = to_time_t(X509_CRL_get0_lastUpdate(entry.crl.get()));
    if (newest == nullptr || this_update.value_or(0) > newest_this_update.value_or(0)) {
      newest = &entry;
      newest_this_update = this_update;
    }
  }
  ERR_clear_error();
  if (newest == nullptr) {
    if (required) {
      return make_error(Reason::RevocationUnknown, "revocation is required, but no CRL of " + issuer.subject() +
                                                       ", the issuer of " + cert.describe() +
                                                       ", was given: give its current CRL with --crl");
    }
    return Status::ok();
  }
  out.checked = true;
  out.crl = newest->origin;
  out.this_update = newest_this_update;
  const ASN1_TIME* next = X509_CRL_get0_nextUpdate(newest->crl.get());
  if (next != nullptr) out.next_update = to_time_t(next);
  // A CRL without nextUpdate promises nothing about when the next comes: it is never current enough
  // to be required, and always worth a note.
  out.stale = !out.next_update || at > *out.next_update + profile_.crl_grace;
  if (!out.stale) return Status::ok();
  const std::string what =
      "the newest CRL of " + issuer.subject() + " (" + newest->origin + ", thisUpdate " +
      format_iso8601(newest_this_update.value_or(0)) + ", " +
      (out.next_update ? "nextUpdate " + format_iso8601(*out.next_update) : std::string("no nextUpdate")) +
      ") is stale at " + format_iso8601(at) +
      (profile_.crl_grace > 0 ? " even with a grace of " + format_duration(profile_.crl_grace) : std::string());
  if (required) return make_error(Reason::RevocationStale, what + ": fetch the current CRL");
  out.notes.push_back(what + ": applied anyway (--require-crl would refuse it)");
  return Status::ok();
}

std::vector<TrustStore::CrlInfo> TrustStore::crl_infos() const {
  std::vector<CrlInfo> out;
  for (const auto& c : crls_) {
    out.push_back(CrlInfo{c.origin, to_time_t(X509_CRL_get0_lastUpdate(c.crl.get())),
                          to_time_t(X509_CRL_get0_nextUpdate(c.crl.get()))});
  }
  return out;
}

}  // namespace mamsign
