#!/usr/bin/env bash
# Writes keys-example/csr/<name>.csr: the Appendix F CSR each conforming example certificate answers (its
# key, role, EUI-64, usage and CN), made by mam-csr from keys-example/keys/. regenerate-examples.sh runs it
# after making a new PKI; `mam-csr accept --csr csr/X.csr --cert store/X.pem` says ACCEPT for each.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-build/apps}
mkdir -p keys-example/csr
for name in supplier-ds supplier-ka supplier2-ds supplier2-ka supplier-alt-ds supplier-zero-ds \
            network-operator-ds network-operator-ka network-operator2-ds network-operator2-ka; do
  read -r role eui usage cn < <("$bin/mam-csr" show --json "keys-example/store/$name.pem" | /usr/bin/python3 -c '
import json, sys
j = json.load(sys.stdin)
s = j["smki"]
print(s["role"], s["eui64"], "ds" if j["usage"] == "digitalSignature" else "ka", s["cn"] or "")')
  args=(--role "$role" --eui "$eui" --usage "$usage" --key "keys-example/keys/$name.key" --out "keys-example/csr/$name.csr" --force)
  [ -z "$cn" ] || args+=(--cn "$cn")
  "$bin/mam-csr" new "${args[@]}" 2>/dev/null
  echo "keys-example/csr/$name.csr"
done
