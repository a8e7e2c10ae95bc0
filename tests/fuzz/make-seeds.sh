#!/usr/bin/env bash
# Regenerates the seed corpora in tests/fuzz/corpus/ from the example PKI and test data (after a build:
# it signs with build/apps/mam-sign). The seeds are small valid inputs; libFuzzer mutates from there.
set -euo pipefail
cd "$(dirname "$0")/../.."
c=tests/fuzz/corpus
rm -rf "$c" && mkdir -p "$c"/{cms_signature,raw_signature,certificate,crl,trust_bundle,pem,csv,certid,identifiers,profile,registration,csr,ledger}
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
# The intake's files: a chained ledger of three entries with its head (after "\0\0"), the same with a torn
# last line, and a pending journal of one item (tests/fuzz/ledger.cpp).
python3 - "$c/ledger" <<'PY'
import hashlib, json, sys
out = sys.argv[1]
dump = lambda o: json.dumps(o, separators=(",", ":"))
lines, prev = [], "0" * 64
for seq in (1, 2, 3):
    name = "MA_cgI_70-B3-D5-1F-30-00-A0-08_20260101_%06d.csv" % seq
    line = dump({"schema": "mamsign/ledger-entry/1", "seq": seq, "prev": prev, "id": "%032x" % seq,
                 "time": "2026-12-07T07:15:05.655Z", "outcome": "accepted", "reason": None,
                 "data": {"from": "inbox/" + name, "to": "accepted/" + name},
                 "signature": {"from": "inbox/" + name + ".p7s", "to": "accepted/" + name + ".p7s"},
                 "result_file": "accepted/" + name + ".result.json", "renamed": False,
                 "result": {"schema": "mamsign/verify-result/3", "result": "OK"}}).encode()
    lines.append(line)
    prev = hashlib.sha256(line).hexdigest()
ledger = b"\n".join(lines) + b"\n"
head = dump({"schema": "mamsign/ledger-head/1", "entries": 3, "bytes": len(ledger), "last_sha256": prev}).encode()
open(out + "/three-entries", "wb").write(ledger + b"\0\0" + head)
open(out + "/torn-last-line", "wb").write(ledger + lines[0][:200] + b"\0\0" + head)
hexed = lambda s: s.encode().hex()
meta = {"id": "%032x" % 4, "data_from": hexed("inbox/MA.csv"), "data_to": hexed("accepted/MA.csv"),
        "sig_from": hexed("inbox/MA.csv.p7s"), "sig_to": hexed("accepted/MA.csv.p7s"),
        "result_to": hexed("accepted/MA.csv.result.json"), "outcome": "accepted", "reason": "", "summary": "OK"}
pending = [dump({"schema": "mamsign/intake-pending/1", "ledger_bytes": len(ledger), "items": 1}), dump(meta),
           dump({"id": meta["id"], "outcome": "accepted", "result": {"result": "OK"}}), dump({"result": "OK"})]
open(out + "/pending-one-item", "w").write("\n".join(pending) + "\n")
PY
echo "seeds written to $c"
