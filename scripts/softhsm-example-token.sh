#!/usr/bin/env bash
# A SoftHSM2 token in a folder of its own, holding the example supplier key (and, unless --no-cert, its
# certificate) under id 01 and label supplier-ds: what the tests, the README test and bench/hsm.sh sign
# with. EXAMPLE ONLY: the PIN is given on this command line because the token is a throwaway.
# Usage: source it, or run it: scripts/softhsm-example-token.sh DIR LABEL PIN [--no-cert]
# Writes DIR/softhsm2.conf and DIR/tokens/, DIR/pin (the PIN's file); prints the SOFTHSM2_CONF to export.
set -euo pipefail
dir=$1 label=$2 pin=$3 with_cert=yes
[ "${4:-}" != --no-cert ] || with_cert=no
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
keys="$repo/keys-example"
module=/usr/lib/softhsm/libsofthsm2.so
[ -f "$module" ] || { echo "SoftHSM2 is not installed: bash scripts/install-deps.sh" >&2; exit 2; }
mkdir -p "$dir/tokens"
printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' "$dir/tokens" > "$dir/softhsm2.conf"
export SOFTHSM2_CONF="$dir/softhsm2.conf"
(umask 077; printf '%s\n' "$pin" > "$dir/pin")
softhsm2-util --init-token --free --label "$label" --so-pin 87654321 --pin "$pin" >/dev/null
openssl pkcs8 -topk8 -nocrypt -in "$keys/keys/supplier-ds.key" -out "$dir/ds.pk8"
softhsm2-util --import "$dir/ds.pk8" --token "$label" --label supplier-ds --id 01 --pin "$pin" >/dev/null
rm -f "$dir/ds.pk8"
if [ $with_cert = yes ]; then
  pkcs11-tool --module "$module" --token-label "$label" --login --pin "$pin" \
    --write-object "$keys/store/supplier-ds.pem" --type cert --id 01 --label supplier-ds >/dev/null 2>&1
fi
echo "$SOFTHSM2_CONF"
