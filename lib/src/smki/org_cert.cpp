#include "mamsign/smki/org_cert.h"

#include "mamsign/base/io.h"
#include "mamsign/base/pem.h"
#include "mamsign/base/times.h"

#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>

#include <algorithm>
#include <cctype>

namespace mamsign {
namespace {

constexpr std::size_t kMaxCertificateFileBytes = 1024 * 1024;
constexpr std::size_t kMaxSerialOctets = 16;
constexpr std::size_t kSerialHexDigits = 32;

std::optional<std::string> entry_text(const X509_NAME_ENTRY* entry) {
  unsigned char* utf8 = nullptr;
  const int len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(entry));
  if (len < 0) return std::nullopt;
  std::string out(reinterpret_cast<char*>(utf8), static_cast<std::size_t>(len));
  OPENSSL_free(utf8);
  return out;
}

std::string asn1_type_name(int type) {
  const char* name = ASN1_tag2str(type);
  return name != nullptr ? name : "type " + std::to_string(type);
}

std::string time_text(std::time_t t) { return format_iso8601(t); }

}  // namespace

std::shared_ptr<const OrgCert> OrgCert::from_der(std::string_view der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  X509* decoded = nullptr;
  if (OSSL_LIB_CTX* ctx = thread_library_context(); ctx != nullptr) {
    decoded = X509_new_ex(ctx, nullptr);
    if (decoded == nullptr) return nullptr;
  }
  // d2i_X509 frees the object it was given when the bytes are not a certificate.
  X509Ptr x(d2i_X509(&decoded, &p, static_cast<long>(der.size())));
  ERR_clear_error();
  if (!x || p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) return nullptr;
  return std::make_shared<const OrgCert>(std::move(x));
}

OrgCertPtr CertificateCache::get(std::string_view der) {
  {
    std::lock_guard lock(mutex_);
    if (auto it = certs_.find(std::string(der)); it != certs_.end()) return it->second;
  }
  auto cert = OrgCert::from_der(der);
  if (!cert) return nullptr;
  std::lock_guard lock(mutex_);
  if (certs_.size() < capacity_) certs_.emplace(std::string(der), cert);
  return cert;
}

Fingerprint sha256_fingerprint(std::string_view der) {
  Fingerprint out{};
  unsigned int len = 0;
  EVP_Digest(der.data(), der.size(), out.data(), &len, EVP_sha256(), nullptr);
  return out;
}

std::string serial_text(const ASN1_INTEGER* serial) {
  BignumPtr bn(ASN1_INTEGER_to_BN(serial, nullptr));
  if (!bn) return "?";
  OsslStringPtr hex(BN_bn2hex(bn.get()));
  std::string digits = hex ? hex.get() : "";
  const bool negative = BN_is_negative(bn.get());
  if (negative && !digits.empty()) digits.erase(0, 1);
  if (digits == "0") digits.clear();
  if (digits.size() < kSerialHexDigits) digits.insert(0, kSerialHexDigits - digits.size(), '0');
  return (negative ? "-" : "") + digits;
}

std::string name_text(const X509_NAME* name) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_ONELINE & ~XN_FLAG_SPC_EQ) < 0) return "?";
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(len));
}

std::optional<Eui64> subject_eui64(const X509_NAME* subject, std::string* problem) {
  auto fail = [&](std::string why) -> std::optional<Eui64> {
    if (problem != nullptr) *problem = std::move(why);
    return std::nullopt;
  };
  const int first = X509_NAME_get_index_by_NID(subject, NID_x500UniqueIdentifier, -1);
  if (first < 0) return fail("the subject has no x500UniqueIdentifier (the EUI-64)");
  if (X509_NAME_get_index_by_NID(subject, NID_x500UniqueIdentifier, first) >= 0) {
    return fail("the subject has more than one x500UniqueIdentifier");
  }
  const ASN1_STRING* value = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, first));
  const int type = ASN1_STRING_type(value);
  if (type != V_ASN1_BIT_STRING) {
    return fail("x500UniqueIdentifier is a " + asn1_type_name(type) + "; the profile requires a BIT STRING of 64 bits");
  }
  // A parsed BIT STRING keeps its count of unused bits in the low three bits of flags.
  const long unused = value->flags & ASN1_STRING_FLAG_BITS_LEFT ? value->flags & 0x07 : 0;
  const long bits = static_cast<long>(ASN1_STRING_length(value)) * 8 - unused;
  if (bits != 64) {
    return fail("x500UniqueIdentifier is a BIT STRING of " + std::to_string(bits) +
                " bits; the profile requires exactly 64");
  }
  Eui64::Octets octets{};
  std::copy_n(ASN1_STRING_get0_data(value), 8, octets.begin());
  return Eui64(octets);
}

std::string_view usage_name(Usage usage) {
  return usage == Usage::DigitalSignature ? "digitalSignature" : "keyAgreement";
}

OrgCert::OrgCert(X509Ptr cert) : cert_(std::move(cert)) {
  X509* x = cert_.get();
  unsigned int md_len = 0;
  X509_digest(x, EVP_sha256(), fingerprint_.data(), &md_len);

  version_ = X509_get_version(x);
  extension_flags_ = X509_get_extension_flags(x);

  // Serial: positive, at most 16 octets, shown as 32 upper-case hex digits.
  serial_ = serial_text(X509_get0_serialNumber(x));
  BignumPtr serial(ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), nullptr));
  if (!serial) {
    serial_problem_ = "the serial number cannot be read";
  } else if (BN_is_negative(serial.get()) || BN_is_zero(serial.get())) {
    serial_problem_ = "the serial number is not positive";
  } else if (static_cast<std::size_t>(BN_num_bytes(serial.get())) > kMaxSerialOctets) {
    serial_problem_ = "the serial number has " + std::to_string(BN_num_bytes(serial.get())) +
                      " octets; the profile allows at most 16";
  }
  serial_ok_ = serial_problem_.empty();

  const X509_NAME* subject = X509_get_subject_name(x);
  issuer_ = name_text(X509_get_issuer_name(x));
  subject_ = name_text(subject);

  if (const int i = X509_NAME_get_index_by_NID(subject, NID_commonName, -1); i >= 0) {
    common_name_ = entry_text(X509_NAME_get_entry(subject, i));
  }

  // Role: exactly one OU of two hex digits.
  {
    const int first = X509_NAME_get_index_by_NID(subject, NID_organizationalUnitName, -1);
    if (first < 0) {
      subject_problem_ = "the subject has no OU (the Remote Party Role)";
    } else if (X509_NAME_get_index_by_NID(subject, NID_organizationalUnitName, first) >= 0) {
      subject_problem_ = "the subject has more than one OU";
    } else {
      const auto ou = entry_text(X509_NAME_get_entry(subject, first));
      if (ou && ou->size() == 2 && std::isxdigit(static_cast<unsigned char>((*ou)[0])) &&
          std::isxdigit(static_cast<unsigned char>((*ou)[1]))) {
        role_ = static_cast<std::uint8_t>(std::stoi(*ou, nullptr, 16));
      } else {
        subject_problem_ =
            "the subject OU " + printable(ou.value_or("?")) + " is not a role of two hex digits (such as \"02\")";
      }
    }
  }

  {
    std::string problem;
    eui64_ = subject_eui64(subject, &problem);
    if (!problem.empty()) subject_problem_ += (subject_problem_.empty() ? "" : "; ") + problem;
  }

  key_usage_present_ = (extension_flags_ & EXFLAG_KUSAGE) != 0;
  if (key_usage_present_) {
    key_usage_ = X509_get_key_usage(x);
    const int i = X509_get_ext_by_NID(x, NID_key_usage, -1);
    key_usage_critical_ = i >= 0 && X509_EXTENSION_get_critical(X509_get_ext(x, i)) == 1;
  }

  int critical = -1;
  CertPoliciesPtr policies(
      static_cast<CERTIFICATEPOLICIES*>(X509_get_ext_d2i(x, NID_certificate_policies, &critical, nullptr)));
  policies_present_ = critical >= 0;
  policies_critical_ = critical == 1;
  if (policies) {
    for (int i = 0; i < sk_POLICYINFO_num(policies.get()); ++i) {
      const POLICYINFO* info = sk_POLICYINFO_value(policies.get(), i);
      char oid[128];
      if (OBJ_obj2txt(oid, sizeof oid, info->policyid, 1) > 0) policy_oids_.emplace_back(oid);
    }
  }

  if (EVP_PKEY* key = X509_get0_pubkey(x)) {
    if (EVP_PKEY_get_base_id(key) == EVP_PKEY_EC) {
      char group[64] = {};
      std::size_t group_len = 0;
      EVP_PKEY_get_group_name(key, group, sizeof group, &group_len);
      key_algorithm_ = std::string("EC ") + (group_len ? group : "(explicit curve parameters)");
      const ASN1_BIT_STRING* point = X509_get0_pubkey_bitstr(x);
      key_is_p256_uncompressed_ = std::string_view(group) == "prime256v1" && point != nullptr &&
                                  ASN1_STRING_length(point) == 65 && ASN1_STRING_get0_data(point)[0] == 0x04;
      if (std::string_view(group) == "prime256v1" && !key_is_p256_uncompressed_) {
        key_algorithm_ += " (compressed point)";
      }
    } else {
      const char* type = OBJ_nid2sn(EVP_PKEY_get_base_id(key));
      key_algorithm_ =
          std::string(type != nullptr ? type : "unknown") + " " + std::to_string(EVP_PKEY_get_bits(key)) + " bits";
    }
  } else {
    key_algorithm_ = "an unsupported key type";
    ERR_clear_error();
  }

  const int sig_nid = X509_get_signature_nid(x);
  signature_is_ecdsa_sha256_ = sig_nid == NID_ecdsa_with_SHA256;
  const char* sig_name = OBJ_nid2ln(sig_nid);
  signature_algorithm_ = sig_name != nullptr ? sig_name : "unknown";

  not_before_ = to_time_t(X509_get0_notBefore(x)).value_or(0);
  not_after_ = to_time_t(X509_get0_notAfter(x)).value_or(0);
  ERR_clear_error();
}

Result<std::shared_ptr<const OrgCert>> OrgCert::load(const std::filesystem::path& path) {
  auto bytes = read_small_file(path, kMaxCertificateFileBytes, "certificate");
  if (!bytes) return std::move(bytes).error();
  auto certs = parse_all(*bytes, path.string());
  if (!certs) return std::move(certs).error();
  if (certs->size() != 1) {
    return make_error(Reason::InvalidInput, path.string() + " holds " + std::to_string(certs->size()) +
                                                " certificates; expected exactly one");
  }
  return std::move(certs->front());
}

Result<std::vector<std::shared_ptr<const OrgCert>>> OrgCert::parse_all(std::string_view bytes,
                                                                       std::string_view origin) {
  const bool pem = is_pem(bytes);
  auto ders = der_objects(bytes, origin, {PEM_STRING_X509, PEM_STRING_X509_OLD}, "certificate");
  if (!ders) return std::move(ders).error();
  std::vector<std::shared_ptr<const OrgCert>> out;
  for (const auto& der : *ders) {
    const auto* p = reinterpret_cast<const unsigned char*>(der.data());
    X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
    if (!cert) {
      return make_error(Reason::InvalidInput,
                        std::string(origin) +
                            (pem ? ": certificate " + std::to_string(out.size() + 1) + " cannot be parsed: "
                                 : " is neither a PEM certificate nor a DER certificate: ") +
                            take_openssl_errors());
    }
    if (p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) {
      return make_error(Reason::InvalidInput, std::string(origin) + " has bytes after its DER certificate" +
                                                  (pem ? " " + std::to_string(out.size() + 1) : std::string()));
    }
    out.push_back(std::make_shared<const OrgCert>(std::move(cert)));
  }
  return out;
}

bool OrgCert::has_only_usage(Usage usage) const noexcept {
  const std::uint32_t want = usage == Usage::DigitalSignature ? KU_DIGITAL_SIGNATURE : KU_KEY_AGREEMENT;
  return key_usage_present_ && key_usage_ == want;
}

std::string key_usage_words(std::uint32_t key_usage) {
  static constexpr std::pair<std::uint32_t, std::string_view> kBits[] = {{KU_DIGITAL_SIGNATURE, "digitalSignature"},
                                                                         {KU_NON_REPUDIATION, "nonRepudiation"},
                                                                         {KU_KEY_ENCIPHERMENT, "keyEncipherment"},
                                                                         {KU_DATA_ENCIPHERMENT, "dataEncipherment"},
                                                                         {KU_KEY_AGREEMENT, "keyAgreement"},
                                                                         {KU_KEY_CERT_SIGN, "keyCertSign"},
                                                                         {KU_CRL_SIGN, "cRLSign"},
                                                                         {KU_ENCIPHER_ONLY, "encipherOnly"},
                                                                         {KU_DECIPHER_ONLY, "decipherOnly"}};
  std::string out;
  for (const auto& [bit, name] : kBits) {
    if (key_usage & bit) out += (out.empty() ? "" : ", ") + std::string(name);
  }
  return out.empty() ? "none" : out;
}

std::string OrgCert::key_usage_text() const { return key_usage_present_ ? key_usage_words(key_usage_) : "none"; }

bool OrgCert::is_ca() const noexcept { return X509_check_ca(cert_.get()) > 0; }

std::vector<Error> OrgCert::check_profile(const Profile& profile) const {
  std::vector<Error> out;
  if (!key_is_p256_uncompressed_) {
    out.push_back(make_error(Reason::UnsupportedAlgorithm,
                             "the certificate's key is " + key_algorithm_ +
                                 "; the profile requires EC P-256 (prime256v1) with an uncompressed point"));
  }
  if (!signature_is_ecdsa_sha256_) {
    out.push_back(make_error(Reason::UnsupportedAlgorithm, "the certificate is signed with " + signature_algorithm_ +
                                                               "; the profile requires ecdsa-with-SHA256"));
  }
  if (version_ != X509_VERSION_3) {
    out.push_back(make_error(Reason::InvalidCertificate, "the certificate is X.509 v" + std::to_string(version_ + 1) +
                                                             "; the profile requires v3"));
  }
  if (!serial_ok_) out.push_back(make_error(Reason::InvalidCertificate, serial_problem_));
  if (extension_flags_ & EXFLAG_INVALID) {
    out.push_back(make_error(Reason::InvalidCertificate, "an extension of the certificate cannot be parsed"));
  }
  if (extension_flags_ & EXFLAG_CA) {
    out.push_back(make_error(Reason::InvalidCertificate,
                             "the certificate is a CA (basicConstraints cA is TRUE); an organisation "
                             "certificate is not"));
  }
  if (extension_flags_ & EXFLAG_CRITICAL) {
    out.push_back(
        make_error(Reason::InvalidCertificate, "the certificate has a critical extension the profile does not know"));
  }
  if (!subject_problem_.empty()) {
    out.push_back(make_error(Reason::InvalidSubject, subject_problem_ + " (subject: " + subject_ + ")"));
  }
  if (!key_usage_present_) {
    out.push_back(make_error(Reason::WrongKeyUsage,
                             "the certificate has no keyUsage extension; the profile "
                             "requires a critical keyUsage of exactly one of "
                             "digitalSignature or keyAgreement"));
  } else {
    if (!key_usage_critical_) {
      out.push_back(make_error(Reason::WrongKeyUsage, "the keyUsage extension is not critical"));
    }
    if (key_usage_ != KU_DIGITAL_SIGNATURE && key_usage_ != KU_KEY_AGREEMENT) {
      out.push_back(make_error(Reason::WrongKeyUsage,
                               "keyUsage is " + key_usage_text() +
                                   "; the profile requires exactly one of digitalSignature or keyAgreement"));
    }
  }
  std::string wanted;
  for (const auto& oid : profile.policy_oids) wanted += (wanted.empty() ? "" : " or ") + oid;
  if (!policies_present_) {
    out.push_back(make_error(Reason::PolicyMismatch, "the certificate has no certificatePolicies; expected policy " +
                                                         wanted + ", " + profile.expectation("policy_oids")));
  } else {
    if (!policies_critical_) {
      out.push_back(make_error(Reason::PolicyMismatch, "the certificatePolicies extension is not critical"));
    }
    const bool any = std::any_of(policy_oids_.begin(), policy_oids_.end(),
                                 [&](const std::string& oid) { return profile.policy_allowed(oid); });
    if (!any) {
      std::string found;
      for (const auto& oid : policy_oids_) found += (found.empty() ? "" : ", ") + oid;
      out.push_back(make_error(Reason::PolicyMismatch,
                               "the certificate's policies are " + (found.empty() ? std::string("empty") : found) +
                                   "; expected " + wanted + ", " + profile.expectation("policy_oids")));
    }
  }
  return out;
}

Status OrgCert::check_validity(std::time_t at) const {
  if (at < not_before_) {
    return make_error(Reason::CertNotYetValid, "the certificate " + describe() + " is not valid before " +
                                                   time_text(not_before_) + " (checked at " + time_text(at) + ")");
  }
  if (at > not_after_) {
    return make_error(Reason::CertExpired, "the certificate " + describe() + " expired at " + time_text(not_after_) +
                                               " (checked at " + time_text(at) + ")");
  }
  return Status::ok();
}

std::string OrgCert::describe() const {
  std::string out = eui64_ ? eui64_->to_string() : subject_;
  out += " (";
  if (role_) out += "role " + role_code(*role_) + " " + std::string(role_name(*role_)) + ", ";
  out += "serial " + serial_ + ")";
  return out;
}

}  // namespace mamsign
