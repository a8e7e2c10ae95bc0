#!/usr/bin/env bash
# Regenerates keys-example/ (a new example PKI: new keys, new serials) and testdata/, which names those
# serials. Commit both together. EXAMPLE ONLY keys: never use them in production.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build --target mam-testpki -j"$(nproc)" >/dev/null
build/apps/mam-testpki example --out keys-example --testdata testdata
cmake --build build --target mam-csr -j"$(nproc)" >/dev/null
bash scripts/make-example-csrs.sh build/apps >/dev/null
