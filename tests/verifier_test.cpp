#include "mamsign/verifier.h"

#include "mamsign/pki/cert_builder.h"
#include "mamsign/keys/key_source.h"
#include "mamsign/signature/raw_signature.h"
#include "mamsign/signer.h"
#include "mamsign/base/times.h"
#include "support/test_support.h"

#include <gtest/gtest.h>
#include <openssl/asn1t.h>

#include <atomic>
#include <functional>
#include <thread>

// SignedData with its certificates as raw elements, to build what OpenSSL refuses to (a certificate twice).
extern "C" {
typedef struct test_content_info_st {
  ASN1_OBJECT* type;
  ASN1_TYPE* content;
} TEST_CONTENT_INFO;
ASN1_SEQUENCE(TEST_CONTENT_INFO) = {
    ASN1_SIMPLE(TEST_CONTENT_INFO, type, ASN1_OBJECT),
    ASN1_EXP_OPT(TEST_CONTENT_INFO, content, ASN1_ANY, 0),
} ASN1_SEQUENCE_END(TEST_CONTENT_INFO) typedef struct test_signed_data_st {
  ASN1_INTEGER* version;
  STACK_OF(ASN1_TYPE) * digest_algorithms;
  ASN1_TYPE* encap;
  STACK_OF(ASN1_TYPE) * certificates;
  STACK_OF(ASN1_TYPE) * crls;
  STACK_OF(ASN1_TYPE) * signer_infos;
} TEST_SIGNED_DATA;
ASN1_SEQUENCE(TEST_SIGNED_DATA) =
    {
        ASN1_SIMPLE(TEST_SIGNED_DATA, version, ASN1_INTEGER),
        ASN1_SET_OF(TEST_SIGNED_DATA, digest_algorithms, ASN1_ANY),
        ASN1_SIMPLE(TEST_SIGNED_DATA, encap, ASN1_ANY),
        ASN1_IMP_SET_OF_OPT(TEST_SIGNED_DATA, certificates, ASN1_ANY, 0),
        ASN1_IMP_SET_OF_OPT(TEST_SIGNED_DATA, crls, ASN1_ANY, 1),
        ASN1_SET_OF(TEST_SIGNED_DATA, signer_infos, ASN1_ANY),
} ASN1_SEQUENCE_END(TEST_SIGNED_DATA) DECLARE_ASN1_FUNCTIONS(TEST_CONTENT_INFO)
        IMPLEMENT_ASN1_FUNCTIONS(TEST_CONTENT_INFO) DECLARE_ASN1_FUNCTIONS(TEST_SIGNED_DATA)
            IMPLEMENT_ASN1_FUNCTIONS(TEST_SIGNED_DATA)
    // SignedAttributes as they are signed: a DER SET OF Attribute (RFC 5652 section 5.4).
    ASN1_ITEM_TEMPLATE(TEST_SIGNED_ATTRS) = ASN1_EX_TEMPLATE_TYPE(ASN1_TFLG_SET_ORDER, 0, TEST_SIGNED_ATTRS,
                                                                  X509_ATTRIBUTE)
        ASN1_ITEM_TEMPLATE_END(TEST_SIGNED_ATTRS)
}

namespace mamsign {
namespace {

// Re-encodes `cms` after `edit` changed its SignedData (certificates and signer infos stay raw).
std::string edit_signed_data(const std::string& cms, const std::function<void(TEST_SIGNED_DATA*)>& edit) {
  const auto* p = reinterpret_cast<const unsigned char*>(cms.data());
  TEST_CONTENT_INFO* info = d2i_TEST_CONTENT_INFO(nullptr, &p, static_cast<long>(cms.size()));
  const ASN1_STRING* inner = info->content->value.sequence;
  const auto* q = ASN1_STRING_get0_data(inner);
  TEST_SIGNED_DATA* sd = d2i_TEST_SIGNED_DATA(nullptr, &q, ASN1_STRING_length(inner));
  edit(sd);
  unsigned char* sd_der = nullptr;
  const int sd_len = i2d_TEST_SIGNED_DATA(sd, &sd_der);
  ASN1_STRING_set(info->content->value.sequence, sd_der, sd_len);
  unsigned char* out = nullptr;
  const int len = i2d_TEST_CONTENT_INFO(info, &out);
  std::string result(reinterpret_cast<char*>(out), static_cast<std::size_t>(len));
  OPENSSL_free(sd_der);
  OPENSSL_free(out);
  TEST_SIGNED_DATA_free(sd);
  TEST_CONTENT_INFO_free(info);
  return result;
}

// The signer info's signed attributes [0] re-encoded with a longer-than-needed length (BER, not DER).
std::string with_overlong_signed_attributes_length(const std::string& cms) {
  return edit_signed_data(cms, [](TEST_SIGNED_DATA* sd) {
    ASN1_TYPE* si = sk_ASN1_TYPE_value(sd->signer_infos, 0);
    const std::string tlv(reinterpret_cast<const char*>(ASN1_STRING_get0_data(si->value.sequence)),
                          static_cast<std::size_t>(ASN1_STRING_length(si->value.sequence)));
    const auto* start = reinterpret_cast<const unsigned char*>(tlv.data());
    const unsigned char* p = start;
    long len = 0;
    int tag = 0, cls = 0;
    ASN1_get_object(&p, &len, &tag, &cls, static_cast<long>(tlv.size()));
    const std::size_t content_at = static_cast<std::size_t>(p - start);
    for (int field = 0; field < 3; ++field) {  // version, sid, digestAlgorithm
      ASN1_get_object(&p, &len, &tag, &cls, static_cast<long>(tlv.size()) - (p - start));
      p += len;
    }
    const std::size_t attrs_at = static_cast<std::size_t>(p - start);
    std::string content = tlv.substr(content_at);
    const std::size_t at = attrs_at - content_at;
    // A0 LL (short form) or A0 81 LL  ->  one more length octet than needed.
    const auto first = static_cast<unsigned char>(content[at + 1]);
    if (first < 0x80)
      content.replace(at + 1, 1, std::string("\x81") + content[at + 1]);
    else
      content.replace(at + 1, 1, std::string{static_cast<char>(0x80 | ((first & 0x7F) + 1)), '\0'});
    unsigned char header[8];
    unsigned char* h = header;
    ASN1_put_object(&h, 1, static_cast<int>(content.size()), V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL);
    const std::string rebuilt =
        std::string(reinterpret_cast<char*>(header), static_cast<std::size_t>(h - header)) + content;
    ASN1_STRING_set(si->value.sequence, rebuilt.data(), static_cast<int>(rebuilt.size()));
  });
}

// `cms` with its last embedded certificate repeated `times` more times.
std::string with_certificate_repeated(const std::string& cms, int times) {
  return edit_signed_data(cms, [&](TEST_SIGNED_DATA* sd) {
    for (int i = 0; i < times; ++i) {
      ASN1_TYPE* last = sk_ASN1_TYPE_value(sd->certificates, sk_ASN1_TYPE_num(sd->certificates) - 1);
      unsigned char* der = nullptr;
      const int n = i2d_ASN1_TYPE(last, &der);
      const unsigned char* dp = der;
      sk_ASN1_TYPE_push(sd->certificates, d2i_ASN1_TYPE(nullptr, &dp, n));
      OPENSSL_free(der);
    }
  });
}

using test::kMaName;

class VerifierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    file_ = dir_ / kMaName;
    test::write_file(file_, test::example_ma_content());
  }

  VerifyResult verify(const std::filesystem::path& file, VerifyOptions o = {},
                      std::optional<std::filesystem::path> sig = {}) {
    // Left at its default (now), the example time is used instead: the tests judge one fixed instant.
    if (o.at >= VerifyOptions{}.at - 60) o.at = test::example_time();
    return Verifier(test::example_trust(), Profile::defaults(), o).verify(file, sig);
  }

  // Signs `file` as keys-example certificate `name` into FILE.p7s (or FILE.sig).
  void cms_sign(const std::string& name, const std::filesystem::path& file, const std::string& bound = "") {
    test::write_file(file.string() + ".p7s", test::cms_sign_as(name, file, {}, bound));
  }
  void raw_sign(const std::string& name, const std::filesystem::path& file) {
    test::write_file(file.string() + ".sig", test::raw_sign_as(name, file));
  }
  std::filesystem::path make(const std::string& name, const std::string& content = test::example_ma_content()) {
    test::write_file(dir_ / name, content);
    return dir_ / name;
  }
  static Reason reason(const VerifyResult& r) { return r.valid() ? Reason::IoError : r.error->reason; }
  static std::string why(const VerifyResult& r) { return r.valid() ? "valid" : r.error->message; }

  test::TempDir dir_;
  std::filesystem::path file_;
};

TEST_F(VerifierTest, ValidCmsReportsEverything) {
  cms_sign("supplier-ds", file_);
  auto r = verify(file_);
  ASSERT_TRUE(r.valid()) << why(r);
  EXPECT_EQ(r.format, SignatureFormat::Cms);
  EXPECT_EQ(r.signature, std::filesystem::path(file_.string() + ".p7s"));
  ASSERT_TRUE(r.signer);
  EXPECT_EQ(r.signer->eui64()->to_string(), "70-B3-D5-1F-30-00-A0-08");
  EXPECT_EQ(r.signing_time, test::example_time());
  EXPECT_EQ(r.sha256, *sha256_file(file_));
  EXPECT_EQ(r.bound_name, kMaName);
  EXPECT_FALSE(r.diagnosis);
  EXPECT_TRUE(r.notes.empty());
}

TEST_F(VerifierTest, SignatureMissing) {
  auto r = verify(file_);
  EXPECT_EQ(reason(r), Reason::SignatureMissing);
  EXPECT_NE(why(r).find(".p7s"), std::string::npos);
}

TEST_F(VerifierTest, IoErrors) {
  EXPECT_EQ(reason(verify(dir_ / "MA_cgI_70-B3-D5-1F-30-00-A0-08_20190407_182504.csv")), Reason::IoError);
  std::filesystem::create_directory(file_.string() + ".p7s");
  EXPECT_EQ(reason(verify(file_)), Reason::IoError);
}

TEST_F(VerifierTest, MalformedSignatures) {
  cms_sign("supplier-ds", file_);
  const std::string good = test::read_file(file_.string() + ".p7s");
  for (const std::string& bad :
       {std::string(), std::string("\x9c\x11\xfe random bytes \x01\x02", 20), good.substr(0, good.size() - 9),
        std::string("-----BEGIN CMS-----\nbm90IGEgc2lnbmF0dXJl\n-----END CMS-----\n"),
        std::string(2 * 1024 * 1024, '\x30')}) {
    test::write_file(file_.string() + ".p7s", bad);
    auto r = verify(file_);
    EXPECT_EQ(reason(r), Reason::MalformedSignature) << why(r);
  }
}

TEST_F(VerifierTest, ContentModifiedByOneBit) {
  cms_sign("supplier-ds", file_);
  std::string content = test::example_ma_content();
  content[100] = static_cast<char>(content[100] ^ 0x01);
  test::write_file(file_, content);
  auto r = verify(file_);
  EXPECT_EQ(reason(r), Reason::ContentModified);
  EXPECT_FALSE(r.diagnosis);
  EXPECT_NE(why(r).find(to_hex(*sha256_file(file_))), std::string::npos) << "the message shows the file's digest";
}

TEST_F(VerifierTest, ContentModifiedDiagnosesLineEndingsAndBom) {
  cms_sign("supplier-ds", file_);
  std::string lf = test::example_ma_content();
  for (std::size_t p; (p = lf.find("\r\n")) != std::string::npos;) lf.erase(p, 1);
  test::write_file(file_, lf);
  auto r = verify(file_);
  EXPECT_EQ(reason(r), Reason::ContentModified);
  EXPECT_EQ(r.diagnosis, std::optional<std::string>("line endings were changed from CRLF to LF after signing"));
  EXPECT_NE(why(r).find("line endings were changed"), std::string::npos);

  test::write_file(file_, "\xEF\xBB\xBF" + test::example_ma_content());
  r = verify(file_);
  EXPECT_EQ(reason(r), Reason::ContentModified);
  EXPECT_EQ(r.diagnosis, std::optional<std::string>("a UTF-8 byte-order mark was added after signing"));

  // And back: signed with LF, converted to CRLF.
  test::write_file(file_, lf);
  cms_sign("supplier-ds", file_);
  test::write_file(file_, test::example_ma_content());
  r = verify(file_);
  EXPECT_EQ(r.diagnosis, std::optional<std::string>("line endings were changed from LF to CRLF after signing"));
}

TEST_F(VerifierTest, RowAppended) {
  cms_sign("supplier-ds", file_);
  test::write_file(file_, test::example_ma_content() + "1200023305967,00-12-4B-00-00-00-99-99,ESME,EA,,,,\r\n");
  EXPECT_EQ(reason(verify(file_)), Reason::ContentModified);
}

TEST_F(VerifierTest, SignatureOfAnotherFile) {
  const auto other = make("MA_cgI_70-B3-D5-1F-30-00-A0-08_20190408_000000.csv", "other content\r\n");
  cms_sign("supplier-ds", other);
  std::filesystem::copy_file(other.string() + ".p7s", file_.string() + ".p7s");
  auto r = verify(file_);
  EXPECT_EQ(reason(r), Reason::ContentModified);
  EXPECT_NE(r.diagnosis.value_or("").find("made for the file MA_cgI_70-B3-D5-1F-30-00-A0-08_20190408_000000.csv"),
            std::string::npos);
}

TEST_F(VerifierTest, FlippedBitInTheEcdsaValue) {
  cms_sign("supplier-ds", file_);
  std::string sig = test::read_file(file_.string() + ".p7s");
  sig.back() = static_cast<char>(sig.back() ^ 0x01);  // the last octet of the signature value (s)
  test::write_file(file_.string() + ".p7s", sig);
  auto r = verify(file_);
  EXPECT_EQ(reason(r), Reason::BadSignature) << why(r);
}

TEST_F(VerifierTest, AttachedSignatureIsMalformed) {
  // -nodetach: the signature carries content of its own (here, another file's).
  test::write_file(dir_ / "other.txt", "some other content");
  auto r = test::run({"/usr/bin/openssl", "cms", "-sign", "-binary", "-nodetach", "-md", "sha256", "-outform", "DER",
                      "-in", (dir_ / "other.txt").string(), "-signer", test::example_cert_path("supplier-ds").string(),
                      "-inkey", test::example_key("supplier-ds").string(), "-out", file_.string() + ".p7s"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto v = verify(file_);
  EXPECT_EQ(reason(v), Reason::MalformedSignature);
  EXPECT_NE(why(v).find("attached"), std::string::npos) << why(v);
}

TEST_F(VerifierTest, TwoSignersIsMalformed) {
  auto r = test::run({"/usr/bin/openssl",
                      "cms",
                      "-sign",
                      "-binary",
                      "-md",
                      "sha256",
                      "-outform",
                      "DER",
                      "-in",
                      file_.string(),
                      "-signer",
                      test::example_cert_path("supplier-ds").string(),
                      "-inkey",
                      test::example_key("supplier-ds").string(),
                      "-signer",
                      test::example_cert_path("supplier-alt-ds").string(),
                      "-inkey",
                      test::example_key("supplier-alt-ds").string(),
                      "-out",
                      file_.string() + ".p7s"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto v = verify(file_);
  EXPECT_EQ(reason(v), Reason::MalformedSignature);
  EXPECT_NE(why(v).find("2 signers"), std::string::npos) << why(v);
}

struct SignedBy {
  std::string cert;
  Reason reason;
};
void PrintTo(const SignedBy& s, std::ostream* os) { *os << s.cert << " -> " << reason_name(s.reason); }
class VerifierCertificates : public VerifierTest, public ::testing::WithParamInterface<SignedBy> {};

TEST_P(VerifierCertificates, EachCertificateProblemHasItsCode) {
  cms_sign(GetParam().cert, file_);
  auto r = verify(file_);
  EXPECT_EQ(reason(r), GetParam().reason) << GetParam().cert << ": " << why(r);
  ASSERT_TRUE(r.signer);  // the signer is identified even when it fails
}

INSTANTIATE_TEST_SUITE_P(
    KeysExample, VerifierCertificates,
    ::testing::Values(
        SignedBy{"bad-rogue-oca-ds", Reason::UntrustedChain}, SignedBy{"bad-expired-ds", Reason::CertExpired},
        SignedBy{"bad-not-yet-valid-ds", Reason::CertNotYetValid}, SignedBy{"supplier-revoked-ds", Reason::CertRevoked},
        SignedBy{"bad-eui-utf8-ds", Reason::InvalidSubject}, SignedBy{"bad-eui-56-ds", Reason::InvalidSubject},
        SignedBy{"bad-no-eui-ds", Reason::InvalidSubject}, SignedBy{"network-operator-ds", Reason::WrongRole},
        SignedBy{"bad-role-04-ds", Reason::WrongRole}, SignedBy{"supplier-ka", Reason::WrongKeyUsage},
        SignedBy{"bad-both-usages", Reason::WrongKeyUsage}, SignedBy{"bad-ku-not-critical-ds", Reason::WrongKeyUsage},
        SignedBy{"bad-no-policy-ds", Reason::PolicyMismatch}, SignedBy{"bad-other-policy-ds", Reason::PolicyMismatch},
        SignedBy{"bad-p384-ds", Reason::UnsupportedAlgorithm}),
    [](const auto& param_info) {
      std::string n = param_info.param.cert;
      for (auto& ch : n)
        if (ch == '-') ch = '_';
      return n;
    });

TEST_F(VerifierTest, WrongRoleMessageSaysWhoSigned) {
  cms_sign("network-operator-ds", file_);
  auto r = verify(file_);
  EXPECT_NE(why(r).find("70-B3-D5-1F-30-00-D4-01 (role 03 network operator"), std::string::npos) << why(r);
}

TEST_F(VerifierTest, ChosenTime) {
  cms_sign("bad-expired-ds", file_);
  VerifyOptions then;
  then.at = *parse_iso8601("2021-06-01T00:00:00Z");
  EXPECT_TRUE(verify(file_, then).valid());
  EXPECT_EQ(reason(verify(file_)), Reason::CertExpired);
}

TEST_F(VerifierTest, FileNameInvalidUnlessLifted) {
  const auto report = make("report.csv");
  cms_sign("supplier-ds", report);
  auto r = verify(report);
  EXPECT_EQ(reason(r), Reason::FileNameInvalid);
  VerifyOptions lifted;
  lifted.check_names = false;
  EXPECT_TRUE(verify(report, lifted).valid());
}

TEST_F(VerifierTest, SignerMismatchAndSameParty) {
  const auto other_party = make("MA_cgI_70-B3-D5-1F-30-00-B1-01_20190407_182503.csv");
  cms_sign("supplier-ds", other_party);
  auto r = verify(other_party);
  EXPECT_EQ(reason(r), Reason::SignerMismatch);
  EXPECT_NE(why(r).find("names party 70-B3-D5-1F-30-00-B1-xx"), std::string::npos) << why(r);

  const auto same_party = make("MA_cgI_70-B3-D5-1F-30-00-A0-09_20190407_182503.csv");
  cms_sign("supplier-ds", same_party);
  EXPECT_TRUE(verify(same_party).valid()) << why(verify(same_party));

  const auto signed_by_b = make("MA_cgI_70-B3-D5-1F-30-00-A0-08_20190409_000000.csv");
  cms_sign("supplier2-ds", signed_by_b);
  auto b = verify(signed_by_b);
  EXPECT_EQ(reason(b), Reason::SignerMismatch);
  EXPECT_NE(
      why(b).find("signed by 70-B3-D5-1F-30-00-B1-01 (role 02), but the file name names party 70-B3-D5-1F-30-00-A0-xx"),
      std::string::npos)
      << why(b);
}

TEST_F(VerifierTest, Renamed) {
  cms_sign("supplier-ds", file_);
  const auto renamed = dir_ / "MA_cgI_70-B3-D5-1F-30-00-A0-08_20190407_182504.csv";
  std::filesystem::rename(file_, renamed);
  std::filesystem::rename(file_.string() + ".p7s", renamed.string() + ".p7s");
  auto r = verify(renamed);
  EXPECT_EQ(reason(r), Reason::FileRenamed);
  EXPECT_NE(why(r).find(kMaName), std::string::npos);
  VerifyOptions lifted;
  lifted.check_names = false;
  EXPECT_EQ(reason(verify(renamed, lifted)), Reason::FileRenamed) << "the name binding holds without name checks too";
}

TEST_F(VerifierTest, ExplicitSignaturePath) {
  test::write_file(dir_ / "elsewhere.bin", test::cms_sign_as("supplier-ds", file_));
  EXPECT_TRUE(verify(file_, {}, dir_ / "elsewhere.bin").valid());
  test::write_file(dir_ / "raw.bin", test::raw_sign_as("supplier-ds", file_));
  VerifyOptions o;
  o.cert = test::example_cert("supplier-ds");
  auto r = verify(file_, o, dir_ / "raw.bin");
  EXPECT_TRUE(r.valid()) << why(r);
  EXPECT_EQ(r.format, SignatureFormat::Raw);
}

// Raw signatures.

TEST_F(VerifierTest, RawWithCert) {
  raw_sign("supplier-ds", file_);
  VerifyOptions o;
  o.cert = test::example_cert("supplier-ds");
  auto r = verify(file_, o);
  ASSERT_TRUE(r.valid()) << why(r);
  EXPECT_EQ(r.format, SignatureFormat::Raw);
  EXPECT_FALSE(r.signing_time);
}

TEST_F(VerifierTest, RawWithoutCertIsSignerNotFound) {
  raw_sign("supplier-ds", file_);
  auto r = verify(file_);
  EXPECT_EQ(reason(r), Reason::SignerNotFound);
  EXPECT_NE(why(r).find("--cert"), std::string::npos);
}

TEST_F(VerifierTest, RawFindsItsSignerAmongTheStoresCertificates) {
  VerifyOptions o;
  o.store = *CertStore::load({test::keys_dir() / "store"});
  raw_sign("supplier-ds", file_);
  auto good = verify(file_, o);
  ASSERT_TRUE(good.valid()) << why(good);
  EXPECT_EQ(good.signer->fingerprint(), test::example_cert("supplier-ds")->fingerprint());
  // Six certificates share this User ID: the revoked one verifies the signature and fails furthest.
  raw_sign("supplier-revoked-ds", file_);
  EXPECT_EQ(reason(verify(file_, o)), Reason::CertRevoked);
  raw_sign("supplier-ka", file_);
  EXPECT_EQ(reason(verify(file_, o)), Reason::WrongKeyUsage);
  raw_sign("supplier-alt-ds", file_);
  EXPECT_TRUE(verify(file_, o).valid()) << "the same party's other User ID";
  raw_sign("supplier2-ds", file_);
  EXPECT_EQ(reason(verify(file_, o)), Reason::BadSignature) << "no certificate of this party holds that key";
  const auto unknown = make("MA_cgI_70-B3-D5-1F-30-00-EE-01_20190407_182503.csv");
  raw_sign("supplier-ds", unknown);
  EXPECT_EQ(reason(verify(unknown, o)), Reason::SignerNotFound);
}

TEST_F(VerifierTest, RawTamperedAndDamaged) {
  VerifyOptions o;
  o.cert = test::example_cert("supplier-ds");
  raw_sign("supplier-ds", file_);
  std::string lf = test::example_ma_content();
  for (std::size_t p; (p = lf.find("\r\n")) != std::string::npos;) lf.erase(p, 1);
  test::write_file(file_, lf);
  auto crlf = verify(file_, o);
  EXPECT_EQ(reason(crlf), Reason::ContentModified);
  EXPECT_EQ(crlf.diagnosis, std::optional<std::string>("line endings were changed from CRLF to LF after signing"));

  test::write_file(file_, test::example_ma_content() + "x");
  EXPECT_EQ(reason(verify(file_, o)), Reason::BadSignature);

  test::write_file(file_, test::example_ma_content());
  std::string sig = test::read_file(file_.string() + ".sig");
  sig.back() = static_cast<char>(sig.back() ^ 0x04);
  test::write_file(file_.string() + ".sig", sig);
  EXPECT_EQ(reason(verify(file_, o)), Reason::BadSignature);
  test::write_file(file_.string() + ".sig", "junk");
  EXPECT_EQ(reason(verify(file_, o)), Reason::MalformedSignature);
}

TEST_F(VerifierTest, CmsWithoutCertificatesNeedsCertOrStore) {
  auto r = test::run({"/usr/bin/openssl", "cms", "-sign", "-binary", "-md", "sha256", "-nocerts", "-outform", "DER",
                      "-in", file_.string(), "-signer", test::example_cert_path("supplier-ds").string(), "-inkey",
                      test::example_key("supplier-ds").string(), "-out", file_.string() + ".p7s"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto missing = verify(file_);
  EXPECT_EQ(reason(missing), Reason::SignerNotFound);
  EXPECT_NE(why(missing).find("serial"), std::string::npos) << why(missing);
  VerifyOptions with_cert;
  with_cert.cert = test::example_cert("supplier-ds");
  EXPECT_TRUE(verify(file_, with_cert).valid());
  VerifyOptions with_store;
  with_store.store = *CertStore::load({test::keys_dir() / "store"});
  EXPECT_TRUE(verify(file_, with_store).valid());
}

// A renewal that kept the supplier's key has the same subject key identifier: a signature naming its
// signer by key identifier verifies with either certificate, but the signed signingCertificateV2
// names the original, so the renewal is refused.
TEST_F(VerifierTest, SigningCertificateV2MustNameTheCertificateUsed) {
  auto oca_key = load_private_key(test::keys_dir() / "ca/oca.key", {});
  auto oca = OrgCert::load(test::keys_dir() / "trust/oca.pem");
  ASSERT_TRUE(oca_key && oca);
  const auto original = test::example_cert("supplier-ds");
  CertSpec spec;
  spec.common_name = "Example Supplier A (renewed)";
  spec.ou = "02";
  spec.eui64 = *original->eui64();
  spec.not_before = *parse_iso8601("2025-01-01T00:00:00Z");
  spec.not_after = *parse_iso8601("2045-01-01T00:00:00Z");
  spec.policy_oid = std::string(kTestPolicyOid);
  auto renewed_x509 = issue_certificate(spec, X509_get0_pubkey(original->x509()), (*oca)->x509(), oca_key->get());
  ASSERT_TRUE(renewed_x509) << renewed_x509.error().message;
  const auto renewed = std::make_shared<const OrgCert>(std::move(*renewed_x509));

  auto r =
      test::run({"/usr/bin/openssl", "cms", "-sign", "-binary", "-md", "sha256", "-keyid", "-cades", "-nocerts",
                 "-outform", "DER", "-in", file_.string(), "-signer", test::example_cert_path("supplier-ds").string(),
                 "-inkey", test::example_key("supplier-ds").string(), "-out", file_.string() + ".p7s"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  VerifyOptions with_original;
  with_original.cert = original;
  EXPECT_TRUE(verify(file_, with_original).valid()) << why(verify(file_, with_original));
  VerifyOptions with_renewal;
  with_renewal.cert = renewed;
  auto v = verify(file_, with_renewal);
  EXPECT_EQ(reason(v), Reason::BadSignature) << why(v);
  EXPECT_NE(why(v).find("signingCertificate"), std::string::npos) << why(v);
}

TEST_F(VerifierTest, SharedAcrossThreads) {
  cms_sign("supplier-ds", file_);
  const auto bad = make("MA_cgI_70-B3-D5-1F-30-00-A0-08_20190408_000000.csv");
  cms_sign("network-operator-ds", bad);
  VerifyOptions o;
  o.at = test::example_time();
  const Verifier v(test::example_trust(), Profile::defaults(), o);
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 100; ++i) {
        if (!v.verify(file_).valid()) ++wrong;
        auto r = v.verify(bad);
        if (r.valid() || r.error->reason != Reason::WrongRole) ++wrong;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST_F(VerifierTest, StreamsLargeFiles) {
  std::string big;
  while (big.size() < kReadBufferBytes * 20) big += test::example_ma_content();
  const auto file = make("MA_cgI_70-B3-D5-1F-30-00-A0-08_20190410_000000.csv", big);
  auto signer = Signer::create(test::example_private_key("supplier-ds"), test::example_cert("supplier-ds"), {},
                               Profile::defaults(), test::example_time());
  ASSERT_TRUE(signer);
  ASSERT_TRUE(signer->sign_file(file, {}));
  auto r = verify(file);
  ASSERT_TRUE(r.valid()) << why(r);
  EXPECT_EQ(*r.sha256, sha256_bytes(big));
  big[big.size() / 2] ^= 0x20;
  test::write_file(file, big);
  EXPECT_EQ(reason(verify(file)), Reason::ContentModified);
}

// Issue 8, M1: the signer-check cache was keyed by an XOR of the embedded certificates' fingerprints, so
// signer+OCA+OCA shared an entry with the signer alone and the verdict depended on the order of files.
TEST_F(VerifierTest, CacheKeyDoesNotLetDuplicateCertificatesCancel) {
  const auto oca = (test::keys_dir() / "trust/oca.pem").string();
  const auto alone = make("MA_cgI_70-B3-D5-1F-30-00-A0-08_20190407_182504.csv");
  const auto with_oca = make("MA_cgI_70-B3-D5-1F-30-00-A0-08_20190407_182505.csv");
  test::write_file(alone.string() + ".p7s", test::cms_sign_as("supplier-ds", alone));
  test::write_file(with_oca.string() + ".p7s",
                   with_certificate_repeated(test::cms_sign_as("supplier-ds", with_oca, {oca}), 1));
  auto root_only = TrustStore::load({test::keys_dir() / "trust/root.pem"}, Profile::defaults());
  ASSERT_TRUE(root_only);
  VerifyOptions o;
  o.at = test::example_time();
  for (bool alone_first : {true, false}) {
    const Verifier v(*root_only, Profile::defaults(), o);
    const auto first = v.verify(alone_first ? alone : with_oca);
    const auto second = v.verify(alone_first ? with_oca : alone);
    const auto& r_alone = alone_first ? first : second;
    const auto& r_with = alone_first ? second : first;
    EXPECT_EQ(reason(r_alone), Reason::UntrustedChain) << "alone first: " << alone_first << ": " << why(r_alone);
    EXPECT_TRUE(r_with.valid()) << "alone first: " << alone_first << ": " << why(r_with);
  }
}

// Issue 8, C1: the DER of a genuine signature's signed attributes, saved as a "migration file", with the
// CMS's own signature value as its raw .sig, verified with stock OpenSSL and (before the fix) with us:
// the key signs SHA-256(signedAttrs) in CMS and SHA-256(file) in raw mode.
struct Forgery {
  std::string attributes_der;
  std::string signature_value;
};
Forgery forge_from(const std::string& p7s) {
  const auto* p = reinterpret_cast<const unsigned char*>(p7s.data());
  CmsPtr cms(d2i_CMS_ContentInfo(nullptr, &p, static_cast<long>(p7s.size())));
  CMS_SignerInfo* si = sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(cms.get()), 0);
  STACK_OF(X509_ATTRIBUTE)* attrs = sk_X509_ATTRIBUTE_new_null();
  for (int i = 0; i < CMS_signed_get_attr_count(si); ++i) sk_X509_ATTRIBUTE_push(attrs, CMS_signed_get_attr(si, i));
  unsigned char* der = nullptr;
  const int len = ASN1_item_i2d(reinterpret_cast<ASN1_VALUE*>(attrs), &der, ASN1_ITEM_rptr(TEST_SIGNED_ATTRS));
  Forgery f{std::string(reinterpret_cast<char*>(der), static_cast<std::size_t>(len)), {}};
  OPENSSL_free(der);
  sk_X509_ATTRIBUTE_free(attrs);  // the attributes stay owned by the signer info
  const ASN1_OCTET_STRING* sig = CMS_SignerInfo_get0_signature(si);
  f.signature_value.assign(reinterpret_cast<const char*>(ASN1_STRING_get0_data(sig)),
                           static_cast<std::size_t>(ASN1_STRING_length(sig)));
  return f;
}

TEST_F(VerifierTest, SignedAttributesReusedAsARawSignedFileAreRefused) {
  cms_sign("supplier-ds", file_);
  const Forgery forged = forge_from(test::read_file(file_.string() + ".p7s"));
  ASSERT_EQ(static_cast<unsigned char>(forged.attributes_der[0]), 0x31) << "a DER SET";
  const auto fake = make("MA_cgI_70-B3-D5-1F-30-00-A0-08_20190407_182559.csv", forged.attributes_der);
  test::write_file(fake.string() + ".sig", forged.signature_value);

  // The forgery is real: stock OpenSSL accepts it as a signature over the file.
  test::write_file(dir_ / "pub.pem", test::run({"/usr/bin/openssl", "x509", "-pubkey", "-noout", "-in",
                                                test::example_cert_path("supplier-ds").string()})
                                         .out);
  auto dgst = test::run({"/usr/bin/openssl", "dgst", "-sha256", "-verify", (dir_ / "pub.pem").string(), "-signature",
                         fake.string() + ".sig", fake.string()});
  ASSERT_EQ(dgst.out, "Verified OK\n") << dgst.err;

  VerifyOptions o;
  o.cert = test::example_cert("supplier-ds");
  auto r = verify(fake, o);
  EXPECT_EQ(reason(r), Reason::FormatNotAllowed) << why(r);
  EXPECT_NE(why(r).find("is itself a DER SET"), std::string::npos) << why(r);

  // The signer refuses to make such a signature, and a profile can refuse raw signatures altogether.
  std::filesystem::remove(fake.string() + ".sig");
  auto signer = Signer::create(test::example_private_key("supplier-ds"), test::example_cert("supplier-ds"), {},
                               Profile::defaults(), test::example_time());
  ASSERT_TRUE(signer);
  SignOptions raw;
  raw.format = SignatureFormat::Raw;
  auto made = signer->sign_file(fake, raw);
  ASSERT_FALSE(made);
  EXPECT_EQ(made.error().reason, Reason::FormatNotAllowed);
  EXPECT_FALSE(std::filesystem::exists(fake.string() + ".sig"));
}

TEST_F(VerifierTest, ProfileCanRefuseSignaturesWithoutAttributes) {
  raw_sign("supplier-ds", file_);
  Profile cms_only;
  cms_only.signature_formats = {"cms"};
  VerifyOptions o;
  o.at = test::example_time();
  o.cert = test::example_cert("supplier-ds");
  auto r = Verifier(test::example_trust(), cms_only, o).verify(file_);
  EXPECT_EQ(reason(r), Reason::FormatNotAllowed) << why(r);
  EXPECT_NE(why(r).find("signature_formats"), std::string::npos) << why(r);
  EXPECT_TRUE(Verifier(test::example_trust(), Profile::defaults(), o).verify(file_).valid());
}

TEST_F(VerifierTest, ContentThatMerelyStartsLikeDerIsNotRefused) {
  // "0" then a length byte that happens to match: not a well-formed structure, so not refused.
  for (const std::string& content : {std::string("0\x0A") + "abcdefghij", std::string("1,2,3\r\n"), std::string("0")}) {
    const auto f = make("MA_cgI_70-B3-D5-1F-30-00-A0-08_20190407_182558.csv", content);
    EXPECT_TRUE(check_content_not_der(f)) << printable(content);
  }
  const auto seq = make("MA_cgI_70-B3-D5-1F-30-00-A0-08_20190407_182557.csv", std::string("\x30\x03\x02\x01\x05", 5));
  EXPECT_EQ(check_content_not_der(seq).error().reason, Reason::FormatNotAllowed);
}

// Issue 8, M6: one DER ContentInfo is the profile; BER outside the signed attributes is what Bouncy
// Castle streams and is accepted with a note; the signed attributes must be DER; versions must be valid.
TEST_F(VerifierTest, SignedDataVersionMustBeValid) {
  const std::string good = test::cms_sign_as("supplier-ds", file_);
  for (long version : {-1L, 0L, 2L, 6L}) {
    test::write_file(file_.string() + ".p7s",
                     edit_signed_data(good, [&](TEST_SIGNED_DATA* sd) { ASN1_INTEGER_set(sd->version, version); }));
    auto r = verify(file_);
    EXPECT_EQ(reason(r), Reason::MalformedSignature) << version << ": " << why(r);
    EXPECT_NE(why(r).find("version " + std::to_string(version)), std::string::npos) << why(r);
  }
}

TEST_F(VerifierTest, BerSignedAttributesAreMalformedNotBadSignature) {
  test::write_file(file_.string() + ".p7s",
                   with_overlong_signed_attributes_length(test::cms_sign_as("supplier-ds", file_)));
  auto r = verify(file_);
  EXPECT_EQ(reason(r), Reason::MalformedSignature) << why(r);
  EXPECT_NE(why(r).find("signed attributes are not DER"), std::string::npos) << why(r);
}

TEST_F(VerifierTest, IndefiniteLengthOutsideTheSignedAttributesIsAcceptedWithANote) {
  const std::string der = test::cms_sign_as("supplier-ds", file_);
  const auto* start = reinterpret_cast<const unsigned char*>(der.data());
  const unsigned char* p = start;
  long len = 0;
  int tag = 0, cls = 0;
  ASN1_get_object(&p, &len, &tag, &cls, static_cast<long>(der.size()));
  const std::string ber =
      std::string("\x30\x80", 2) + der.substr(static_cast<std::size_t>(p - start)) + std::string(2, '\0');
  test::write_file(file_.string() + ".p7s", ber);
  auto r = verify(file_);
  ASSERT_TRUE(r.valid()) << why(r);
  ASSERT_FALSE(r.notes.empty());
  EXPECT_NE(r.notes.back().find("BER-encoded"), std::string::npos) << r.notes.back();
  // Trailing bytes after the structure are still refused.
  test::write_file(file_.string() + ".p7s", ber + "x");
  EXPECT_EQ(reason(verify(file_)), Reason::MalformedSignature);
}

// Issue 12: the ContentInfo's own headers are checked for DER without re-encoding it; a longer length
// form than needed there is BER all the same, and noted.
TEST_F(VerifierTest, ALongerThanNeededOuterLengthIsNotedAsBer) {
  const std::string der = test::cms_sign_as("supplier-ds", file_);
  ASSERT_EQ(static_cast<unsigned char>(der[1]), 0x82);  // a signature is 256 to 65535 bytes
  const std::string ber = std::string("\x30\x83\x00", 3) + der.substr(2);
  test::write_file(file_.string() + ".p7s", ber);
  auto r = verify(file_);
  ASSERT_TRUE(r.valid()) << why(r);
  ASSERT_FALSE(r.notes.empty());
  EXPECT_NE(r.notes.back().find("BER-encoded"), std::string::npos) << r.notes.back();
  test::write_file(file_.string() + ".p7s", der);
  auto plain = verify(file_);
  ASSERT_TRUE(plain.valid()) << why(plain);
  for (const auto& note : plain.notes) EXPECT_EQ(note.find("BER"), std::string::npos) << note;
}

TEST_F(VerifierTest, ThousandsOfEmbeddedCertificatesAreRefusedAtTheBound) {
  const auto oca = (test::keys_dir() / "trust/oca.pem").string();
  const std::string base = test::cms_sign_as("supplier-ds", file_, {oca});         // signer + OCA: 2
  test::write_file(file_.string() + ".p7s", with_certificate_repeated(base, 14));  // 16: at the bound
  auto at = verify(file_);
  EXPECT_NE(reason(at), Reason::MalformedSignature) << why(at);
  test::write_file(file_.string() + ".p7s", with_certificate_repeated(base, 15));  // 17: past it
  auto past = verify(file_);
  EXPECT_EQ(reason(past), Reason::MalformedSignature) << why(past);
  EXPECT_NE(why(past).find("carries 17 certificates; at most 16"), std::string::npos) << why(past);
}

// Issue 9, item 10: VerifyOptions left at its defaults judged certificates at 1970.
TEST(VerifyOptionsDefaults, JudgeCertificatesNow) {
  const std::time_t before = std::time(nullptr);
  const VerifyOptions o;
  EXPECT_GE(o.at, before);
  EXPECT_LE(o.at, std::time(nullptr));
}

// Issue 9, item 7: --cert given for a CMS signature was ignored when the signature carried another
// certificate. It pins the signer.
TEST_F(VerifierTest, CertPinsTheSignerOfACms) {
  cms_sign("supplier-ds", file_);
  VerifyOptions o;
  o.cert = test::example_cert("supplier-alt-ds");
  auto r = verify(file_, o);
  EXPECT_EQ(reason(r), Reason::SignerNotFound) << why(r);
  EXPECT_NE(why(r).find("not with the --cert certificate"), std::string::npos) << why(r);
  o.cert = test::example_cert("supplier-ds");
  EXPECT_TRUE(verify(file_, o).valid());
}

}  // namespace
}  // namespace mamsign
