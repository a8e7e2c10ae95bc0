#include "mamsign/base/pem.h"

#include "mamsign/base/ossl.h"

#include <openssl/err.h>
#include <openssl/pem.h>

#include <algorithm>
#include <optional>

namespace mamsign {
namespace {

constexpr std::string_view kBegin = "-----BEGIN ";
constexpr std::string_view kEnd = "-----END ";

// The offset of the next line starting with `marker` at or after `from`, or npos.
std::size_t find_line_start(std::string_view text, std::string_view marker, std::size_t from) {
  for (std::size_t at = text.find(marker, from); at != std::string_view::npos; at = text.find(marker, at + 1)) {
    if (at == 0 || text[at - 1] == '\n') return at;
  }
  return std::string_view::npos;
}

std::size_t line_of(std::string_view text, std::size_t offset) {
  return 1 +
         static_cast<std::size_t>(std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(offset), '\n'));
}

// Text outside the blocks may be explanation; control bytes other than tab and line ends are not text.
std::optional<std::size_t> first_non_text(std::string_view text, std::size_t from, std::size_t to) {
  for (std::size_t i = from; i < to; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if ((c < 0x20 && c != '\t' && c != '\r' && c != '\n') || c == 0x7F) return i;
  }
  return std::nullopt;
}

}  // namespace

bool is_pem(std::string_view bytes) { return find_line_start(bytes, kBegin, 0) != std::string_view::npos; }

Result<std::vector<PemBlock>> read_pem_blocks(std::string_view text, std::string_view origin) {
  std::vector<PemBlock> out;
  std::size_t outside_from = 0;
  // Line numbers counted on from the last block, not from the start each time: a bundle of thousands
  // of certificates was quadratic here (a 10,000-certificate store spent 0.5 s counting newlines).
  std::size_t counted_to = 0;
  std::size_t lines_before = 1;
  auto line_at = [&](std::size_t offset) {
    if (offset < counted_to) return line_of(text, offset);
    lines_before += static_cast<std::size_t>(std::count(text.begin() + static_cast<std::ptrdiff_t>(counted_to),
                                                        text.begin() + static_cast<std::ptrdiff_t>(offset), '\n'));
    counted_to = offset;
    return lines_before;
  };
  auto refuse = [&](std::size_t offset, const std::string& problem) {
    return make_error(Reason::InvalidInput,
                      std::string(origin) + ": line " + std::to_string(line_at(offset)) + ": " + problem);
  };
  for (;;) {
    const std::size_t begin = find_line_start(text, kBegin, outside_from);
    const std::size_t outside_to = begin == std::string_view::npos ? text.size() : begin;
    if (auto bad = first_non_text(text, outside_from, outside_to)) {
      return refuse(*bad, "bytes that are neither a PEM block nor text (byte " + std::to_string(*bad) + " is " +
                              printable(text.substr(*bad, 1)) + ")");
    }
    if (begin == std::string_view::npos) break;
    const std::size_t end = find_line_start(text, kEnd, begin);
    const std::size_t next_begin = find_line_start(text, kBegin, begin + 1);
    if (end == std::string_view::npos || (next_begin != std::string_view::npos && next_begin < end)) {
      return refuse(begin, "a PEM block has no END line");
    }
    const std::size_t eol = text.find('\n', end);
    const std::size_t block_end = eol == std::string_view::npos ? text.size() : eol + 1;
    const std::string_view block = text.substr(begin, block_end - begin);
    // OpenSSL decodes the block on its own: its base64, its header lines and that BEGIN and END agree.
    BioPtr bio(BIO_new_mem_buf(block.data(), static_cast<int>(block.size())));
    char* name = nullptr;
    char* header = nullptr;
    unsigned char* data = nullptr;
    long len = 0;
    if (!bio || PEM_read_bio(bio.get(), &name, &header, &data, &len) != 1) {
      const std::string why = take_openssl_errors();
      return refuse(begin, "PEM block " + std::to_string(out.size() + 1) + " is damaged and cannot be read " + why);
    }
    PemBlock b;
    b.label = name;
    b.der.assign(reinterpret_cast<const char*>(data), static_cast<std::size_t>(len));
    b.line = line_at(begin);
    OPENSSL_free(name);
    OPENSSL_free(header);
    OPENSSL_clear_free(data, static_cast<std::size_t>(len));
    out.push_back(std::move(b));
    outside_from = block_end;
  }
  ERR_clear_error();
  return out;
}

Result<std::vector<std::string>> der_objects(std::string_view bytes, std::string_view origin,
                                             const std::vector<std::string_view>& labels, std::string_view what) {
  std::vector<std::string> out;
  if (!is_pem(bytes)) {
    out.emplace_back(bytes);
    return out;
  }
  auto blocks = read_pem_blocks(bytes, origin);
  if (!blocks) return std::move(blocks).error();
  for (auto& b : *blocks) {
    if (std::find(labels.begin(), labels.end(), b.label) != labels.end()) out.push_back(std::move(b.der));
  }
  if (out.empty()) {
    std::string found;
    for (const auto& b : *blocks) found += (found.empty() ? "" : ", ") + printable(b.label, 40);
    return make_error(Reason::InvalidInput, std::string(origin) + " holds no PEM " + std::string(labels.front()) +
                                                " block (" + std::string(what) + ")" +
                                                (found.empty() ? std::string() : "; it holds " + found));
  }
  return out;
}

Result<PkiContents> pki_contents(std::string_view bytes, std::string_view origin) {
  PkiContents out;
  if (is_pem(bytes)) {
    auto blocks = read_pem_blocks(bytes, origin);
    if (!blocks) return std::move(blocks).error();
    for (const auto& b : *blocks) {
      out.certificates |= b.label == PEM_STRING_X509 || b.label == PEM_STRING_X509_OLD;
      out.crls |= b.label == PEM_STRING_X509_CRL;
    }
  } else {
    const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
    X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(bytes.size())));
    out.certificates = cert != nullptr;
    if (!cert) {
      p = reinterpret_cast<const unsigned char*>(bytes.data());
      X509CrlPtr crl(d2i_X509_CRL(nullptr, &p, static_cast<long>(bytes.size())));
      out.crls = crl != nullptr;
    }
    ERR_clear_error();
  }
  if (!out.certificates && !out.crls) {
    return make_error(Reason::InvalidInput, std::string(origin) + " holds no certificate and no CRL");
  }
  return out;
}

}  // namespace mamsign
