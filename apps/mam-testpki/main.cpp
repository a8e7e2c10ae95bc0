// mam-testpki: makes an example SMKI-style PKI (root, OCA, organisation certificates that keep and break
// the profile, a CRL) and example migration files. EXAMPLE ONLY: never use its keys in production.
#include "example_pki.h"

#include "common/app_common.h"
#include "mamsign/base/atomic_file.h"
#include "mamsign/pki/csr.h"
#include "mamsign/keys/key_source.h"
#include "mamsign/smki/profile.h"

#include <CLI/CLI.hpp>

#include <iostream>

namespace {

int fail(const mamsign::Error& e) {
  std::cerr << "mam-testpki: " << e.message << "\n";
  return e.reason == mamsign::Reason::IoError ? 3 : 1;
}

struct IssueOptions {
  std::string csr, ca_cert, ca_key, out, policy = std::string(mamsign::kTestPolicyOid);
  int days = 365;
  // For tests of `mam-csr accept`: a certificate that departs from its CSR in one way.
  std::string eui, role, usage, key_from;
  long not_before_offset = -3600;
};

// Acts as the example CA: issues the Organisation Certificate a conforming CSR asks for.
int issue(const IssueOptions& o) {
  using namespace mamsign;
  auto csr = CertificateRequest::load(o.csr);
  if (!csr) return fail(csr.error());
  if (const auto findings = csr->check(); !findings.empty()) {
    for (const auto& f : findings)
      std::cerr << "mam-testpki: " << f.rule << ": expected " << f.expected << ", found " << f.found << "\n";
    std::cerr
        << "mam-testpki: the CSR does not conform to Appendix F; a CA would reject it (mam-csr check says the same)\n";
    return 1;
  }
  auto ca = OrgCert::load(o.ca_cert);
  if (!ca) return fail(ca.error());
  auto ca_key = load_private_key(o.ca_key, {});
  if (!ca_key) return fail(ca_key.error());
  CertSpec spec;
  spec.common_name = csr->common_name();
  spec.ou = role_code(*csr->role());
  spec.eui64 = *csr->eui64();
  spec.key_usage = *csr->usage() == Usage::DigitalSignature ? KU_DIGITAL_SIGNATURE : KU_KEY_AGREEMENT;
  spec.policy_oid = o.policy;
  const std::time_t now = std::time(nullptr);
  spec.not_before = now + o.not_before_offset;
  spec.not_after = spec.not_before + static_cast<std::time_t>(o.days) * 86400;
  if (!o.eui.empty()) {
    auto eui = Eui64::parse(o.eui);
    if (!eui) return fail(eui.error());
    spec.eui64 = *eui;
  }
  if (!o.role.empty()) {
    auto role = parse_role(o.role);
    if (!role) return fail(make_error(Reason::InvalidInput, "--role: not a role: " + o.role));
    spec.ou = role_code(*role);
  }
  if (!o.usage.empty()) {
    auto usage = parse_usage(o.usage);
    if (!usage) return fail(make_error(Reason::InvalidInput, "--usage: ds or ka"));
    spec.key_usage = *usage == Usage::DigitalSignature ? KU_DIGITAL_SIGNATURE : KU_KEY_AGREEMENT;
  }
  EVP_PKEY* subject_key = csr->public_key();
  std::optional<CertificateRequest> other;
  if (!o.key_from.empty()) {
    auto loaded = CertificateRequest::load(o.key_from);
    if (!loaded) return fail(loaded.error());
    other = std::move(*loaded);
    subject_key = other->public_key();
  }
  auto cert = issue_certificate(spec, subject_key, ca.value()->x509(), ca_key->get());
  if (!cert) return fail(cert.error());
  auto pem = certificate_pem(cert->get());
  if (!pem) return fail(pem.error());
  if (auto st = write_file_atomically(o.out, *pem, {Replace::No, false, 0644, {}}); !st) return fail(st.error());
  std::cout << "issued " << o.out << ": " << OrgCert(std::move(*cert)).describe() << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "mam-testpki: make an example SMKI-style PKI and example migration files.\n"
      "EXAMPLE ONLY: the keys it writes are unencrypted and must never be used in production."};
  app.set_version_flag("--version", std::string("mam-testpki ") + MAMSIGN_VERSION);
  app.require_subcommand(1);
  app.footer(
      "Examples:\n"
      "  mam-testpki example --out keys-example --testdata testdata   # regenerate the bundled examples\n"
      "  mam-testpki example --out /tmp/pki --supplier-eui 70-B3-D5-1F-30-00-C1-01\n"
      "  mam-testpki bulk --out /tmp/bulk --count 10000 --rows 100000  # benchmark data\n"
      "  mam-testpki issue --csr s.csr --ca-cert keys-example/trust/oca.pem --ca-key keys-example/ca/oca.key --out "
      "s.pem\n"
      "Exit codes: 0 written, 1 could not make the PKI, 2 usage error, 3 could not write.");

  mamsign::testpki::ExampleOptions example;
  std::string supplier_text = "70-B3-D5-1F-30-00-A0-08";
  std::string no_text = "70-B3-D5-1F-30-00-D4-01";
  example.policy_oid = std::string(mamsign::kTestPolicyOid);
  auto* ex =
      app.add_subcommand("example", "the example PKI (keys-example layout) and, with --testdata, the example files");
  ex->add_option("--out", example.out, "folder for the PKI (created if missing)")->required();
  ex->add_option("--testdata", example.testdata, "folder for the example MA, MAPASSWORD and certificate-ID files");
  ex->add_option("--supplier-eui", supplier_text, "EUI-64 of the example supplier")->capture_default_str();
  ex->add_option("--network-operator-eui", no_text, "EUI-64 of the example network operator")->capture_default_str();
  ex->add_option("--policy", example.policy_oid, "Organisation Certificate policy OID to write")->capture_default_str();

  mamsign::testpki::BulkOptions bulk;
  bulk.policy_oid = std::string(mamsign::kTestPolicyOid);
  auto* bk = app.add_subcommand("bulk", "a large certificate store and MA file, for benchmarks");
  bk->add_option("--out", bulk.out, "folder to write (created if missing)")->required();
  bk->add_option("--count", bulk.count, "network-operator certificates to issue")
      ->capture_default_str()
      ->check(CLI::Range(2, 1000000));
  bk->add_option("--rows", bulk.rows, "MA file rows")->capture_default_str()->check(CLI::Range(1, 10000000));
  bk->add_option("--referenced", bulk.referenced,
                 "network operators the rows name (0: every one); the others' certificates only fill the store")
      ->capture_default_str();

  mamsign::testpki::FilesOptions files;
  std::string files_supplier = "70-B3-D5-1F-30-00-A0-08";
  auto* fl = app.add_subcommand("files", "many migration files of one size, for batch benchmarks");
  fl->add_option("--out", files.out, "folder to write (created if missing)")->required();
  fl->add_option("--count", files.count, "how many files")->capture_default_str()->check(CLI::Range(1, 10000000));
  fl->add_option("--size", files.size, "bytes per file")->capture_default_str()->check(CLI::Range(1, 1 << 30));
  fl->add_option("--supplier-eui", files_supplier, "the supplier the file names name")->capture_default_str();

  IssueOptions iss;
  auto* is = app.add_subcommand("issue", "act as the example CA: issue the Organisation Certificate a CSR asks for");
  is->add_option("--csr", iss.csr, "the CSR (it must conform to Appendix F)")->required();
  is->add_option("--ca-cert", iss.ca_cert, "the issuing CA's certificate, e.g. keys-example/trust/oca.pem")->required();
  is->add_option("--ca-key", iss.ca_key, "the issuing CA's key, e.g. keys-example/ca/oca.key")->required();
  is->add_option("--out", iss.out, "where to write the certificate (PEM; never over an existing file)")->required();
  is->add_option("--days", iss.days, "validity in days")->capture_default_str()->check(CLI::Range(1, 36600));
  is->add_option("--not-before-offset", iss.not_before_offset, "seconds from now to notBefore (negative: in the past)")
      ->capture_default_str();
  is->add_option("--policy", iss.policy, "the policy OID to write")->capture_default_str();
  is->add_option("--eui", iss.eui, "for tests: another EUI-64 than the CSR's");
  is->add_option("--role", iss.role, "for tests: another role than the CSR's");
  is->add_option("--usage", iss.usage, "for tests: another usage than the CSR's (ds or ka)");
  is->add_option("--key-from", iss.key_from, "for tests: the public key of another CSR");

  if (auto code = mamsign::app::parse(app, argc, argv)) return *code;
  if (is->parsed()) return issue(iss);

  mamsign::Result<std::string> done = std::string();
  if (ex->parsed()) {
    auto supplier = mamsign::Eui64::parse(supplier_text);
    auto no = mamsign::Eui64::parse(no_text);
    if (!supplier || !no) {
      std::cerr << "mam-testpki: " << (!supplier ? supplier.error().message : no.error().message) << "\n";
      return 2;
    }
    example.supplier = *supplier;
    example.network_operator = *no;
    done = mamsign::testpki::write_example(example);
  } else if (bk->parsed()) {
    done = mamsign::testpki::write_bulk(bulk);
  } else {
    auto supplier = mamsign::Eui64::parse(files_supplier);
    if (!supplier) {
      std::cerr << "mam-testpki: " << supplier.error().message << "\n";
      return 2;
    }
    files.supplier = *supplier;
    done = mamsign::testpki::write_files(files);
  }
  if (!done) return fail(done.error());
  std::cout << *done;
  return 0;
}
