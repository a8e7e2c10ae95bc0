#!/usr/bin/env bash
# Style and static checks, as CI runs them: clang-format (.clang-format) must leave every C++ file as it
# is, and clang-tidy (.clang-tidy) must find nothing in lib/ and apps/. Needs a configured build/ (for
# compile_commands.json); scripts/test.sh makes one.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files 'lib/*.h' 'lib/*.cpp' 'apps/*.h' 'apps/*.cpp' 'tests/*.h' 'tests/*.cpp' 'bench/*.cpp')
if ! clang-format-14 --dry-run --Werror "${files[@]}"; then
  echo "lint: clang-format would change the files above (run: clang-format-14 -i FILE)" >&2
  exit 1
fi
echo "lint: clang-format: ${#files[@]} files as .clang-format lays them out"
cmake -S . -B build -DCMAKE_EXPORT_COMPILE_COMMANDS=ON >/dev/null
# The build's flags are g++'s; clang-tidy is told to pass over the ones clang does not know.
if ! run-clang-tidy-14 -quiet -p build -j "$(nproc)" -extra-arg=-Wno-unknown-warning-option \
    "$(pwd)/(lib|apps)/.*\.cpp$" >build/clang-tidy.log 2>&1; then
  grep -E 'error:' build/clang-tidy.log | sort -u >&2 || true
  echo "lint: clang-tidy found the above (whole log: build/clang-tidy.log)" >&2
  exit 1
fi
echo "lint: clang-tidy: nothing found in lib/ and apps/"
