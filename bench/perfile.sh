#!/usr/bin/env bash
# Per-file cost against the hardware floor and a Python loop (issue 12), all in one run:
# 2,000 migration files of 2 KiB on tmpfs (/dev/shm; BENCH_FS_DIR=/var/tmp for the ordinary disk);
# whole process each time; best of 5 rounds.
#   floor sign    open+read, SHA-256, ECDSA P-256 of the digest, write a temporary + rename (bench/floor.c);
#                 on two cores also as two threads in one process and folder (what two jobs could do at
#                 best) and as two processes on two folders (what two cores give when nothing is shared)
#   pyca sign     a Python loop with pyca's PKCS7SignatureBuilder, detached DER CMS, temporary + rename
#   mam-sign      --jobs 1 on one core (taskset), and --jobs 2 on two
#   floor verify  read file and signature, SHA-256, ECDSA verification (bench/floor.c); also two threads
#   floor I/O     the sign floor's file-system calls alone (no SHA-256, no ECDSA), one and two threads:
#                 how much of a file's cost the second core can share on this host
#   mam-verify    CMS with signed attributes and the embedded certificate; --jobs 1 on one core, 2 on two
# Targets: sign <= 1.5x floor and >= 2x faster than pyca; verify <= 1.4x floor; 2 jobs >= 1.8x 1 job.
# Times are taken by the shell itself ($EPOCHREALTIME), so no process but the one measured is started
# inside a measure (taskset's own exec is, alike in every measure).
# Usage: bench/perfile.sh [build-dir] [work-dir]. Prints a table and writes work-dir/perfile.json.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
build=${1:-build}
out=${2:-$(mktemp -d /tmp/mamsign-bench-perfile.XXXXXX)}
bin="$repo/$build/apps"
keys="$repo/keys-example"
[ -x "$bin/mam-sign" ] || { echo "build first: scripts/build.sh" >&2; exit 2; }
/usr/bin/python3 -c 'import cryptography.hazmat.primitives.serialization.pkcs7' 2>/dev/null ||
  { echo "python3-cryptography is missing: bash scripts/install-deps.sh" >&2; exit 2; }
mkdir -p "$out"
fs_dir=${BENCH_FS_DIR:-/dev/shm}
fs_type=$(stat -f -c %T "$fs_dir")
work=$(mktemp -d "$fs_dir/mamsign-perfile.XXXXXX")
trap 'rm -rf "$work"' EXIT
files=2000
cc -O2 -pthread -o "$work/floor" bench/floor.c -lcrypto
key="$keys/keys/supplier-ds.key" cert="$keys/store/supplier-ds.pem"

runs=${BENCH_RUNS:-5}
# Each measure's best wall time over $runs rounds; every round runs every measure once, one after the
# other, so that the host's drift (it is shared) falls on all of them alike.
declare -A best
measures=()
declare -A cpus_of kind_of cmd_of
measure() {  # name cpus setup-kind command... (DIR stands for the round's fresh folder)
  local name=$1
  measures+=("$name")
  cpus_of[$name]=$2
  kind_of[$name]=$3
  shift 3
  cmd_of[$name]="$*"
  best[$name]=999999
}
run_one() {  # name round
  local name=$1 round=$2 dir="$work/$1-$2"
  "$bin/mam-testpki" files --out "$dir" --count "$files" --size 2048 >/dev/null
  if [ "${kind_of[$name]}" = split ]; then
    # The floor on both cores: two processes, each on its own half (its own folder, so they share
    # nothing but the machine): what two cores give at best on this host.
    rm -rf "$dir"
    "$bin/mam-testpki" files --out "$dir/a" --count $((files / 2)) --size 2048 >/dev/null
    "$bin/mam-testpki" files --out "$dir/b" --count $((files / 2)) --size 2048 >/dev/null
    sync
    local t0 t1
    t0=$EPOCHREALTIME
    taskset -c 0 "$work/floor" sign "$key" "$dir/a" >/dev/null &
    taskset -c 1 "$work/floor" sign "$key" "$dir/b" >/dev/null &
    wait
    t1=$EPOCHREALTIME
    best[$name]=$(awk "BEGIN{t = $t1 - $t0; print (t < ${best[$name]}) ? t : ${best[$name]}}")
    rm -rf "$dir"
    return
  fi
  if [ "${kind_of[$name]}" = verify-raw ]; then
    "$work/floor" sign "$key" "$dir" >/dev/null
  elif [ "${kind_of[$name]}" = verify-cms ]; then
    "$bin/mam-sign" -q --jobs 2 --key "$key" --cert "$cert" "$dir" >/dev/null 2>&1
  fi
  sync
  local cmd=${cmd_of[$name]//DIR/$dir} t0 t1
  t0=$EPOCHREALTIME
  # shellcheck disable=SC2086 # the command is words by design
  taskset -c "${cpus_of[$name]}" $cmd >/dev/null 2>&1
  t1=$EPOCHREALTIME
  best[$name]=$(awk "BEGIN{t = $t1 - $t0; print (t < ${best[$name]}) ? t : ${best[$name]}}")
  rm -rf "$dir"
}
echo "perfile: $files files of 2 KiB on $fs_type ($fs_dir), best of $runs rounds (whole process each)" >&2
measure floor_sign 0 sign "$work/floor" sign "$key" DIR
measure floor_sign_2t 0,1 sign "$work/floor" sign "$key" DIR 2
measure floor_sign_2 0,1 split -
measure floor_io 0 sign "$work/floor" io "$key" DIR
measure floor_io_2t 0,1 sign "$work/floor" io "$key" DIR 2
measure pyca_sign 0 sign /usr/bin/python3 bench/pyca_sign.py "$key" "$cert" DIR
measure sign_1 0 sign "$bin/mam-sign" --jobs 1 --key "$key" --cert "$cert" DIR
measure sign_2 0,1 sign "$bin/mam-sign" --jobs 2 --key "$key" --cert "$cert" DIR
measure floor_verify 0 verify-raw "$work/floor" verify "$cert" DIR
measure floor_verify_2t 0,1 verify-raw "$work/floor" verify "$cert" DIR 2
measure verify_1 0 verify-cms "$bin/mam-verify" --jobs 1 --trust "$keys/trust" DIR
measure verify_2 0,1 verify-cms "$bin/mam-verify" --jobs 2 --trust "$keys/trust" DIR
for round in $(seq 1 "$runs"); do
  for name in "${measures[@]}"; do run_one "$name" "$round"; done
done

us() { awk "BEGIN{printf \"%.1f\", ${best[$1]} / $files * 1e6}"; }
ratio() { awk "BEGIN{printf \"%.2f\", ${best[$1]} / ${best[$2]}}"; }
{
  printf '%-28s %10s   %s\n' "per file" "us/file" "ratio"
  printf '%-28s %10s\n' "floor sign" "$(us floor_sign)"
  printf '%-28s %10s   %sx floor (target <= 1.5)\n' "mam-sign --jobs 1" "$(us sign_1)" "$(ratio sign_1 floor_sign)"
  printf '%-28s %10s   pyca/mam-sign %sx (target >= 2)\n' "pyca loop" "$(us pyca_sign)" "$(ratio pyca_sign sign_1)"
  printf '%-28s %10s   1 job/2 jobs %sx (target >= 1.8)\n' "mam-sign --jobs 2" "$(us sign_2)" "$(ratio sign_1 sign_2)"
  printf '%-28s %10s   1 thread/2 threads %sx (the same for the floor)\n' "floor sign, 2 threads" "$(us floor_sign_2t)" "$(ratio floor_sign floor_sign_2t)"
  printf '%-28s %10s   1 core/2 cores %sx (what this host gives two cores)\n' "floor sign, 2 processes" "$(us floor_sign_2)" "$(ratio floor_sign floor_sign_2)"
  printf '%-28s %10s\n' "floor I/O only" "$(us floor_io)"
  printf '%-28s %10s   1 thread/2 threads %sx (the file-system calls)\n' "floor I/O only, 2 threads" "$(us floor_io_2t)" "$(ratio floor_io floor_io_2t)"
  printf '%-28s %10s\n' "floor verify" "$(us floor_verify)"
  printf '%-28s %10s   %sx floor (target <= 1.4)\n' "mam-verify --jobs 1" "$(us verify_1)" "$(ratio verify_1 floor_verify)"
  printf '%-28s %10s   1 job/2 jobs %sx (target >= 1.8)\n' "mam-verify --jobs 2" "$(us verify_2)" "$(ratio verify_1 verify_2)"
  printf '%-28s %10s   1 thread/2 threads %sx (the same for the floor)\n' "floor verify, 2 threads" "$(us floor_verify_2t)" "$(ratio floor_verify floor_verify_2t)"
} >&2
cat > "$out/perfile.json" <<JSON
{"files": $files, "file_bytes": 2048,
 "us_per_file": {"floor_sign": $(us floor_sign), "pyca_sign": $(us pyca_sign), "mam_sign_1": $(us sign_1), "mam_sign_2": $(us sign_2),
                 "floor_verify": $(us floor_verify), "mam_verify_1": $(us verify_1), "mam_verify_2": $(us verify_2)},
 "sign_over_floor": $(ratio sign_1 floor_sign), "pyca_over_sign": $(ratio pyca_sign sign_1), "sign_2_jobs_speedup": $(ratio sign_1 sign_2),
 "floor_sign_2_cores_us": $(us floor_sign_2), "floor_2_cores_speedup": $(ratio floor_sign floor_sign_2),
 "floor_sign_2_threads_us": $(us floor_sign_2t), "floor_sign_2_threads_speedup": $(ratio floor_sign floor_sign_2t),
 "floor_verify_2_threads_us": $(us floor_verify_2t), "floor_verify_2_threads_speedup": $(ratio floor_verify floor_verify_2t),
 "floor_io_us": $(us floor_io), "floor_io_2_threads_us": $(us floor_io_2t), "floor_io_2_threads_speedup": $(ratio floor_io floor_io_2t),
 "verify_over_floor": $(ratio verify_1 floor_verify), "verify_2_jobs_speedup": $(ratio verify_1 verify_2)}
JSON
echo "written: $out/perfile.json" >&2
