// Discovering what a token holds: its keys and certificates described and named by URI
// (list_token_objects, for --list-keys), and reading one certificate (read_token_certificate).
#include "keys/pkcs11_module.h"

#include <openssl/err.h>
#include <openssl/objects.h>

#include <iterator>

namespace mamsign {
namespace pkcs11_detail {

// (an OID, decoded by OpenSSL).
std::string key_type_words(Module& m, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, int* curve_nid) {
  const auto type = ulong_attribute(m, s, o, CKA_KEY_TYPE);
  if (!type) return "unknown";
  if (*type == CKK_EC) {
    auto params = attribute(m, s, o, CKA_EC_PARAMS);
    if (!params) return "EC (curve unknown)";
    const auto* p = reinterpret_cast<const unsigned char*>(params->data());
    OsslPtr<ASN1_OBJECT, ASN1_OBJECT_free> oid(d2i_ASN1_OBJECT(nullptr, &p, static_cast<long>(params->size())));
    ERR_clear_error();
    if (!oid) return "EC (explicit or unknown curve)";
    const int nid = OBJ_obj2nid(oid.get());
    if (curve_nid != nullptr) *curve_nid = nid;
    if (nid == NID_X9_62_prime256v1) return "EC P-256";
    if (nid == NID_secp384r1) return "EC P-384";
    if (nid == NID_secp521r1) return "EC P-521";
    const char* name = OBJ_nid2sn(nid);
    return std::string("EC ") + (name && nid != NID_undef ? name : "(unknown curve)");
  }
  if (*type == CKK_RSA) {
    auto modulus = attribute(m, s, o, CKA_MODULUS);
    if (modulus) {
      BignumPtr n(BN_bin2bn(reinterpret_cast<const unsigned char*>(modulus->data()), static_cast<int>(modulus->size()),
                            nullptr));
      if (n) return "RSA " + std::to_string(BN_num_bits(n.get()));
    }
    if (auto bits = ulong_attribute(m, s, o, CKA_MODULUS_BITS)) return "RSA " + std::to_string(*bits);
    return "RSA";
  }
  if (*type == CKK_EC_EDWARDS) return "EdDSA";
  return "key type " + std::to_string(*type);
}

Pkcs11Uri object_uri(const Token& token, std::string_view type, const std::optional<std::string>& label,
                     const std::optional<std::string>& id) {
  Pkcs11Uri u = token.uri();
  u.object = label;
  u.id = id;
  u.type = std::string(type);
  return u;
}

std::vector<TokenObject> objects_of(Module& m, const Token& token, CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls,
                                    const Pkcs11Uri& filter) {
  std::vector<TokenObject> out;
  auto handles = find_objects(m, s, cls, filter.object, filter.id);
  if (!handles) return out;
  for (CK_OBJECT_HANDLE h : *handles) {
    TokenObject o;
    o.kind = cls == CKO_PRIVATE_KEY  ? TokenObject::Kind::PrivateKey
             : cls == CKO_PUBLIC_KEY ? TokenObject::Kind::PublicKey
                                     : TokenObject::Kind::Certificate;
    const auto label = attribute(m, s, h, CKA_LABEL);
    const auto id = attribute(m, s, h, CKA_ID);
    o.label = label.value_or("");
    o.id = id.value_or("");
    if (cls == CKO_CERTIFICATE) {
      o.certificate = attribute(m, s, h, CKA_VALUE).value_or("");
    } else {
      o.key_type = key_type_words(m, s, h);
    }
    o.uri = object_uri(token,
                       cls == CKO_PRIVATE_KEY  ? "private"
                       : cls == CKO_PUBLIC_KEY ? "public"
                                               : "cert",
                       label && !label->empty() ? label : std::nullopt, id && !id->empty() ? id : std::nullopt)
                .to_string();
    out.push_back(std::move(o));
  }
  return out;
}

std::string list_of_objects(const std::vector<TokenObject>& objects, std::string_view what) {
  if (objects.empty()) return "the token holds no " + std::string(what) + " visible to this login";
  std::string out = "the token holds: ";
  for (std::size_t i = 0; i < objects.size() && i < 20; ++i) {
    out += (i ? "; " : "") + objects[i].uri + (objects[i].key_type.empty() ? "" : " (" + objects[i].key_type + ")");
  }
  if (objects.size() > 20) out += "; and " + std::to_string(objects.size() - 20) + " more (--list-keys shows all)";
  return out;
}

}  // namespace pkcs11_detail

using namespace pkcs11_detail;

Result<ModuleListing> list_token_objects(const Pkcs11Uri& filter, const Pkcs11Options& options, bool with_login) {
  if (auto st = refuse_pin_value(filter); !st) return std::move(st).error();
  auto choice = choose_pkcs11_module(options, &filter);
  if (!choice) return std::move(choice).error();
  auto module = Module::get(*choice);
  if (!module) return std::move(module).error();
  Module& m = **module;
  auto tokens = present_tokens(m);
  if (!tokens) return std::move(tokens).error();
  ModuleListing listing;
  listing.module = m.path();
  listing.library = m.library();
  for (const Token& token : *tokens) {
    if (!token_matches(token, filter)) continue;
    TokenListing t;
    t.slot_id = token.slot;
    t.label = token.label();
    t.manufacturer = token.manufacturer();
    t.model = token.model();
    t.serial = token.serial();
    t.login_required = (token.info.flags & CKF_LOGIN_REQUIRED) != 0;
    t.pin_state = token.pin_state();
    t.uri = token.uri().to_string();
    auto session = open_session(*module, token.slot);
    if (!session) return std::move(session).error();
    if (with_login && t.login_required) {
      if (auto st = login(m, token, (*session)->handle(), pin_source_of(filter, options), nullptr); !st) {
        return std::move(st).error();
      }
      t.logged_in = true;
    }
    for (CK_OBJECT_CLASS cls : {CKO_PRIVATE_KEY, CKO_PUBLIC_KEY, CKO_CERTIFICATE}) {
      if (filter.type && ((*filter.type == "private") != (cls == CKO_PRIVATE_KEY) ||
                          (*filter.type == "public") != (cls == CKO_PUBLIC_KEY) ||
                          (*filter.type == "cert") != (cls == CKO_CERTIFICATE))) {
        continue;
      }
      auto found = objects_of(m, token, (*session)->handle(), cls, filter);
      t.objects.insert(t.objects.end(), std::make_move_iterator(found.begin()), std::make_move_iterator(found.end()));
    }
    if (t.logged_in) {
      auto lock = m.guard();
      m.f()->C_Logout((*session)->handle());
    }
    listing.tokens.push_back(std::move(t));
  }
  return listing;
}

Result<std::string> read_token_certificate(const Pkcs11Uri& uri, const Pkcs11Options& options) {
  if (uri.type && *uri.type != "cert") {
    return make_error(Reason::InvalidInput, "--cert names a " + *uri.type + " object; a certificate is type=cert");
  }
  auto opened = open_token(uri, options);
  if (!opened) return std::move(opened).error();
  Module& m = *opened->module;
  auto session = open_session(opened->module, opened->token.slot);
  if (!session) return std::move(session).error();
  const CK_SESSION_HANDLE s = (*session)->handle();
  auto certs = find_objects(m, s, CKO_CERTIFICATE, uri.object, uri.id);
  if (!certs) return std::move(certs).error();
  if (certs->size() != 1) {
    const auto all = objects_of(m, opened->token, s, CKO_CERTIFICATE, Pkcs11Uri{});
    return make_error(Reason::InvalidInput, (certs->empty() ? std::string("no certificate")
                                                            : std::to_string(certs->size()) + " certificates") +
                                                " on the " + opened->token.describe() + " match " + uri.describe() +
                                                " (" + list_of_objects(all, "certificate") + ")");
  }
  auto value = attribute(m, s, certs->front(), CKA_VALUE);
  if (!value || value->empty()) {
    return make_error(Reason::InvalidInput, "the certificate " + uri.describe() + " on the token has no value");
  }
  return *value;
}

}  // namespace mamsign
