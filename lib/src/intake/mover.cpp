// The pending journal and applying it: see mover.h and docs/intake.md (Exactly once).
#include "intake/mover.h"

#include "base/json_object.h"
#include "mamsign/base/atomic_file.h"
#include "mamsign/base/io.h"
#include "mamsign/base/text.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace mamsign::intake {
namespace {

constexpr std::size_t kMaxPending = 256u << 20;

std::optional<std::string> unhex(std::string_view s) {
  if (s.size() % 2 != 0) return std::nullopt;
  auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  std::string out;
  for (std::size_t i = 0; i < s.size(); i += 2) {
    const int hi = digit(s[i]), lo = digit(s[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
  }
  return out;
}

bool exists_no_follow(const std::filesystem::path& p) {
  struct stat st {};
  return ::lstat(p.c_str(), &st) == 0;
}

// rename(2) that never replaces: a clash is an error, not a lost file.
int rename_no_replace(const std::filesystem::path& from, const std::filesystem::path& to) {
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) return 0;
  if (errno != EINVAL && errno != ENOSYS) return errno;
  // A file system without RENAME_NOREPLACE: a hard link fails on an existing name, then the old name goes.
  if (::link(from.c_str(), to.c_str()) != 0) return errno;
  return ::unlink(from.c_str()) == 0 ? 0 : errno;
}

Error move_error(const std::filesystem::path& from, const std::filesystem::path& to, int err) {
  return make_error(Reason::IoError, "cannot move " + from.string() + " to " + to.string() + ": " + errno_text(err));
}

// Moves one file unless it is already where it goes; the error, or none.
std::optional<Error> move_one(const std::filesystem::path& from, const std::filesystem::path& to) {
  if (from.empty() || exists_no_follow(to)) return std::nullopt;
  if (!exists_no_follow(from)) return std::nullopt;  // gone from the inbox: nothing to move (said by the caller)
  if (const int err = rename_no_replace(from, to); err != 0) return move_error(from, to, err);
  return std::nullopt;
}

// A fresh item: its result, its data file, its signature; on a failure, put back as it was. A name
// already taken in the destination is a clash (`clash` set, no error): nothing is replaced.
std::optional<Error> move_fresh(const MoveItem& item, bool& clash) {
  clash = false;
  WriteOptions o;
  o.mode = 0644;
  const Status written = item.result_temp.empty() ? write_file_atomically(item.result_to, item.result_text, o)
                                                  : publish_temporary(item.result_temp, item.result_to, o);
  if (!written) {
    clash = written.error().reason == Reason::SignatureExists;
    return clash ? std::nullopt : std::optional<Error>(written.error());
  }
  if (!item.data_from.empty()) {
    if (const int err = rename_no_replace(item.data_from, item.data_to); err != 0) {
      (void)::unlink(item.result_to.c_str());
      clash = err == EEXIST;
      return clash ? std::nullopt : std::optional<Error>(move_error(item.data_from, item.data_to, err));
    }
  }
  if (!item.sig_from.empty()) {
    if (const int err = rename_no_replace(item.sig_from, item.sig_to); err != 0) {
      if (!item.data_from.empty()) (void)::rename(item.data_to.c_str(), item.data_from.c_str());
      (void)::unlink(item.result_to.c_str());
      clash = err == EEXIST;
      return clash ? std::nullopt : std::optional<Error>(move_error(item.sig_from, item.sig_to, err));
    }
  }
  return std::nullopt;
}

// The item's files are where they go: its data file (or, for a signature alone, its signature).
bool in_place(const MoveItem& item) {
  return item.data_from.empty() ? exists_no_follow(item.sig_to) : exists_no_follow(item.data_to);
}

}  // namespace

std::filesystem::path pending_path(const std::filesystem::path& ledger) {
  return std::filesystem::path(ledger.string() + ".pending");
}

// The journal is JSON Lines: a header, then three lines an item: what moves where (paths as hex: a name
// from the inbox need not be UTF-8), its ledger entry and its result, each as the one line it will be.
Status write_pending(const std::filesystem::path& ledger, const Pending& pending) {
  std::string out =
      "{\"schema\":\"mamsign/intake-pending/1\",\"ledger_bytes\":" + std::to_string(pending.ledger_bytes) +
      ",\"items\":" + std::to_string(pending.items.size()) + "}\n";
  for (const auto& it : pending.items) {
    const nlohmann::json meta{{"id", it.id},
                              {"data_from", to_hex(it.data_from.string())},
                              {"data_to", to_hex(it.data_to.string())},
                              {"sig_from", to_hex(it.sig_from.string())},
                              {"sig_to", to_hex(it.sig_to.string())},
                              {"result_to", to_hex(it.result_to.string())},
                              {"outcome", it.outcome},
                              {"reason", it.reason},
                              {"summary", it.summary}};
    std::string result = it.result_text;
    while (!result.empty() && result.back() == '\n') result.pop_back();
    if (it.entry.find('\n') != std::string::npos || result.find('\n') != std::string::npos) {
      return make_error(Reason::InvalidInput, "a ledger entry or result is not one line");
    }
    out += meta.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n" + it.entry + "\n" + result + "\n";
  }
  WriteOptions o;
  o.replace = Replace::Yes;
  o.sync = true;
  o.mode = 0640;
  return write_file_atomically(pending_path(ledger), out, o);
}

Result<std::optional<Pending>> read_pending(const std::filesystem::path& ledger) {
  const auto path = pending_path(ledger);
  if (!exists_no_follow(path)) return std::optional<Pending>{};
  auto text = read_small_file(path, kMaxPending, "the intake's pending journal");
  if (!text) return std::move(text).error();
  const auto bad = [&] {
    return make_error(Reason::InvalidInput,
                      path.string() + ": not an intake pending journal (mamsign/intake-pending/1)");
  };
  std::vector<std::string_view> lines;
  for (std::size_t at = 0; at < text->size();) {
    const std::size_t nl = text->find('\n', at);
    if (nl == std::string::npos) return bad();  // written whole (atomically) or not at all
    lines.emplace_back(std::string_view(*text).substr(at, nl - at));
    at = nl + 1;
  }
  if (lines.empty() || (lines.size() - 1) % 3 != 0) return bad();
  auto header = detail::parse_json_object(lines[0], path.string());
  if (!header) return std::move(header).error();
  try {
    Pending p;
    if (header->value("schema", "") != "mamsign/intake-pending/1") return bad();
    p.ledger_bytes = header->at("ledger_bytes").get<std::uint64_t>();
    for (std::size_t i = 1; i < lines.size(); i += 3) {
      auto meta = detail::parse_json_object(lines[i], path.string());
      if (!meta) return std::move(meta).error();
      const auto& j = *meta;
      MoveItem it;
      it.id = j.at("id").get<std::string>();
      auto path_of = [&](const char* key, std::filesystem::path& out) {
        auto raw = unhex(j.at(key).get<std::string>());
        if (raw) out = *raw;
        return raw.has_value();
      };
      if (it.id.empty() || !path_of("data_from", it.data_from) || !path_of("data_to", it.data_to) ||
          !path_of("sig_from", it.sig_from) || !path_of("sig_to", it.sig_to) || !path_of("result_to", it.result_to)) {
        return bad();
      }
      it.outcome = j.at("outcome").get<std::string>();
      it.reason = j.at("reason").get<std::string>();
      it.summary = j.at("summary").get<std::string>();
      it.entry = std::string(lines[i + 1]);
      it.result_text = std::string(lines[i + 2]) + "\n";
      p.items.push_back(std::move(it));
    }
    if (p.items.size() != header->at("items").get<std::size_t>()) return bad();
    return std::optional<Pending>(std::move(p));
  } catch (const nlohmann::json::exception&) {
    return bad();
  }
}

Applied apply_pending(const Pending& pending, Ledger& ledger, const std::filesystem::path& sync_dir, bool fresh) {
  Applied a;
  a.moved.assign(pending.items.size(), 0);
  // 1. Each item: its result, then its files. A failure stops here; the item is put back as it was.
  std::vector<char> placed(pending.items.size(), 0);
  for (std::size_t i = 0; i < pending.items.size(); ++i) {
    const auto& item = pending.items[i];
    if (fresh) {
      // Just written down: nothing of it has moved yet, so no probing of what is where.
      bool clash = false;
      if (auto e = move_fresh(item, clash)) {
        a.status = *e;
        // The results written ahead for the items not reached are written again when they are.
        for (std::size_t j = i; j < pending.items.size(); ++j) {
          if (!pending.items[j].result_temp.empty()) (void)::unlink(pending.items[j].result_temp.c_str());
        }
        break;
      }
      if (clash) {
        a.clashes.push_back(i);
      } else {
        placed[i] = 1;
      }
      continue;
    }
    const bool was_in_place = in_place(item);
    const bool data_here = !item.data_from.empty() && exists_no_follow(item.data_from);
    const bool sig_here = !item.sig_from.empty() && exists_no_follow(item.sig_from);
    if (!was_in_place && !data_here && !(item.data_from.empty() && sig_here)) {
      // Neither in the inbox nor where it goes: taken away while we were down. Nothing moved, nothing recorded.
      (void)::unlink(item.result_to.c_str());
      a.notes.push_back("not moved, no longer in the inbox: " +
                        (item.data_from.empty() ? item.sig_from : item.data_from).string());
      continue;
    }
    if (!exists_no_follow(item.result_to)) {
      WriteOptions o;
      o.mode = 0644;
      if (auto s = write_file_atomically(item.result_to, item.result_text, o); !s) {
        a.status = s;
        break;
      }
    }
    if (auto e = move_one(item.data_from, item.data_to)) {
      (void)::unlink(item.result_to.c_str());
      a.status = *e;
      break;
    }
    if (auto e = move_one(item.sig_from, item.sig_to)) {
      // The data file goes back: an item is moved whole or not at all.
      if (!was_in_place && !item.data_from.empty()) (void)::rename(item.data_to.c_str(), item.data_from.c_str());
      (void)::unlink(item.result_to.c_str());
      a.status = *e;
      break;
    }
  }
  // 2. The renames and results are on disk before any entry names them.
  const int dir = ::open(sync_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  const bool synced = dir >= 0 && ::syncfs(dir) == 0;
  const int sync_err = errno;
  if (dir >= 0) ::close(dir);
  if (!synced) {
    a.status = make_error(Reason::IoError, "cannot sync " + sync_dir.string() + ": " + errno_text(sync_err));
    return a;
  }
  // 3. Entries for the items in place and not yet in the ledger (a restart after the append finds them there).
  // A fresh group is not in the ledger yet (it was written down at the ledger's end); one found at a
  // restart may be, in part.
  auto recorded =
      fresh ? Result<std::vector<std::string>>(std::vector<std::string>{}) : ledger.lines_after(pending.ledger_bytes);
  if (!recorded) {
    a.status = recorded.error();
    return a;
  }
  std::vector<std::string> entries;
  std::vector<std::size_t> appended;
  for (std::size_t i = 0; i < pending.items.size(); ++i) {
    const auto& item = pending.items[i];
    if (fresh ? placed[i] == 0 : !in_place(item)) continue;
    const std::string key = "\"id\":\"" + item.id + "\"";
    bool found = false;
    for (const auto& line : *recorded) found = found || line.find(key) != std::string::npos;
    if (found) {
      a.moved[i] = 1;
      continue;
    }
    entries.push_back(item.entry);
    appended.push_back(i);
  }
  if (auto s = ledger.append(entries); !s) {
    if (a.status) a.status = s;
    return a;
  }
  for (auto i : appended) a.moved[i] = 1;
  a.recorded = entries.size();
  // 4. Done: a pending file that survives a crash from here is found complete and removed at the restart.
  if (a.status) (void)::unlink(pending_path(ledger.path()).c_str());
  return a;
}

}  // namespace mamsign::intake
