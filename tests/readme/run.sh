#!/usr/bin/env bash
# Runs the README's quick starts as written (supplier, DCC, certificate-ID check), from the repository
# root, with the build's apps and a scratch folder in place of /tmp/outbox: the README's commands must
# stay true.
set -euo pipefail
build=$1 source=$2
work=$(mktemp -d /tmp/mamsign-readme.XXXXXX)
trap 'rm -rf "$work"' EXIT
# The indented command lines of a README section, continuation lines joined.
section() {
  awk -v title="$1" '
    /^## / { inside = ($0 == "## " title) ; next }
    inside && /^    / { line = substr($0, 5); if (cmd != "") cmd = cmd " " line; else cmd = line;
                        if (cmd ~ /\\$/) { sub(/\\$/, "", cmd); next } print cmd; cmd = "" }
  ' "$source/README.md"
}
# The HSM section's token (SoftHSM2, the example supplier key and certificate under id 01), its PIN file
# and a PKCS#12 export of the same key, as docs/hsm.md makes them.
SOFTHSM2_CONF=$(bash "$source/scripts/softhsm-example-token.sh" "$work/hsm" SMKI 1234)
export SOFTHSM2_CONF
cp "$work/hsm/pin" "$work/pin"
printf 'p12-example\n' > "$work/p12.pass"
keys="$source/keys-example"
openssl pkcs12 -export -inkey "$keys/keys/supplier-ds.key" -in "$keys/store/supplier-ds.pem" \
  -certfile "$keys/trust/oca.pem" -passout file:"$work/p12.pass" -out "$work/supplier.p12"
cd "$source"
# The Timestamps section runs mam-verify under faketime, whose preloaded library comes before ASan's
# runtime in a sanitizer build: allowed (a no-op in a release build).
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
for title in "Quick start for a supplier" "Keys in an HSM, on a token, or in a PKCS#12 bundle" \
             "Getting the certificate: \`mam-csr\`" "Quick start for the DCC side" "Timestamps" \
             "The certificate-ID check"; do
  commands=$(section "$title")
  [ -n "$commands" ] || { echo "README has no commands under '$title'" >&2; exit 1; }
  while IFS= read -r cmd; do
    # The example TSA runs for the rest of the script, on a port of its own choosing (8318 may be taken).
    if [[ "$cmd" == *scripts/tsa-server.py* ]]; then
      python3 scripts/tsa-server.py keys-example/tsa --port-file "$work/tsa.port" 2>/dev/null &
      tsa_pid=$!
      trap 'kill $tsa_pid 2>/dev/null || true; rm -rf "$work"' EXIT
      for _ in $(seq 200); do [ -s "$work/tsa.port" ] && break; sleep 0.05; done
      tsa_port=$(cat "$work/tsa.port")
      continue
    fi
    [ -z "${tsa_port:-}" ] || cmd=${cmd//127.0.0.1:8318/127.0.0.1:$tsa_port}
    cmd=${cmd//\/tmp\/outbox/$work/outbox}
    cmd=${cmd//build\/apps\//$build/apps/}
    cmd=${cmd//--pin-file pin/--pin-file $work/pin}
    cmd=${cmd//supplier.p12/$work/supplier.p12}
    cmd=${cmd//p12.pass/$work/p12.pass}
    echo "\$ $cmd"
    code=0
    bash -c "$cmd" || code=$?
    # The planted-errors example shows findings on purpose: exit 1 there, 0 everywhere else.
    expected=0
    [[ "$cmd" != *testdata/certid/* ]] || expected=1
    [ "$code" -eq "$expected" ] || { echo "README command exited $code, not $expected: $cmd" >&2; exit 1; }
  done <<<"$commands"
done
# The docs promise what the tools do (issue 21, point 10).
fail() { echo "README: $*" >&2; exit 1; }
# The quick start script signs with the key the README teaches.
readme_key=$(section "Quick start for a supplier" | grep -oE -- '--key [^ ]+' | head -1)
grep -qF -- "/${readme_key##*/}" "$source/scripts/quickstart.sh" ||
  fail "scripts/quickstart.sh does not sign with the README's key (${readme_key#--key })"
# Dormant-meter notifications are claimed only with the profile prefix that makes them signable.
for text in "$(cat "$source/README.md")" "$("$build/apps/mam-sign" --help)"; do
  if grep -qi 'dormant' <<<"$text"; then
    grep -q 'file_name_prefixes' <<<"$text" || fail "dormant-meter notifications are claimed without saying how to add their prefix"
  fi
done
# The speed section says which file system each figure was measured on.
speed=$(awk '/^## Speed/{s=1; next} /^## /{s=0} s' "$source/README.md")
grep -q 'tmpfs' <<<"$speed" && grep -q 'ext4' <<<"$speed" ||
  fail "the Speed section does not say which figures are on tmpfs and which on the ordinary disk (ext4)"
echo "the README's quick starts run as written"
