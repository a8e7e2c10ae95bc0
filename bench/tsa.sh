#!/usr/bin/env bash
# Signing with RFC 3161 timestamps against the local example TSA (scripts/tsa-server.py: one
# `openssl ts -reply` process per request), all in one run:
#   sign --tsa, --jobs 1 and 2     2,000 files of 2 KiB, every signature timestamped
#   sign without --tsa, 1 and 2    the same files: what the timestamps cost
#   the TSA alone                  the same number of requests sent by `curl` in a serial loop
#   peak memory                    the --tsa batch of 2,000 files against one of 500: flat in the batch size
# Target: the --tsa batch at least 1.5x the serial curl loop (requests overlapped, connections kept
# alive: the TSA, not mamsign, is the bound). Best of BENCH_RUNS (default 3) rounds.
# Usage: bench/tsa.sh [build-dir] [work-dir]. Prints a table and writes work-dir/tsa.json.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
build=${1:-build}
out=${2:-$(mktemp -d /tmp/mamsign-bench-tsa.XXXXXX)}
bin="$repo/$build/apps"
keys="$repo/keys-example"
[ -x "$bin/mam-sign" ] || { echo "build first: scripts/build.sh" >&2; exit 2; }
command -v curl >/dev/null || { echo "curl is missing: bash scripts/install-deps.sh" >&2; exit 2; }
mkdir -p "$out"
work=$(mktemp -d /tmp/mamsign-tsa.XXXXXX)
python3 scripts/tsa-server.py "$keys/tsa" --port-file "$work/port" 2>/dev/null &
server=$!
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 200); do [ -s "$work/port" ] && break; sleep 0.05; done
url="http://127.0.0.1:$(cat "$work/port")/good"
files=${BENCH_TSA_FILES:-2000}
runs=${BENCH_RUNS:-3}
key="$keys/keys/supplier-ds.key" cert="$keys/store/supplier-ds.pem"

best() { awk "BEGIN{print ($1 < $2) ? $1 : $2}"; }
declare -A t
for m in tsa_1 tsa_2 plain_1 plain_2 curl; do t[$m]=999999; done
openssl ts -query -digest "$(printf '%064d' 0)" -sha256 -cert -out "$work/q.tsq" 2>/dev/null
for round in $(seq 1 "$runs"); do
  for m in tsa_1 tsa_2 plain_1 plain_2; do
    dir="$work/$m-$round"
    "$bin/mam-testpki" files --out "$dir" --count "$files" --size 2048 >/dev/null
    jobs=${m##*_}
    extra=()
    [[ $m != tsa_* ]] || extra=(--tsa "$url" --tsa-trust "$keys/tsa/tsa-ca.pem" --jobs $((jobs * 8)))
    [[ $m != plain_* ]] || extra=(--jobs "$jobs")
    sync
    t0=$EPOCHREALTIME
    taskset -c "$([ "$jobs" = 1 ] && echo 0 || echo 0,1)" "$bin/mam-sign" --key "$key" --cert "$cert" "${extra[@]}" \
      "$dir" >/dev/null 2>&1
    t1=$EPOCHREALTIME
    t[$m]=$(best "${t[$m]}" "$(awk "BEGIN{print $t1 - $t0}")")
    n=$(find "$dir" -name '*.p7s' | wc -l)
    [ "$n" -eq "$files" ] || { echo "tsa bench: $m signed $n of $files files" >&2; exit 1; }
    rm -rf "$dir"
  done
  t0=$EPOCHREALTIME
  for _ in $(seq 1 "$files"); do
    curl -s -o /dev/null -H 'Content-Type: application/timestamp-query' --data-binary @"$work/q.tsq" "$url"
  done
  t1=$EPOCHREALTIME
  t[curl]=$(best "${t[curl]}" "$(awk "BEGIN{print $t1 - $t0}")")
done
# Peak memory of the timestamped batch, 500 files against 2,000.
rss() {
  local dir="$work/rss-$1"
  "$bin/mam-testpki" files --out "$dir" --count "$1" --size 2048 >/dev/null
  /usr/bin/time -f "%M" -o "$work/rss" "$bin/mam-sign" --key "$key" --cert "$cert" --tsa "$url" --jobs 16 "$dir" \
    >/dev/null 2>&1
  rm -rf "$dir"
  cat "$work/rss"
}
rss_small=$(rss 500)
rss_large=$(rss "$files")

rate() { awk "BEGIN{printf \"%.1f\", $files / ${t[$1]}}"; }
ratio() { awk "BEGIN{printf \"%.2f\", ${t[$2]} / ${t[$1]}}"; }
{
  echo "tsa: $files files of 2 KiB, best of $runs rounds; the TSA is scripts/tsa-server.py on 127.0.0.1"
  printf '%-36s %10s files/s\n' "curl loop to the TSA (serial)" "$(rate curl)"
  printf '%-36s %10s files/s   %sx the curl loop (target >= 1.5)\n' "mam-sign --tsa, 1 core (8 in flight)" "$(rate tsa_1)" "$(ratio tsa_1 curl)"
  printf '%-36s %10s files/s   %sx the curl loop (target >= 1.5)\n' "mam-sign --tsa, 2 cores (16 in flight)" "$(rate tsa_2)" "$(ratio tsa_2 curl)"
  printf '%-36s %10s files/s\n' "mam-sign, no --tsa, --jobs 1" "$(rate plain_1)"
  printf '%-36s %10s files/s\n' "mam-sign, no --tsa, --jobs 2" "$(rate plain_2)"
  printf '%-36s %10s KiB (500 files: %s KiB)\n' "peak RSS, --tsa batch" "$rss_large" "$rss_small"
} >&2
cat > "$out/tsa.json" <<JSON
{"files": $files, "files_per_second": {"curl_loop": $(rate curl), "tsa_1": $(rate tsa_1), "tsa_2": $(rate tsa_2),
 "plain_1": $(rate plain_1), "plain_2": $(rate plain_2)},
 "tsa_1_over_curl": $(ratio tsa_1 curl), "tsa_2_over_curl": $(ratio tsa_2 curl),
 "peak_rss_kib": {"files_500": $rss_small, "files_$files": $rss_large}}
JSON
echo "written: $out/tsa.json" >&2
