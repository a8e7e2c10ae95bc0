// The key flags mam-sign and mam-csr share: --key (a file, a PKCS#12 bundle or a pkcs11: URI), its
// passphrase or PIN, the PKCS#11 module, and --list-keys. The library decides; this parses and renders.
#pragma once

#include "mamsign/keys/key_source.h"
#include "mamsign/smki/org_cert.h"

#include <CLI/CLI.hpp>

#include <optional>
#include <string>
#include <vector>

namespace mamsign::app {

struct KeyFlags {
  std::string key, pass_file, pass_env, pin_file, pin_env, pkcs11_module;
  std::string list_keys;  // the URI --list-keys was given ("" = every token)
  CLI::Option* list_keys_option = nullptr;
  bool list_keys_given() const { return list_keys_option != nullptr && list_keys_option->count() > 0; }
};

// --key's help starts with `key_role` ("(required) the signer's private key"), then says what it takes.
void add_key_flags(CLI::App& app, KeyFlags& flags, bool with_list_keys, const std::string& key_role);

// Usage mistakes in the key flags (two passphrase sources, a PIN and a key file, ...): said on standard
// error; false means exit 2.
bool check_key_flags(const std::string& program, const KeyFlags& flags);

// The key the flags name, said on standard error when it cannot be had (exit 3). `certificate` gives a
// token key its public key when the caller has the certificate already.
std::optional<SigningKey> open_key(const std::string& program, const KeyFlags& flags, const X509* certificate);

// A certificate named by a path or a pkcs11: URI (the flags give the module and PIN).
std::optional<OrgCertPtr> load_certificate(const std::string& program, const std::string& what,
                                           const std::string& where, const KeyFlags& flags);

// --list-keys: tokens, their keys and certificates, each with the exact URI for --key. Returns the exit code.
int list_keys(const std::string& program, const KeyFlags& flags, bool as_json);

// The paragraph of --help about keys and PINs.
std::string key_help();

}  // namespace mamsign::app
