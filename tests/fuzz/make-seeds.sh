#!/usr/bin/env bash
# Regenerates the seed corpora in tests/fuzz/corpus/ from the example PKI and test data (after a build:
# it signs with build/apps/mam-sign). The seeds are small valid inputs; libFuzzer mutates from there.
set -euo pipefail
cd "$(dirname "$0")/../.."
c=tests/fuzz/corpus
rm -rf "$c" && mkdir -p "$c"/{cms_signature,raw_signature,certificate,crl,trust_bundle,pem,csv,certid,identifiers,profile,registration,csr}
k=keys-example
ma=testdata/MA_cgI_70-B3-D5-1F-30-00-A0-08_20190407_182503.csv
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp "$ma" "$tmp/ma.csv"
build/apps/mam-sign --no-name-check --key $k/keys/supplier-ds.key --cert $k/store/supplier-ds.pem --chain $k/trust/oca.pem \
  --out "$c/cms_signature/mamsign-with-chain.p7s" "$tmp/ma.csv" >/dev/null 2>&1
build/apps/mam-sign --no-name-check --key $k/keys/supplier-ds.key --cert $k/store/supplier-ds.pem --format raw \
  --out "$c/raw_signature/mamsign.sig" "$tmp/ma.csv" >/dev/null 2>&1
openssl cms -sign -binary -md sha256 -outform DER -noattr -nodetach -in "$tmp/ma.csv" -signer $k/store/supplier-ds.pem \
  -inkey $k/keys/supplier-ds.key -out "$c/cms_signature/openssl-noattr-attached.p7s"
openssl cms -sign -binary -md sha256 -outform DER -keyid -in "$tmp/ma.csv" -signer $k/store/supplier-ds.pem \
  -inkey $k/keys/supplier-ds.key -out "$c/cms_signature/openssl-keyid.p7s"
for name in supplier-ds network-operator-ka bad-eui-56-ds bad-rsa-ds; do
  cp $k/store/$name.pem "$c/certificate/$name.pem"
  openssl x509 -in $k/store/$name.pem -outform DER -out "$c/certificate/$name.der"
done
cat $k/trust/root.pem $k/trust/oca.pem > "$c/trust_bundle/root-and-oca.pem"
cp $k/trust/oca.pem "$c/trust_bundle/oca.pem"
cp $k/crl/oca.crl "$c/crl/oca.crl.pem"
openssl crl -in $k/crl/oca.crl -outform DER -out "$c/crl/oca.crl.der"
cp $k/crl/oca.crl "$c/pem/crl.pem"
cat $k/trust/root.pem $k/crl/oca.crl > "$c/pem/cert-and-crl.pem"
head -c 2048 "$ma" > "$c/csv/ma-head.csv"
printf 'a,"b ""quoted"", c"\r\n"multi\nline",x\r\n' > "$c/csv/quoted.csv"
head -n 6 "$ma" > "$c/certid/ma-5-rows.csv"
head -n 12 testdata/certid/MA_*.csv > "$c/certid/planted-errors.csv"
for s in 70-B3-D5-1F-30-00-A0-08 70b3d51f3000a008 MA_cgI_70-B3-D5-1F-30-00-A0-08_20190407_182503.csv \
         1400000000017 1234567 0A1B2C3D4E5F60718293A4B5C6D7E8F9 2026-11-28T12:00:00Z 12h \
         'pkcs11:token=SMKI%20HSM;object=supplier-ds;id=%01;type=private?module-path=/usr/lib/x.so&pin-source=/p' \
         'pkcs11:slot-id=3;serial=7838599ce7239779'; do
  printf '%s' "$s" > "$c/identifiers/$(printf '%s' "$s" | sha256sum | cut -c1-12)"
done
build/apps/mam-verify --print-profile > "$c/profile/default.json"
printf '{"require_crl": true, "crl_grace": "6h", "signature_formats": ["cms"], "$comment": [1, {"a": null}]}' > "$c/profile/revocation.json"
cp testdata/registration.json "$c/registration/example.json"
cp $k/csr/supplier-ds.csr "$c/csr/supplier-ds.pem"
openssl req -in $k/csr/supplier-ka.csr -outform DER -out "$c/csr/supplier-ka.der"
sed -e 's/BEGIN CERTIFICATE REQUEST/BEGIN NEW CERTIFICATE REQUEST/' -e 's/END CERTIFICATE REQUEST/END NEW CERTIFICATE REQUEST/' \
  -e 's/$/\r/' $k/csr/network-operator-ds.csr > "$c/csr/new-label-crlf.pem"
grep -v -- ----- $k/csr/network-operator-ka.csr | tr -d '\n' > "$c/csr/base64-one-line.txt"
echo "seeds written to $c"
