#!/usr/bin/env bash
# Real output of every app, in every result shape, validated against its JSON Schema in docs/schema/;
# and a changed object rejected, so that the check can fail.
set -euo pipefail
build=$1 source=$2
bin="$build/apps"
keys="$source/keys-example"
schemas="$source/docs/schema"
work=$(mktemp -d /tmp/mamsign-schema.XXXXXX)
trap 'rm -rf "$work"' EXIT
# Debian's python3 and python3-jsonschema (install-deps.sh), whatever else is on PATH.
check() { /usr/bin/python3 "$source/tests/schema/validate.py" "$schemas" "$@"; }
ma="$work/MA_cgI_70-B3-D5-1F-30-00-A0-08_20190407_182503.csv"
cp "$source/testdata/MA_cgI_70-B3-D5-1F-30-00-A0-08_20190407_182503.csv" "$ma"
cp "$ma" "$work/MA_cgI_70-B3-D5-1F-30-00-A0-08_20190407_182504.csv"
sign=("$bin/mam-sign" --json --key "$keys/keys/supplier-ds.key" --cert "$keys/store/supplier-ds.pem")
{
  "${sign[@]}" "$ma" 2>/dev/null || true                                         # signed
  "${sign[@]}" --skip-signed "$ma" 2>/dev/null || true                           # skipped
  "${sign[@]}" "$ma" 2>/dev/null || true                                         # refused: SIGNATURE_EXISTS
  "${sign[@]}" "$work/missing.csv" 2>/dev/null || true                           # error
  "${sign[@]}" --format raw "$work/MA_cgI_70-B3-D5-1F-30-00-A0-08_20190407_182504.csv" 2>/dev/null || true
} > "$work/sign.jsonl"
check sign-result < "$work/sign.jsonl"
printf 'x' >> "$work/MA_cgI_70-B3-D5-1F-30-00-A0-08_20190407_182504.csv"
verify=("$bin/mam-verify" --json --trust "$keys/trust" --crl "$keys/crl")
{
  "${verify[@]}" "$ma" || true                                                    # valid
  "${verify[@]}" --cert "$keys/store/supplier-ds.pem" "$work/MA_cgI_70-B3-D5-1F-30-00-A0-08_20190407_182504.csv" || true
  "${verify[@]}" "$work/missing.csv" 2>/dev/null || true                         # error
  "${verify[@]}" "$work/unsigned.csv" 2>/dev/null || true
} > "$work/verify.jsonl"
check verify-result < "$work/verify.jsonl"
# Every --json run ends with its summary; a run that fails before its first result writes run-error.
grep -c '"schema":"mamsign/summary/1"' "$work/verify.jsonl" | grep -qx 4 || { echo "a verify run lacks its summary" >&2; exit 1; }
mkdir "$work/empty"
{
  "${verify[@]}" --require-files "$work/empty" 2>/dev/null || true            # run-error NO_FILES, then summary
  "${verify[@]}" "$work/empty" 2>/dev/null || true                            # summary, files 0
  "${verify[@]}" --no-such-flag "$ma" 2>/dev/null || true                     # run-error USAGE
  "${verify[@]}" "$ma.p7s" 2>/dev/null || true                                # run-error: a signature named alone
  "${sign[@]}" --key "$keys/keys/bad-expired-ds.key" --cert "$keys/store/bad-expired-ds.pem" "$ma" 2>/dev/null || true
  "$bin/mam-certid" check --json --store /no/such 2>/dev/null || true
  "$bin/mam-csr" check --json 2>/dev/null || true
} > "$work/run.jsonl"
check summary < "$work/run.jsonl"
[ "$(grep -c '"schema":"mamsign/run-error/1"' "$work/run.jsonl")" = 6 ] || { echo "expected 6 run-error objects" >&2; cat "$work/run.jsonl" >&2; exit 1; }
# Timestamped: a real TSA on 127.0.0.1 (scripts/tsa-server.py), sign-result and verify-result with their
# timestamp objects, and mam-sign --timestamp-only's own shape.
python3 "$source/scripts/tsa-server.py" "$keys/tsa" --port-file "$work/tsa.port" 2>/dev/null &
tsa_pid=$!
trap 'kill $tsa_pid 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 200); do [ -s "$work/tsa.port" ] && break; sleep 0.05; done
tsa="http://127.0.0.1:$(cat "$work/tsa.port")/good"
mkdir "$work/ts"
cp "$ma" "$work/ts/"
ts_ma="$work/ts/$(basename "$ma")"
"${sign[@]}" --tsa "$tsa" --tsa-trust "$keys/tsa/tsa-ca.pem" "$ts_ma" 2>/dev/null > "$work/ts-sign.jsonl"
grep -q '"timestamp":{"gen_time"' "$work/ts-sign.jsonl" || { echo "no timestamp in the sign result" >&2; exit 1; }
check sign-result < "$work/ts-sign.jsonl"
"${verify[@]}" --tsa-trust "$keys/tsa/tsa-ca.pem" "$ts_ma" > "$work/ts-verify.jsonl"
grep -q '"trusted":true' "$work/ts-verify.jsonl" || { echo "the timestamp was not trusted" >&2; exit 1; }
check verify-result < "$work/ts-verify.jsonl"
cp "$work/ts/$(basename "$ma").p7s" "$work/ts/copy.p7s"
"${sign[@]}" --force "$ts_ma" 2>/dev/null >/dev/null   # a signature without a timestamp
{
  "$bin/mam-sign" --timestamp-only --json --tsa "$tsa" "$ts_ma.p7s" 2>/dev/null || true    # timestamped
  "$bin/mam-sign" --timestamp-only --json --tsa "$tsa" "$work/ts/copy.p7s" 2>/dev/null || true   # refused: has one
} > "$work/ts-only.jsonl"
check timestamp-result < "$work/ts-only.jsonl"
certid=("$bin/mam-certid" check --json --store "$keys/store" --trust "$keys/trust" --crl "$keys/crl"
        --registration "$source/testdata/registration.json" --at 2026-06-01T00:00:00Z)
printf '"unterminated\r\n' > "$work/broken.csv"
{
  "${certid[@]}" "$ma" "$source"/testdata/certid/*.csv "$work/broken.csv" "$work/missing.csv" 2>/dev/null || true
} > "$work/certid.jsonl"
check certid-file < "$work/certid.jsonl"
"$bin/mam-certid" show --json --store "$keys/store" --trust "$keys/trust" --crl "$keys/crl" 1234 FFFF 2>/dev/null > "$work/show.jsonl" || true
check certid-show < "$work/show.jsonl"
# --list-keys on a fresh SoftHSM2 token holding the example supplier key and certificate.
softhsm=/usr/lib/softhsm/libsofthsm2.so
SOFTHSM2_CONF=$(bash "$source/scripts/softhsm-example-token.sh" "$work/hsm" schema 1234)
export SOFTHSM2_CONF
cp "$work/hsm/pin" "$work/pin"
openssl x509 -in "$keys/store/supplier-ds.pem" -outform DER -out "$work/ds.der"
pkcs11-tool --module "$softhsm" --token-label schema --login --pin 1234 --write-object "$work/ds.der" --type cert \
  --id 02 --label lone-cert >/dev/null 2>&1
"$bin/mam-sign" --pkcs11-module "$softhsm" --pin-file "$work/pin" --list-keys --json > "$work/keys.json"
"$bin/mam-sign" --pkcs11-module "$softhsm" --list-keys --json >> "$work/keys.json"   # not logged in
check key-list < "$work/keys.json"
# mam-csr: a conforming CSR, a broken one, not a CSR, a missing file; accept and reject; show both kinds.
csr=("$bin/mam-csr")
"${csr[@]}" new --role 02 --eui 70-B3-D5-1F-30-00-A0-08 --usage ds --key "$keys/keys/supplier-ds.key" --out "$work/s.csr" 2>/dev/null
openssl req -new -key "$keys/keys/supplier-ds.key" -subj /OU=2 -outform PEM -out "$work/bad.csr"
printf 'junk' > "$work/junk.csr"
{
  "${csr[@]}" check --json "$work/s.csr" "$work/bad.csr" "$work/junk.csr" "$work/missing.csr" 2>/dev/null || true
} > "$work/csr-check.jsonl"
check csr-check < "$work/csr-check.jsonl"
"$bin/mam-testpki" issue --csr "$work/s.csr" --ca-cert "$keys/trust/oca.pem" --ca-key "$keys/ca/oca.key" --out "$work/s.pem" >/dev/null
"$bin/mam-testpki" issue --csr "$work/s.csr" --ca-cert "$keys/trust/oca.pem" --ca-key "$keys/ca/oca.key" --out "$work/wrong.pem" \
  --usage ka >/dev/null
{
  "${csr[@]}" accept --json --csr "$work/s.csr" --cert "$work/s.pem" --trust "$keys/trust" --crl "$keys/crl" || true
  "${csr[@]}" accept --json --csr "$work/s.csr" --cert "$work/wrong.pem" || true
} > "$work/csr-accept.jsonl"
check csr-accept < "$work/csr-accept.jsonl"
"${csr[@]}" show --json "$work/s.csr" "$work/bad.csr" "$work/s.pem" > "$work/csr-show.jsonl"
check csr-show < "$work/csr-show.jsonl"
# The schemas are strict: an object with a key they do not know, or a result they do not know, fails.
head -1 "$work/verify.jsonl" | sed 's/^{/{"surprise": 1, /' | check verify-result --expect-invalid
grep '"schema":"mamsign/summary/1"' "$work/run.jsonl" | head -1 | sed 's/"files":0/"files":-1/' | check summary --expect-invalid
grep '"schema":"mamsign/run-error/1"' "$work/run.jsonl" | head -1 | sed 's/"exit_code":[0-9]/"exit_code":0/' | check summary --expect-invalid
head -1 "$work/sign.jsonl" | sed 's/"result":"signed"/"result":"maybe"/' | check sign-result --expect-invalid
head -1 "$work/keys.json" | sed 's/"key_type":"EC P-256"/"key_type":256/' | check key-list --expect-invalid
sed -n 2p "$work/csr-accept.jsonl" | sed 's/"result":"reject"/"result":"accept"/' | check csr-accept --expect-invalid
echo "every JSON output matches its schema"
