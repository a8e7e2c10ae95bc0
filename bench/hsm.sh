#!/usr/bin/env bash
# Batch signing with the key on a PKCS#11 token (SoftHSM2) beside the same key in a file, in one run:
# 2,000 migration files of 2 KiB, at one job and at one job per core; best of 3 each. The token key signs
# through C_Sign on one session per thread; the file key through OpenSSL. Reports files/s for both and
# the token's share (token files/s / file files/s).
# Usage: bench/hsm.sh [build-dir] [work-dir]. Prints a table and writes work-dir/hsm.json.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
build=${1:-build}
work=${2:-$(mktemp -d /tmp/mamsign-bench-hsm.XXXXXX)}
bin="$repo/$build/apps"
keys="$repo/keys-example"
module=/usr/lib/softhsm/libsofthsm2.so
[ -x "$bin/mam-sign" ] || { echo "build first: scripts/build.sh" >&2; exit 2; }
[ -f "$module" ] || { echo "SoftHSM2 is not installed: bash scripts/install-deps.sh" >&2; exit 2; }
mkdir -p "$work"
files=2000
cores=$(nproc)
SOFTHSM2_CONF=$(bash scripts/softhsm-example-token.sh "$work/hsm" bench 1234 --no-cert)
export SOFTHSM2_CONF

now() { date +%s.%N; }
elapsed() { awk "BEGIN{printf \"%.4f\", $2 - $1}"; }
min() { awk "BEGIN{print ($1 < $2) ? $1 : $2}"; }

# One folder per timed run, made before anything is timed (see batch.sh on freed inodes).
echo "hsm: $files files of 2 KiB; file key vs SoftHSM2 token key; 1 and $cores jobs" >&2
for kind in file token; do
  for jobs in 1 "$cores"; do
    for run in 1 2 3; do
      "$bin/mam-testpki" files --out "$work/$kind-$jobs-$run" --count "$files" --size 2048 >/dev/null
    done
  done
done
sync

declare -A best
for jobs in 1 "$cores"; do
  best[file-$jobs]=999999; best[token-$jobs]=999999
  for run in 1 2 3; do
    t0=$(now)
    "$bin/mam-sign" --jobs "$jobs" --key "$keys/keys/supplier-ds.key" --cert "$keys/store/supplier-ds.pem" \
      "$work/file-$jobs-$run" >/dev/null 2>&1
    t1=$(now)
    best[file-$jobs]=$(min "${best[file-$jobs]}" "$(elapsed "$t0" "$t1")")
    t0=$(now)
    "$bin/mam-sign" --jobs "$jobs" --pkcs11-module "$module" --pin-file "$work/hsm/pin" \
      --key 'pkcs11:token=bench;object=supplier-ds' --cert "$keys/store/supplier-ds.pem" "$work/token-$jobs-$run" >/dev/null 2>&1
    t1=$(now)
    best[token-$jobs]=$(min "${best[token-$jobs]}" "$(elapsed "$t0" "$t1")")
  done
done
# Every signature the token made verifies.
"$bin/mam-verify" -q --jobs "$cores" --trust "$keys/trust" "$work/token-$cores-1" >/dev/null

rate() { awk "BEGIN{printf \"%.0f\", $files / $1}"; }
printf '%-34s %12s %12s %8s\n' "sign $files files of 2 KiB" "file key" "token key" "token/file" >&2
json="{\"files\": $files, \"module\": \"$module\""
for jobs in 1 "$cores"; do
  f=$(rate "${best[file-$jobs]}"); t=$(rate "${best[token-$jobs]}")
  share=$(awk "BEGIN{printf \"%.2f\", $t / $f}")
  printf '%-34s %9s f/s %9s f/s %8s\n' "  --jobs $jobs" "$f" "$t" "$share" >&2
  json="$json, \"jobs_$jobs\": {\"file_key_files_per_s\": $f, \"token_key_files_per_s\": $t, \"token_over_file\": $share}"
done
echo "$json}" > "$work/hsm.json"
echo "written: $work/hsm.json" >&2
