#include "example_pki.h"

#include "mamsign/base/atomic_file.h"
#include "mamsign/pki/cert_builder.h"
#include "mamsign/smki/mpxn.h"
#include "mamsign/smki/org_cert.h"
#include "mamsign/smki/profile.h"
#include "mamsign/base/times.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <map>
#include <sstream>

namespace mamsign::testpki {
namespace {

using nlohmann::json;

constexpr std::string_view kKeyHeader = "# EXAMPLE ONLY, DO NOT USE IN PRODUCTION (mamsign keys-example)\n";
constexpr std::string_view kPassphrase = "example-passphrase";
constexpr std::string_view kS1sp = "cgI";

std::time_t utc(int y, int m, int d) {
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = m - 1;
  tm.tm_mday = d;
  return timegm(&tm);
}

Eui64 with_last(const Eui64& base, std::uint8_t seventh, std::uint8_t eighth) {
  auto o = base.octets();
  o[6] = seventh;
  o[7] = eighth;
  return Eui64(o);
}

class Writer {
 public:
  explicit Writer(std::filesystem::path root) : root_(std::move(root)) {}
  Status write(const std::filesystem::path& rel, std::string_view content, mode_t mode = 0644) {
    std::error_code ec;
    std::filesystem::create_directories((root_ / rel).parent_path(), ec);
    if (ec) return make_error(Reason::IoError, "cannot create " + (root_ / rel).parent_path().string() + ": " + ec.message());
    if (auto st = write_file_atomically(root_ / rel, content, {Replace::Yes, false, mode, {}}); !st) return st;
    ++count_;
    return Status::ok();
  }
  std::size_t count() const { return count_; }
  const std::filesystem::path& root() const { return root_; }

 private:
  std::filesystem::path root_;
  std::size_t count_ = 0;
};

struct Ca {
  EvpPkeyPtr key;
  X509Ptr cert;
};

Result<Ca> make_ca(const std::string& cn, const std::string& ou, const Eui64& eui, const Ca* issuer) {
  auto key = generate_key(KeyType::P256);
  if (!key) return std::move(key).error();
  CertSpec spec;
  spec.common_name = cn;
  spec.ou = ou;
  spec.eui64 = eui;
  spec.not_before = utc(2019, 1, 1);
  spec.not_after = utc(2049, 12, 31);
  spec.key_usage = KU_KEY_CERT_SIGN | KU_CRL_SIGN;
  spec.ca = true;
  auto cert = issue_certificate(spec, key->get(), issuer ? issuer->cert.get() : nullptr,
                                issuer ? issuer->key.get() : key->get());
  if (!cert) return std::move(cert).error();
  return Ca{std::move(*key), std::move(*cert)};
}

enum class IssuedBy { Oca, RogueOca };

struct OrgPlan {
  std::string name;
  std::string purpose;
  CertSpec spec;
  KeyType key_type = KeyType::P256;
  IssuedBy issuer = IssuedBy::Oca;
  bool revoke = false;
};

struct Issued {
  OrgPlan plan;
  EvpPkeyPtr key;
  X509Ptr cert;
  std::string serial;
};

std::string key_file_text(EVP_PKEY* key, const std::string* passphrase = nullptr) {
  auto pem = private_key_pem(key, passphrase);
  return std::string(kKeyHeader) + (pem ? *pem : std::string());
}

// RFC 4180 field: quoted when it holds a comma, quote, CR or LF.
std::string csv_field(const std::string& f) {
  if (f.find_first_of(",\"\r\n") == std::string::npos) return f;
  std::string out = "\"";
  for (char c : f) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

const std::vector<std::string> kHeader{"MPxN",           "DeviceID",              "DeviceType",        "GroupID",
                                       "SupplierUserID", "NetworkOperatorUserID", "NODSCertificateID", "NOKACertificateID"};

struct Row {
  std::vector<std::string> fields;
  // Expected findings: column, code, severity.
  std::vector<std::tuple<std::string, std::string, std::string>> expect;
};

std::string mpan(const std::string& distributor, std::uint64_t n) {
  char body[16];
  std::snprintf(body, sizeof body, "%010llu", static_cast<unsigned long long>(n % 10000000000ULL));
  const std::string first12 = distributor + body;
  return first12 + std::to_string(mpan_check_digit(first12));
}

std::string mprn(std::uint64_t n) { return std::to_string(7000000000ULL + (n * 3571ULL) % 1000000000ULL); }

std::string device_id(std::uint32_t n) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "00-12-4B-00-%02X-%02X-%02X-%02X", (n >> 24) & 0xFF, (n >> 16) & 0xFF,
                (n >> 8) & 0xFF, n & 0xFF);
  return buf;
}

// The same certificate ID as a person might type it: lower case, colons, no leading zeros.
std::string loose_id(const std::string& serial) {
  std::string s = serial;
  while (s.size() > 2 && s.compare(0, 2, "00") == 0) s.erase(0, 2);
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (i && i % 2 == 0) out += ':';
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(s[i])));
  }
  return out;
}

std::string render_csv(const std::vector<Row>& rows, std::vector<std::size_t>* lines) {
  std::string out;
  for (std::size_t i = 0; i < kHeader.size(); ++i) out += (i ? "," : "") + kHeader[i];
  out += "\r\n";
  std::size_t line = 2;
  for (const auto& r : rows) {
    if (lines) lines->push_back(line);
    for (std::size_t i = 0; i < r.fields.size(); ++i) {
      out += (i ? "," : "") + csv_field(r.fields[i]);
      for (char c : r.fields[i]) line += c == '\n';
    }
    out += "\r\n";
    ++line;
  }
  return out;
}

}  // namespace

Result<std::string> write_example(const ExampleOptions& o) {
  Writer keys(o.out);
  const Eui64 root_eui = with_last(o.supplier, 0xFF, 0x00);
  const Eui64 oca_eui = with_last(o.supplier, 0xFF, 0x07);
  auto root = make_ca("mamsign Example SMKI Root (EXAMPLE ONLY)", "00", root_eui, nullptr);
  if (!root) return std::move(root).error();
  auto oca = make_ca("mamsign Example SMKI OCA (EXAMPLE ONLY)", "07", oca_eui, &*root);
  if (!oca) return std::move(oca).error();
  // An impostor: same names as the real root and OCA, other keys.
  auto rogue_root = make_ca("mamsign Example SMKI Root (EXAMPLE ONLY)", "00", root_eui, nullptr);
  if (!rogue_root) return std::move(rogue_root).error();
  auto rogue_oca = make_ca("mamsign Example SMKI OCA (EXAMPLE ONLY)", "07", oca_eui, &*rogue_root);
  if (!rogue_oca) return std::move(rogue_oca).error();

  const Eui64 supplier = o.supplier;
  const Eui64 supplier_alt = with_last(supplier, supplier.octets()[6], static_cast<std::uint8_t>(supplier.octets()[7] + 1));
  const Eui64 supplier2 = with_last(supplier, 0xB1, 0x01);
  const Eui64 supplier_zero = with_last(supplier, 0x00, 0x00);
  const Eui64 no1 = o.network_operator;
  const Eui64 no2 = with_last(no1, static_cast<std::uint8_t>(no1.octets()[6] + 1), no1.octets()[7]);
  const Eui64 no1_other_user = with_last(no1, no1.octets()[6], static_cast<std::uint8_t>(no1.octets()[7] + 1));

  auto plan = [&](std::string name, std::string purpose, std::string cn, std::string ou, Eui64 eui, Usage usage) {
    OrgPlan p;
    p.name = std::move(name);
    p.purpose = std::move(purpose);
    p.spec.common_name = std::move(cn);
    p.spec.ou = std::move(ou);
    p.spec.eui64 = eui;
    p.spec.not_before = utc(2025, 1, 1);
    p.spec.not_after = utc(2045, 1, 1);
    p.spec.key_usage = usage == Usage::DigitalSignature ? KU_DIGITAL_SIGNATURE : KU_KEY_AGREEMENT;
    p.spec.policy_oid = o.policy_oid;
    return p;
  };
  const auto DS = Usage::DigitalSignature;
  const auto KA = Usage::KeyAgreement;
  std::vector<OrgPlan> plans;
  plans.push_back(plan("supplier-ds", "the example supplier's signing certificate: signs the example files",
                       "Example Supplier A", "02", supplier, DS));
  plans.push_back(plan("supplier-ka", "the supplier's key-agreement certificate; signing with it is WRONG_KEY_USAGE",
                       "Example Supplier A", "02", supplier, KA));
  plans.push_back(plan("supplier-alt-ds", "the same supplier party under its other User ID (MAM 7.2.2)",
                       "Example Supplier A (second User ID)", "02", supplier_alt, DS));
  plans.push_back(plan("supplier2-ds", "a second supplier: a file named for supplier A is SIGNER_MISMATCH",
                       "Example Supplier B", "02", supplier2, DS));
  plans.push_back(plan("supplier2-ka", "the second supplier's key-agreement certificate", "Example Supplier B", "02",
                       supplier2, KA));
  plans.push_back(plan("supplier-zero-ds", "a supplier whose EUI-64 ends in zero octets: still a 64-bit BIT STRING",
                       "Example Supplier Z", "02", supplier_zero, DS));
  {
    auto p = plan("supplier-revoked-ds", "revoked on crl/oca.crl: CERT_REVOKED", "Example Supplier A (revoked)", "02",
                  supplier, DS);
    p.revoke = true;
    plans.push_back(std::move(p));
  }
  plans.push_back(plan("network-operator-ds", "the example network operator's signing certificate (registered for distributor 14)",
                       "Example Network Operator", "03", no1, DS));
  plans.push_back(plan("network-operator-ka", "the example network operator's key-agreement certificate",
                       "Example Network Operator", "03", no1, KA));
  plans.push_back(plan("network-operator2-ds", "a second network operator (distributor 15), with a short serial",
                       "Example Network Operator 2", "03", no2, DS));
  plans.back().spec.serial = {0x12, 0x34};
  plans.push_back(plan("network-operator2-ka", "the second network operator's key-agreement certificate, short serial",
                       "Example Network Operator 2", "03", no2, KA));
  plans.back().spec.serial = {0x56, 0x78, 0x9A};
  {
    auto p = plan("network-operator-expired-ds", "an expired network-operator certificate", "Example Network Operator (old)",
                  "03", no1, DS);
    p.spec.not_before = utc(2020, 1, 1);
    p.spec.not_after = utc(2022, 1, 1);
    plans.push_back(std::move(p));
    auto q = plan("network-operator-not-yet-valid-ds", "a network-operator certificate valid from 2040",
                  "Example Network Operator (next)", "03", no1, DS);
    q.spec.not_before = utc(2040, 1, 1);
    q.spec.not_after = utc(2048, 1, 1);
    plans.push_back(std::move(q));
    auto r = plan("network-operator-revoked-ds", "a revoked network-operator certificate", "Example Network Operator (revoked)",
                  "03", no1, DS);
    r.revoke = true;
    plans.push_back(std::move(r));
    auto s = plan("network-operator-rogue-ds", "a network-operator certificate from the impostor OCA", "Example Network Operator",
                  "03", no1, DS);
    s.issuer = IssuedBy::RogueOca;
    plans.push_back(std::move(s));
  }
  // One certificate per way of breaking the profile. Those that share the supplier's EUI-64 are the
  // stale copies and renewals a certificate store really holds.
  auto bad = [&](std::string name, std::string purpose, Eui64 eui) {
    return plan("bad-" + std::move(name), std::move(purpose), "Example Supplier A (broken)", "02", eui, DS);
  };
  std::uint8_t next = 0x21;
  auto bad_eui = [&] { return with_last(supplier, supplier.octets()[6], next++); };
  {
    auto p = bad("expired-ds", "expired in 2022: CERT_EXPIRED", supplier);
    p.spec.not_before = utc(2020, 1, 1);
    p.spec.not_after = utc(2022, 1, 1);
    plans.push_back(std::move(p));
  }
  {
    auto p = bad("not-yet-valid-ds", "valid from 2040: CERT_NOT_YET_VALID", supplier);
    p.spec.not_before = utc(2040, 1, 1);
    p.spec.not_after = utc(2048, 1, 1);
    plans.push_back(std::move(p));
  }
  {
    auto p = bad("role-04-ds", "role 04 (access control broker), not 02: WRONG_ROLE", bad_eui());
    p.spec.ou = "04";
    plans.push_back(std::move(p));
  }
  {
    auto p = bad("both-usages", "keyUsage digitalSignature and keyAgreement: WRONG_KEY_USAGE", bad_eui());
    p.spec.key_usage = KU_DIGITAL_SIGNATURE | KU_KEY_AGREEMENT;
    plans.push_back(std::move(p));
  }
  {
    auto p = bad("ku-not-critical-ds", "keyUsage not critical: WRONG_KEY_USAGE", bad_eui());
    p.spec.key_usage_critical = false;
    plans.push_back(std::move(p));
  }
  {
    auto p = bad("no-policy-ds", "no certificatePolicies: POLICY_MISMATCH", bad_eui());
    p.spec.policy_oid.reset();
    plans.push_back(std::move(p));
  }
  {
    auto p = bad("other-policy-ds", "another policy OID: POLICY_MISMATCH", bad_eui());
    p.spec.policy_oid = "1.2.826.0.1.8641679.1.2.1.99";
    plans.push_back(std::move(p));
  }
  {
    auto p = bad("eui-utf8-ds", "EUI-64 as a UTF8String (what openssl -subj writes): INVALID_SUBJECT", bad_eui());
    p.spec.eui_encoding = EuiEncoding::Utf8String;
    plans.push_back(std::move(p));
  }
  {
    auto p = bad("eui-56-ds", "EUI-64 as a BIT STRING of 56 bits: INVALID_SUBJECT", bad_eui());
    p.spec.eui_encoding = EuiEncoding::BitString56;
    plans.push_back(std::move(p));
  }
  {
    auto p = bad("no-eui-ds", "no x500UniqueIdentifier: INVALID_SUBJECT", bad_eui());
    p.spec.eui_encoding = EuiEncoding::Absent;
    plans.push_back(std::move(p));
  }
  {
    auto p = bad("p384-ds", "a P-384 key: UNSUPPORTED_ALGORITHM", bad_eui());
    p.key_type = KeyType::P384;
    plans.push_back(std::move(p));
  }
  {
    auto p = bad("rsa-ds", "an RSA key: UNSUPPORTED_ALGORITHM", bad_eui());
    p.key_type = KeyType::Rsa2048;
    plans.push_back(std::move(p));
  }
  {
    auto p = bad("rogue-oca-ds", "issued by an impostor OCA with the real OCA's name: UNTRUSTED_CHAIN", supplier);
    p.issuer = IssuedBy::RogueOca;
    plans.push_back(std::move(p));
  }

  std::vector<Issued> issued;
  std::map<std::string, const Issued*> by_name;
  for (auto& p : plans) {
    auto key = generate_key(p.key_type);
    if (!key) return std::move(key).error();
    const Ca& ca = p.issuer == IssuedBy::Oca ? *oca : *rogue_oca;
    auto cert = issue_certificate(p.spec, key->get(), ca.cert.get(), ca.key.get());
    if (!cert) return std::move(cert).error();
    const std::string serial = OrgCert(share(cert->get())).serial();
    issued.push_back(Issued{std::move(p), std::move(*key), std::move(*cert), serial});
  }
  for (const auto& i : issued) by_name[i.plan.name] = &i;

  // The files.
  auto write_cert = [&](const std::filesystem::path& rel, X509* cert) -> Status {
    auto pem = certificate_pem(cert);
    if (!pem) return std::move(pem).error();
    return keys.write(rel, *pem);
  };
  auto write_key = [&](const std::filesystem::path& rel, EVP_PKEY* key) {
    return keys.write(rel, key_file_text(key), 0600);
  };
  for (auto* st : {&root, &oca}) (void)st;
  if (auto st = write_cert("trust/root.pem", root->cert.get()); !st) return std::move(st).error();
  if (auto st = write_cert("trust/oca.pem", oca->cert.get()); !st) return std::move(st).error();
  if (auto st = write_key("ca/root.key", root->key.get()); !st) return std::move(st).error();
  if (auto st = write_key("ca/oca.key", oca->key.get()); !st) return std::move(st).error();
  if (auto st = write_cert("rogue/root.pem", rogue_root->cert.get()); !st) return std::move(st).error();
  if (auto st = write_cert("rogue/oca.pem", rogue_oca->cert.get()); !st) return std::move(st).error();
  if (auto st = write_key("rogue/root.key", rogue_root->key.get()); !st) return std::move(st).error();
  if (auto st = write_key("rogue/oca.key", rogue_oca->key.get()); !st) return std::move(st).error();
  for (const auto& i : issued) {
    if (auto st = write_cert("store/" + i.plan.name + ".pem", i.cert.get()); !st) return std::move(st).error();
    if (auto st = write_key("keys/" + i.plan.name + ".key", i.key.get()); !st) return std::move(st).error();
  }
  {
    const std::string pass(kPassphrase);
    if (auto st = keys.write("keys/supplier-ds.encrypted.key",
                             key_file_text(by_name.at("supplier-ds")->key.get(), &pass), 0600);
        !st) {
      return std::move(st).error();
    }
    if (auto st = keys.write("keys/supplier-ds.pass", pass + "\n", 0600); !st) return std::move(st).error();
  }
  std::vector<Revocation> revoked;
  for (const auto& i : issued) {
    if (i.plan.revoke) revoked.push_back({i.cert.get(), utc(2025, 6, 1)});
  }
  auto crl = issue_crl(oca->cert.get(), oca->key.get(), revoked, utc(2025, 6, 1), utc(2049, 1, 1));
  if (!crl) return std::move(crl).error();
  auto crl_text = crl_pem(crl->get());
  if (!crl_text) return std::move(crl_text).error();
  if (auto st = keys.write("crl/oca.crl", *crl_text); !st) return std::move(st).error();

  // keys-example/README.md, written with the serials it describes.
  std::ostringstream md;
  md << "# keys-example: an example SMKI-style PKI\n\n"
     << "**EXAMPLE ONLY, DO NOT USE IN PRODUCTION.** Every private key here is published. They exist so that\n"
     << "the tools, the tests and the README's quick start have certificates that keep, and break, the SMKI\n"
     << "Organisation Certificate profile (docs/certificate-profile.md).\n\n"
     << "Regenerate everything (keys, certificates, CRL and the files in testdata/) with one command from the\n"
     << "repository root, after building:\n\n"
     << "    scripts/regenerate-examples.sh\n\n"
     << "which runs `build/apps/mam-testpki example --out keys-example --testdata testdata`. The same tool makes a\n"
     << "test PKI of your own: `mam-testpki example --out /tmp/my-pki --supplier-eui 70-B3-D5-1F-30-00-C1-01`.\n\n"
     << "## Layout\n\n"
     << "| path | what |\n|---|---|\n"
     << "| `trust/root.pem`, `trust/oca.pem` | the trust anchors: give `--trust keys-example/trust` |\n"
     << "| `ca/root.key`, `ca/oca.key` | the CA keys (to issue more certificates or CRLs) |\n"
     << "| `crl/oca.crl` | the OCA's CRL (PEM), revoking the `*-revoked-*` certificates |\n"
     << "| `store/*.pem` | every organisation certificate: a certificate store for `--cert-store` and `mam-certid --store` |\n"
     << "| `keys/<name>.key` | the private key of `store/<name>.pem` (PKCS#8 PEM, unencrypted) |\n"
     << "| `keys/supplier-ds.encrypted.key` | the supplier's key again, encrypted PKCS#8; passphrase `" << kPassphrase
     << "` (also in `keys/supplier-ds.pass`) |\n"
     << "| `rogue/` | an impostor root and OCA with the real ones' names; never trust them |\n\n"
     << "Certificate IDs are the serials as the SMKI repository shows them. Validity is 2025-01-01 to 2045-01-01\n"
     << "unless the table says otherwise; the CAs are valid 2019-01-01 to 2049-12-31. Policy OID: `" << o.policy_oid
     << "`.\n\n"
     << "## Organisation certificates\n\n"
     << "| name | EUI-64 | role | keyUsage | certificate ID | what it is for |\n|---|---|---|---|---|---|\n";
  for (const auto& i : issued) {
    OrgCert c(share(i.cert.get()));
    md << "| `" << i.plan.name << "` | " << (c.eui64() ? c.eui64()->to_string() : std::string("(none)")) << " | "
       << i.plan.spec.ou.value_or("") << " | " << c.key_usage_text() << " | `" << i.serial << "` | " << i.plan.purpose
       << " |\n";
  }
  if (auto st = keys.write("README.md", md.str()); !st) return std::move(st).error();

  std::ostringstream summary;
  summary << "wrote " << keys.count() << " files to " << o.out.string() << "\n";
  if (o.testdata.empty()) return summary.str();

  // testdata/: the example migration files, registration data and a certificate-ID file with planted errors.
  Writer data(o.testdata);
  const std::string sup = supplier.to_string();
  const std::string ds1 = by_name.at("network-operator-ds")->serial;
  const std::string ka1 = by_name.at("network-operator-ka")->serial;
  const std::string ds2 = by_name.at("network-operator2-ds")->serial;
  const std::string ka2 = by_name.at("network-operator2-ka")->serial;
  const std::string stem = "cgI_" + sup + "_20190407_182503";
  std::vector<Row> rows;
  for (std::uint32_t n = 0; n < 50; ++n) {
    if (n < 30) {
      rows.push_back({{mpan("14", 2000000000ULL + n * 104729ULL), device_id(0x1000 + n), "ESME", n % 2 ? "EB" : "EA", sup,
                       no1.to_string(), ds1, ka1}, {}});
    } else if (n < 42) {
      rows.push_back({{mpan("15", 3000000000ULL + n * 130363ULL), device_id(0x1000 + n), "ESME", "EA", sup,
                       no2.to_string(), ds2, ka2}, {}});
    } else {
      rows.push_back({{mprn(n), device_id(0x1000 + n), "GSME", "EA", sup, "", "", ""}, {}});
    }
  }
  if (auto st = data.write("MA_" + stem + ".csv", render_csv(rows, nullptr)); !st) return std::move(st).error();
  if (auto st = data.write("MAPASSWORD_" + stem + ".csv", "MAPassword\r\nEXAMPLE-ONLY-8d1f2c\r\n"); !st) {
    return std::move(st).error();
  }

  const std::string override_mpan = mpan("14", 4100000000ULL);
  json reg;
  reg["$comment"] = "EXAMPLE registration data: MPAN distributor IDs and exact MPxNs to network-operator EUI-64s";
  reg["mpan_distributors"] = {{"14", {no1.to_string()}}, {"15", {no2.to_string()}}};
  reg["mpxn"] = {{override_mpan, {no2.to_string()}}};
  if (auto st = data.write("registration.json", reg.dump(2) + "\n"); !st) return std::move(st).error();

  const std::string no1s = no1.to_string();
  const std::string no2s = no2.to_string();
  const std::string dsc = "NODSCertificateID", kac = "NOKACertificateID";
  std::uint64_t k = 0;
  auto m14 = [&] { return mpan("14", 5000000000ULL + (k++) * 7919ULL); };
  std::vector<Row> planted;
  planted.push_back({{m14(), device_id(1), "ESME", "EA", sup, no1s, ds1, ka1}, {}});
  planted.push_back({{mpan("15", 5100000000ULL), device_id(2), "ESME", "EA", sup, no2s, loose_id(ds2), loose_id(ka2)}, {}});
  planted.push_back({{m14(), device_id(3), "ESME", "EA", sup, no1s, "NOT-A-CERT-ID", ka1}, {{dsc, "ID_SYNTAX", "error"}}});
  planted.push_back({{m14(), device_id(4), "ESME", "EA", sup, no1s, "0123456789ABCDEF0123456789ABCDEF", ka1},
                     {{dsc, "ID_UNKNOWN", "error"}}});
  planted.push_back({{m14(), device_id(5), "ESME", "EA", sup, sup, by_name.at("supplier-ds")->serial, by_name.at("supplier-ka")->serial},
                     {{dsc, "NOT_NETWORK_OPERATOR", "error"},
                      {dsc, "WRONG_NETWORK_OPERATOR", "error"},
                      {kac, "NOT_NETWORK_OPERATOR", "error"},
                      {kac, "WRONG_NETWORK_OPERATOR", "error"}}});
  planted.push_back({{m14(), device_id(6), "ESME", "EA", sup, no1s, ka1, ds1}, {{dsc, "WRONG_USAGE", "error"}, {kac, "WRONG_USAGE", "error"}}});
  planted.push_back({{m14(), device_id(7), "ESME", "EA", sup, no1s, ds1, ka2},
                     {{kac, "NO_USERID_MISMATCH", "error"}, {kac, "WRONG_NETWORK_OPERATOR", "error"}, {kac, "PAIR_MISMATCH", "error"}}});
  planted.push_back({{m14(), device_id(8), "ESME", "EA", sup, no1_other_user.to_string(), ds1, ka1},
                     {{dsc, "NO_USERID_MISMATCH", "error"}, {kac, "NO_USERID_MISMATCH", "error"}}});
  planted.push_back({{m14(), device_id(9), "ESME", "EA", sup, no1s, by_name.at("network-operator-expired-ds")->serial, ka1},
                     {{dsc, "CERT_EXPIRED", "error"}}});
  planted.push_back({{m14(), device_id(10), "ESME", "EA", sup, no1s, by_name.at("network-operator-not-yet-valid-ds")->serial, ka1},
                     {{dsc, "CERT_NOT_YET_VALID", "error"}}});
  planted.push_back({{m14(), device_id(11), "ESME", "EA", sup, no1s, by_name.at("network-operator-revoked-ds")->serial, ka1},
                     {{dsc, "CERT_REVOKED", "error"}}});
  planted.push_back({{m14(), device_id(12), "ESME", "EA", sup, no1s, by_name.at("network-operator-rogue-ds")->serial, ka1},
                     {{dsc, "UNTRUSTED_CHAIN", "error"}}});
  {
    std::string bad_mpan = m14();
    bad_mpan.back() = static_cast<char>('0' + (bad_mpan.back() - '0' + 1) % 10);
    planted.push_back({{bad_mpan, device_id(13), "ESME", "EA", sup, no1s, ds1, ka1}, {{"MPxN", "MPXN_INVALID", "error"}}});
  }
  planted.push_back({{m14(), device_id(14), "ESME", "EA", sup, no2s, ds2, ka2},
                     {{dsc, "WRONG_NETWORK_OPERATOR", "error"}, {kac, "WRONG_NETWORK_OPERATOR", "error"}}});
  planted.push_back({{m14(), device_id(15), "ESME", "EC", sup, no1s, ds1, ka1}, {{"GroupID", "GROUP_NOT_MIGRATED", "note"}}});
  planted.push_back({{m14(), device_id(16), "ESME, \"smart\" variant", "EA", sup, no1s, ds1, ka1}, {}});
  planted.push_back({{m14(), device_id(17), "ESME\r\nwith a line break", "EA", sup, no1s, ds1, ka1}, {}});
  planted.push_back({{mprn(99), device_id(18), "GSME", "EA", sup, "", "", ""}, {}});
  planted.push_back({{m14(), device_id(19), "ESME", "EA", sup, "70-B3-D5", ds1, ka1}, {{"NetworkOperatorUserID", "ID_SYNTAX", "error"}}});
  planted.push_back({{m14(), device_id(20), "ESME", "EA", sup, no1s, ds1, ""}, {{kac, "ID_SYNTAX", "error"}}});
  planted.push_back({{override_mpan, device_id(21), "ESME", "EA", sup, no2s, ds2, ka2}, {}});

  std::vector<std::size_t> lines;
  const std::string planted_csv = render_csv(planted, &lines);
  const std::string planted_name = "certid/MA_cgI_" + sup + "_20190408_090000.csv";
  if (auto st = data.write(planted_name, planted_csv); !st) return std::move(st).error();
  json expected;
  expected["$comment"] =
      "What mam-certid must find in the planted file, run with --registration testdata/registration.json "
      "--at 2026-06-01T00:00:00Z and the keys-example store, trust anchors and CRL";
  expected["file"] = planted_name;
  expected["at"] = "2026-06-01T00:00:00Z";
  expected["rows"] = planted.size();
  json findings = json::array();
  for (std::size_t i = 0; i < planted.size(); ++i) {
    for (const auto& [column, code, severity] : planted[i].expect) {
      findings.push_back({{"line", lines[i]}, {"column", column}, {"reason", code}, {"severity", severity}});
    }
  }
  expected["findings"] = findings;
  if (auto st = data.write("certid/expected-findings.json", expected.dump(2) + "\n"); !st) return std::move(st).error();

  summary << "wrote " << data.count() << " files to " << o.testdata.string() << "\n";
  return summary.str();
}

Result<std::string> write_bulk(const BulkOptions& o) {
  Writer out(o.out);
  const Eui64 base = *Eui64::parse("70-B3-D5-1F-30-40-00-00");
  auto root = make_ca("mamsign Bulk Root (EXAMPLE ONLY)", "00", with_last(base, 0xFF, 0x00), nullptr);
  if (!root) return std::move(root).error();
  auto oca = make_ca("mamsign Bulk OCA (EXAMPLE ONLY)", "07", with_last(base, 0xFF, 0x07), &*root);
  if (!oca) return std::move(oca).error();
  for (auto [name, ca] : {std::pair{"trust/root.pem", &*root}, std::pair{"trust/oca.pem", &*oca}}) {
    auto pem = certificate_pem(ca->cert.get());
    if (!pem) return std::move(pem).error();
    if (auto st = out.write(name, *pem); !st) return std::move(st).error();
  }
  // One key pair per network operator, shared by its DS and KA certificates: issuing is what costs.
  const std::size_t operators = (o.count + 1) / 2;
  struct Op {
    Eui64 eui;
    std::string ds, ka;
    std::string distributor;
  };
  std::vector<Op> ops;
  std::string bundle;
  std::size_t issued = 0;
  for (std::size_t n = 0; n < operators; ++n) {
    auto key = generate_key(KeyType::P256);
    if (!key) return std::move(key).error();
    auto eui_octets = base.octets();
    eui_octets[5] = static_cast<std::uint8_t>(0x40 + (n >> 16));
    eui_octets[6] = static_cast<std::uint8_t>(n >> 8);
    eui_octets[7] = static_cast<std::uint8_t>(n);
    Op op{Eui64(eui_octets), "", "", std::to_string(10 + n % 20)};
    for (Usage u : {Usage::DigitalSignature, Usage::KeyAgreement}) {
      if (issued == o.count) break;
      CertSpec spec;
      spec.common_name = "Bulk Network Operator " + std::to_string(n);
      spec.ou = "03";
      spec.eui64 = op.eui;
      spec.not_before = utc(2025, 1, 1);
      spec.not_after = utc(2045, 1, 1);
      spec.key_usage = u == Usage::DigitalSignature ? KU_DIGITAL_SIGNATURE : KU_KEY_AGREEMENT;
      spec.policy_oid = o.policy_oid;
      auto cert = issue_certificate(spec, key->get(), oca->cert.get(), oca->key.get());
      if (!cert) return std::move(cert).error();
      auto pem = certificate_pem(cert->get());
      if (!pem) return std::move(pem).error();
      bundle += *pem;
      (u == Usage::DigitalSignature ? op.ds : op.ka) = OrgCert(share(cert->get())).serial();
      ++issued;
    }
    ops.push_back(std::move(op));
    // An SMKI export in files of 500 certificates, in folders of 20 files: many files, some bundles.
    if (bundle.size() > 0 && (issued % 500 == 0 || issued == o.count)) {
      char rel[64];
      std::snprintf(rel, sizeof rel, "store/%03zu/certs-%05zu.pem", issued / 10000, issued);
      if (auto st = out.write(rel, bundle); !st) return std::move(st).error();
      bundle.clear();
    }
  }
  json reg;
  json distributors = json::object();
  for (const auto& op : ops) distributors[op.distributor].push_back(op.eui.to_string());
  reg["mpan_distributors"] = distributors;
  if (auto st = out.write("registration.json", reg.dump() + "\n"); !st) return std::move(st).error();

  std::string csv;
  for (std::size_t i = 0; i < kHeader.size(); ++i) csv += (i ? "," : "") + kHeader[i];
  csv += "\r\n";
  const std::string supplier = "70-B3-D5-1F-30-00-A0-08";
  for (std::size_t r = 0; r < o.rows; ++r) {
    const std::size_t named = o.referenced == 0 ? ops.size() : std::min(o.referenced, ops.size());
    const Op& op = ops[(r * 7919) % named];
    const std::string ka = op.ka.empty() ? op.ds : op.ka;
    csv += mpan(op.distributor, 1000000000ULL + r) + "," + device_id(static_cast<std::uint32_t>(r)) + ",ESME,EA," + supplier + "," +
           op.eui.to_string() + "," + op.ds + "," + ka + "\r\n";
  }
  if (auto st = out.write("MA_cgI_" + supplier + "_20261128_120000.csv", csv); !st) return std::move(st).error();
  return "wrote " + std::to_string(issued) + " certificates and " + std::to_string(o.rows) + " rows to " + o.out.string() + "\n";
}

Result<std::string> write_files(const FilesOptions& o) {
  Writer out(o.out);
  std::string row;
  std::string content;
  for (std::size_t r = 0; content.size() < o.size; ++r) {
    row = mpan("14", 2000000000ULL + r) + "," + device_id(static_cast<std::uint32_t>(r)) + ",ESME,EA," + o.supplier.to_string() +
          ",70-B3-D5-1F-30-00-D4-01,00000000000000000000000000001234,0000000000000000000000000056789A\r\n";
    content += row;
  }
  content.resize(o.size);
  const std::time_t base = utc(2026, 1, 1);
  for (std::size_t i = 0; i < o.count; ++i) {
    const std::time_t t = base + static_cast<std::time_t>(i);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char name[96];
    std::snprintf(name, sizeof name, "MA_cgI_%s_%04d%02d%02d_%02d%02d%02d.csv", o.supplier.to_string().c_str(), tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    if (auto st = out.write(name, content); !st) return std::move(st).error();
  }
  return "wrote " + std::to_string(o.count) + " files of " + std::to_string(o.size) + " bytes to " + o.out.string() + "\n";
}

}  // namespace mamsign::testpki
