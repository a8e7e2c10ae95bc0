#include "mamsign/digest.h"

#include "mamsign/io.h"
#include "mamsign/ossl.h"

#include <memory>
#include <span>

namespace mamsign {
namespace {

// Fetched once: an explicit fetch keeps OpenSSL 3 from looking SHA-256 up again for every file.
const EVP_MD* sha256_md() {
  static const std::unique_ptr<EVP_MD, OsslDeleter<EVP_MD_free>> md(EVP_MD_fetch(nullptr, "SHA256", nullptr));
  return md ? md.get() : EVP_sha256();
}

std::span<std::uint8_t> read_buffer() {
  thread_local std::unique_ptr<std::uint8_t[]> buffer(new std::uint8_t[kReadBufferBytes]);
  return {buffer.get(), kReadBufferBytes};
}

class Hasher {
 public:
  Hasher() : ctx_(EVP_MD_CTX_new()) { EVP_DigestInit_ex2(ctx_.get(), sha256_md(), nullptr); }
  void update(const std::uint8_t* data, std::size_t size) { EVP_DigestUpdate(ctx_.get(), data, size); }
  Sha256 finish() {
    Sha256 out{};
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx_.get(), out.data(), &len);
    return out;
  }

 private:
  EvpMdCtxPtr ctx_;
};

constexpr std::uint8_t kBom[3] = {0xEF, 0xBB, 0xBF};

enum class Lines { Keep, ToLf, ToCrlf };
enum class Bom { Keep, Strip, Add };

// Rewrites the stream one way and hashes the result.
class Variant {
 public:
  Variant(Lines lines, Bom bom) : lines_(lines), bom_(bom) {}

  void feed(std::span<const std::uint8_t> chunk, bool first) {
    out_.clear();
    std::size_t start = 0;
    if (first) {
      const bool has_bom = chunk.size() >= 3 && chunk[0] == kBom[0] && chunk[1] == kBom[1] && chunk[2] == kBom[2];
      if (bom_ == Bom::Strip && has_bom) start = 3;
      if (bom_ == Bom::Add && !has_bom) out_.insert(out_.end(), kBom, kBom + 3);
      bom_changed_ = (bom_ == Bom::Strip && has_bom) || (bom_ == Bom::Add && !has_bom);
    }
    for (std::size_t i = start; i < chunk.size(); ++i) {
      const std::uint8_t c = chunk[i];
      switch (lines_) {
        case Lines::Keep:
          out_.push_back(c);
          break;
        case Lines::ToLf:  // CRLF -> LF; a lone CR stays
          if (pending_cr_) {
            pending_cr_ = false;
            if (c == '\n') lines_changed_ = true;
            else out_.push_back('\r');
          }
          if (c == '\r') pending_cr_ = true;
          else out_.push_back(c);
          break;
        case Lines::ToCrlf:  // a LF without CR before it -> CRLF
          if (c == '\n' && last_ != '\r') {
            out_.push_back('\r');
            lines_changed_ = true;
          }
          out_.push_back(c);
          last_ = c;
          break;
      }
    }
    hasher_.update(out_.data(), out_.size());
  }

  Sha256 finish() {
    if (pending_cr_) {
      const std::uint8_t cr = '\r';
      hasher_.update(&cr, 1);
    }
    return hasher_.finish();
  }

  // Every part of the variant changed something: otherwise it repeats a simpler variant.
  bool changed() const {
    return (lines_ == Lines::Keep || lines_changed_) && (bom_ == Bom::Keep || bom_changed_);
  }

  std::string change() const {
    std::string s;
    // What was done after signing is the reverse of what this variant undoes.
    if (lines_ == Lines::ToCrlf) s = "line endings were changed from CRLF to LF";
    if (lines_ == Lines::ToLf) s = "line endings were changed from LF to CRLF";
    if (bom_ != Bom::Keep) {
      if (!s.empty()) s += " and ";
      s += bom_ == Bom::Strip ? "a UTF-8 byte-order mark was added" : "the UTF-8 byte-order mark was removed";
    }
    return s + " after signing";
  }

 private:
  Lines lines_;
  Bom bom_;
  Hasher hasher_;
  std::vector<std::uint8_t> out_;
  bool pending_cr_ = false;
  std::uint8_t last_ = 0;
  bool lines_changed_ = false;
  bool bom_changed_ = false;
};

}  // namespace

Sha256 sha256_bytes(std::string_view bytes) {
  Hasher h;
  h.update(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
  return h.finish();
}

Result<Sha256> sha256_file(const std::filesystem::path& path) {
  auto file = SequentialFile::open(path, "file");
  if (!file) return std::move(file).error();
  auto buffer = read_buffer();
  Hasher h;
  for (;;) {
    auto n = file->read(buffer);
    if (!n) return std::move(n).error();
    if (*n == 0) break;
    h.update(buffer.data(), *n);
    if (*n < buffer.size()) break;
  }
  return h.finish();
}

Result<std::vector<DigestVariant>> sha256_variants(const std::filesystem::path& path) {
  auto file = SequentialFile::open(path, "file");
  if (!file) return std::move(file).error();
  std::vector<Variant> variants;
  for (Lines l : {Lines::Keep, Lines::ToLf, Lines::ToCrlf}) {
    for (Bom b : {Bom::Keep, Bom::Strip, Bom::Add}) {
      if (l != Lines::Keep || b != Bom::Keep) variants.emplace_back(l, b);
    }
  }
  auto buffer = read_buffer();
  bool first = true;
  for (;;) {
    auto n = file->read(buffer);
    if (!n) return std::move(n).error();
    if (*n == 0 && !first) break;
    for (auto& v : variants) v.feed(buffer.first(*n), first);
    first = false;
    if (*n < buffer.size()) break;
  }
  std::vector<DigestVariant> out;
  for (auto& v : variants) {
    Sha256 d = v.finish();
    if (v.changed()) out.push_back({v.change(), d});
  }
  return out;
}

}  // namespace mamsign
