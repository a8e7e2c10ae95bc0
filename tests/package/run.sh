#!/usr/bin/env bash
# Installs the build into a scratch prefix, builds the consumer against it and runs it. The consumer
# gets the build's compiler and linker flags (a sanitized library needs a sanitized program).
set -euo pipefail
build=$1 source=$2 cxx_flags=${3:-} link_flags=${4:-}
work=$(mktemp -d /tmp/mamsign-package.XXXXXX)
trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" >/dev/null
cmake -S "$source/tests/package" -B "$work/build" -DCMAKE_PREFIX_PATH="$work/prefix" \
  -DCMAKE_CXX_FLAGS="$cxx_flags" -DCMAKE_EXE_LINKER_FLAGS="$link_flags" >/dev/null
cmake --build "$work/build" >/dev/null
out=$("$work/build/consumer" MA_cgI_70-B3-D5-1F-30-00-A0-08_20190407_182503.csv "$source/keys-example/store/supplier-ds.pem")
[ "$out" = "70-B3-D5-1F-30-00-A0-08 same" ] || { echo "unexpected output: $out" >&2; exit 1; }
echo "find_package(mamsign) works: $out"
