#include "mamsign/timestamp/timestamp_token.h"

#include "mamsign/base/io.h"
#include "mamsign/base/pem.h"
#include "mamsign/base/times.h"
#include "mamsign/smki/org_cert.h"

#include <openssl/err.h>
#include <openssl/pkcs7.h>
#include <openssl/ts.h>
#include <openssl/x509v3.h>

namespace mamsign {
namespace {

using Pkcs7Ptr = OsslPtr<PKCS7, PKCS7_free>;
using TstInfoPtr = OsslPtr<TS_TST_INFO, TS_TST_INFO_free>;

// PKCS7_get0_signers gives a new stack of certificates it does not own.
void free_shallow_stack(STACK_OF(X509) * s) { sk_X509_free(s); }
using ShallowX509StackPtr = OsslPtr<STACK_OF(X509), free_shallow_stack>;

Error invalid(const std::string& what) { return make_error(Reason::TimestampInvalid, "the timestamp " + what); }

std::string dotted(const ASN1_OBJECT* oid) {
  char buf[128];
  if (oid == nullptr || OBJ_obj2txt(buf, sizeof buf, oid, 1) <= 0) return "?";
  return buf;
}

std::string integer_hex(const ASN1_INTEGER* n) {
  BignumPtr bn(n != nullptr ? ASN1_INTEGER_to_BN(n, nullptr) : nullptr);
  OsslStringPtr hex(bn ? BN_bn2hex(bn.get()) : nullptr);
  return hex ? std::string(hex.get()) : "?";
}

// A store of `anchors` whose checks happen at `when`, with the partial-chain rule (an intermediate
// given as an anchor is one) when `partial`.
X509StorePtr store_at(const std::vector<X509*>& anchors, std::time_t when) {
  X509StorePtr store(X509_STORE_new());
  if (!store) return store;
  for (X509* a : anchors) X509_STORE_add_cert(store.get(), a);
  X509_VERIFY_PARAM* param = X509_STORE_get0_param(store.get());
  X509_VERIFY_PARAM_set_time(param, when);
  X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_PARTIAL_CHAIN);
  return store;
}

// RFC 3161 section 2.3: the TSA's certificate carries extendedKeyUsage timeStamping, only it, critical.
Status check_tsa_usage(X509* tsa) {
  const std::string who = "certificate " + name_text(X509_get_subject_name(tsa));
  const int at = X509_get_ext_by_NID(tsa, NID_ext_key_usage, -1);
  if (at < 0)
    return invalid("is signed by the " + who + ", which has no extendedKeyUsage; a TSA's must be timeStamping");
  const bool critical = X509_EXTENSION_get_critical(X509_get_ext(tsa, at)) == 1;
  const bool only_timestamping =
      (X509_get_extension_flags(tsa) & EXFLAG_XKUSAGE) != 0 && X509_get_extended_key_usage(tsa) == XKU_TIMESTAMP;
  if (!only_timestamping) {
    return invalid("is signed by the " + who +
                   ", whose extendedKeyUsage is not timeStamping alone (RFC 3161 section 2.3 requires exactly it)");
  }
  if (!critical) {
    return invalid("is signed by the " + who +
                   ", whose extendedKeyUsage timeStamping is not marked critical (RFC 3161 section 2.3)");
  }
  return Status::ok();
}

}  // namespace

Result<std::shared_ptr<const TsaTrust>> TsaTrust::load(const std::vector<std::filesystem::path>& paths) {
  auto trust = std::make_shared<TsaTrust>();
  for (const auto& path : paths) {
    std::vector<std::filesystem::path> files;
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
      auto listed = list_files(path, false, "TSA trust", nullptr, nullptr);
      if (!listed) return std::move(listed).error();
      files = std::move(*listed);
    } else {
      files.push_back(path);
    }
    for (const auto& file : files) {
      if (auto st = check_not_writable_by_others(file, "TSA trust anchor"); !st) return std::move(st).error();
      auto bytes = read_small_file(file, 4 * 1024 * 1024, "TSA trust anchor file");
      if (!bytes) return std::move(bytes).error();
      auto ders = der_objects(*bytes, file.string(), {"CERTIFICATE"}, "certificate");
      if (!ders) return std::move(ders).error();
      for (const auto& der : *ders) {
        const auto* p = reinterpret_cast<const unsigned char*>(der.data());
        X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
        ERR_clear_error();
        if (!cert)
          return make_error(Reason::InvalidInput, "--tsa-trust: " + file.string() + " holds a damaged certificate");
        trust->anchors_.push_back(std::move(cert));
      }
      trust->origins_.push_back(file.string());
    }
  }
  if (trust->anchors_.empty())
    return make_error(Reason::InvalidInput, "--tsa-trust: no certificate in the paths given");
  return std::shared_ptr<const TsaTrust>(std::move(trust));
}

std::string TsaTrust::origin() const {
  std::string out;
  for (const auto& o : origins_) out += (out.empty() ? "" : ", ") + o;
  return out;
}

Result<TimestampInfo> check_timestamp_token(std::string_view token_der, const Sha256& imprint, const TsaTrust* trust,
                                            const ASN1_INTEGER* nonce) {
  if (token_der.size() > kMaxTimestampTokenBytes) {
    return invalid("token is " + std::to_string(token_der.size()) + " bytes; at most " +
                   std::to_string(kMaxTimestampTokenBytes) + " are read");
  }
  const auto* p = reinterpret_cast<const unsigned char*>(token_der.data());
  Pkcs7Ptr token(d2i_PKCS7(nullptr, &p, static_cast<long>(token_der.size())));
  const bool whole = token && p == reinterpret_cast<const unsigned char*>(token_der.data()) + token_der.size();
  ERR_clear_error();
  if (!whole || PKCS7_type_is_signed(token.get()) == 0) return invalid("token is not a CMS SignedData");
  TstInfoPtr tst(PKCS7_to_TS_TST_INFO(token.get()));
  ERR_clear_error();
  if (!tst) return invalid("token does not hold a TSTInfo (RFC 3161 section 2.4.2)");
  if (TS_TST_INFO_get_version(tst.get()) != 1) {
    return invalid("TSTInfo has version " + std::to_string(TS_TST_INFO_get_version(tst.get())) + "; RFC 3161 has 1");
  }
  TimestampInfo info;
  const auto gen = to_time_t(TS_TST_INFO_get_time(tst.get()));
  if (!gen) return invalid("genTime cannot be read");
  info.gen_time = *gen;
  info.policy = dotted(TS_TST_INFO_get_policy_id(tst.get()));
  info.serial = integer_hex(TS_TST_INFO_get_serial(tst.get()));

  // messageImprint: SHA-256 over this signature's value.
  TS_MSG_IMPRINT* mi = TS_TST_INFO_get_msg_imprint(tst.get());
  const ASN1_OBJECT* algorithm = nullptr;
  X509_ALGOR_get0(&algorithm, nullptr, nullptr, TS_MSG_IMPRINT_get_algo(mi));
  if (OBJ_obj2nid(algorithm) != NID_sha256) {
    return invalid("is over a " + dotted(algorithm) + " hash; this profile's timestamps are over SHA-256");
  }
  const ASN1_OCTET_STRING* over = TS_MSG_IMPRINT_get_msg(mi);
  const std::string_view found(reinterpret_cast<const char*>(ASN1_STRING_get0_data(over)),
                               static_cast<std::size_t>(ASN1_STRING_length(over)));
  const std::string_view expected(reinterpret_cast<const char*>(imprint.data()), imprint.size());
  if (found != expected) {
    return invalid("is over " + to_hex(ASN1_STRING_get0_data(over), found.size()) +
                   ", but this signature's value hashes to " + to_hex(imprint) + ": it was made for another signature");
  }
  if (nonce != nullptr) {
    const ASN1_INTEGER* got = TS_TST_INFO_get_nonce(tst.get());
    if (got == nullptr || ASN1_INTEGER_cmp(got, nonce) != 0) {
      return invalid("reply carries nonce " + (got != nullptr ? integer_hex(got) : std::string("none")) +
                     ", not the request's " + integer_hex(nonce) + ": it answers another request");
    }
  }

  // The TSA's certificate: the one the SignerInfo names, among those the token carries.
  ShallowX509StackPtr signers(PKCS7_get0_signers(token.get(), nullptr, 0));
  ERR_clear_error();
  if (!signers || sk_X509_num(signers.get()) != 1) {
    return invalid("token does not carry its TSA's certificate (it must: the request asked for it)");
  }
  X509* tsa = sk_X509_value(signers.get(), 0);
  info.tsa = name_text(X509_get_subject_name(tsa));
  if (auto st = check_tsa_usage(tsa); !st) return std::move(st).error();
  const auto not_before = to_time_t(X509_get0_notBefore(tsa));
  const auto not_after = to_time_t(X509_get0_notAfter(tsa));
  if (!not_before || !not_after || info.gen_time < *not_before || info.gen_time > *not_after) {
    return invalid("says it was made at " + format_iso8601(info.gen_time) + ", when the TSA certificate " + info.tsa +
                   " was not valid (valid " + format_iso8601(not_before.value_or(0)) + " to " +
                   format_iso8601(not_after.value_or(0)) + ")");
  }
  // The signature (and ESS signingCertificate) with the TSA's own certificate as the anchor: a broken
  // token is TIMESTAMP_INVALID, whatever the trust.
  X509StorePtr own = store_at({tsa}, info.gen_time);
  if (!own || TS_RESP_verify_signature(token.get(), nullptr, own.get(), nullptr) != 1) {
    const std::string why = take_openssl_errors();
    return invalid("signature by " + info.tsa + " does not verify (" + why + ")");
  }
  if (trust == nullptr) return info;
  std::vector<X509*> anchors;
  for (const auto& a : trust->anchors()) anchors.push_back(a.get());
  X509StorePtr store = store_at(anchors, info.gen_time);
  if (!store || TS_RESP_verify_signature(token.get(), nullptr, store.get(), nullptr) != 1) {
    ERR_clear_error();
    // The chain once more, on its own, for the words X.509 has for what is wrong with it.
    std::string why = "the chain does not verify";
    X509StoreCtxPtr ctx(X509_STORE_CTX_new());
    if (ctx && store && X509_STORE_CTX_init(ctx.get(), store.get(), tsa, token->d.sign->cert) == 1) {
      X509_STORE_CTX_set_purpose(ctx.get(), X509_PURPOSE_TIMESTAMP_SIGN);
      if (X509_verify_cert(ctx.get()) != 1) why = X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get()));
    }
    ERR_clear_error();
    return make_error(Reason::TimestampUntrusted, "the TSA certificate " + info.tsa +
                                                      " does not chain to the --tsa-trust anchors (" + trust->origin() +
                                                      ") at genTime " + format_iso8601(info.gen_time) + ": " + why);
  }
  info.trusted = true;
  return info;
}

}  // namespace mamsign
