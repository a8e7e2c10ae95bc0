#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds with warnings as errors, runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh -DMAMSIGN_WERROR=ON -DMAMSIGN_BUILD_TESTS=ON
ctest --test-dir build --output-on-failure -j"$(nproc)"
