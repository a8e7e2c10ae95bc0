#include "mamsign/signature/digest.h"

#include "mamsign/base/io.h"
#include "mamsign/base/ossl.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <optional>
#include <thread>
#include <vector>
#include <span>

namespace mamsign {

// Fetched once: an explicit fetch keeps OpenSSL 3 from looking SHA-256 up again for every file.
const EVP_MD* sha256_md() {
  static const std::unique_ptr<EVP_MD, OsslDeleter<EVP_MD_free>> md(EVP_MD_fetch(nullptr, "SHA256", nullptr));
  return md ? md.get() : EVP_sha256();
}

namespace {

std::span<std::uint8_t> read_buffer() {
  thread_local std::unique_ptr<std::uint8_t[]> buffer(new std::uint8_t[kReadBufferBytes]);
  return {buffer.get(), kReadBufferBytes};
}

class Hasher {
 public:
  Hasher() : ctx_(EVP_MD_CTX_new()) { EVP_DigestInit_ex2(ctx_.get(), sha256_md(), nullptr); }
  Hasher(const Hasher& other) : ctx_(EVP_MD_CTX_new()) { EVP_MD_CTX_copy_ex(ctx_.get(), other.ctx_.get()); }
  Hasher& operator=(const Hasher&) = delete;
  Hasher(Hasher&&) noexcept = default;
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

// One way the file may have looked when it was signed: its line endings converted back, and/or its
// byte-order mark toggled back. The stream is rewritten a chunk at a time (runs copied whole, not byte
// by byte) and hashed; its last two bytes are held back, so that the digests of the same stream with
// its final line end removed or one added come from copies of the hash state, at no extra pass.
class Stream {
 public:
  // `crlf`: the stream's line ends are CRLF (what a final line end added to it would be).
  Stream(Lines lines, bool toggle_bom, bool crlf) : lines_(lines), toggle_bom_(toggle_bom), saw_crlf_(crlf) {}

  void feed(std::span<const std::uint8_t> chunk, bool first, bool has_bom) {
    out_.clear();
    std::size_t start = 0;
    if (first && toggle_bom_) {
      if (has_bom)
        start = 3;  // it has one now: signed without
      else
        for (std::uint8_t b : kBom) out_.push_back(b);
    }
    const std::uint8_t* p = chunk.data() + start;
    const std::uint8_t* const end = chunk.data() + chunk.size();
    switch (lines_) {
      case Lines::Keep:
        if (out_.empty()) {
          emit({p, static_cast<std::size_t>(end - p)});  // nothing rewritten: hashed straight from the chunk
          return;
        }
        out_.insert(out_.end(), p, end);
        break;
      case Lines::ToLf:  // CRLF -> LF; a lone CR stays
        while (p < end) {
          if (pending_cr_) {
            pending_cr_ = false;
            if (*p != '\n')
              out_.push_back('\r');
            else
              lines_changed_ = true;
          }
          const auto* cr = static_cast<const std::uint8_t*>(std::memchr(p, '\r', static_cast<std::size_t>(end - p)));
          const std::uint8_t* stop = cr != nullptr ? cr : end;
          out_.insert(out_.end(), p, stop);
          if (cr == nullptr) break;
          pending_cr_ = true;
          p = cr + 1;
        }
        break;
      case Lines::ToCrlf:  // a LF without a CR before it -> CRLF
        while (p < end) {
          const auto* lf = static_cast<const std::uint8_t*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
          const std::uint8_t* stop = lf != nullptr ? lf : end;
          out_.insert(out_.end(), p, stop);
          if (stop > p) last_ = *(stop - 1);
          if (lf == nullptr) break;
          if (last_ != '\r') {
            out_.push_back('\r');
            lines_changed_ = true;
          }
          out_.push_back('\n');
          last_ = '\n';
          p = lf + 1;
        }
        break;
    }
    emit(out_);
  }

  // Hashes what is left; then the digests of the stream as it is, without its final line end and with
  // one added.
  void finish() {
    out_.clear();
    if (pending_cr_) out_.push_back('\r');
    emit(out_);
    const std::string_view tail(reinterpret_cast<const char*>(held_.data()), held_.size());
    whole_ = digest_with(tail);
    if (tail.size() >= 2 && tail.substr(tail.size() - 2) == "\r\n") {
      without_final_eol_ = digest_with("");
    } else if (!tail.empty() && tail.back() == '\n') {
      without_final_eol_ = digest_with(tail.substr(0, tail.size() - 1));
    } else if (!tail.empty() || total_ > 0) {
      with_final_eol_ = digest_with(std::string(tail) + (saw_crlf_ ? "\r\n" : "\n"));
    }
  }

  // What was done after signing, as the reverse of what this stream undoes.
  std::string change(bool has_bom, const char* final_eol_change) const {
    std::vector<std::string> parts;
    if (lines_ == Lines::ToCrlf) parts.emplace_back("line endings were changed from CRLF to LF");
    if (lines_ == Lines::ToLf) parts.emplace_back("line endings were changed from LF to CRLF");
    if (toggle_bom_)
      parts.emplace_back(has_bom ? "a UTF-8 byte-order mark was added" : "the UTF-8 byte-order mark was removed");
    if (final_eol_change != nullptr) parts.emplace_back(final_eol_change);
    std::string s;
    for (std::size_t i = 0; i < parts.size(); ++i)
      s += (i == 0 ? "" : i + 1 == parts.size() ? " and " : ", ") + parts[i];
    return s + " after signing";
  }

  // Whether the rewriting changed anything: otherwise the stream repeats the file or a simpler stream.
  bool changed() const { return lines_ == Lines::Keep ? toggle_bom_ : lines_changed_; }
  bool is_identity() const { return lines_ == Lines::Keep && !toggle_bom_; }
  const Sha256& whole() const { return whole_; }
  const std::optional<Sha256>& without_final_eol() const { return without_final_eol_; }
  const std::optional<Sha256>& with_final_eol() const { return with_final_eol_; }

 private:
  // Hashes `data` after the bytes held back, keeping its last two back again (without copying it).
  void emit(std::span<const std::uint8_t> data) {
    if (data.empty()) return;
    total_ += data.size();
    if (data.size() >= 2) {
      hasher_.update(held_.data(), held_.size());
      hasher_.update(data.data(), data.size() - 2);
      held_.assign(data.end() - 2, data.end());
      return;
    }
    held_.push_back(data[0]);
    if (held_.size() > 2) {
      hasher_.update(held_.data(), 1);
      held_.erase(held_.begin());
    }
  }
  Sha256 digest_with(std::string_view tail) const {
    Hasher copy(hasher_);
    copy.update(reinterpret_cast<const std::uint8_t*>(tail.data()), tail.size());
    return copy.finish();
  }

  Lines lines_;
  bool toggle_bom_;
  bool saw_crlf_;
  Hasher hasher_;
  std::vector<std::uint8_t> out_;
  std::vector<std::uint8_t> held_;
  bool pending_cr_ = false;
  std::uint8_t last_ = 0;
  bool lines_changed_ = false;
  std::uint64_t total_ = 0;
  Sha256 whole_{};
  std::optional<Sha256> without_final_eol_, with_final_eol_;
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
  // A file written to while it was hashed has no one digest: nothing may be signed or judged by it.
  if (auto st = file->check_unchanged(); !st) return std::move(st).error();
  return h.finish();
}

namespace {

// Whether a chunk shows CRLF or bare LF line ends (or neither).
void line_ends_in(std::span<const std::uint8_t> chunk, bool& crlf, bool& bare_lf) {
  for (const auto* lf = static_cast<const std::uint8_t*>(std::memchr(chunk.data(), '\n', chunk.size())); lf != nullptr;
       lf = static_cast<const std::uint8_t*>(
           std::memchr(lf + 1, '\n', static_cast<std::size_t>(chunk.data() + chunk.size() - lf - 1)))) {
    (lf > chunk.data() && lf[-1] == '\r' ? crlf : bare_lf) = true;
    if (crlf && bare_lf) return;
  }
}

void add_final_line_end_variants(const Stream& s, bool has_bom, std::vector<DigestVariant>& out) {
  if (s.without_final_eol())
    out.push_back({s.change(has_bom, "a line end was added at the end of the file"), *s.without_final_eol()});
  if (s.with_final_eol())
    out.push_back({s.change(has_bom, "the line end at the end of the file was removed"), *s.with_final_eol()});
}

}  // namespace

Result<FileDigest> sha256_file_and_ends(const std::filesystem::path& path) {
  auto file = SequentialFile::open(path, "file");
  if (!file) return std::move(file).error();
  auto buffer = read_buffer();
  std::optional<Stream> stream;
  for (bool first = true;; first = false) {
    auto n = file->read(buffer);
    if (!n) return std::move(n).error();
    const auto chunk = buffer.first(*n);
    if (first) {
      bool crlf = false, bare_lf = false;
      line_ends_in(chunk.first(std::min<std::size_t>(chunk.size(), 4096)), crlf, bare_lf);
      stream.emplace(Lines::Keep, false, crlf);
    }
    stream->feed(chunk, first, false);
    if (*n < buffer.size()) break;
  }
  if (auto st = file->check_unchanged(); !st) return std::move(st).error();
  stream->finish();
  FileDigest out;
  out.digest = stream->whole();
  add_final_line_end_variants(*stream, false, out.final_line_end);
  return out;
}

Result<std::vector<DigestVariant>> sha256_variants(const std::filesystem::path& path, bool with_file_as_is) {
  // The first chunk says what can have changed: whether there is a BOM now, and which line ends.
  auto probe = SequentialFile::open(path, "file");
  if (!probe) return std::move(probe).error();
  auto buffer = read_buffer();
  auto n = probe->read(buffer);
  if (!n) return std::move(n).error();
  const std::span<const std::uint8_t> head = buffer.first(*n);
  const bool has_bom = head.size() >= 3 && head[0] == kBom[0] && head[1] == kBom[1] && head[2] == kBom[2];
  // A file is converted whole: one with CRLFs was LF before, one with bare LFs was CRLF; without a line
  // end in its first chunk, either.
  bool crlf = false, bare_lf = false;
  line_ends_in(head, crlf, bare_lf);
  std::vector<Lines> conversions{Lines::Keep};
  if (crlf || !bare_lf) conversions.push_back(Lines::ToLf);
  if (bare_lf || !crlf) conversions.push_back(Lines::ToCrlf);
  std::vector<Stream> streams;
  for (Lines l : conversions) {
    for (bool bom : {false, true}) {
      if (l == Lines::Keep && !bom && !with_file_as_is) continue;
      streams.emplace_back(l, bom, l == Lines::ToCrlf || (l == Lines::Keep && crlf));
    }
  }

  // Each stream reads the file on a thread of its own (the page cache makes the second reads cheap):
  // the streams hash side by side and never wait for each other.
  std::vector<std::optional<Error>> failures(streams.size());
  auto run = [&](std::size_t i) {
    auto file = SequentialFile::open(path, "file");
    if (!file) {
      failures[i] = std::move(file).error();
      return;
    }
    auto chunk = read_buffer();
    for (bool first = true;; first = false) {
      auto got = file->read(chunk);
      if (!got) {
        failures[i] = std::move(got).error();
        return;
      }
      streams[i].feed(chunk.first(*got), first, has_bom);
      if (*got < chunk.size()) break;
    }
    if (auto st = file->check_unchanged(); !st) failures[i] = std::move(st).error();
  };
  std::vector<std::thread> threads;
  threads.reserve(streams.size());
  for (std::size_t i = 1; i < streams.size(); ++i) threads.emplace_back(run, i);
  if (!streams.empty()) run(0);
  for (auto& t : threads) t.join();
  for (auto& f : failures) {
    if (f) return *f;
  }

  std::vector<DigestVariant> out;
  for (auto& s : streams) {
    s.finish();
    if (!s.is_identity() && s.changed()) out.push_back({s.change(has_bom, nullptr), s.whole()});
    if (!s.is_identity() && !s.changed()) continue;
    add_final_line_end_variants(s, has_bom, out);
  }
  return out;
}

}  // namespace mamsign
