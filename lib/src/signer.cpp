#include "mamsign/signer.h"

#include "mamsign/base/atomic_file.h"
#include "mamsign/signature/cms_signature.h"
#include "mamsign/smki/file_name.h"
#include "mamsign/base/io.h"
#include "mamsign/signature/raw_signature.h"

#include <openssl/err.h>

namespace mamsign {
namespace {

constexpr std::size_t kMaxSignatureBytes = 1024 * 1024;

}  // namespace

Status check_signer_role(const OrgCert& cert, const Profile& profile) {
  if (cert.role() && profile.signer_role_allowed(*cert.role())) return Status::ok();
  std::string allowed;
  for (auto r : profile.signer_roles) {
    allowed += (allowed.empty() ? "" : " or ") + role_code(r) + " (" + std::string(role_name(r)) + ")";
  }
  return make_error(Reason::WrongRole, "the certificate " + cert.describe() + " has role " +
                                           (cert.role() ? role_code(*cert.role()) : std::string("?")) +
                                           "; migration files are signed by role " + allowed);
}

Status check_signer_usage(const OrgCert& cert) {
  if (cert.has_only_usage(Usage::DigitalSignature)) return Status::ok();
  return make_error(Reason::WrongKeyUsage, "the certificate " + cert.describe() + " has keyUsage " +
                                               cert.key_usage_text() +
                                               "; signing needs a digitalSignature certificate");
}

Status check_file_name(std::string_view base_name, const OrgCert& signer, const Profile& profile) {
  auto name = parse_migration_file_name(base_name, profile.file_name_prefixes);
  if (!name) return std::move(name).error();
  if (!signer.eui64()) {
    return make_error(Reason::InvalidSubject,
                      "the signer certificate has no usable EUI-64 to compare with the file name");
  }
  if (!name->eui64.same_party(*signer.eui64(), profile.party_octets)) {
    const std::string role = signer.role() ? " (role " + role_code(*signer.role()) + ")" : "";
    return make_error(Reason::SignerMismatch, "signed by " + signer.eui64()->to_string() + role +
                                                  ", but the file name names party " +
                                                  name->eui64.party_string(profile.party_octets) + " (User ID " +
                                                  name->eui64.to_string() + ")");
  }
  return Status::ok();
}

Result<Signer> Signer::create(EvpPkeyPtr key, OrgCertPtr cert, std::vector<OrgCertPtr> chain, Profile profile,
                              std::time_t now, const TrustStore* trust) {
  char group[64] = {};
  std::size_t group_len = 0;
  if (EVP_PKEY_get_base_id(key.get()) != EVP_PKEY_EC ||
      EVP_PKEY_get_group_name(key.get(), group, sizeof group, &group_len) != 1 ||
      std::string_view(group) != "prime256v1") {
    ERR_clear_error();
    const char* type = OBJ_nid2sn(EVP_PKEY_get_base_id(key.get()));
    return make_error(Reason::UnsupportedAlgorithm, std::string("the private key is ") + (type ? type : "unknown") +
                                                        (group_len ? std::string(" ") + group : std::string()) +
                                                        "; the profile requires EC P-256");
  }
  if (EVP_PKEY_eq(X509_get0_pubkey(cert->x509()), key.get()) != 1) {
    ERR_clear_error();
    return make_error(Reason::KeyMismatch, "the private key does not belong to the certificate " + cert->describe());
  }
  for (const auto& violation : cert->check_profile(profile)) return violation;
  if (auto st = check_signer_role(*cert, profile); !st) return std::move(st).error();
  if (auto st = check_signer_usage(*cert); !st) return std::move(st).error();
  if (auto st = cert->check_validity(now); !st) return std::move(st).error();
  Signer s;
  if (trust != nullptr) {
    RevocationStatus revocation;
    if (auto st = trust->verify(*cert, now, chain, &revocation); !st) return std::move(st).error();
    s.revocation_ = std::move(revocation);
  }
  auto maker = CmsSignatureMaker::create(*cert, chain);
  if (!maker) return std::move(maker).error();
  s.maker_ = std::move(*maker);
  s.key_ = std::move(key);
  s.cert_ = std::move(cert);
  s.chain_ = std::move(chain);
  s.profile_ = std::move(profile);
  return s;
}

Result<std::string> Signer::sign_digest(const Sha256& digest, std::string_view bound_name, SignatureFormat format,
                                        std::time_t signing_time) const {
  if (format == SignatureFormat::Raw) return make_raw_signature(key_.get(), digest);
  return maker_->sign(key_.get(), digest, bound_name, signing_time);
}

bool Signer::signed_by_me(const std::filesystem::path& signature, SignatureFormat format, const Sha256& digest,
                          std::string_view bound_name, std::optional<std::time_t>* signing_time) const {
  auto bytes = read_small_file(signature, kMaxSignatureBytes, "signature");
  if (!bytes) return false;
  if (format == SignatureFormat::Raw) {
    return check_raw_signature_syntax(*bytes) &&
           verify_digest_signature(X509_get0_pubkey(cert_->x509()), *bytes, digest);
  }
  auto cms = CmsSignature::parse(*bytes);
  if (!cms || !cms->identifies(*cert_)) return false;
  if (cms->message_digest() && *cms->message_digest() != digest) return false;
  if (cms->bound_name() && *cms->bound_name() != bound_name) return false;
  if (!cms->verify_signature(*cert_, digest)) return false;
  if (signing_time != nullptr) *signing_time = cms->signing_time();
  return true;
}

Result<SignOutcome> Signer::sign_file(const std::filesystem::path& file, const SignOptions& options) const {
  const std::string base_name = file.filename().string();
  if (options.check_names) {
    if (auto st = check_file_name(base_name, *cert_, profile_); !st) {
      // A path that cannot be read is IO_ERROR in every app, whatever its name. Asked only of a name
      // refused: a name that passes is opened next, and its opening says IO_ERROR itself (no system
      // call more per file signed).
      if (auto readable = check_readable_file(file, "file"); !readable) return std::move(readable).error();
      return std::move(st).error();
    }
  }
  if (options.format == SignatureFormat::Raw) {
    if (!profile_.format_allowed("raw")) {
      return make_error(Reason::FormatNotAllowed,
                        "raw signatures are not allowed: the profile's signature_formats does not list \"raw\"");
    }
    if (auto st = check_content_not_der(file); !st) return std::move(st).error();
  }
  SignOutcome outcome;
  outcome.signature = options.out ? *options.out : signature_path(file, options.format);
  std::error_code ec;
  // Only --out can name the input itself: FILE.p7s is another directory entry, and the rename that
  // writes it replaces that entry (even a link to FILE), never FILE.
  if (options.out && std::filesystem::equivalent(outcome.signature, file, ec)) {
    return make_error(Reason::InvalidInput, "the signature would overwrite its own input " + file.string());
  }
  // Without --force and --skip-signed, the atomic rename refuses an existing signature itself
  // (RENAME_NOREPLACE): no separate look first, one system call less per file.
  const bool exists =
      options.skip_signed && std::filesystem::exists(std::filesystem::symlink_status(outcome.signature, ec));
  auto digest = sha256_file(file);
  if (!digest) {
    if (digest.error().reason != Reason::FileChanged) return std::move(digest).error();
    return make_error(Reason::FileChanged,
                      digest.error().message + "; nothing was signed (sign it again once it is complete)");
  }
  outcome.sha256 = *digest;
  if (exists && options.skip_signed) {
    if (signed_by_me(outcome.signature, options.format, *digest, base_name, &outcome.signing_time)) {
      outcome.kind = SignOutcome::Kind::Skipped;
      return outcome;
    }
    if (!options.replace) {
      return make_error(
          Reason::SignatureExists,
          outcome.signature.string() + " exists but does not verify for this signer; use --force to replace it");
    }
  }
  const std::time_t now = std::time(nullptr);
  if (options.format == SignatureFormat::Cms) outcome.signing_time = now;
  if (tsa_ && options.format == SignatureFormat::Raw) {
    return make_error(Reason::TimestampUnavailable, "a raw signature (.sig) cannot carry a timestamp; sign with CMS");
  }
  auto bytes = sign_digest(*digest, base_name, options.format, now);
  if (!bytes) return std::move(bytes).error();
  if (tsa_) {
    auto stamped = timestamp_cms(*bytes, *tsa_, &outcome);
    if (!stamped) return std::move(stamped).error();
    bytes = std::move(stamped);
  }
  WriteOptions write;
  write.replace = options.replace ? Replace::Yes : Replace::No;
  write.sync = options.sync;
  write.inputs = {file};
  if (auto st = write_file_atomically(outcome.signature, *bytes, write); !st) return std::move(st).error();
  return outcome;
}

Result<std::string> timestamp_cms(std::string_view cms_der, const TsaClient& tsa, SignOutcome* outcome) {
  auto parsed = CmsSignature::parse(cms_der);
  if (!parsed) return std::move(parsed).error();
  if (parsed->timestamp_token()) {
    return make_error(Reason::MalformedSignature, "the signature carries a timestamp already");
  }
  auto token = tsa.timestamp(parsed->signature_value_digest());
  if (!token) return std::move(token).error();
  auto stamped = add_timestamp_token(cms_der, token->der);
  if (!stamped) return std::move(stamped).error();
  if (outcome != nullptr) {
    outcome->timestamp = std::move(token->info);
    outcome->tsa_url = std::move(token->url);
    outcome->signing_time = parsed->signing_time();
    if (parsed->message_digest()) outcome->sha256 = *parsed->message_digest();  // of the data file, as signed
  }
  return stamped;
}

Result<SignOutcome> timestamp_signature_file(const std::filesystem::path& signature, const TsaClient& tsa, bool sync) {
  if (signature.extension() == ".sig") {
    return make_error(Reason::MalformedSignature,
                      signature.string() + " is a raw signature: it cannot carry a timestamp (only CMS can)");
  }
  auto bytes = read_small_file(signature, kMaxSignatureBytes, "signature");
  if (!bytes) return std::move(bytes).error();
  SignOutcome outcome;
  outcome.signature = signature;
  auto stamped = timestamp_cms(*bytes, tsa, &outcome);
  if (!stamped) return std::move(stamped).error();
  WriteOptions write;
  write.replace = Replace::Yes;
  write.sync = sync;
  if (auto st = write_file_atomically(signature, *stamped, write); !st) return std::move(st).error();
  return outcome;
}

}  // namespace mamsign
