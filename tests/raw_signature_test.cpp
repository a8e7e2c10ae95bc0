#include "mamsign/signature/raw_signature.h"

#include "support/test_support.h"

#include <gtest/gtest.h>

namespace mamsign {
namespace {

TEST(RawSignature, SignsAndVerifies) {
  auto key = test::example_private_key("supplier-ds");
  const Sha256 digest = sha256_bytes("hello");
  auto sig = make_raw_signature(key.get(), digest);
  ASSERT_TRUE(sig);
  EXPECT_TRUE(check_raw_signature_syntax(*sig));
  EXPECT_TRUE(verify_digest_signature(X509_get0_pubkey(test::example_cert("supplier-ds")->x509()), *sig, digest));
  EXPECT_FALSE(verify_digest_signature(X509_get0_pubkey(test::example_cert("supplier-ds")->x509()), *sig,
                                       sha256_bytes("hellp")));
  EXPECT_FALSE(verify_digest_signature(X509_get0_pubkey(test::example_cert("supplier2-ds")->x509()), *sig, digest));
}

TEST(RawSignature, StrictDer) {
  auto key = test::example_private_key("supplier-ds");
  const std::string sig = *make_raw_signature(key.get(), sha256_bytes("x"));
  EXPECT_FALSE(check_raw_signature_syntax(""));
  EXPECT_FALSE(check_raw_signature_syntax(sig + std::string(1, '\0')));
  EXPECT_FALSE(check_raw_signature_syntax(sig.substr(0, sig.size() - 1)));
  EXPECT_FALSE(check_raw_signature_syntax("-----BEGIN SIGNATURE-----\n"));
  // BER long-form length where DER needs the short form.
  std::string ber = sig;
  ber.insert(1, 1, '\x81');
  EXPECT_FALSE(check_raw_signature_syntax(ber));
  auto st = check_raw_signature_syntax("garbage");
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().reason, Reason::MalformedSignature);
}

}  // namespace
}  // namespace mamsign
