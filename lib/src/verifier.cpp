#include "mamsign/verifier.h"

#include "mamsign/signature/cms_signature.h"
#include "mamsign/smki/file_name.h"
#include "mamsign/base/io.h"
#include "mamsign/base/times.h"
#include "mamsign/signature/raw_signature.h"
#include "mamsign/signer.h"

#include <openssl/err.h>

#include <algorithm>
#include <functional>
#include <sys/stat.h>

namespace mamsign {
namespace {

// A signature is a few KiB; anything far larger is not one, and is not read whole.
constexpr std::size_t kMaxSignatureBytes = 1024 * 1024;

// The checks in the order they run, for ranking the candidates of a raw signature: the one whose
// first failure comes latest "got furthest".
constexpr Reason kCheckOrder[] = {
    Reason::BadSignature,       Reason::UnsupportedAlgorithm, Reason::UntrustedChain,    Reason::CertExpired,
    Reason::CertNotYetValid,    Reason::CertRevoked,          Reason::RevocationUnknown, Reason::RevocationStale,
    Reason::InvalidCertificate, Reason::InvalidSubject,       Reason::WrongRole,         Reason::WrongKeyUsage,
    Reason::PolicyMismatch,     Reason::FileRenamed,          Reason::FileNameInvalid,   Reason::SignerMismatch,
};

int progress_of(const Status& st) {
  if (st) return static_cast<int>(std::size(kCheckOrder));
  const auto* it = std::find(std::begin(kCheckOrder), std::end(kCheckOrder), st.error().reason);
  return static_cast<int>(it - std::begin(kCheckOrder));
}

// The cache key of the certificates that came with a signature: SHA-256 over their sorted, distinct
// fingerprints. (An XOR let duplicates cancel: signer+OCA+OCA shared an entry with the signer alone.)
Fingerprint combined_fingerprint(const std::vector<OrgCertPtr>& certs) {
  std::vector<Fingerprint> prints;
  prints.reserve(certs.size());
  for (const auto& c : certs) prints.push_back(c->fingerprint());
  std::sort(prints.begin(), prints.end());
  prints.erase(std::unique(prints.begin(), prints.end()), prints.end());
  std::string all;
  for (const auto& p : prints) all.append(reinterpret_cast<const char*>(p.data()), p.size());
  return sha256_bytes(all);
}

std::string hex(const Sha256& d) { return to_hex(d); }

// The change after signing that explains the file: the first variant `matches` accepts, trying the
// final-line-end variants of the digest pass first (free), then the rest (one more pass over the file).
std::optional<std::string> find_change(const std::filesystem::path& file, const std::vector<DigestVariant>& ends,
                                       const std::function<bool(const Sha256&)>& matches) {
  for (const auto& v : ends) {
    if (matches(v.digest)) return v.change;
  }
  auto variants = sha256_variants(file, false);
  if (!variants) return std::nullopt;
  for (const auto& v : *variants) {
    if (matches(v.digest)) return v.change;
  }
  return std::nullopt;
}

// The file's digests, its SHA-256 recorded in the result; nullopt with the result's error set when it
// cannot be read. A file that changed while it was read is not judged (FILE_CHANGED).
std::optional<FileDigest> hash_for_verdict(VerifyResult& r) {
  auto hashed = sha256_file_and_ends(r.file);
  if (!hashed) {
    r.error = hashed.error().reason == Reason::FileChanged
                  ? make_error(Reason::FileChanged,
                               hashed.error().message + "; not judged (verify it again once it is complete)")
                  : hashed.error();
    return std::nullopt;
  }
  r.sha256 = hashed->digest;
  return std::move(*hashed);
}

}  // namespace

Verifier::Verifier(std::shared_ptr<const TrustStore> trust, Profile profile, VerifyOptions options)
    : trust_(std::move(trust)), profile_(std::move(profile)), options_(std::move(options)) {}

std::optional<std::filesystem::path> Verifier::find_signature(const std::filesystem::path& file) {
  for (auto format : {SignatureFormat::Cms, SignatureFormat::Raw}) {
    const auto candidate = signature_path(file, format);
    // Whatever stands at the name counts, even a dangling or looping link: reading it then says what
    // is wrong, instead of "no signature".
    std::error_code ec;
    if (std::filesystem::exists(std::filesystem::symlink_status(candidate, ec))) return candidate;
  }
  return std::nullopt;
}

VerifyResult Verifier::verify(const std::filesystem::path& file,
                              const std::optional<std::filesystem::path>& signature) const {
  VerifyResult r;
  r.file = file;
  if (auto readable = check_regular_file(file, "file"); !readable) {
    std::error_code ec;
    if (!signature && !std::filesystem::exists(std::filesystem::symlink_status(file, ec))) {
      // Half a pair: the signature came (or stayed) without the file it signs.
      if (auto found = find_signature(file)) {
        r.signature = *found;
        r.error = make_error(Reason::DataMissing, "the signature " + found->string() + " is here, but its data file " +
                                                      file.filename().string() + " is not");
        return r;
      }
    }
    r.error = std::move(readable).error();
    return r;
  }
  if (signature) {
    r.signature = *signature;
  } else if (auto found = find_signature(file)) {
    r.signature = *found;
  } else {
    r.error = make_error(Reason::SignatureMissing, "no signature for " + file.string() + ": looked for " +
                                                       signature_path(file, SignatureFormat::Cms).filename().string() +
                                                       " and " +
                                                       signature_path(file, SignatureFormat::Raw).filename().string());
    return r;
  }
  auto bytes = read_small_file(r.signature, kMaxSignatureBytes, "signature");
  if (!bytes) {
    r.error = bytes.error().reason == Reason::IoError
                  ? bytes.error()
                  : make_error(Reason::MalformedSignature, "the signature file is larger than 1 MiB: not a signature");
    return r;
  }
  // The extension says which container it is; any other name is recognised by its content.
  const std::string ext = r.signature.extension().string();
  if (ext == ".sig") {
    r.format = SignatureFormat::Raw;
    verify_raw(r, *bytes);
  } else {
    auto cms = CmsSignature::parse(*bytes, &certificates_);
    if (ext != ".p7s" && !cms) {
      r.format = SignatureFormat::Raw;
      verify_raw(r, *bytes);
    } else {
      r.format = SignatureFormat::Cms;
      verify_cms(r, std::move(cms));
    }
  }
  ERR_clear_error();
  return r;
}

void Verifier::verify_cms(VerifyResult& r, Result<CmsSignature> cms) const {
  if (!cms) {
    r.error = cms.error();
    return;
  }
  r.signing_time = cms->signing_time();
  r.bound_name = cms->bound_name();
  if (options_.at_given && r.signing_time && *r.signing_time > options_.at) {
    // signingTime is the signer's own claim, not trusted time (a timestamp would be): said, not judged.
    r.notes.push_back("the signature says it was made at " + format_iso8601(*r.signing_time) +
                      ", after the --at time " + format_iso8601(options_.at) +
                      " (signingTime is the signer's own claim)");
  }
  if (!cms->has_signed_attributes()) {
    if (auto st = check_form_without_attributes(r, "cms-no-attributes"); !st) {
      r.error = std::move(st).error();
      return;
    }
  }

  OrgCertPtr signer = cms->embedded_signer();
  if (options_.cert && signer && signer->fingerprint() != options_.cert->fingerprint()) {
    // --cert pins the signer: a signature by another certificate is not the one expected.
    r.signer = signer;
    r.error = make_error(Reason::SignerNotFound, "the signature was made with " + signer->describe() +
                                                     ", not with the --cert certificate " + options_.cert->describe());
    return;
  }
  if (!signer && options_.cert && cms->identifies(*options_.cert)) signer = options_.cert;
  if (!signer && options_.store) {
    if (X509_NAME* issuer = cms->sid_issuer()) {
      signer = options_.store->find(issuer, cms->sid_serial());
    } else {
      for (const auto& c : options_.store->all()) {
        if (cms->identifies(*c)) {
          signer = c;
          break;
        }
      }
    }
  }
  if (!signer) {
    r.error = make_error(Reason::SignerNotFound,
                         "the signature names its signer by " + cms->signer_id_text() +
                             ", but carries no such certificate; give it with --cert or --cert-store");
    return;
  }
  r.signer = signer;

  const auto hashed = hash_for_verdict(r);
  if (!hashed) return;
  const Sha256* digest = &hashed->digest;

  if (cms->message_digest() && *cms->message_digest() != *digest) {
    const Sha256 signed_digest = *cms->message_digest();
    r.diagnosis = find_change(r.file, hashed->final_line_end, [&](const Sha256& d) { return d == signed_digest; });
    std::string message =
        "the file's SHA-256 is " + hex(*digest) + ", the signed one is " + hex(*cms->message_digest());
    if (r.diagnosis) {
      message += ": " + *r.diagnosis;
    } else if (r.bound_name && *r.bound_name != r.file.filename().string()) {
      r.diagnosis = "the signature was made for the file " + *r.bound_name;
      message += ": " + *r.diagnosis;
    }
    r.error = make_error(Reason::ContentModified, message);
    return;
  }
  if (auto st = cms->verify_signature(*signer, *digest); !st) {
    if (!cms->has_signed_attributes()) {
      // Without signed attributes the signature is over the content itself: a changed file and a
      // damaged signature look alike, unless an undone line-ending or BOM change makes it verify.
      if (auto change = find_change(r.file, hashed->final_line_end,
                                    [&](const Sha256& d) { return cms->verifies_content_digest(*signer, d); })) {
        r.diagnosis = change;
        r.error =
            make_error(Reason::ContentModified, "the signature verifies over the file as it was before: " + *change);
        return;
      }
      r.error =
          make_error(Reason::BadSignature,
                     "the signature does not verify over this file with the key of " + signer->describe() +
                         " (it has no signed attributes, so a changed file cannot be told from a damaged signature)");
      return;
    }
    r.error = std::move(st).error();
    return;
  }
  std::time_t judged_at = options_.at;
  if (!check_timestamp(r, *cms, judged_at)) return;
  if (!take(r, check_signer(signer, cms->certificates(), judged_at))) return;
  if (judged_at != options_.at) {
    // Valid when signed: what has happened to the certificate since is said, not judged.
    SignerCheck now = check_signer(signer, cms->certificates());
    if (!now.status) {
      r.notes.push_back("signed at " + format_iso8601(judged_at) +
                        " (the timestamp) while the certificate was valid; " +
                        (now.status.error().reason == Reason::CertExpired
                             ? "it expired at " + format_iso8601(signer->not_after())
                             : "since then: " + std::string(reason_name(now.status.error().reason)) + ": " +
                                   now.status.error().message));
    }
  }
  if (auto st = check_names(r, *signer); !st) {
    r.error = std::move(st).error();
    return;
  }
  if (!r.bound_name) r.notes.push_back("the signature does not bind the file name (no contentHints attribute)");
  if (!cms->has_signed_attributes()) r.notes.push_back("the signature has no signed attributes (no signing time)");
  if (cms->is_ber())
    r.notes.push_back(
        "the signature is BER-encoded, not DER (accepted: only the signed attributes, which are DER, are signed)");
}

void Verifier::verify_raw(VerifyResult& r, std::string_view bytes) const {
  if (auto st = check_raw_signature_syntax(bytes); !st) {
    r.error = std::move(st).error();
    return;
  }
  if (auto st = check_form_without_attributes(r, "raw"); !st) {
    r.error = std::move(st).error();
    return;
  }
  std::vector<OrgCertPtr> candidates;
  if (options_.cert) {
    candidates.push_back(options_.cert);
  } else if (options_.store) {
    auto name = parse_migration_file_name(r.file.filename().string(), profile_.file_name_prefixes);
    if (!name) {
      r.error = make_error(Reason::FileNameInvalid, name.error().message +
                                                        " (a raw signature finds its signer by the file name's EUI-64; "
                                                        "give --cert for other files)");
      return;
    }
    candidates = options_.store->by_party(name->eui64, profile_.party_octets);
    if (candidates.empty()) {
      r.error = make_error(Reason::SignerNotFound, "the certificate store has no certificate of party " +
                                                       name->eui64.party_string(profile_.party_octets) +
                                                       ", which the file name names");
      return;
    }
  } else {
    r.error = make_error(Reason::SignerNotFound,
                         "a raw signature carries no certificate: give the signer's with --cert, or --cert-store");
    return;
  }

  const auto hashed = hash_for_verdict(r);
  if (!hashed) return;
  const Sha256* digest = &hashed->digest;

  // Several certificates may share a party (renewals, the other usage, stale copies): valid when one
  // verifies the signature and passes every check; otherwise the one that got furthest speaks.
  std::optional<SignerCheck> best;
  OrgCertPtr best_cert;
  for (const auto& c : candidates) {
    EVP_PKEY* key = X509_get0_pubkey(c->x509());
    SignerCheck checked{Status(make_error(Reason::BadSignature, "")), std::nullopt};
    if (key != nullptr && verify_digest_signature(key, bytes, *digest)) {
      checked = check_signer(c, {});
      if (checked.status) checked.status = check_names(r, *c);
    }
    if (!best || progress_of(checked.status) > progress_of(best->status)) {
      best = checked;
      best_cert = c;
    }
    if (checked.status) break;
  }
  if (progress_of(best->status) > 0) {
    r.signer = best_cert;
    r.notes.push_back("a raw signature carries no signing time and does not bind the file name");
    if (take(r, std::move(*best)) && (options_.at_timestamp || options_.require_timestamp)) {
      r.error = make_error(Reason::TimestampMissing,
                           "a raw signature (.sig) cannot carry an RFC 3161 timestamp, and one is required (" +
                               std::string(options_.at_timestamp ? "--at timestamp" : "--require-timestamp") + ")");
    }
    return;
  }
  // No key verifies the signature over the file as it is: perhaps over the file as it was.
  OrgCertPtr verifying;
  const auto change = find_change(r.file, hashed->final_line_end, [&](const Sha256& d) {
    for (const auto& c : candidates) {
      EVP_PKEY* key = X509_get0_pubkey(c->x509());
      if (key != nullptr && verify_digest_signature(key, bytes, d)) {
        verifying = c;
        return true;
      }
    }
    return false;
  });
  if (change) {
    r.signer = verifying;
    r.diagnosis = change;
    r.error = make_error(Reason::ContentModified, "the signature verifies over the file as it was before: " + *change);
    return;
  }
  const std::string who = candidates.size() == 1
                              ? "the key of " + candidates[0]->describe()
                              : "any of the " + std::to_string(candidates.size()) + " certificates of party " +
                                    candidates[0]->eui64()->party_string(profile_.party_octets);
  r.error =
      make_error(Reason::BadSignature, "the signature does not verify over this file with " + who +
                                           " (a raw signature is over the content itself, so a changed file cannot "
                                           "be told from a damaged signature)");
}

bool Verifier::check_timestamp(VerifyResult& r, const CmsSignature& cms, std::time_t& judged_at) const {
  const auto& token = cms.timestamp_token();
  if (!token) {
    if (!options_.at_timestamp && !options_.require_timestamp) return true;
    r.error = make_error(Reason::TimestampMissing,
                         std::string("the signature carries no RFC 3161 timestamp (no signatureTimeStampToken), but ") +
                             (options_.at_timestamp ? "--at timestamp judges the signer at the timestamp's time"
                                                    : "one is required (--require-timestamp, or the profile's "
                                                      "require_timestamp)"));
    return false;
  }
  r.timestamp_present = true;
  auto info = check_timestamp_token(*token, cms.signature_value_digest(), options_.tsa_trust.get());
  if (!info) {
    r.error = std::move(info).error();
    return false;
  }
  r.timestamp = *info;
  if (!info->trusted) {
    if (options_.at_timestamp) {
      r.error = make_error(Reason::TimestampUntrusted,
                           "--at timestamp trusts the time of the timestamp by " + info->tsa +
                               ", which needs the TSA's trust anchors: give them with --tsa-trust");
      return false;
    }
    r.notes.push_back("timestamp by " + info->tsa + " at " + format_iso8601(info->gen_time) +
                      " not checked against trust anchors (no --tsa-trust): its time is not trusted");
  }
  if (options_.at_timestamp) judged_at = info->gen_time;
  return true;
}

Verifier::SignerCheck Verifier::check_signer(const OrgCertPtr& signer, const std::vector<OrgCertPtr>& extra) const {
  return check_signer(signer, extra, options_.at);
}

Verifier::SignerCheck Verifier::check_signer(const OrgCertPtr& signer, const std::vector<OrgCertPtr>& extra,
                                             std::time_t at) const {
  const bool cached = at == options_.at;  // a timestamp's own time is one file's: not kept
  const auto key = std::make_pair(signer->fingerprint(), combined_fingerprint(extra));
  if (cached) {
    std::lock_guard lock(mutex_);
    if (auto it = signer_cache_.find(key); it != signer_cache_.end()) return it->second;
  }
  SignerCheck result;
  result.status = [&]() -> Status {
    const auto violations = signer->check_profile(profile_);
    auto first_of = [&](Reason reason) -> std::optional<Error> {
      for (const auto& v : violations) {
        if (v.reason == reason) return v;
      }
      return std::nullopt;
    };
    if (auto e = first_of(Reason::UnsupportedAlgorithm)) return *e;
    RevocationStatus revocation;
    Status chain = trust_->verify(*signer, at, extra, &revocation);
    result.revocation = std::move(revocation);
    if (!chain) return chain;
    if (auto e = first_of(Reason::InvalidCertificate)) return *e;
    if (auto e = first_of(Reason::InvalidSubject)) return *e;
    if (auto st = check_signer_role(*signer, profile_); !st) return st;
    if (auto e = first_of(Reason::WrongKeyUsage)) return *e;
    if (auto st = check_signer_usage(*signer); !st) return st;
    if (auto e = first_of(Reason::PolicyMismatch)) return *e;
    return Status::ok();
  }();
  if (!cached) return result;
  std::lock_guard lock(mutex_);
  signer_cache_.emplace(key, result);
  return result;
}

bool Verifier::take(VerifyResult& r, SignerCheck checked) {
  // The issuer is known once the chain was built up to it; before that revocation was never reached.
  if (checked.revocation && !checked.revocation->issuer.empty()) {
    const RevocationStatus& rev = *checked.revocation;
    if (!rev.checked && (checked.status || checked.status.error().reason != Reason::RevocationUnknown)) {
      r.notes.push_back("revocation not checked: no CRL of " + rev.issuer +
                        " was given (--crl; --require-crl makes this a failure)");
    }
    r.notes.insert(r.notes.end(), rev.notes.begin(), rev.notes.end());
    r.revocation = std::move(checked.revocation);
  }
  if (checked.status) return true;
  r.error = std::move(checked.status).error();
  return false;
}

Status Verifier::check_form_without_attributes(const VerifyResult& r, std::string_view form) const {
  if (!profile_.format_allowed(form)) {
    return make_error(
        Reason::FormatNotAllowed,
        std::string(form == "raw" ? "raw signatures (.sig)" : "CMS signatures without signed attributes") +
            " are not accepted: the profile's signature_formats does not list \"" + std::string(form) + "\"");
  }
  return check_content_not_der(r.file);
}

Status Verifier::check_names(const VerifyResult& r, const OrgCert& signer) const {
  const std::string base_name = r.file.filename().string();
  if (r.bound_name && *r.bound_name != base_name) {
    return make_error(Reason::FileRenamed, "the signature was made for the file " + printable(*r.bound_name) +
                                               ", but this file is named " + printable(base_name));
  }
  if (!options_.check_names) return Status::ok();
  return check_file_name(base_name, signer, profile_);
}

}  // namespace mamsign
