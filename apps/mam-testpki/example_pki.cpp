// The example SMKI-style PKI of keys-example/: a root and an OCA, an impostor pair with their names, and
// one organisation certificate per row of a table, each kept or broken the way its purpose says.
#include "example_parts.h"

#include "mamsign/base/times.h"
#include "mamsign/smki/org_cert.h"

#include <sstream>

namespace mamsign::testpki {

std::time_t utc(int y, int m, int d) { return utc_time(y, m, d); }

Eui64 with_last(const Eui64& base, std::uint8_t seventh, std::uint8_t eighth) {
  auto o = base.octets();
  o[6] = seventh;
  o[7] = eighth;
  return Eui64(o);
}

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

namespace {

constexpr std::string_view kKeyHeader = "# EXAMPLE ONLY, DO NOT USE IN PRODUCTION (mamsign keys-example)\n";
constexpr std::string_view kPassphrase = "example-passphrase";

std::string key_file_text(EVP_PKEY* key, const std::string* passphrase = nullptr) {
  auto pem = private_key_pem(key, passphrase);
  return std::string(kKeyHeader) + (pem ? *pem : std::string());
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

// Whose EUI-64 a certificate carries. Broken: the supplier's with a seventh octet of its own, one per
// row, so that each broken certificate is a party of its own in a store.
enum class Party { Supplier, SupplierAlt, Supplier2, SupplierZero, NetworkOperator, NetworkOperator2, Broken };

struct PlanRow {
  const char* name;
  const char* purpose;
  const char* cn;
  const char* ou;
  Party party;
  Usage usage;
  void (*tweak)(OrgPlan&) = nullptr;  // what this certificate changes of the plan: validity, issuer, a broken field
};

constexpr auto DS = Usage::DigitalSignature;
constexpr auto KA = Usage::KeyAgreement;
constexpr const char* kBroken = "Example Supplier A (broken)";

void expired(OrgPlan& p) {
  p.spec.not_before = utc(2020, 1, 1);
  p.spec.not_after = utc(2022, 1, 1);
}
void not_yet_valid(OrgPlan& p) {
  p.spec.not_before = utc(2040, 1, 1);
  p.spec.not_after = utc(2048, 1, 1);
}

// Every organisation certificate of keys-example/, in the order of its README. Those of the broken ones
// that share the supplier's EUI-64 are the stale copies and renewals a certificate store really holds.
const PlanRow kPlans[] = {
    {"supplier-ds", "the example supplier's signing certificate: signs the example files", "Example Supplier A", "02",
     Party::Supplier, DS},
    {"supplier-ka", "the supplier's key-agreement certificate; signing with it is WRONG_KEY_USAGE",
     "Example Supplier A", "02", Party::Supplier, KA},
    {"supplier-alt-ds", "the same supplier party under its other User ID (MAM 7.2.2)",
     "Example Supplier A (second User ID)", "02", Party::SupplierAlt, DS},
    {"supplier2-ds", "a second supplier: a file named for supplier A is SIGNER_MISMATCH", "Example Supplier B", "02",
     Party::Supplier2, DS},
    {"supplier2-ka", "the second supplier's key-agreement certificate", "Example Supplier B", "02", Party::Supplier2,
     KA},
    {"supplier-zero-ds", "a supplier whose EUI-64 ends in zero octets: still a 64-bit BIT STRING", "Example Supplier Z",
     "02", Party::SupplierZero, DS},
    {"supplier-revoked-ds", "revoked on crl/oca.crl: CERT_REVOKED", "Example Supplier A (revoked)", "02",
     Party::Supplier, DS, [](OrgPlan& p) { p.revoke = true; }},
    {"network-operator-ds", "the example network operator's signing certificate (registered for distributor 14)",
     "Example Network Operator", "03", Party::NetworkOperator, DS},
    {"network-operator-ka", "the example network operator's key-agreement certificate", "Example Network Operator",
     "03", Party::NetworkOperator, KA},
    {"network-operator2-ds", "a second network operator (distributor 15), with a short serial",
     "Example Network Operator 2", "03", Party::NetworkOperator2, DS,
     [](OrgPlan& p) {
       p.spec.serial = {0x12, 0x34};
     }},
    {"network-operator2-ka", "the second network operator's key-agreement certificate, short serial",
     "Example Network Operator 2", "03", Party::NetworkOperator2, KA,
     [](OrgPlan& p) {
       p.spec.serial = {0x56, 0x78, 0x9A};
     }},
    {"network-operator-expired-ds", "an expired network-operator certificate", "Example Network Operator (old)", "03",
     Party::NetworkOperator, DS, expired},
    {"network-operator-not-yet-valid-ds", "a network-operator certificate valid from 2040",
     "Example Network Operator (next)", "03", Party::NetworkOperator, DS, not_yet_valid},
    {"network-operator-revoked-ds", "a revoked network-operator certificate", "Example Network Operator (revoked)",
     "03", Party::NetworkOperator, DS, [](OrgPlan& p) { p.revoke = true; }},
    {"network-operator-rogue-ds", "a network-operator certificate from the impostor OCA", "Example Network Operator",
     "03", Party::NetworkOperator, DS, [](OrgPlan& p) { p.issuer = IssuedBy::RogueOca; }},
    // One certificate per way of breaking the profile.
    {"bad-expired-ds", "expired in 2022: CERT_EXPIRED", kBroken, "02", Party::Supplier, DS, expired},
    {"bad-not-yet-valid-ds", "valid from 2040: CERT_NOT_YET_VALID", kBroken, "02", Party::Supplier, DS, not_yet_valid},
    {"bad-role-04-ds", "role 04 (access control broker), not 02: WRONG_ROLE", kBroken, "04", Party::Broken, DS},
    {"bad-both-usages", "keyUsage digitalSignature and keyAgreement: WRONG_KEY_USAGE", kBroken, "02", Party::Broken, DS,
     [](OrgPlan& p) { p.spec.key_usage = KU_DIGITAL_SIGNATURE | KU_KEY_AGREEMENT; }},
    {"bad-ku-not-critical-ds", "keyUsage not critical: WRONG_KEY_USAGE", kBroken, "02", Party::Broken, DS,
     [](OrgPlan& p) { p.spec.key_usage_critical = false; }},
    {"bad-no-policy-ds", "no certificatePolicies: POLICY_MISMATCH", kBroken, "02", Party::Broken, DS,
     [](OrgPlan& p) { p.spec.policy_oid.reset(); }},
    {"bad-other-policy-ds", "another policy OID: POLICY_MISMATCH", kBroken, "02", Party::Broken, DS,
     [](OrgPlan& p) { p.spec.policy_oid = "1.2.826.0.1.8641679.1.2.1.99"; }},
    {"bad-eui-utf8-ds", "EUI-64 as a UTF8String (what openssl -subj writes): INVALID_SUBJECT", kBroken, "02",
     Party::Broken, DS, [](OrgPlan& p) { p.spec.eui_encoding = EuiEncoding::Utf8String; }},
    {"bad-eui-56-ds", "EUI-64 as a BIT STRING of 56 bits: INVALID_SUBJECT", kBroken, "02", Party::Broken, DS,
     [](OrgPlan& p) { p.spec.eui_encoding = EuiEncoding::BitString56; }},
    {"bad-no-eui-ds", "no x500UniqueIdentifier: INVALID_SUBJECT", kBroken, "02", Party::Broken, DS,
     [](OrgPlan& p) { p.spec.eui_encoding = EuiEncoding::Absent; }},
    {"bad-p384-ds", "a P-384 key: UNSUPPORTED_ALGORITHM", kBroken, "02", Party::Broken, DS,
     [](OrgPlan& p) { p.key_type = KeyType::P384; }},
    {"bad-rsa-ds", "an RSA key: UNSUPPORTED_ALGORITHM", kBroken, "02", Party::Broken, DS,
     [](OrgPlan& p) { p.key_type = KeyType::Rsa2048; }},
    {"bad-rogue-oca-ds", "issued by an impostor OCA with the real OCA's name: UNTRUSTED_CHAIN", kBroken, "02",
     Party::Supplier, DS, [](OrgPlan& p) { p.issuer = IssuedBy::RogueOca; }},
};

// The parties of the example, from the supplier's and the network operator's EUI-64s.
ExampleIds example_parties(const ExampleOptions& o) {
  ExampleIds ids;
  ids.supplier = o.supplier;
  const Eui64 no1 = o.network_operator;
  ids.network_operator = no1;
  ids.network_operator2 = with_last(no1, static_cast<std::uint8_t>(no1.octets()[6] + 1), no1.octets()[7]);
  ids.network_operator_other_user = with_last(no1, no1.octets()[6], static_cast<std::uint8_t>(no1.octets()[7] + 1));
  return ids;
}

// The table made into plans: every row valid 2025-2045 under the OCA with the profile's policy, then
// changed as its row says.
std::vector<OrgPlan> certificate_plans(const ExampleOptions& o, const ExampleIds& ids) {
  const Eui64& s = ids.supplier;
  std::uint8_t next_broken = 0x21;
  std::vector<OrgPlan> plans;
  for (const PlanRow& row : kPlans) {
    Eui64 eui = s;
    switch (row.party) {
      case Party::Supplier: break;
      case Party::SupplierAlt: eui = with_last(s, s.octets()[6], static_cast<std::uint8_t>(s.octets()[7] + 1)); break;
      case Party::Supplier2: eui = with_last(s, 0xB1, 0x01); break;
      case Party::SupplierZero: eui = with_last(s, 0x00, 0x00); break;
      case Party::NetworkOperator: eui = ids.network_operator; break;
      case Party::NetworkOperator2: eui = ids.network_operator2; break;
      case Party::Broken: eui = with_last(s, s.octets()[6], next_broken++); break;
    }
    OrgPlan p;
    p.name = row.name;
    p.purpose = row.purpose;
    p.spec.common_name = row.cn;
    p.spec.ou = row.ou;
    p.spec.eui64 = eui;
    p.spec.not_before = utc(2025, 1, 1);
    p.spec.not_after = utc(2045, 1, 1);
    p.spec.key_usage = row.usage == DS ? KU_DIGITAL_SIGNATURE : KU_KEY_AGREEMENT;
    p.spec.policy_oid = o.policy_oid;
    if (row.tweak != nullptr) row.tweak(p);
    plans.push_back(std::move(p));
  }
  return plans;
}

// The CAs: the real root and OCA and the impostor pair with the same names and other keys.
struct Cas {
  Ca root, oca, rogue_root, rogue_oca;
};

Result<Cas> make_cas(const Eui64& supplier) {
  const Eui64 root_eui = with_last(supplier, 0xFF, 0x00);
  const Eui64 oca_eui = with_last(supplier, 0xFF, 0x07);
  const std::string root_cn = "mamsign Example SMKI Root (EXAMPLE ONLY)",
                    oca_cn = "mamsign Example SMKI OCA (EXAMPLE ONLY)";
  auto root = make_ca(root_cn, "00", root_eui, nullptr);
  if (!root) return std::move(root).error();
  auto oca = make_ca(oca_cn, "07", oca_eui, &*root);
  if (!oca) return std::move(oca).error();
  auto rogue_root = make_ca(root_cn, "00", root_eui, nullptr);
  if (!rogue_root) return std::move(rogue_root).error();
  auto rogue_oca = make_ca(oca_cn, "07", oca_eui, &*rogue_root);
  if (!rogue_oca) return std::move(rogue_oca).error();
  return Cas{std::move(*root), std::move(*oca), std::move(*rogue_root), std::move(*rogue_oca)};
}

Result<std::vector<Issued>> issue_all(std::vector<OrgPlan> plans, const Cas& cas) {
  std::vector<Issued> issued;
  for (auto& p : plans) {
    auto key = generate_key(p.key_type);
    if (!key) return std::move(key).error();
    const Ca& ca = p.issuer == IssuedBy::Oca ? cas.oca : cas.rogue_oca;
    auto cert = issue_certificate(p.spec, key->get(), ca.cert.get(), ca.key.get());
    if (!cert) return std::move(cert).error();
    const std::string serial = OrgCert(share(cert->get())).serial();
    issued.push_back(Issued{std::move(p), std::move(*key), std::move(*cert), serial});
  }
  return issued;
}

// trust/, ca/, rogue/, store/, keys/ and crl/.
Status write_pki(Writer& keys, const Cas& cas, const std::vector<Issued>& issued) {
  const auto cert = [&](const std::filesystem::path& rel, X509* x509) -> Status {
    auto pem = certificate_pem(x509);
    if (!pem) return std::move(pem).error();
    return keys.write(rel, *pem);
  };
  const auto key = [&](const std::filesystem::path& rel, EVP_PKEY* k) {
    return keys.write(rel, key_file_text(k), 0600);
  };
  for (const auto& [dir, root, oca] :
       {std::tuple{"trust/", &cas.root, &cas.oca}, std::tuple{"rogue/", &cas.rogue_root, &cas.rogue_oca}}) {
    const std::string keys_dir = std::string(dir) == "trust/" ? "ca/" : "rogue/";
    for (auto st :
         {cert(std::string(dir) + "root.pem", root->cert.get()), cert(std::string(dir) + "oca.pem", oca->cert.get()),
          key(keys_dir + "root.key", root->key.get()), key(keys_dir + "oca.key", oca->key.get())}) {
      if (!st) return st;
    }
  }
  std::vector<Revocation> revoked;
  for (const auto& i : issued) {
    if (auto st = cert("store/" + i.plan.name + ".pem", i.cert.get()); !st) return st;
    if (auto st = key("keys/" + i.plan.name + ".key", i.key.get()); !st) return st;
    if (i.plan.revoke) revoked.push_back({i.cert.get(), utc(2025, 6, 1)});
    if (i.plan.name != "supplier-ds") continue;
    const std::string pass(kPassphrase);
    if (auto st = keys.write("keys/supplier-ds.encrypted.key", key_file_text(i.key.get(), &pass), 0600); !st) return st;
    if (auto st = keys.write("keys/supplier-ds.pass", pass + "\n", 0600); !st) return st;
  }
  auto crl = issue_crl(cas.oca.cert.get(), cas.oca.key.get(), revoked, utc(2025, 6, 1), utc(2049, 1, 1));
  if (!crl) return std::move(crl).error();
  auto crl_text = crl_pem(crl->get());
  if (!crl_text) return std::move(crl_text).error();
  return keys.write("crl/oca.crl", *crl_text);
}

// keys-example/README.md, written with the serials it describes.
std::string readme(const ExampleOptions& o, const std::vector<Issued>& issued) {
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
     << "| `store/*.pem` | every organisation certificate: a certificate store for `--cert-store` and `mam-certid "
        "--store` |\n"
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
  return md.str();
}

}  // namespace

Result<std::string> write_example(const ExampleOptions& o) {
  ExampleIds ids = example_parties(o);
  auto cas = make_cas(o.supplier);
  if (!cas) return std::move(cas).error();
  auto issued = issue_all(certificate_plans(o, ids), *cas);
  if (!issued) return std::move(issued).error();
  Writer keys(o.out);
  if (auto st = write_pki(keys, *cas, *issued); !st) return std::move(st).error();
  if (auto st = keys.write("README.md", readme(o, *issued)); !st) return std::move(st).error();
  std::string summary = "wrote " + std::to_string(keys.count()) + " files to " + o.out.string() + "\n";
  if (o.testdata.empty()) return summary;
  for (const auto& i : *issued) ids.serial[i.plan.name] = i.serial;
  auto written = write_example_files(o.testdata, ids);
  if (!written) return std::move(written).error();
  return summary + "wrote " + std::to_string(*written) + " files to " + o.testdata.string() + "\n";
}

}  // namespace mamsign::testpki
