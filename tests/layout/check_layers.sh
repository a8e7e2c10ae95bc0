#!/usr/bin/env bash
# Checks every #include in lib/ and apps/ against the layering of docs/architecture.md and prints each one
# that runs against it; exits 1 if there is any, 0 if none.
#
#   check_layers.sh SOURCE_DIR         check the tree
#   check_layers.sh --self-test SOURCE_DIR
#                                      check the tree, then check that copies of it with one forbidden
#                                      include each planted are refused (so the check can fail)
#
# The rules: an area may include its own headers and those of the areas below it.
#   base      nothing else of ours
#   smki      base
#   pki, keys, signature
#             base, smki (the three are siblings: none includes another)
#   timestamp base, smki, pki, signature
#   top       (signer, verifier, certid_check, batch, mamsign.h) every area below intake
#   intake    every area (the watched inbox and its ledger sit above the verifier)
#   mamsign.h the umbrella header: every public header
# The library never includes anything of apps/ or tests/, a public header never includes a private one
# (lib/src/...), and apps/ use the library only through its public headers.
set -euo pipefail

allowed() {  # allowed FROM_AREA TO_AREA
  local from=$1 to=$2
  [[ $from == "$to" ]] && return 0
  case $from in
    base) return 1 ;;
    smki) [[ $to == base ]] ;;
    pki | keys | signature) [[ $to == base || $to == smki ]] ;;
    timestamp) [[ $to == base || $to == smki || $to == pki || $to == signature ]] ;;
    top) [[ $to != top && $to != intake ]] ;;
    intake | umbrella) return 0 ;;
    *) return 1 ;;
  esac
}

area_of_file() {  # lib/include/mamsign/<area>/x.h, lib/src/<area>/x.cpp; anything directly in either: top
  local rel=${1#lib/include/mamsign/}
  rel=${rel#lib/src/}
  if [[ $rel == mamsign.h ]]; then echo umbrella; return; fi
  if [[ $rel == */* ]]; then echo "${rel%%/*}"; else echo top; fi
}

check_tree() {  # check_tree ROOT: prints violations, returns 1 if any
  local root=$1 bad=0 file rel from line target to
  local -a files
  mapfile -t files < <(cd "$root" && find lib apps -type f \( -name '*.h' -o -name '*.cpp' \) | sort)
  for rel in "${files[@]}"; do
    file=$root/$rel
    while IFS= read -r line; do
      target=${line#*\"}
      target=${target%%\"*}
      case $rel in
        lib/*)
          from=$(area_of_file "$rel")
          case $target in
            mamsign/*/*) to=${target#mamsign/}; to=${to%%/*} ;;
            mamsign/*) to=top ;;
            */*)  # a private header of the library, by its area: "base/json_object.h"
              to=${target%%/*}
              if [[ ! -f $root/lib/src/$target ]]; then
                echo "$rel: includes \"$target\", which is not a header of the library"; bad=1; continue
              fi
              if [[ $rel == lib/include/* ]]; then
                echo "$rel: a public header includes the private \"$target\""; bad=1; continue
              fi ;;
            *)
              echo "$rel: includes \"$target\"; the library's own headers are named by area"; bad=1; continue ;;
          esac
          case $to in base | smki | pki | keys | signature | timestamp | top | intake) ;; *)
            echo "$rel: includes \"$target\", in no area of the library"; bad=1; continue ;;
          esac
          if ! allowed "$from" "$to"; then
            echo "$rel: $from includes \"$target\" from $to, which $from may not use"; bad=1
          fi ;;
        apps/*)
          case $target in
            mamsign/*)
              if [[ ! -f $root/lib/include/$target ]]; then
                echo "$rel: includes \"$target\", which is not a public header"; bad=1
              fi ;;
            common/*)
              [[ -f $root/apps/$target ]] || { echo "$rel: includes \"$target\", not in apps/common"; bad=1; } ;;
            */*)
              echo "$rel: includes \"$target\"; apps use the library's public headers and apps/common"; bad=1 ;;
            *)  # an app's own header, beside it
              [[ -f $(dirname "$file")/$target ]] || { echo "$rel: includes \"$target\", not beside it"; bad=1; } ;;
          esac ;;
      esac
    done < <(grep -E '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$file" || true)
  done
  return $bad
}

plant() {  # plant ROOT FILE INCLUDE: adds one include line after the file's #pragma once or first line
  local file=$1/$2
  sed -i "0,/^#pragma once\$\|^\/\/.*\$/s||&\n#include \"$3\"|" "$file"
  grep -q "#include \"$3\"" "$file" || { echo "self-test: could not plant $3 in $2"; exit 2; }
}

self_test=0
if [[ ${1:-} == --self-test ]]; then self_test=1; shift; fi
src=${1:?usage: check_layers.sh [--self-test] SOURCE_DIR}

check_tree "$src" || { echo "layering: the includes above run against docs/architecture.md"; exit 1; }
echo "layering: every include in lib/ and apps/ keeps to docs/architecture.md"
[[ $self_test == 1 ]] || exit 0

# Each plant is one kind of forbidden include; the check must refuse every copy and name the file.
plants=(
  "lib/include/mamsign/base/error.h|mamsign/smki/eui64.h"
  "lib/src/smki/csv.cpp|mamsign/signature/digest.h"
  "lib/src/pki/csr.cpp|mamsign/keys/key_source.h"
  "lib/src/keys/pkcs11_uri.cpp|mamsign/verifier.h"
  "lib/include/mamsign/smki/profile.h|base/json_object.h"
  "lib/src/base/io.cpp|common/output.h"
  "apps/mam-verify/main.cpp|base/json_object.h"
  "lib/src/verifier.cpp|mamsign/intake/ledger.h"
)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
for p in "${plants[@]}"; do
  file=${p%%|*} include=${p#*|}
  rm -rf "$scratch/tree" && mkdir "$scratch/tree"
  cp -r "$src/lib" "$src/apps" "$scratch/tree/"
  plant "$scratch/tree" "$file" "$include"
  if out=$(check_tree "$scratch/tree"); then
    echo "self-test: \"$include\" planted in $file was not refused"; exit 1
  fi
  grep -q "^$file:" <<<"$out" || { echo "self-test: refused, but not naming $file: $out"; exit 1; }
  echo "  refused as it should be: $out"
done
echo "layering self-test: each of ${#plants[@]} planted includes was refused"
