// Parses a migration file name and loads a certificate through the installed headers and library, by the
// umbrella header a user includes.
#include <mamsign/mamsign.h>

#include <iostream>

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  auto name = mamsign::parse_migration_file_name(argv[1], {"MA", "MAPASSWORD"});
  auto cert = mamsign::OrgCert::load(argv[2]);
  if (!name || !cert) return 1;
  std::cout << name->eui64.to_string() << " " << ((*cert)->eui64() == name->eui64 ? "same" : "other") << "\n";
  return 0;
}
