#!/usr/bin/env bash
# Installs what mamsign needs to build, test and benchmark on Debian 12, from Debian's own packages
# (with --fuzz, also what scripts/fuzz.sh needs).
# Nothing is downloaded at build time; this is the one place packages come from.
set -euo pipefail

packages=(
  build-essential cmake pkg-config   # the toolchain
  libssl-dev openssl                 # OpenSSL 3: the library and the stock CLI the interop tests run
  libcli11-dev nlohmann-json3-dev    # flags and JSON
  libp11-kit-dev                     # the PKCS#11 C header (modules are loaded at run time, nothing linked)
  softhsm2 opensc                    # a real PKCS#11 token for the HSM tests; pkcs11-tool to fill it
  libcurl4-openssl-dev               # libcurl: the HTTP(S) client that asks RFC 3161 TSAs for timestamps
  libgtest-dev                       # the test suite
  faketime                           # the tests of expiry at the time a timestamp names: a process's clock moved
  time curl                          # /usr/bin/time: peak memory in the benchmarks; curl: the TSA bench's serial loop
  groff-base                         # tests/package/deb.sh reads each man page as man(1) would
  lintian systemd                    # tests/package/deb.sh: the .deb to Debian's standard; systemd-analyze on the intake's unit
  python3 python3-jsonschema         # the tests that validate real JSON output against docs/schema/
  python3-cryptography               # bench/perfile.sh: the pyca loop the signer is measured against
  clang-format-14 clang-tidy-14      # scripts/lint.sh: the layout (.clang-format) and static checks (.clang-tidy)
)

# scripts/fuzz.sh: clang and its libFuzzer runtime (`install-deps.sh --fuzz`).
if [ "${1:-}" = "--fuzz" ]; then
  packages+=(clang libclang-rt-14-dev)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all packages present"
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: run as root or install sudo" >&2; exit 1; }
  sudo="sudo"
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
