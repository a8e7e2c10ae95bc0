#!/usr/bin/env bash
# Configures and builds mamsign (Release) into build/. Extra arguments go to CMake's configure step.
set -euo pipefail
cd "$(dirname "$0")/.."
# The example trust anchors, CRLs and profiles decide trust, and the apps refuse such files when others
# may write them: a checkout made under umask 002 would leave them group-writable.
chmod -R go-w keys-example testdata
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
cmake --build build -j"$(nproc)"
