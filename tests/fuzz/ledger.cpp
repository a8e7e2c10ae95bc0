// The intake's own files as a crash, a full disk or a hand may have left them: the ledger and its head
// (read by --check-ledger and by a watcher's start, which may repair a torn last line) and the pending
// journal (read at a start). Input: the ledger, then optionally "\0\0" and its head; the whole input is
// also read as a pending journal. Never a crash, a hang or an unbounded allocation.
#include "fuzz_support.h"

#include "intake/mover.h"
#include "mamsign/intake/ledger.h"

#include <stdlib.h>
#include <unistd.h>

#include <fstream>

using namespace mamsign;

namespace {

char g_dir[] = "/tmp/mamsign-fuzz-ledger.XXXXXX";  // one folder per process, removed at exit

const std::filesystem::path& work_dir() {
  static const std::filesystem::path dir = [] {
    if (::mkdtemp(g_dir) == nullptr) std::abort();
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(g_dir, ec);
    });
    return std::filesystem::path(g_dir);
  }();
  return dir;
}

void put(const std::filesystem::path& p, std::string_view text) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  if (!out) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto input = fuzz::bytes(data, size);
  const auto ledger = work_dir() / "ledger.jsonl";
  std::error_code ec;
  for (const auto& p : {ledger, ledger_head_path(ledger), intake::pending_path(ledger)}) {
    std::filesystem::remove(p, ec);
  }
  const auto split = input.find(std::string_view("\0\0", 2));
  put(ledger, input.substr(0, split));
  if (split != std::string_view::npos) put(ledger_head_path(ledger), input.substr(split + 2));
  (void)check_ledger(ledger);
  std::vector<std::string> notes;
  if (auto opened = Ledger::open(ledger, notes)) {
    (void)(*opened)->lines_after(0);
  }
  put(intake::pending_path(ledger), input);
  (void)intake::read_pending(ledger);
  return 0;
}
