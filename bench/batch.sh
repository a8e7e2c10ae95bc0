#!/usr/bin/env bash
# Batch and large-file speed of mam-sign / mam-verify against stock OpenSSL, side by side in one run.
#  1. batch-sign 10,000 migration files of 2 KiB (--jobs = cores) vs a loop of `openssl cms -sign` per file
#     (a sample of a few hundred, scaled per file).                                          target >= 50x
#  2. batch-verify the same files vs a loop of `openssl cms -verify`.                      target >= 35x
#  3. sign and verify one 1 GiB file vs `openssl dgst -sha256` of it.      target <= 1.15x wall time, <= 32 MiB RSS
#  4. (peak RSS only) sign and verify one 4 GiB file.                                     target <  32 MiB
# Each time is the best of 3 runs. Usage: bench/batch.sh [build-dir] [work-dir]; BENCH_SKIP_4GIB=1 skips 4.
# Prints a table and writes work-dir/batch.json.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
build=${1:-build}
work=${2:-$(mktemp -d /tmp/mamsign-bench-batch.XXXXXX)}
bin="$repo/$build/apps"
keys="$repo/keys-example"
[ -x "$bin/mam-sign" ] || { echo "build first: scripts/build.sh" >&2; exit 2; }
mkdir -p "$work"
files=10000
sample=${BENCH_SAMPLE:-300}
cores=$(nproc)
cat "$keys/trust/root.pem" "$keys/trust/oca.pem" > "$work/root-and-oca.pem"

now() { date +%s.%N; }
elapsed() { awk "BEGIN{printf \"%.4f\", $2 - $1}"; }
min() { awk "BEGIN{print ($1 < $2) ? $1 : $2}"; }

# Every folder is made before anything is timed, and nothing is deleted between runs: ext4 skips
# recently freed inodes, so signing right after deleting thousands of files measures the file system.
echo "batch: $files files of 2 KiB, $cores cores; openssl loops over $sample of them" >&2
for run in 1 2 3; do
  "$bin/mam-testpki" files --out "$work/batch$run" --count "$files" --size 2048 >/dev/null
  mkdir -p "$work/loop$run"
  n=0
  for f in "$work/batch$run"/*.csv; do
    cp "$f" "$work/loop$run/"
    n=$((n + 1)); [ $n -lt "$sample" ] || break
  done
done
sync

best_sign=999999; best_verify=999999; best_osign=999999; best_overify=999999
for run in 1 2 3; do
  t0=$(now); "$bin/mam-sign" --jobs "$cores" --key "$keys/keys/supplier-ds.key" --cert "$keys/store/supplier-ds.pem" "$work/batch$run" >/dev/null 2>&1; t1=$(now)
  best_sign=$(min "$best_sign" "$(elapsed "$t0" "$t1")")
  t0=$(now); "$bin/mam-verify" --jobs "$cores" --trust "$keys/trust" "$work/batch$run" >/dev/null 2>&1; t1=$(now)
  best_verify=$(min "$best_verify" "$(elapsed "$t0" "$t1")")
  t0=$(now)
  for f in "$work/loop$run"/*.csv; do
    openssl cms -sign -binary -md sha256 -outform DER -in "$f" -signer "$keys/store/supplier-ds.pem" \
      -inkey "$keys/keys/supplier-ds.key" -out "$f.p7s"
  done
  t1=$(now)
  best_osign=$(min "$best_osign" "$(elapsed "$t0" "$t1")")
  t0=$(now)
  for f in "$work/loop$run"/*.csv; do
    openssl cms -verify -binary -inform DER -in "$f.p7s" -content "$f" -CAfile "$work/root-and-oca.pem" -purpose any \
      -out /dev/null 2>/dev/null
  done
  t1=$(now)
  best_overify=$(min "$best_overify" "$(elapsed "$t0" "$t1")")
done

per_file() { awk "BEGIN{printf \"%.1f\", $1 / $2 * 1e6}"; }   # microseconds per file
sign_us=$(per_file "$best_sign" "$files"); verify_us=$(per_file "$best_verify" "$files")
osign_us=$(per_file "$best_osign" "$sample"); overify_us=$(per_file "$best_overify" "$sample")
sign_ratio=$(awk "BEGIN{printf \"%.1f\", $osign_us / $sign_us}")
verify_ratio=$(awk "BEGIN{printf \"%.1f\", $overify_us / $verify_us}")

big="$work/MA_cgI_70-B3-D5-1F-30-00-A0-08_20260101_000000.csv"
echo "large file: 1 GiB" >&2
[ -f "$big" ] && [ "$(stat -c %s "$big")" -eq 1073741824 ] || head -c 1073741824 /dev/zero > "$big"
cat "$big" > /dev/null
timed() {  # best wall time and its peak RSS (KiB) over 3 runs
  local best=999999 rss=0
  for _ in 1 2 3; do
    /usr/bin/time -f "%e %M" -o "$work/time" "$@" >/dev/null 2>&1
    read -r t m < "$work/time"
    if awk "BEGIN{exit !($t < $best)}"; then best=$t; rss=$m; fi
  done
  echo "$best $rss"
}
read -r dgst_s dgst_rss < <(timed openssl dgst -sha256 "$big")
read -r bsign_s bsign_rss < <(timed "$bin/mam-sign" --force --key "$keys/keys/supplier-ds.key" --cert "$keys/store/supplier-ds.pem" "$big")
read -r bverify_s bverify_rss < <(timed "$bin/mam-verify" --trust "$keys/trust" "$big")
bsign_ratio=$(awk "BEGIN{printf \"%.2f\", $bsign_s / $dgst_s}")
bverify_ratio=$(awk "BEGIN{printf \"%.2f\", $bverify_s / $dgst_s}")
rm -f "$big.p7s"

huge_sign_rss=null; huge_verify_rss=null
if [ "${BENCH_SKIP_4GIB:-0}" != 1 ]; then
  echo "large file: 4 GiB (peak memory)" >&2
  huge="$work/MA_cgI_70-B3-D5-1F-30-00-A0-08_20260101_000001.csv"
  head -c 4294967296 /dev/zero > "$huge"
  /usr/bin/time -f "%M" -o "$work/time" "$bin/mam-sign" -q --force --key "$keys/keys/supplier-ds.key" --cert "$keys/store/supplier-ds.pem" "$huge" >/dev/null
  huge_sign_rss=$(cat "$work/time")
  /usr/bin/time -f "%M" -o "$work/time" "$bin/mam-verify" -q --trust "$keys/trust" "$huge" >/dev/null
  huge_verify_rss=$(cat "$work/time")
  rm -f "$huge" "$huge.p7s"
fi

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
ossl=$(openssl version)
mib() { [ "$1" = null ] && echo "-" || awk "BEGIN{printf \"%.1f\", $1 / 1024}"; }
printf '\nmamsign batch benchmark, %s, %s cores (%s), %s\n' "$(date -u +%Y-%m-%d)" "$cores" "$cpu" "$ossl"
printf '%-34s %14s %14s %9s %9s\n' measure mamsign "openssl loop" ratio target
printf '%-34s %11s us %11s us %8sx %9s\n' "sign, per file (2 KiB)" "$sign_us" "$osign_us" "$sign_ratio" ">= 50x"
printf '%-34s %11s us %11s us %8sx %9s\n' "verify, per file (2 KiB)" "$verify_us" "$overify_us" "$verify_ratio" ">= 35x"
printf '%-34s %12s s %12s s %8sx %9s\n' "sign 1 GiB vs openssl dgst" "$bsign_s" "$dgst_s" "$bsign_ratio" "<= 1.15x"
printf '%-34s %12s s %12s s %8sx %9s\n' "verify 1 GiB vs openssl dgst" "$bverify_s" "$dgst_s" "$bverify_ratio" "<= 1.15x"
printf '%-34s %10s MiB %10s MiB %9s %9s\n' "peak RSS sign / verify 1 GiB" "$(mib "$bsign_rss")/$(mib "$bverify_rss")" "$(mib "$dgst_rss")" "" "<= 32 MiB"
printf '%-34s %10s MiB %14s %9s %9s\n' "peak RSS sign / verify 4 GiB" "$(mib "$huge_sign_rss")/$(mib "$huge_verify_rss")" "" "" "< 32 MiB"
printf 'files/s: sign %.0f, verify %.0f (openssl loop: sign %.0f, verify %.0f)\n' \
  "$(awk "BEGIN{print $files / $best_sign}")" "$(awk "BEGIN{print $files / $best_verify}")" \
  "$(awk "BEGIN{print $sample / $best_osign}")" "$(awk "BEGIN{print $sample / $best_overify}")"

cat > "$work/batch.json" <<JSON
{"benchmark": "batch", "date": "$(date -u +%Y-%m-%dT%H:%M:%SZ)", "cpu": "$cpu", "cores": $cores, "openssl": "$ossl",
 "files": $files, "file_bytes": 2048, "openssl_sample": $sample,
 "sign": {"us_per_file": $sign_us, "openssl_us_per_file": $osign_us, "ratio": $sign_ratio, "target_ratio": 50},
 "verify": {"us_per_file": $verify_us, "openssl_us_per_file": $overify_us, "ratio": $verify_ratio, "target_ratio": 35},
 "large_1gib": {"openssl_dgst_s": $dgst_s, "sign_s": $bsign_s, "verify_s": $bverify_s, "sign_ratio": $bsign_ratio,
                "verify_ratio": $bverify_ratio, "target_ratio": 1.15, "sign_peak_rss_kib": $bsign_rss,
                "verify_peak_rss_kib": $bverify_rss, "target_rss_kib": 32768},
 "large_4gib": {"sign_peak_rss_kib": $huge_sign_rss, "verify_peak_rss_kib": $huge_verify_rss}}
JSON
echo "JSON: $work/batch.json"
