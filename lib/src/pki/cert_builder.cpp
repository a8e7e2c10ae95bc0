#include "mamsign/pki/cert_builder.h"

#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include <algorithm>

namespace mamsign {
namespace {

Error build_error(const std::string& what) {
  return make_error(Reason::InvalidInput, what + ": " + take_openssl_errors());
}

// 8-octet key identifier: the first 64 bits of SHA-256 over the subjectPublicKey bits.
Result<Asn1OctetStringPtr> key_identifier(X509* cert) {
  const ASN1_BIT_STRING* bits = X509_get0_pubkey_bitstr(cert);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (bits == nullptr || EVP_Digest(ASN1_STRING_get0_data(bits), static_cast<std::size_t>(ASN1_STRING_length(bits)), md,
                                    &len, EVP_sha256(), nullptr) != 1) {
    return build_error("cannot hash the public key");
  }
  Asn1OctetStringPtr id(ASN1_OCTET_STRING_new());
  if (!id || ASN1_OCTET_STRING_set(id.get(), md, 8) != 1) return build_error("cannot make a key identifier");
  return id;
}

Status add_extension(X509* cert, int nid, bool critical, void* value) {
  if (X509_add1_ext_i2d(cert, nid, value, critical ? 1 : 0, X509V3_ADD_REPLACE) != 1) {
    return build_error(std::string("cannot add extension ") + OBJ_nid2sn(nid));
  }
  return Status::ok();
}

Status add_eui(X509_NAME* name, const Eui64& eui64, EuiEncoding encoding) {
  const auto& o = eui64.octets();
  switch (encoding) {
    case EuiEncoding::Absent: return Status::ok();
    case EuiEncoding::Utf8String: {
      const std::string text = eui64.to_string();
      if (X509_NAME_add_entry_by_NID(name, NID_x500UniqueIdentifier, MBSTRING_UTF8,
                                     reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()),
                                     -1, 0) != 1) {
        return build_error("cannot add x500UniqueIdentifier");
      }
      return Status::ok();
    }
    case EuiEncoding::BitString64:
    case EuiEncoding::BitString56: {
      const int len = encoding == EuiEncoding::BitString64 ? 8 : 7;
      OsslPtr<X509_NAME_ENTRY, X509_NAME_ENTRY_free> entry(
          X509_NAME_ENTRY_create_by_NID(nullptr, NID_x500UniqueIdentifier, V_ASN1_BIT_STRING, o.data(), len));
      if (!entry) return build_error("cannot make x500UniqueIdentifier");
      // OpenSSL drops trailing zero octets of a BIT STRING unless told how many bits are unused, and
      // X509_NAME_add_entry copies the entry through DER: say "0 unused" before the copy, so an
      // EUI-64 such as ...-00-00 keeps all 64 bits.
      ASN1_STRING* value = X509_NAME_ENTRY_get_data(entry.get());
      value->flags = (value->flags & ~0x07L) | ASN1_STRING_FLAG_BITS_LEFT;
      if (X509_NAME_add_entry(name, entry.get(), -1, 0) != 1) return build_error("cannot add x500UniqueIdentifier");
      return Status::ok();
    }
  }
  return Status::ok();
}

Result<Asn1IntegerPtr> make_serial(const std::vector<std::uint8_t>& wanted) {
  std::vector<std::uint8_t> bytes = wanted;
  if (bytes.empty()) {
    bytes.resize(16);
    if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) return build_error("no random serial");
    bytes[0] = static_cast<std::uint8_t>((bytes[0] & 0x7F) | 0x10);  // positive, all 16 octets used
  }
  BignumPtr bn(BN_bin2bn(bytes.data(), static_cast<int>(bytes.size()), nullptr));
  Asn1IntegerPtr serial(bn ? BN_to_ASN1_INTEGER(bn.get(), nullptr) : nullptr);
  if (!serial) return build_error("cannot make the serial number");
  return serial;
}

}  // namespace

Result<X509NamePtr> build_subject(const std::optional<std::string>& common_name, const std::optional<std::string>& ou,
                                  const Eui64& eui64, EuiEncoding encoding) {
  X509NamePtr name(X509_NAME_new());
  if (!name) return build_error("cannot make a name");
  if (common_name &&
      X509_NAME_add_entry_by_NID(name.get(), NID_commonName, MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(common_name->c_str()), -1, -1, 0) != 1) {
    return build_error("cannot add CN");
  }
  if (ou && X509_NAME_add_entry_by_NID(name.get(), NID_organizationalUnitName, MBSTRING_UTF8,
                                       reinterpret_cast<const unsigned char*>(ou->c_str()), -1, -1, 0) != 1) {
    return build_error("cannot add OU");
  }
  if (auto st = add_eui(name.get(), eui64, encoding); !st) return std::move(st).error();
  return name;
}

Result<Asn1BitStringPtr> key_usage_bits(std::uint32_t key_usage) {
  Asn1BitStringPtr ku(ASN1_BIT_STRING_new());
  if (!ku) return build_error("cannot make keyUsage");
  for (int bit = 0; bit < 9; ++bit) {
    // KU_* values put bit 0 (digitalSignature) at 0x80 and bit 8 (decipherOnly) at 0x8000.
    const std::uint32_t mask = bit < 8 ? (0x80u >> bit) : 0x8000u;
    if ((key_usage & mask) && ASN1_BIT_STRING_set_bit(ku.get(), bit, 1) != 1) return build_error("cannot set keyUsage");
  }
  return ku;
}

Result<EvpPkeyPtr> generate_key(KeyType type) {
  EvpPkeyPtr key;
  switch (type) {
    case KeyType::P256: key.reset(EVP_EC_gen("prime256v1")); break;
    case KeyType::P384: key.reset(EVP_EC_gen("secp384r1")); break;
    case KeyType::Rsa2048: key.reset(EVP_RSA_gen(2048)); break;
  }
  if (!key) return build_error("cannot generate a key");
  return key;
}

Result<X509Ptr> issue_certificate(const CertSpec& spec, EVP_PKEY* subject_key, X509* issuer, EVP_PKEY* issuer_key) {
  X509Ptr cert(X509_new());
  if (!cert || X509_set_version(cert.get(), X509_VERSION_3) != 1) return build_error("cannot make a certificate");
  auto serial = make_serial(spec.serial);
  if (!serial) return std::move(serial).error();
  X509_set_serialNumber(cert.get(), serial->get());

  auto name = build_subject(spec.common_name, spec.ou, spec.eui64, spec.eui_encoding);
  if (!name) return std::move(name).error();
  X509_set_subject_name(cert.get(), name->get());
  X509_set_issuer_name(cert.get(), issuer != nullptr ? X509_get_subject_name(issuer) : name->get());

  Asn1TimePtr nb(ASN1_TIME_set(nullptr, spec.not_before));
  Asn1TimePtr na(ASN1_TIME_set(nullptr, spec.not_after));
  if (!nb || !na || X509_set1_notBefore(cert.get(), nb.get()) != 1 || X509_set1_notAfter(cert.get(), na.get()) != 1) {
    return build_error("cannot set the validity");
  }
  if (X509_set_pubkey(cert.get(), subject_key) != 1) return build_error("cannot set the public key");

  if (spec.ca) {
    BasicConstraintsPtr bc(BASIC_CONSTRAINTS_new());
    bc->ca = 0xFF;
    if (auto st = add_extension(cert.get(), NID_basic_constraints, true, bc.get()); !st) return std::move(st).error();
  }
  if (spec.key_usage_present) {
    auto ku = key_usage_bits(spec.key_usage);
    if (!ku) return std::move(ku).error();
    if (auto st = add_extension(cert.get(), NID_key_usage, spec.key_usage_critical, ku->get()); !st) {
      return std::move(st).error();
    }
  }
  if (spec.policy_oid) {
    OsslPtr<CERTIFICATEPOLICIES, CERTIFICATEPOLICIES_free> policies(sk_POLICYINFO_new_null());
    POLICYINFO* info = POLICYINFO_new();
    ASN1_OBJECT* oid = OBJ_txt2obj(spec.policy_oid->c_str(), 1);
    if (info == nullptr || oid == nullptr) {
      POLICYINFO_free(info);
      ASN1_OBJECT_free(oid);
      return build_error("bad policy OID " + *spec.policy_oid);
    }
    info->policyid = oid;
    sk_POLICYINFO_push(policies.get(), info);
    if (auto st = add_extension(cert.get(), NID_certificate_policies, spec.policies_critical, policies.get()); !st) {
      return std::move(st).error();
    }
  }
  auto ski = key_identifier(cert.get());
  if (!ski) return std::move(ski).error();
  if (auto st = add_extension(cert.get(), NID_subject_key_identifier, false, ski->get()); !st)
    return std::move(st).error();
  if (issuer != nullptr) {
    OsslPtr<AUTHORITY_KEYID, AUTHORITY_KEYID_free> aki(AUTHORITY_KEYID_new());
    auto issuer_id = key_identifier(issuer);
    if (!issuer_id) return std::move(issuer_id).error();
    aki->keyid = issuer_id->release();
    if (auto st = add_extension(cert.get(), NID_authority_key_identifier, false, aki.get()); !st) {
      return std::move(st).error();
    }
  }
  if (X509_sign(cert.get(), issuer_key, EVP_sha256()) <= 0) return build_error("cannot sign the certificate");
  return cert;
}

Result<X509CrlPtr> issue_crl(X509* ca, EVP_PKEY* ca_key, const std::vector<Revocation>& revoked,
                             std::time_t this_update, std::time_t next_update) {
  X509CrlPtr crl(X509_CRL_new());
  if (!crl || X509_CRL_set_version(crl.get(), 1) != 1 ||
      X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(ca)) != 1) {
    return build_error("cannot make a CRL");
  }
  Asn1TimePtr lu(ASN1_TIME_set(nullptr, this_update));
  Asn1TimePtr nu(ASN1_TIME_set(nullptr, next_update));
  X509_CRL_set1_lastUpdate(crl.get(), lu.get());
  X509_CRL_set1_nextUpdate(crl.get(), nu.get());
  for (const auto& r : revoked) {
    X509RevokedPtr entry(X509_REVOKED_new());
    Asn1TimePtr when(ASN1_TIME_set(nullptr, r.revoked_at));
    if (!entry ||
        X509_REVOKED_set_serialNumber(entry.get(), const_cast<ASN1_INTEGER*>(X509_get0_serialNumber(r.cert))) != 1 ||
        X509_REVOKED_set_revocationDate(entry.get(), when.get()) != 1 ||
        X509_CRL_add0_revoked(crl.get(), entry.get()) != 1) {
      return build_error("cannot add a revoked entry");
    }
    (void)entry.release();  // owned by the CRL now
  }
  X509_CRL_sort(crl.get());
  if (X509_CRL_sign(crl.get(), ca_key, EVP_sha256()) <= 0) return build_error("cannot sign the CRL");
  return crl;
}

namespace {
template <class Write>
Result<std::string> to_pem(Write write, const char* what) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || !write(bio.get())) return build_error(std::string("cannot write ") + what);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(len));
}
}  // namespace

Result<std::string> certificate_pem(X509* cert) {
  return to_pem([&](BIO* b) { return PEM_write_bio_X509(b, cert) == 1; }, "certificate");
}

Result<std::string> crl_pem(X509_CRL* crl) {
  return to_pem([&](BIO* b) { return PEM_write_bio_X509_CRL(b, crl) == 1; }, "CRL");
}

Result<std::string> private_key_pem(EVP_PKEY* key, const std::string* passphrase) {
  return to_pem(
      [&](BIO* b) {
        if (passphrase == nullptr) return PEM_write_bio_PrivateKey(b, key, nullptr, nullptr, 0, nullptr, nullptr) == 1;
        return PEM_write_bio_PKCS8PrivateKey(b, key, EVP_aes_256_cbc(), passphrase->data(),
                                             static_cast<int>(passphrase->size()), nullptr, nullptr) == 1;
      },
      "private key");
}

}  // namespace mamsign
