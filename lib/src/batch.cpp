#include "mamsign/batch.h"

#include "mamsign/base/atomic_file.h"
#include "mamsign/base/io.h"
#include "mamsign/signature/signature_format.h"

#include <sched.h>

#include <fstream>
#include <vector>
#include <iterator>

namespace mamsign {
namespace {

// Why a path is never a data file, or nullopt.
std::optional<std::string> not_data(const std::filesystem::path& p) {
  const std::string name = p.filename().string();
  if (is_temporary_name(name)) return "a temporary file of an interrupted run";
  if (is_signature_name(name)) return "a signature, not a data file";
  return std::nullopt;
}

Status add_folder(const std::filesystem::path& folder, bool recursive, Inputs& inputs) {
  std::vector<std::string> hidden;
  // Signatures beside the data files are left out before any path is made (half a verified folder);
  // temporaries are hidden names, which a listing never gives: what comes back is all data files.
  auto files = list_files(folder, recursive, "input", recursive ? nullptr : &hidden, is_signature_name);
  if (!files) return std::move(files).error();
  if (!recursive) inputs.hidden_in_folder[(folder / "x").parent_path()] = std::move(hidden);
  inputs.files.insert(inputs.files.end(), std::make_move_iterator(files->begin()),
                      std::make_move_iterator(files->end()));
  return Status::ok();
}

}  // namespace

unsigned available_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) return std::max(1, CPU_COUNT(&set));
  return std::max(1u, std::thread::hardware_concurrency());
}

Result<Inputs> collect_inputs(const std::vector<std::string>& args, const std::vector<std::string>& lists,
                              std::istream* standard_input, const InputOptions& options) {
  Inputs inputs;
  auto take = [&](const std::string& arg) -> Status {
    // The kernel reads a path up to its first NUL: "F\0" would be F, and its signature F itself.
    if (auto st = check_path_bytes(arg, "input"); !st) return st;
    const std::filesystem::path p(arg);
    std::error_code ec;
    if (std::filesystem::is_directory(p, ec)) return add_folder(p, options.recursive, inputs);
    if (auto why = not_data(p)) {
      std::string note = arg + ": skipped, " + *why;
      if (is_signature_name(p.filename().string()))
        note += " (give the data file " + p.parent_path().string() + (p.has_parent_path() ? "/" : "") +
                p.stem().string() + ")";
      inputs.skipped.push_back(std::move(note));
      return Status::ok();
    }
    inputs.files.push_back(p);
    return Status::ok();
  };
  for (const auto& arg : args) {
    if (auto st = take(arg); !st) return std::move(st).error();
  }
  for (const auto& list : lists) {
    std::ifstream file;
    std::istream* in = nullptr;
    if (list == "-") {
      if (standard_input == nullptr) return make_error(Reason::InvalidInput, "no standard input to read a list from");
      in = standard_input;
    } else {
      file.open(list, std::ios::binary);
      if (!file) return make_error(Reason::IoError, "cannot read list " + list);
      in = &file;
    }
    const char separator = options.null_separated ? '\0' : '\n';
    std::size_t number = 0;
    // Bounded reads: a list that is one endless line costs the bound, not the memory it claims.
    std::vector<char> buffer(kMaxListEntryBytes + 2);
    for (;;) {
      in->getline(buffer.data(), static_cast<std::streamsize>(buffer.size()), separator);
      const auto got = static_cast<std::size_t>(in->gcount());
      if (in->bad()) break;
      auto too_long = [&] {
        return make_error(Reason::InvalidInput, "list " + list + ", entry " + std::to_string(number + 1) +
                                                    ": longer than any path (at most " +
                                                    std::to_string(kMaxListEntryBytes) + " bytes)");
      };
      if (in->fail() && !in->eof()) return too_long();  // the buffer filled before a separator came
      if (got == 0) break;                              // the end
      // The separator was taken (and counted) unless the list ended without one.
      std::string line(buffer.data(), in->eof() ? got : got - 1);
      if (!options.null_separated && !line.empty() && line.back() == '\r') line.pop_back();
      if (line.size() > kMaxListEntryBytes) return too_long();
      ++number;
      if (line.empty()) {
        if (in->eof()) break;
        continue;
      }
      if (line.find('\0') != std::string::npos) {
        return make_error(Reason::InvalidInput, "list " + list + ", line " + std::to_string(number) +
                                                    ": the path holds a NUL byte, which no file name can; a list "
                                                    "separated by NULs (find -print0) needs --null");
      }
      if (auto st = take(line); !st) return std::move(st).error();
      if (in->eof()) break;
    }
    if (in->bad()) return make_error(Reason::IoError, "cannot read list " + list);
  }
  return inputs;
}

}  // namespace mamsign
