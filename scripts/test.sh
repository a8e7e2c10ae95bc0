#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds with warnings as errors, runs every test.
#   bash scripts/test.sh              Release build in build/
#   bash scripts/test.sh --sanitize   AddressSanitizer + UndefinedBehaviorSanitizer build in build-sanitize/
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
# The example trust anchors, CRLs and profiles decide trust, and the apps refuse such files when others
# may write them: a checkout made under umask 002 would leave them group-writable.
chmod -R go-w keys-example testdata
if [ "${1:-}" = "--sanitize" ]; then
  flags="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined"
  cmake -S . -B build-sanitize -DCMAKE_BUILD_TYPE=Debug -DMAMSIGN_WERROR=ON -DMAMSIGN_BUILD_TESTS=ON \
    -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" >/dev/null
  cmake --build build-sanitize -j"$(nproc)"
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir build-sanitize --output-on-failure -j"$(nproc)"
  exit
fi
bash scripts/build.sh -DMAMSIGN_WERROR=ON -DMAMSIGN_BUILD_TESTS=ON
ctest --test-dir build --output-on-failure -j"$(nproc)"
