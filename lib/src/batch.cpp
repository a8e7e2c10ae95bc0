#include "mamsign/batch.h"

#include "mamsign/base/atomic_file.h"
#include "mamsign/base/io.h"
#include "mamsign/signature/signature_format.h"

#include <sched.h>

#include <fstream>
#include <set>
#include <vector>
#include <iterator>

namespace mamsign {
namespace {

// The data file a signature signs: its path without the extension (X.csv.p7s -> X.csv).
std::filesystem::path data_of(const std::filesystem::path& signature) {
  return std::filesystem::path(signature).replace_extension();
}

// Whether `data`, the data file of a signature, is worth a DATA_MISSING result: not itself a signature
// (a signature of a signature is nothing of ours) and not a folder.
bool lone_data_candidate(const std::filesystem::path& data) {
  std::error_code ec;
  return !is_signature_name(data.filename().string()) && !std::filesystem::is_directory(data, ec);
}

// The data files of the signatures in a sorted listing whose data file it does not hold: sorted, once each.
std::vector<std::filesystem::path> lone_signature_data(const std::vector<std::filesystem::path>& data,
                                                       const std::vector<std::filesystem::path>& signatures) {
  std::vector<std::filesystem::path> lone;
  for (const auto& signature : signatures) {
    auto d = data_of(signature);
    if (!std::binary_search(data.begin(), data.end(), d) && lone_data_candidate(d)) lone.push_back(std::move(d));
  }
  std::sort(lone.begin(), lone.end());
  lone.erase(std::unique(lone.begin(), lone.end()), lone.end());
  return lone;
}

// One folder, not descended, for verifying: its data files and, where a signature's data file is not
// there, that data file, sorted by name. Names are compared as names; a path is made once per input.
Status add_flat_folder_with_lone_signatures(const std::filesystem::path& folder, Inputs& inputs) {
  std::vector<std::string> hidden, data, signatures;
  const int err = for_each_entry(folder, [&](std::string_view name, unsigned char type, int dir_fd) {
    if (name.front() == '.') {
      hidden.emplace_back(name);
    } else if (is_regular_entry(dir_fd, name, type)) {
      (is_signature_name(name) ? signatures : data).emplace_back(name);
    }
  });
  if (err != 0)
    return make_error(Reason::IoError, "cannot read input folder " + folder.string() + ": " + errno_text(err));
  std::sort(data.begin(), data.end());
  std::vector<std::string> lone;
  for (const auto& signature : signatures) {
    std::string name = signature.substr(0, signature.rfind('.'));
    if (std::binary_search(data.begin(), data.end(), name) || !lone_data_candidate(folder / name)) continue;
    lone.push_back(std::move(name));
  }
  std::sort(lone.begin(), lone.end());
  lone.erase(std::unique(lone.begin(), lone.end()), lone.end());
  std::vector<std::string> names;
  names.reserve(data.size() + lone.size());
  std::merge(data.begin(), data.end(), lone.begin(), lone.end(), std::back_inserter(names));
  inputs.hidden_in_folder[(folder / "x").parent_path()] = std::move(hidden);
  inputs.files.reserve(inputs.files.size() + names.size());
  for (const auto& name : names) inputs.files.push_back(folder / name);
  return Status::ok();
}

Status add_folder(const std::filesystem::path& folder, const InputOptions& options, Inputs& inputs) {
  if (options.data_of_lone_signatures && !options.recursive)
    return add_flat_folder_with_lone_signatures(folder, inputs);
  std::vector<std::string> hidden;
  // Temporaries are hidden names, which a listing never gives. Signing leaves the signatures out before
  // any path is made; verifying (here: a folder descended) looks at them for data files not there.
  auto files = list_files(folder, options.recursive, "input", options.recursive ? nullptr : &hidden,
                          options.data_of_lone_signatures ? nullptr : is_signature_name);
  if (!files) return std::move(files).error();
  if (!options.recursive) inputs.hidden_in_folder[(folder / "x").parent_path()] = std::move(hidden);
  if (options.data_of_lone_signatures) {
    std::vector<std::filesystem::path> data, signatures;
    for (auto& f : *files) (is_signature_name(f.filename().string()) ? signatures : data).push_back(std::move(f));
    const auto lone = lone_signature_data(data, signatures);
    files->clear();
    std::merge(std::make_move_iterator(data.begin()), std::make_move_iterator(data.end()), lone.begin(), lone.end(),
               std::back_inserter(*files));
  }
  inputs.files.insert(inputs.files.end(), std::make_move_iterator(files->begin()),
                      std::make_move_iterator(files->end()));
  return Status::ok();
}

// Named signatures, each with the number of inputs taken before it: left out when their data file was
// named too, else said (named_signatures) or, their data file absent, turned into that data file.
void resolve_named_signatures(const std::vector<std::pair<std::size_t, std::filesystem::path>>& named,
                              const InputOptions& options, Inputs& inputs) {
  if (named.empty()) return;
  std::set<std::filesystem::path> taken(inputs.files.begin(), inputs.files.end());
  std::vector<std::pair<std::size_t, std::filesystem::path>> insert;  // (position, data file)
  for (const auto& [position, signature] : named) {
    auto data = data_of(signature);
    if (taken.count(data) != 0) continue;  // the pair a glob gives, or a data file already given
    std::error_code ec;
    const bool exists = std::filesystem::exists(std::filesystem::symlink_status(data, ec));
    if (exists || !options.data_of_lone_signatures || !lone_data_candidate(data)) {
      inputs.named_signatures.push_back({signature, data, exists});
      continue;
    }
    taken.insert(data);
    insert.emplace_back(position, std::move(data));
  }
  if (insert.empty()) return;
  std::vector<std::filesystem::path> files;
  files.reserve(inputs.files.size() + insert.size());
  auto next = insert.begin();
  for (std::size_t i = 0; i <= inputs.files.size(); ++i) {
    for (; next != insert.end() && next->first == i; ++next) files.push_back(std::move(next->second));
    if (i < inputs.files.size()) files.push_back(std::move(inputs.files[i]));
  }
  inputs.files = std::move(files);
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
  std::vector<std::pair<std::size_t, std::filesystem::path>> named_signatures;
  auto take = [&](const std::string& arg) -> Status {
    // The kernel reads a path up to its first NUL: "F\0" would be F, and its signature F itself.
    if (auto st = check_path_bytes(arg, "input"); !st) return st;
    std::filesystem::path p(arg);
    std::error_code ec;
    if (std::filesystem::is_directory(p, ec)) return add_folder(p, options, inputs);
    const std::string name = p.filename().string();
    if (is_temporary_name(name)) {
      inputs.skipped.push_back(arg + ": skipped, a temporary file of an interrupted run");
    } else if (is_signature_name(name)) {
      named_signatures.emplace_back(inputs.files.size(), std::move(p));
    } else {
      inputs.files.push_back(std::move(p));
    }
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
  resolve_named_signatures(named_signatures, options, inputs);
  return inputs;
}

}  // namespace mamsign
