// The interpretations this project adopts where MAM 7.5.3 is not public (SPEC sections 2 to 4), in one
// place, with the defaults built in and a JSON file to override them (docs/profile.md).
#pragma once

#include "mamsign/base/error.h"
#include "mamsign/smki/eui64.h"

#include <cstdint>
#include <ctime>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mamsign {

// SMKI Remote Party Role codes (the subject OU of an organisation certificate).
enum class Role : std::uint8_t {
  Root = 0x00,
  Recovery = 0x01,
  Supplier = 0x02,
  NetworkOperator = 0x03,
  AccessControlBroker = 0x04,
  TransitionalCoS = 0x05,
  WanProvider = 0x06,
  IssuingAuthority = 0x07,
  Other = 0x7F,
};

// "02"
std::string role_code(std::uint8_t role);
// "supplier"; "unknown role" for codes SMKI does not define.
std::string_view role_name(std::uint8_t role);

// The Organisation Certificate policy OID of DCC's public test certificates.
inline constexpr std::string_view kTestPolicyOid = "1.2.826.0.1.8641679.1.2.1.4";

struct Profile {
  // A signer's or network operator's certificatePolicies must hold at least one of these.
  std::vector<std::string> policy_oids{std::string(kTestPolicyOid)};
  // Roles allowed to sign migration files.
  std::vector<std::uint8_t> signer_roles{static_cast<std::uint8_t>(Role::Supplier)};
  // The role the certificate-ID check expects of network-operator certificates.
  std::uint8_t network_operator_role = static_cast<std::uint8_t>(Role::NetworkOperator);
  // The role an issuing CA's subject must carry; nullopt accepts any CA that chains to a root.
  std::optional<std::uint8_t> issuer_role = static_cast<std::uint8_t>(Role::IssuingAuthority);
  // Which EUI-64 octets identify the SEC party (MAM 7.2.2).
  PartyOctets party_octets = kDefaultPartyOctets;
  // Migration file name prefixes.
  std::vector<std::string> file_name_prefixes{"MA", "MAPASSWORD"};
  // Revocation must be known (--require-crl): no CRL of the signer's issuing CA is REVOCATION_UNKNOWN,
  // only CRLs past nextUpdate (+ crl_grace) REVOCATION_STALE. Off: a missing or stale CRL is a note.
  bool require_crl = false;
  std::time_t crl_grace = 0;  // seconds past a CRL's nextUpdate that it still counts as current
  // Which signature forms a verifier accepts: "cms" with signed attributes always; "raw" (.sig) and
  // "cms-no-attributes" only when listed (docs/signing-profile.md says why they are weaker).
  std::vector<std::string> signature_formats{"cms", "raw", "cms-no-attributes"};
  // A run with no file to sign or verify (an empty folder or list) fails (exit 1), as --require-files:
  // for a host where an empty inbox means something upstream broke.
  bool require_files = false;
  // RFC 3161: the TSAs mam-sign asks when no --tsa is given (a host sets them once), and whether a
  // verifier requires a timestamp on every signature (--require-timestamp).
  std::vector<std::string> tsa_urls;
  bool require_timestamp = false;

  // Where this profile came from ("built-in defaults", or the file's path): messages that quote an
  // expected value name it, so that a user knows what to change.
  std::string origin = "the built-in profile";
  // A profile read from a file: the file, and the keys whose values differ from the built-in profile's
  // (what every result then says, so that a weakened profile is never taken silently). Empty for the
  // built-in profile.
  std::string file;
  std::vector<std::string> changes;

  static Profile defaults() { return {}; }
  // "expected by /etc/mamsign/profile.json (key policy_oids)", or for the built-in profile a sentence
  // saying that the value is a default and how to set another.
  std::string expectation(std::string_view key) const;
  // Reads a JSON profile; keys that are absent keep their defaults. An unknown key, a wrong type or a
  // bad value (a duplicate in a list, a CA role as a signer role) is an InvalidInput error naming the
  // key; so is a file that others than its owner and root can write (check_not_writable_by_others); an
  // unreadable file is IoError.
  static Result<Profile> load(const std::filesystem::path& path);
  static Result<Profile> parse(std::string_view json_text, std::string_view origin = "profile");
  // The profile as JSON text (what `--print-profile` shows, and a template for a profile file).
  std::string to_json() const;

  // "the profile /etc/mamsign/profile.json changes signer_roles, issuer_role from the built-in
  // profile" (or "... changes nothing ..."); empty for the built-in profile.
  std::string change_note() const;

  bool signer_role_allowed(std::uint8_t role) const;
  bool policy_allowed(std::string_view oid) const;
  bool format_allowed(std::string_view form) const;
};

}  // namespace mamsign
