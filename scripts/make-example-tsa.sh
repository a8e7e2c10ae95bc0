#!/usr/bin/env bash
# Makes an example RFC 3161 Time-Stamping Authority with stock openssl: a TSA CA, a TSA certificate
# (EC P-256, extendedKeyUsage timeStamping alone, critical, as RFC 3161 section 2.3 requires) and the
# `openssl ts -reply` configuration scripts/tsa-server.py answers with. EXAMPLE ONLY.
#   scripts/make-example-tsa.sh DIR [--variants]
# --variants (the tests) also makes what a TSA must not be: a certificate without the EKU, one that has
# expired, one from a CA nobody trusts, a TSA configuration that rejects SHA-256 requests, and for HTTPS
# a server certificate for 127.0.0.1 and a client certificate (both from the TSA CA).
set -euo pipefail
dir=$1
variants=${2:-}
mkdir -p "$dir"
cd "$dir"
umask 077

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
ca() {  # ca NAME SUBJECT
  key "$1.key"
  openssl req -new -x509 -key "$1.key" -subj "$2" -days 7300 -sha256 -out "$1.pem" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
}
tsa() {  # tsa NAME SUBJECT CA EXTENSIONS [faketime-offset]
  key "$1.key"
  openssl req -new -key "$1.key" -subj "$2" -out "$1.csr" 2>/dev/null
  printf '%s\n' "$4" > "$1.ext"
  local run=()
  [ -z "${5:-}" ] || run=(faketime -f "$5")
  "${run[@]}" openssl x509 -req -in "$1.csr" -CA "$3.pem" -CAkey "$3.key" -CAcreateserial -days "${6:-3650}" \
    -sha256 -extfile "$1.ext" -out "$1.pem" 2>/dev/null
  rm -f "$1.csr" "$1.ext"
}
good_ext='basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=critical,timeStamping
subjectKeyIdentifier=hash'

ca tsa-ca "/CN=mamsign Example TSA CA (EXAMPLE ONLY)"
tsa tsa "/CN=mamsign Example TSA (EXAMPLE ONLY)" tsa-ca "$good_ext"

section() {  # section NAME CERT KEY DIGESTS
  cat <<EOF
[ $1 ]
dir = .
serial = ./$1.serial
crypto_device = builtin
signer_cert = ./$2.pem
certs = ./tsa-ca.pem
signer_key = ./$3.key
signer_digest = sha256
default_policy = 1.3.6.1.4.1.99999.1.1
other_policies = 1.3.6.1.4.1.99999.1.2
digests = $4
accuracy = secs:1
ordering = no
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256

EOF
  [ -f "$1.serial" ] || echo 01 > "$1.serial"
}
{
  echo "[ tsa ]"
  echo "default_tsa = good"
  echo
  section good tsa tsa "sha256, sha384, sha512"
} > tsa.cnf

if [ "$variants" = --variants ]; then
  ca other-ca "/CN=Another TSA CA"
  tsa untrusted "/CN=TSA of another CA" other-ca "$good_ext"
  tsa expired "/CN=Expired TSA" tsa-ca "$good_ext" "-800d" 30
  tsa noeku "/CN=TSA without extendedKeyUsage" tsa-ca 'basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature'
  {
    section untrusted untrusted untrusted "sha256"
    section expired expired expired "sha256"
    section sha1only tsa tsa "sha1"
  } >> tsa.cnf
  tsa https-server "/CN=127.0.0.1" tsa-ca 'basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1'
  tsa https-client "/CN=mamsign example TSA client" tsa-ca 'basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth'
  # The untrusted TSA's chain is its own CA's.
  sed -i '/^\[ untrusted \]/,/^\[/ s|^certs = ./tsa-ca.pem|certs = ./other-ca.pem|' tsa.cnf
fi
chmod go-w . ./*
echo "$dir"
