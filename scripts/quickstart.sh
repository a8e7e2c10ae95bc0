#!/usr/bin/env bash
# From a fresh Debian 12 machine to a signed and verified migration file: installs the Debian packages,
# builds, then signs and verifies the example MA and MAPASSWORD files with the bundled example keys
# (EXAMPLE ONLY keys), and shows what a verifier says when a file was changed after signing.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh -DMAMSIGN_BUILD_TESTS=OFF  # the apps only: the test suite is scripts/test.sh's

bin=build/apps
keys=keys-example
work=build/quickstart
rm -rf "$work" && mkdir -p "$work"
cp testdata/MA_cgI_70-B3-D5-1F-30-00-A0-08_20190407_182503.csv \
   testdata/MAPASSWORD_cgI_70-B3-D5-1F-30-00-A0-08_20190407_182503.csv "$work/"

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }

echo
echo "== The supplier proves the network-operator certificate IDs in its MA file (TMAD 4.47/4.48) =="
step "$bin/mam-certid" check --store "$keys/store" --trust "$keys/trust" --crl "$keys/crl" \
  --registration testdata/registration.json "$work"/MA_*.csv

# The example Time-Stamping Authority: stock `openssl ts -reply` on 127.0.0.1 (EXAMPLE ONLY).
python3 scripts/tsa-server.py "$keys/tsa" --port-file "$work/tsa.port" 2>/dev/null &
tsa_pid=$!
trap 'kill $tsa_pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -s "$work/tsa.port" ] && break; sleep 0.05; done
tsa="http://127.0.0.1:$(cat "$work/tsa.port")/good"

echo
echo "== The supplier signs its migration files (EXAMPLE ONLY key, encrypted; its passphrase file beside it),"
echo "   each signature timestamped by the example TSA (RFC 3161) =="
step "$bin/mam-sign" --key "$keys/keys/supplier-ds.encrypted.key" --pass-file "$keys/keys/supplier-ds.pass" \
  --cert "$keys/store/supplier-ds.pem" --chain "$keys/trust/oca.pem" --tsa "$tsa" --tsa-trust "$keys/tsa/tsa-ca.pem" \
  --trust "$keys/trust" --crl "$keys/crl" "$work"/MA_*.csv "$work"/MAPASSWORD_*.csv

echo
echo "== The DCC verifies them against the SMKI root and OCA, with the OCA's CRL =="
step "$bin/mam-verify" --trust "$keys/trust" --crl "$keys/crl" "$work"/MA_*.csv "$work"/MAPASSWORD_*.csv

echo
echo "== Twenty years on, the supplier's certificate long expired: valid when signed, by the timestamp's time =="
step faketime -f +7300d "$bin/mam-verify" --trust "$keys/trust" --tsa-trust "$keys/tsa/tsa-ca.pem" --at timestamp \
  "$work"/MA_*.csv

echo
echo "== A copy whose line endings were changed after signing is caught, and the change named =="
cp "$work"/MA_*.csv.p7s "$work/changed.p7s"
sed 's/\r$//' "$work"/MA_*_182503.csv > "$work/changed.csv"
set +e
step "$bin/mam-verify" --trust "$keys/trust" --no-name-check --sig "$work/changed.p7s" "$work/changed.csv"
code=$?
set -e
echo "(exit code $code: 1 means a file is invalid)"

echo
echo "Done. The signatures are in $work/. Next: README.md, and each app's --help."
