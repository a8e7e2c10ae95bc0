#include "mamsign/pki/csr.h"

#include "mamsign/base/io.h"
#include "mamsign/base/times.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cctype>

namespace mamsign {
namespace {

constexpr std::size_t kMaxCsrBytes = 64 * 1024;
constexpr int kMaxCommonNameChars = 64;  // ub-common-name (RFC 5280)

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

using ExtensionStackPtr = OsslPtr<STACK_OF(X509_EXTENSION), detail::free_extension_stack>;

// The requested extensions (PKCS#9 extensionRequest), decoded by OpenSSL.
ExtensionStackPtr requested_extensions(const X509_REQ* req) {
  ExtensionStackPtr exts(X509_REQ_get_extensions(const_cast<X509_REQ*>(req)));
  ERR_clear_error();
  return exts;
}

// PEM body or bare base64 to DER; `text` holds only base64 characters and line ends.
Result<std::string> decode_base64(std::string_view text, std::string_view what) {
  std::string compact;
  compact.reserve(text.size());
  for (char c : text) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (c == '\r' || c == '\n') continue;
    if (std::isalnum(u) == 0 && c != '+' && c != '/' && c != '=') {
      return make_error(Reason::InvalidInput,
                        std::string(what) + " holds " + printable(std::string(1, c)) + ", which is not base64");
    }
    compact.push_back(c);
  }
  if (compact.empty() || compact.size() % 4 != 0) {
    return make_error(Reason::InvalidInput, std::string(what) + " is not whole base64 (" +
                                                std::to_string(compact.size()) + " characters, not a multiple of 4)");
  }
  std::string out(compact.size() / 4 * 3, '\0');
  const int n =
      EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                      reinterpret_cast<const unsigned char*>(compact.data()), static_cast<int>(compact.size()));
  if (n < 0) return make_error(Reason::InvalidInput, std::string(what) + " is not valid base64");
  // EVP_DecodeBlock counts padding as zero bytes: take them off.
  std::size_t size = static_cast<std::size_t>(n);
  if (compact.size() >= 1 && compact[compact.size() - 1] == '=') --size;
  if (compact.size() >= 2 && compact[compact.size() - 2] == '=') --size;
  out.resize(size);
  return out;
}

std::string line_ends(std::string_view text) {
  const bool crlf = text.find("\r\n") != std::string_view::npos;
  const bool lf = text.find('\n') != std::string_view::npos;
  return crlf ? "CRLF" : lf ? "LF" : "one line";
}

// The CSR's DER and how it came: one of the encodings the portal takes.
Result<std::pair<std::string, std::string>> der_of(std::string_view bytes) {
  if (bytes.empty()) return make_error(Reason::InvalidInput, "the file is empty");
  if (static_cast<unsigned char>(bytes[0]) == 0x30) return std::pair{std::string(bytes), std::string("DER")};
  // Text: trim surrounding white space (a final line end, an editor's blank line).
  const std::size_t first = bytes.find_first_not_of(" \t\r\n");
  const std::size_t last = bytes.find_last_not_of(" \t\r\n");
  if (first == std::string_view::npos) return make_error(Reason::InvalidInput, "the file holds only white space");
  std::string_view text = bytes.substr(first, last - first + 1);
  if (text.rfind("-----BEGIN ", 0) == 0) {
    for (const std::string_view label : {"CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST"}) {
      const std::string begin = "-----BEGIN " + std::string(label) + "-----";
      const std::string end = "-----END " + std::string(label) + "-----";
      if (text.rfind(begin, 0) != 0) continue;
      const std::size_t end_at = text.find(end);
      if (end_at == std::string_view::npos) {
        return make_error(Reason::InvalidInput, "the PEM block has no \"" + end + "\" line");
      }
      if (end_at + end.size() != text.size()) {
        return make_error(Reason::InvalidInput, "the file has " + std::to_string(text.size() - end_at - end.size()) +
                                                    " bytes after \"" + end + "\"");
      }
      auto der = decode_base64(text.substr(begin.size(), end_at - begin.size()), "the PEM block");
      if (!der) return std::move(der).error();
      return std::pair{std::move(*der), "PEM (" + std::string(label) + "), " + line_ends(text)};
    }
    const std::size_t eol = text.find_first_of("\r\n");
    return make_error(Reason::InvalidInput,
                      "the PEM block is " + printable(text.substr(0, std::min<std::size_t>(eol, 64))) +
                          "; a CSR is BEGIN CERTIFICATE REQUEST or BEGIN NEW CERTIFICATE REQUEST");
  }
  auto der = decode_base64(text, "the file");
  if (!der) {
    return make_error(Reason::InvalidInput, "not a CSR: neither DER, PEM nor base64 (" + der.error().message + ")");
  }
  return std::pair{std::move(*der), "base64 without headers, " + line_ends(text)};
}

std::string hex_bits(const ASN1_STRING* s) {
  return to_hex(ASN1_STRING_get0_data(s), static_cast<std::size_t>(ASN1_STRING_length(s)));
}

std::string name_of(const ASN1_OBJECT* obj) {
  char buf[128];
  const int nid = OBJ_obj2nid(obj);
  if (nid != NID_undef) return OBJ_nid2ln(nid);
  OBJ_obj2txt(buf, sizeof buf, obj, 1);
  return buf;
}

// The key usage bits a request asks for, as OpenSSL reads them (KU_* flags).
std::optional<std::uint32_t> requested_key_usage(const X509_EXTENSION* ext) {
  OsslPtr<ASN1_BIT_STRING, ASN1_BIT_STRING_free> bits(
      static_cast<ASN1_BIT_STRING*>(X509V3_EXT_d2i(const_cast<X509_EXTENSION*>(ext))));
  ERR_clear_error();
  if (!bits) return std::nullopt;
  std::uint32_t out = 0;
  for (int bit = 0; bit < 9; ++bit) {
    if (ASN1_BIT_STRING_get_bit(bits.get(), bit) != 0) out |= bit < 8 ? (0x80u >> bit) : 0x8000u;
  }
  return out;
}

}  // namespace

std::optional<std::uint8_t> parse_role(std::string_view text) {
  std::string t = lower(text);
  for (char& c : t) {
    if (c == '-' || c == '_') c = ' ';
  }
  for (int code = 0; code <= 0x7F; ++code) {
    const auto name = role_name(static_cast<std::uint8_t>(code));
    if (name != "unknown role" && t == name) return static_cast<std::uint8_t>(code);
  }
  if (t.rfind("0x", 0) == 0) t = t.substr(2);
  if (t.empty() || t.size() > 2 ||
      !std::all_of(t.begin(), t.end(), [](unsigned char c) { return std::isxdigit(c) != 0; })) {
    return std::nullopt;
  }
  const auto code = static_cast<std::uint8_t>(std::stoi(t, nullptr, 16));
  if (role_name(code) == "unknown role") return std::nullopt;
  return code;
}

std::optional<Usage> parse_usage(std::string_view text) {
  const std::string t = lower(text);
  if (t == "ds" || t == "digitalsignature" || t == "digital-signature") return Usage::DigitalSignature;
  if (t == "ka" || t == "keyagreement" || t == "key-agreement") return Usage::KeyAgreement;
  return std::nullopt;
}

Result<std::string> build_csr(const CsrSpec& spec, EVP_PKEY* key) {
  X509ReqPtr req(X509_REQ_new());
  if (!req || X509_REQ_set_version(req.get(), spec.version) != 1) {
    return make_error(Reason::InvalidInput, "cannot make a CSR: " + take_openssl_errors());
  }
  auto name = build_subject(spec.common_name, spec.ou, spec.eui64, spec.eui_encoding);
  if (!name) return std::move(name).error();
  if (X509_REQ_set_subject_name(req.get(), name->get()) != 1 || X509_REQ_set_pubkey(req.get(), key) != 1) {
    return make_error(Reason::InvalidInput, "cannot make a CSR: " + take_openssl_errors());
  }
  if (spec.key_usage_present) {
    auto bits = key_usage_bits(spec.key_usage);
    if (!bits) return std::move(bits).error();
    ExtensionStackPtr exts(sk_X509_EXTENSION_new_null());
    X509_EXTENSION* ku = X509V3_EXT_i2d(NID_key_usage, spec.key_usage_critical ? 1 : 0, bits->get());
    if (!exts || ku == nullptr || sk_X509_EXTENSION_push(exts.get(), ku) == 0 ||
        X509_REQ_add_extensions(req.get(), exts.get()) != 1) {
      if (ku != nullptr && sk_X509_EXTENSION_num(exts.get()) == 0) X509_EXTENSION_free(ku);
      return make_error(Reason::InvalidInput, "cannot request keyUsage: " + take_openssl_errors());
    }
  }
  if (X509_REQ_sign(req.get(), key, spec.sha1 ? EVP_sha1() : EVP_sha256()) <= 0) {
    return make_error(Reason::IoError, "cannot sign the CSR: " + take_openssl_errors());
  }
  unsigned char* der = nullptr;
  const int n = i2d_X509_REQ(req.get(), &der);
  if (n <= 0) return make_error(Reason::InvalidInput, "cannot encode the CSR: " + take_openssl_errors());
  std::string out(reinterpret_cast<const char*>(der), static_cast<std::size_t>(n));
  OPENSSL_free(der);
  return out;
}

std::string csr_pem(std::string_view der) {
  std::string b64((der.size() + 2) / 3 * 4 + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b64.data()),
                                reinterpret_cast<const unsigned char*>(der.data()), static_cast<int>(der.size()));
  b64.resize(static_cast<std::size_t>(std::max(n, 0)));
  std::string out = "-----BEGIN CERTIFICATE REQUEST-----\n";
  for (std::size_t i = 0; i < b64.size(); i += 64) out += b64.substr(i, 64) + "\n";
  return out + "-----END CERTIFICATE REQUEST-----\n";
}

Result<CertificateRequest> CertificateRequest::read(std::string_view bytes) {
  if (bytes.size() > kMaxCsrBytes) {
    return make_error(Reason::InvalidInput,
                      "the file is " + std::to_string(bytes.size()) + " bytes; a CSR is at most 64 KiB");
  }
  auto decoded = der_of(bytes);
  if (!decoded) return std::move(decoded).error();
  const std::string& der = decoded->first;
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  X509ReqPtr req(d2i_X509_REQ(nullptr, &p, static_cast<long>(der.size())));
  if (!req) {
    ERR_clear_error();
    return make_error(Reason::InvalidInput,
                      "not a PKCS#10 certificate request (" + decoded->second + " that does not decode)");
  }
  const auto used = static_cast<std::size_t>(p - reinterpret_cast<const unsigned char*>(der.data()));
  if (used != der.size()) {
    return make_error(Reason::InvalidInput,
                      "the CSR is followed by " + std::to_string(der.size() - used) + " bytes that are not part of it");
  }
  CertificateRequest out;
  out.req_ = std::move(req);
  out.der_ = der;
  out.encoding_ = decoded->second;
  return out;
}

Result<CertificateRequest> CertificateRequest::load(const std::filesystem::path& path) {
  auto bytes = read_small_file(path, kMaxCsrBytes, "CSR");
  if (!bytes) return std::move(bytes).error();
  return read(*bytes);
}

EVP_PKEY* CertificateRequest::public_key() const {
  EVP_PKEY* key = X509_REQ_get0_pubkey(const_cast<X509_REQ*>(req_.get()));
  ERR_clear_error();
  return key;
}

std::optional<std::uint8_t> CertificateRequest::role() const {
  const X509_NAME* name = X509_REQ_get_subject_name(req_.get());
  const int at = X509_NAME_get_index_by_NID(name, NID_organizationalUnitName, -1);
  if (at < 0 || X509_NAME_get_index_by_NID(name, NID_organizationalUnitName, at) >= 0) return std::nullopt;
  const ASN1_STRING* value = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, at));
  const std::string text(reinterpret_cast<const char*>(ASN1_STRING_get0_data(value)),
                         static_cast<std::size_t>(ASN1_STRING_length(value)));
  if (text.size() != 2 || !std::isxdigit(static_cast<unsigned char>(text[0])) ||
      !std::isxdigit(static_cast<unsigned char>(text[1]))) {
    return std::nullopt;
  }
  return static_cast<std::uint8_t>(std::stoi(text, nullptr, 16));
}

std::optional<Eui64> CertificateRequest::eui64() const { return subject_eui64(X509_REQ_get_subject_name(req_.get())); }

std::optional<std::string> CertificateRequest::common_name() const {
  const X509_NAME* name = X509_REQ_get_subject_name(req_.get());
  const int at = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (at < 0) return std::nullopt;
  unsigned char* utf8 = nullptr;
  const int n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, at)));
  if (n < 0) {
    ERR_clear_error();
    return std::nullopt;
  }
  std::string out(reinterpret_cast<const char*>(utf8), static_cast<std::size_t>(n));
  OPENSSL_free(utf8);
  return out;
}

std::optional<Usage> CertificateRequest::usage() const {
  auto exts = requested_extensions(req_.get());
  for (int i = 0; exts && i < sk_X509_EXTENSION_num(exts.get()); ++i) {
    X509_EXTENSION* ext = sk_X509_EXTENSION_value(exts.get(), i);
    if (OBJ_obj2nid(X509_EXTENSION_get_object(ext)) != NID_key_usage) continue;
    const auto ku = requested_key_usage(ext);
    if (ku == KU_DIGITAL_SIGNATURE) return Usage::DigitalSignature;
    if (ku == KU_KEY_AGREEMENT) return Usage::KeyAgreement;
    return std::nullopt;
  }
  return std::nullopt;
}

std::string CertificateRequest::key_text() const {
  EVP_PKEY* key = public_key();
  if (key == nullptr) return "a key OpenSSL cannot decode";
  if (EVP_PKEY_is_a(key, "EC")) {
    char group[64] = {};
    std::size_t len = 0;
    if (EVP_PKEY_get_group_name(key, group, sizeof group, &len) != 1) {
      ERR_clear_error();
      return "EC (explicit curve parameters)";
    }
    const std::string g(group);
    if (g == "prime256v1") return "EC P-256";
    if (g == "secp384r1") return "EC P-384";
    if (g == "secp521r1") return "EC P-521";
    return "EC " + g;
  }
  if (EVP_PKEY_is_a(key, "RSA")) return "RSA " + std::to_string(EVP_PKEY_get_bits(key));
  const char* type = EVP_PKEY_get0_type_name(key);
  return type != nullptr ? type : "unknown key";
}

std::string CertificateRequest::subject() const { return name_text(X509_REQ_get_subject_name(req_.get())); }

bool CertificateRequest::self_signature_verifies() const {
  EVP_PKEY* key = public_key();
  const bool ok = key != nullptr && X509_REQ_verify(const_cast<X509_REQ*>(req_.get()), key) == 1;
  ERR_clear_error();
  return ok;
}

std::vector<CsrFinding> CertificateRequest::check() const {
  std::vector<CsrFinding> out;
  const auto add = [&](std::string rule, std::string expected, std::string found) {
    out.push_back({std::move(rule), std::move(expected), std::move(found)});
  };
  X509_REQ* req = const_cast<X509_REQ*>(req_.get());

  // F1: DER, as it was signed. OpenSSL keeps the bytes it read for the signed part; a copy whose signed
  // part is encoded afresh shows a BER or non-minimal form by being different.
  {
    const auto* p = reinterpret_cast<const unsigned char*>(der_.data());
    X509ReqPtr copy(d2i_X509_REQ(nullptr, &p, static_cast<long>(der_.size())));
    unsigned char* tbs = nullptr;
    const int n = copy ? i2d_re_X509_REQ_tbs(copy.get(), &tbs) : -1;
    OPENSSL_free(tbs);
    unsigned char* whole = nullptr;
    const int m = n > 0 ? i2d_X509_REQ(copy.get(), &whole) : -1;
    const bool same = m > 0 && static_cast<std::size_t>(m) == der_.size() &&
                      std::equal(der_.begin(), der_.end(), reinterpret_cast<const char*>(whole));
    OPENSSL_free(whole);
    ERR_clear_error();
    if (!same) add("F1 encoding", "DER", "an encoding that is not DER (BER, or lengths not minimal)");
  }
  // F2: version 0.
  if (const long v = X509_REQ_get_version(req); v != 0) add("F2 version", "0 (v1)", std::to_string(v));

  // F3-F6: the subject.
  const X509_NAME* name = X509_REQ_get_subject_name(req);
  int cn = 0, ou = 0, uid = 0;
  std::string others;
  for (int i = 0; i < X509_NAME_entry_count(name); ++i) {
    const X509_NAME_ENTRY* e = X509_NAME_get_entry(name, i);
    const int nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(e));
    if (nid == NID_commonName) {
      ++cn;
    } else if (nid == NID_organizationalUnitName) {
      ++ou;
    } else if (nid == NID_x500UniqueIdentifier) {
      ++uid;
    } else {
      others += (others.empty() ? "" : ", ") + name_of(X509_NAME_ENTRY_get_object(e));
    }
  }
  if (!others.empty()) {
    add("F3 subject attributes", "commonName (optional), organizationalUnitName and uniqueIdentifier only", others);
  }
  if (ou != 1) {
    add("F4 subject OU (role)", "one organizationalUnitName: the Remote Party Role Code as 2 hex characters",
        std::to_string(ou) + " organizationalUnitName attributes");
  } else if (!role()) {
    const ASN1_STRING* v = X509_NAME_ENTRY_get_data(
        X509_NAME_get_entry(name, X509_NAME_get_index_by_NID(name, NID_organizationalUnitName, -1)));
    add("F4 subject OU (role)", "the Remote Party Role Code as 2 hex characters, such as \"02\" for a supplier",
        "\"" +
            printable(std::string_view(reinterpret_cast<const char*>(ASN1_STRING_get0_data(v)),
                                       static_cast<std::size_t>(ASN1_STRING_length(v)))) +
            "\"");
  } else if (role_name(*role()) == "unknown role") {
    add("F4 subject OU (role)", "a Remote Party Role Code SMKI defines", role_code(*role()));
  }
  std::string eui_problem;
  if (!subject_eui64(name, &eui_problem)) {
    add("F5 subject uniqueIdentifier (EUI-64)",
        "one uniqueIdentifier: a BIT STRING of exactly 64 bits (03 09 00 + 8 octets)",
        eui_problem.empty() ? std::string("none") : eui_problem);
  } else {
    // Exactly as the certificates carry it: 0 unused bits, 8 octets.
    const ASN1_STRING* v = X509_NAME_ENTRY_get_data(
        X509_NAME_get_entry(name, X509_NAME_get_index_by_NID(name, NID_x500UniqueIdentifier, -1)));
    if (ASN1_STRING_length(v) != 8) add("F5 subject uniqueIdentifier (EUI-64)", "8 octets, 0 unused bits", hex_bits(v));
  }
  if (cn > 1) add("F6 subject CN", "at most one commonName", std::to_string(cn) + " commonName attributes");
  if (cn == 1) {
    const auto text = common_name();
    if (!text || text->empty() || text->size() > static_cast<std::size_t>(kMaxCommonNameChars)) {
      add("F6 subject CN", "a commonName of 1 to 64 characters",
          text ? std::to_string(text->size()) + " characters" : std::string("a value that is not a string"));
    }
  }

  // F7: the key.
  const std::string key = key_text();
  if (key != "EC P-256") add("F7 public key", "id-ecPublicKey on the named curve prime256v1 (P-256)", key);

  // F8-F10: attributes and requested extensions.
  std::string other_attributes;
  for (int i = 0; i < X509_REQ_get_attr_count(req); ++i) {
    const ASN1_OBJECT* obj = X509_ATTRIBUTE_get0_object(X509_REQ_get_attr(req, i));
    if (OBJ_obj2nid(obj) != NID_ext_req) other_attributes += (other_attributes.empty() ? "" : ", ") + name_of(obj);
  }
  if (!other_attributes.empty()) add("F8 attributes", "only extensionRequest (with keyUsage)", other_attributes);
  auto exts = requested_extensions(req);
  const X509_EXTENSION* ku_ext = nullptr;
  std::string other_extensions;
  int ku_count = 0;
  for (int i = 0; exts && i < sk_X509_EXTENSION_num(exts.get()); ++i) {
    X509_EXTENSION* ext = sk_X509_EXTENSION_value(exts.get(), i);
    if (OBJ_obj2nid(X509_EXTENSION_get_object(ext)) == NID_key_usage) {
      ku_ext = ext;
      ++ku_count;
    } else {
      other_extensions += (other_extensions.empty() ? "" : ", ") + name_of(X509_EXTENSION_get_object(ext));
    }
  }
  if (ku_ext == nullptr) {
    add("F9 keyUsage", "a requested keyUsage extension, critical, with digitalSignature or keyAgreement",
        "none requested");
  } else {
    if (ku_count > 1) add("F9 keyUsage", "one keyUsage extension", std::to_string(ku_count));
    if (X509_EXTENSION_get_critical(ku_ext) != 1) add("F9 keyUsage critical", "critical", "not critical");
    const auto bits = requested_key_usage(ku_ext);
    if (!bits) {
      add("F9 keyUsage bits", "digitalSignature or keyAgreement", "a value that does not decode");
    } else if (*bits != KU_DIGITAL_SIGNATURE && *bits != KU_KEY_AGREEMENT) {
      add("F9 keyUsage bits", "exactly one of digitalSignature or keyAgreement", key_usage_words(*bits));
    }
  }
  if (!other_extensions.empty()) add("F10 requested extensions", "keyUsage only", other_extensions);

  // F11-F12: the self-signature.
  const X509_ALGOR* alg = nullptr;
  X509_REQ_get0_signature(req, nullptr, &alg);
  const ASN1_OBJECT* alg_oid = nullptr;
  const void* alg_params = nullptr;
  int param_type = V_ASN1_UNDEF;
  if (alg != nullptr) X509_ALGOR_get0(&alg_oid, &param_type, &alg_params, alg);
  if (alg_oid == nullptr || OBJ_obj2nid(alg_oid) != NID_ecdsa_with_SHA256) {
    add("F11 signature algorithm", "ecdsa-with-SHA256", alg_oid != nullptr ? name_of(alg_oid) : std::string("none"));
  } else if (param_type != V_ASN1_UNDEF) {
    add("F11 signature algorithm", "ecdsa-with-SHA256 with its parameters absent", "parameters present");
  }
  if (!self_signature_verifies()) add("F12 self-signature", "verifies with the CSR's public key", "does not verify");
  return out;
}

AcceptVerdict judge_issued_certificate(const CertificateRequest& csr, const OrgCert& cert,
                                       const AcceptOptions& options) {
  AcceptVerdict v;
  const auto reason = [&](Reason r, std::string message) { v.reasons.push_back(make_error(r, std::move(message))); };
  EVP_PKEY* cert_key = X509_get0_pubkey(cert.x509());
  if (csr.public_key() == nullptr || cert_key == nullptr || EVP_PKEY_eq(csr.public_key(), cert_key) != 1) {
    reason(Reason::KeyMismatch, "the certificate's public key is not the one the CSR asked for");
  }
  if (options.key != nullptr && (cert_key == nullptr || EVP_PKEY_eq(options.key, cert_key) != 1)) {
    reason(Reason::KeyMismatch, "the certificate's public key is not the given key's");
  }
  ERR_clear_error();
  if (csr.role() && cert.role() != csr.role()) {
    reason(Reason::WrongRole,
           "the CSR asked for role " + role_code(*csr.role()) + " (" + std::string(role_name(*csr.role())) +
               "), the certificate has " +
               (cert.role() ? role_code(*cert.role()) + " (" + std::string(role_name(*cert.role())) + ")"
                            : std::string("no role")));
  }
  if (csr.eui64() && cert.eui64() != csr.eui64()) {
    reason(Reason::SubjectMismatch, "the CSR asked for EUI-64 " + csr.eui64()->to_string() + ", the certificate has " +
                                        (cert.eui64() ? cert.eui64()->to_string() : std::string("none")));
  }
  if (csr.common_name() != cert.common_name()) {
    v.notes.push_back("the certificate's CN is " +
                      (cert.common_name() ? "\"" + printable(*cert.common_name()) + "\"" : std::string("absent")) +
                      ", the CSR's " +
                      (csr.common_name() ? "\"" + printable(*csr.common_name()) + "\"" : std::string("absent")));
  }
  if (csr.usage() && !cert.has_only_usage(*csr.usage())) {
    reason(Reason::WrongKeyUsage, "the CSR asked for keyUsage " + std::string(usage_name(*csr.usage())) +
                                      ", the certificate has " + cert.key_usage_text());
  }
  for (auto& violation : cert.check_profile(options.profile)) {
    // A usage that is not the one asked for is said once, above.
    if (violation.reason == Reason::WrongKeyUsage && csr.usage() && !cert.has_only_usage(*csr.usage())) continue;
    v.reasons.push_back(std::move(violation));
  }
  if (auto st = cert.check_validity(options.now); !st) {
    if (st.error().reason == Reason::CertNotYetValid) {
      reason(Reason::CertNotYetValid, "the certificate becomes valid at " + format_iso8601(cert.not_before()) +
                                          "; it is not valid now (" + format_iso8601(options.now) + ")");
    } else {
      v.reasons.push_back(std::move(st).error());
    }
  }
  if (options.trust != nullptr) {
    RevocationStatus revocation;
    if (auto st = options.trust->verify(cert, options.now, {}, &revocation); !st) {
      // The certificate's own validity is said above; the chain's verdict on it would say it twice.
      const Reason r = st.error().reason;
      const bool said = std::any_of(v.reasons.begin(), v.reasons.end(), [&](const Error& e) { return e.reason == r; });
      if (!said || (r != Reason::CertNotYetValid && r != Reason::CertExpired))
        v.reasons.push_back(std::move(st).error());
    } else if (!revocation.checked) {
      v.notes.push_back("revocation not checked: no CRL of " + revocation.issuer + " was given");
    }
  } else {
    v.notes.push_back("the chain to the SMKI root was not checked (no trust anchors given)");
  }
  return v;
}

}  // namespace mamsign
