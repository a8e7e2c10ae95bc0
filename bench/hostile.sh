#!/usr/bin/env bash
# What hostile or simply large input costs, each against its reference in the same run:
#  1. verifying a changed 1 GiB file (the CRLF/LF/BOM/final-line-end diagnosis runs) vs verifying it
#     unchanged.                                                                     target about <= 2x
#     Beside it, the floor under that ratio from stock openssl on the same file (one SHA-256 pass; three
#     side by side): what any verifier pays for the diagnoses this file can need on these cores.
#  2. mam-certid --json over MA files of 100,000 and 1,000,000 rows that are all findings: peak RSS must
#     not grow with rows or findings.                                                   target: flat
#  3. registration data of ~60 MB: peak RSS of mam-certid loading it, as a multiple of the file size.
# Each time is the best of 3 runs. Usage: bench/hostile.sh [build-dir] [work-dir]. Writes work-dir/hostile.json.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
build=${1:-build}
work=${2:-$(mktemp -d /tmp/mamsign-bench-hostile.XXXXXX)}
bin="$repo/$build/apps"
keys="$repo/keys-example"
[ -x "$bin/mam-verify" ] || { echo "build first: scripts/build.sh" >&2; exit 2; }
mkdir -p "$work"

best_time() {  # best wall seconds of 3 runs of "$@" (exit codes ignored)
  local best=999999
  for _ in 1 2 3; do
    /usr/bin/time -f '%e' -o "$work/time.txt" "$@" >/dev/null 2>&1 || true
    best=$(awk -v t="$(tail -1 "$work/time.txt")" -v b="$best" 'BEGIN{print (t < b) ? t : b}')
  done
  echo "$best"
}
peak_kib() {
  /usr/bin/time -f '%M' -o "$work/rss.txt" "$@" >/dev/null 2>&1 || true
  tail -1 "$work/rss.txt"
}

# 1. Diagnosis of a changed file.
big="$work/MA_cgI_70-B3-D5-1F-30-00-A0-08_20190407_182503.csv"
python3 - "$big" <<'PY'
import sys
line = b'1400000000017,00-12-4B-00-00-00-00-01,ESME,EA,70-B3-D5-1F-30-00-A0-08,70-B3-D5-1F-30-00-D4-01,549D413C7897CDA4F5609E80700DC675,747B0CDFFD612FB43CD6E9319E0376B4\r\n'
with open(sys.argv[1], 'wb') as f:
    f.write(line * ((1 << 30) // len(line)))
PY
"$bin/mam-sign" --quiet --key "$keys/keys/supplier-ds.key" --cert "$keys/store/supplier-ds.pem" "$big" >/dev/null 2>&1
ok=$(best_time "$bin/mam-verify" --trust "$keys/trust" "$big")
printf 'x' | dd of="$big" bs=1 seek=500000000 conv=notrunc status=none
changed=$(best_time "$bin/mam-verify" --trust "$keys/trust" "$big")
# The floor under that ratio, from stock openssl on the same file: one SHA-256 pass, and the three
# variants this file can be (CRLF->LF, a BOM put back, both) hashed side by side on the cores there are.
# A diagnosis that starts once the digest has not matched costs at least (one + three side by side) / one;
# one that hashed all four from the start on every file would cost (two side by side, twice) / one.
sha_pass() { openssl dgst -sha256 "$big" >/dev/null; }
side_by_side() { local pids=(); for _ in $(seq "$1"); do sha_pass & pids+=($!); done; wait "${pids[@]}"; }
export -f sha_pass side_by_side
export big
one=$(best_time bash -c sha_pass)
three=$(best_time bash -c 'side_by_side 3')
two=$(best_time bash -c 'side_by_side 2')
rm -f "$big" "$big.p7s"

# 2. certid memory against rows and findings.
rows_file() {
  python3 - "$1" "$2" <<'PY'
import sys
row = '1400000000017,00-12-4B-00-00-00-00-01,ESME,EA,70-B3-D5-1F-30-00-A0-08,70-B3-D5-1F-30-00-D4-01,XYZ,QQQ\r\n'
with open(sys.argv[1], 'w') as f:
    f.write('MPxN,DeviceID,DeviceType,GroupID,SupplierUserID,NetworkOperatorUserID,NODSCertificateID,NOKACertificateID\r\n')
    f.write(row * int(sys.argv[2]))
PY
}
rows_file "$work/small.csv" 100000
rows_file "$work/large.csv" 1000000
certid=("$bin/mam-certid" check --store "$keys/store" --trust "$keys/trust" --json)
rss_small=$(peak_kib "${certid[@]}" "$work/small.csv")
rss_large=$(peak_kib "${certid[@]}" "$work/large.csv")
rm -f "$work/small.csv" "$work/large.csv"

# 3. Registration data of ~60 MB.
python3 - "$work/registration.json" <<'PY'
import sys
w = [3, 5, 7, 13, 17, 19, 23, 29, 31, 37, 41, 43]
def mpan(i):
    f = '14%010d' % i
    return f + str(sum(int(c) * x for c, x in zip(f, w)) % 11 % 10)
with open(sys.argv[1], 'w') as o:
    o.write('{"mpxn": {' + ','.join('"%s": ["70-B3-D5-1F-30-00-D4-01"]' % mpan(i) for i in range(1400000)) + '}}')
PY
reg_bytes=$(stat -c %s "$work/registration.json")
printf 'MPxN,NetworkOperatorUserID,NODSCertificateID,NOKACertificateID\r\n' > "$work/tiny.csv"
rss_reg=$(peak_kib "$bin/mam-certid" check --store "$keys/store" --trust "$keys/trust" --registration "$work/registration.json" "$work/tiny.csv")
rm -f "$work/registration.json"

ratio=$(awk "BEGIN{printf \"%.2f\", $changed / $ok}")
floor_after=$(awk "BEGIN{printf \"%.2f\", ($one + $three) / $one}")
floor_ahead=$(awk "BEGIN{printf \"%.2f\", 2 * $two / $one}")
reg_ratio=$(awk "BEGIN{printf \"%.1f\", $rss_reg * 1024 / $reg_bytes}")
printf '%-52s %10s %10s %8s\n' measure value reference ratio >&2
printf '%-52s %9ss %9ss %7sx\n' "verify a changed 1 GiB file vs unchanged" "$changed" "$ok" "$ratio" >&2
printf '%-52s %9ss %9ss %7sx\n' "  floor: openssl, 1 pass then 3 side by side" "$(awk "BEGIN{print $one + $three}")" "$one" "$floor_after" >&2
printf '%-52s %9ss %9ss %7sx\n' "  floor: openssl, 4 passes from the start" "$(awk "BEGIN{print 2 * $two}")" "$one" "$floor_ahead" >&2
printf '%-52s %7s KiB %6s KiB\n' "mam-certid --json peak RSS, 1,000,000 vs 100,000 bad rows" "$rss_large" "$rss_small" >&2
printf '%-52s %7s KiB %6s MB %6sx\n' "registration data: peak RSS vs file size" "$rss_reg" "$((reg_bytes / 1000000))" "$reg_ratio" >&2
cat > "$work/hostile.json" <<JSON
{"changed_file_verify_s": $changed, "unchanged_file_verify_s": $ok, "changed_vs_unchanged": $ratio,
 "openssl_sha256_pass_s": $one, "openssl_three_passes_side_by_side_s": $three, "openssl_two_passes_side_by_side_s": $two,
 "floor_diagnosis_after_mismatch": $floor_after, "floor_all_variants_from_start": $floor_ahead,
 "certid_json_peak_rss_kib_100k_rows": $rss_small, "certid_json_peak_rss_kib_1m_rows": $rss_large,
 "registration_bytes": $reg_bytes, "registration_peak_rss_kib": $rss_reg, "registration_rss_vs_size": $reg_ratio}
JSON
