// mam-testpki: makes an example SMKI-style PKI (root, OCA, organisation certificates that keep and break
// the profile, a CRL) and example migration files. EXAMPLE ONLY: never use its keys in production.
#include "example_pki.h"

#include "common/app_common.h"
#include "mamsign/profile.h"

#include <CLI/CLI.hpp>

#include <iostream>

namespace {

int fail(const mamsign::Error& e) {
  std::cerr << "mam-testpki: " << e.message << "\n";
  return e.reason == mamsign::Reason::IoError ? 3 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"mam-testpki: make an example SMKI-style PKI and example migration files.\n"
               "EXAMPLE ONLY: the keys it writes are unencrypted and must never be used in production."};
  app.set_version_flag("--version", std::string("mam-testpki ") + MAMSIGN_VERSION);
  app.require_subcommand(1);
  app.footer(
      "Examples:\n"
      "  mam-testpki example --out keys-example --testdata testdata   # regenerate the bundled examples\n"
      "  mam-testpki example --out /tmp/pki --supplier-eui 70-B3-D5-1F-30-00-C1-01\n"
      "  mam-testpki bulk --out /tmp/bulk --count 10000 --rows 100000  # benchmark data\n"
      "Exit codes: 0 written, 1 could not make the PKI, 2 usage error, 3 could not write.");

  mamsign::testpki::ExampleOptions example;
  std::string supplier_text = "70-B3-D5-1F-30-00-A0-08";
  std::string no_text = "70-B3-D5-1F-30-00-D4-01";
  example.policy_oid = std::string(mamsign::kTestPolicyOid);
  auto* ex = app.add_subcommand("example", "the example PKI (keys-example layout) and, with --testdata, the example files");
  ex->add_option("--out", example.out, "folder for the PKI (created if missing)")->required();
  ex->add_option("--testdata", example.testdata, "folder for the example MA, MAPASSWORD and certificate-ID files");
  ex->add_option("--supplier-eui", supplier_text, "EUI-64 of the example supplier")->capture_default_str();
  ex->add_option("--network-operator-eui", no_text, "EUI-64 of the example network operator")->capture_default_str();
  ex->add_option("--policy", example.policy_oid, "Organisation Certificate policy OID to write")->capture_default_str();

  mamsign::testpki::BulkOptions bulk;
  bulk.policy_oid = std::string(mamsign::kTestPolicyOid);
  auto* bk = app.add_subcommand("bulk", "a large certificate store and MA file, for benchmarks");
  bk->add_option("--out", bulk.out, "folder to write (created if missing)")->required();
  bk->add_option("--count", bulk.count, "network-operator certificates to issue")->capture_default_str()->check(CLI::Range(2, 1000000));
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

  if (auto code = mamsign::app::parse(app, argc, argv)) return *code;

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
