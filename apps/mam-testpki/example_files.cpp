// The example files of testdata/ (migration files, registration data, a certificate-ID file with planted
// errors), and the bulk stores and many files the benchmarks use.
#include "example_parts.h"

#include "mamsign/smki/mpxn.h"
#include "mamsign/smki/org_cert.h"

#include <nlohmann/json.hpp>

#include <cstdio>

namespace mamsign::testpki {
namespace {

using nlohmann::json;

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

const std::vector<std::string> kHeader{"MPxN",
                                       "DeviceID",
                                       "DeviceType",
                                       "GroupID",
                                       "SupplierUserID",
                                       "NetworkOperatorUserID",
                                       "NODSCertificateID",
                                       "NOKACertificateID"};

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
  std::snprintf(buf, sizeof buf, "00-12-4B-00-%02X-%02X-%02X-%02X", (n >> 24) & 0xFF, (n >> 16) & 0xFF, (n >> 8) & 0xFF,
                n & 0xFF);
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

Result<std::size_t> write_example_files(const std::filesystem::path& testdata, const ExampleIds& ids) {
  Writer data(testdata);
  const std::string sup = ids.supplier.to_string();
  const Eui64& no1 = ids.network_operator;
  const Eui64& no2 = ids.network_operator2;
  const std::string ds1 = ids.serial.at("network-operator-ds");
  const std::string ka1 = ids.serial.at("network-operator-ka");
  const std::string ds2 = ids.serial.at("network-operator2-ds");
  const std::string ka2 = ids.serial.at("network-operator2-ka");
  const std::string stem = "cgI_" + sup + "_20190407_182503";
  std::vector<Row> rows;
  for (std::uint32_t n = 0; n < 50; ++n) {
    if (n < 30) {
      rows.push_back({{mpan("14", 2000000000ULL + n * 104729ULL), device_id(0x1000 + n), "ESME", n % 2 ? "EB" : "EA",
                       sup, no1.to_string(), ds1, ka1},
                      {}});
    } else if (n < 42) {
      rows.push_back({{mpan("15", 3000000000ULL + n * 130363ULL), device_id(0x1000 + n), "ESME", "EA", sup,
                       no2.to_string(), ds2, ka2},
                      {}});
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
  planted.push_back(
      {{mpan("15", 5100000000ULL), device_id(2), "ESME", "EA", sup, no2s, loose_id(ds2), loose_id(ka2)}, {}});
  planted.push_back(
      {{m14(), device_id(3), "ESME", "EA", sup, no1s, "NOT-A-CERT-ID", ka1}, {{dsc, "ID_SYNTAX", "error"}}});
  planted.push_back({{m14(), device_id(4), "ESME", "EA", sup, no1s, "0123456789ABCDEF0123456789ABCDEF", ka1},
                     {{dsc, "ID_UNKNOWN", "error"}}});
  planted.push_back(
      {{m14(), device_id(5), "ESME", "EA", sup, sup, ids.serial.at("supplier-ds"), ids.serial.at("supplier-ka")},
       {{dsc, "NOT_NETWORK_OPERATOR", "error"},
        {dsc, "WRONG_NETWORK_OPERATOR", "error"},
        {kac, "NOT_NETWORK_OPERATOR", "error"},
        {kac, "WRONG_NETWORK_OPERATOR", "error"}}});
  planted.push_back({{m14(), device_id(6), "ESME", "EA", sup, no1s, ka1, ds1},
                     {{dsc, "WRONG_USAGE", "error"}, {kac, "WRONG_USAGE", "error"}}});
  planted.push_back({{m14(), device_id(7), "ESME", "EA", sup, no1s, ds1, ka2},
                     {{kac, "NO_USERID_MISMATCH", "error"},
                      {kac, "WRONG_NETWORK_OPERATOR", "error"},
                      {kac, "PAIR_MISMATCH", "error"}}});
  planted.push_back({{m14(), device_id(8), "ESME", "EA", sup, ids.network_operator_other_user.to_string(), ds1, ka1},
                     {{dsc, "NO_USERID_MISMATCH", "error"}, {kac, "NO_USERID_MISMATCH", "error"}}});
  planted.push_back({{m14(), device_id(9), "ESME", "EA", sup, no1s, ids.serial.at("network-operator-expired-ds"), ka1},
                     {{dsc, "CERT_EXPIRED", "error"}}});
  planted.push_back(
      {{m14(), device_id(10), "ESME", "EA", sup, no1s, ids.serial.at("network-operator-not-yet-valid-ds"), ka1},
       {{dsc, "CERT_NOT_YET_VALID", "error"}}});
  planted.push_back({{m14(), device_id(11), "ESME", "EA", sup, no1s, ids.serial.at("network-operator-revoked-ds"), ka1},
                     {{dsc, "CERT_REVOKED", "error"}}});
  planted.push_back({{m14(), device_id(12), "ESME", "EA", sup, no1s, ids.serial.at("network-operator-rogue-ds"), ka1},
                     {{dsc, "UNTRUSTED_CHAIN", "error"}}});
  {
    std::string bad_mpan = m14();
    bad_mpan.back() = static_cast<char>('0' + (bad_mpan.back() - '0' + 1) % 10);
    planted.push_back(
        {{bad_mpan, device_id(13), "ESME", "EA", sup, no1s, ds1, ka1}, {{"MPxN", "MPXN_INVALID", "error"}}});
  }
  planted.push_back({{m14(), device_id(14), "ESME", "EA", sup, no2s, ds2, ka2},
                     {{dsc, "WRONG_NETWORK_OPERATOR", "error"}, {kac, "WRONG_NETWORK_OPERATOR", "error"}}});
  planted.push_back(
      {{m14(), device_id(15), "ESME", "EC", sup, no1s, ds1, ka1}, {{"GroupID", "GROUP_NOT_MIGRATED", "note"}}});
  planted.push_back({{m14(), device_id(16), "ESME, \"smart\" variant", "EA", sup, no1s, ds1, ka1}, {}});
  planted.push_back({{m14(), device_id(17), "ESME\r\nwith a line break", "EA", sup, no1s, ds1, ka1}, {}});
  planted.push_back({{mprn(99), device_id(18), "GSME", "EA", sup, "", "", ""}, {}});
  planted.push_back({{m14(), device_id(19), "ESME", "EA", sup, "70-B3-D5", ds1, ka1},
                     {{"NetworkOperatorUserID", "ID_SYNTAX", "error"}}});
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

  return data.count();
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
    csv += mpan(op.distributor, 1000000000ULL + r) + "," + device_id(static_cast<std::uint32_t>(r)) + ",ESME,EA," +
           supplier + "," + op.eui.to_string() + "," + op.ds + "," + ka + "\r\n";
  }
  if (auto st = out.write("MA_cgI_" + supplier + "_20261128_120000.csv", csv); !st) return std::move(st).error();
  return "wrote " + std::to_string(issued) + " certificates and " + std::to_string(o.rows) + " rows to " +
         o.out.string() + "\n";
}

Result<std::string> write_files(const FilesOptions& o) {
  Writer out(o.out);
  std::string row;
  std::string content;
  for (std::size_t r = 0; content.size() < o.size; ++r) {
    row = mpan("14", 2000000000ULL + r) + "," + device_id(static_cast<std::uint32_t>(r)) + ",ESME,EA," +
          o.supplier.to_string() +
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
    std::snprintf(name, sizeof name, "MA_cgI_%s_%04d%02d%02d_%02d%02d%02d.csv", o.supplier.to_string().c_str(),
                  tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    if (auto st = out.write(name, content); !st) return std::move(st).error();
  }
  return "wrote " + std::to_string(o.count) + " files of " + std::to_string(o.size) + " bytes to " + o.out.string() +
         "\n";
}

}  // namespace mamsign::testpki
