#!/usr/bin/env bash
# The intake (mam-verify --watch) against a batch verification of the same files, in one run:
#   batch          mam-verify --jobs 2 over 10,000 small signed files (2 KiB) in one folder; and with
#                  --json to a file (the result the intake records for each file)
#   intake         the same 10,000 pairs renamed into the watched inbox at once; the clock stops when the
#                  ledger has 10,000 entries (every pair verified, moved with its result, recorded and
#                  fsync'd: the ledger's fdatasync, the head's fsync and one syncfs per group)
#   file work      bench/intake_floor.c: the intake's file-system work alone (results, renames, ledger and
#                  its syncs), no verification: the ceiling for any intake on that file system
#   latency        pairs arriving at a steady 200 a second for 10 s: from a pair's arrival (its data file
#                  renamed in) to its move (the moved file's ctime), median and 99th percentile
# Target: intake at least 0.7x the batch's files/s. The work folder's file system is said: on tmpfs the
# fsyncs cost nothing, so the figures that count are on disk (the default, /var/tmp).
# Usage: bench/intake.sh [build-dir] [work-dir] [results-dir]. Prints a table and writes intake.json.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
build=${1:-build}
base=${2:-/var/tmp}
out=${3:-$(mktemp -d /tmp/mamsign-bench-intake.XXXXXX)}
bin="$repo/$build/apps"
keys="$repo/keys-example"
[ -x "$bin/mam-verify" ] || { echo "build first: scripts/build.sh" >&2; exit 2; }
files=${BENCH_INTAKE_FILES:-10000}
mkdir -p "$out"
work=$(mktemp -d "$base/mamsign-intake.XXXXXX")
watcher=""
trap '[ -z "$watcher" ] || kill "$watcher" 2>/dev/null || true; rm -rf "$work"' EXIT
fs=$(stat -f -c %T "$work")
key="$keys/keys/supplier-ds.key" cert="$keys/store/supplier-ds.pem"
trust=(--trust "$keys/trust" --crl "$keys/crl")

signed() {  # signed DIR COUNT: COUNT signed example files of 2 KiB
  "$bin/mam-testpki" files --out "$1" --count "$2" --size 2048 >/dev/null
  "$bin/mam-sign" -q --key "$key" --cert "$cert" --jobs 2 "$1" >/dev/null 2>&1
}

# Batch.
signed "$work/batch" "$files"
sync
t0=$EPOCHREALTIME
"$bin/mam-verify" "${trust[@]}" --jobs 2 -q "$work/batch" >/dev/null 2>&1
t1=$EPOCHREALTIME
batch_rate=$(awk "BEGIN{printf \"%.0f\", $files / ($t1 - $t0)}")
# The batch that records what the intake records: a JSON result per file, to a file on the same disk.
t0=$EPOCHREALTIME
"$bin/mam-verify" "${trust[@]}" --jobs 2 --json "$work/batch" >"$work/batch.jsonl" 2>/dev/null
t1=$EPOCHREALTIME
json_rate=$(awk "BEGIN{printf \"%.0f\", $files / ($t1 - $t0)}")

# The ceiling: what the intake must do to the file system for each pair, done alone by a C program with
# no verification and no crash safety (bench/intake_floor.c: result file, three renames, the ledger's
# write, fdatasync and syncfs per 64 pairs). No intake can move pairs faster than this on the same file
# system, whatever it overlaps: its ratio to the batch bounds the intake's.
cc -O2 -o "$out/intake_floor" bench/intake_floor.c
signed "$work/floor" "$files"
mkdir -p "$work/floor-accepted"
sync
t0=$EPOCHREALTIME
moved=$("$out/intake_floor" "$work/floor" "$work/floor-accepted" "$work/floor-ledger")
t1=$EPOCHREALTIME
[ "$moved" -eq "$files" ] || { echo "intake bench: the floor moved $moved of $files" >&2; exit 1; }
floor_rate=$(awk "BEGIN{printf \"%.0f\", $files / ($t1 - $t0)}")
floor_ratio=$(awk "BEGIN{printf \"%.2f\", $floor_rate / $batch_rate}")
rm -rf "$work/floor" "$work/floor-accepted" "$work/floor-ledger"

# Intake, all at once.
start_watch() {  # start_watch ROOT
  mkdir -p "$1/inbox" "$1/accepted" "$1/rejected"
  "$bin/mam-verify" "${trust[@]}" --jobs 2 --watch "$1/inbox" --accepted "$1/accepted" --rejected "$1/rejected" \
    --ledger "$1/ledger.jsonl" 2>"$1/watch.log" &
  watcher=$!
  for _ in $(seq 200); do grep -q "watching " "$1/watch.log" 2>/dev/null && return; sleep 0.05; done
  echo "intake bench: the watcher did not start: $(cat "$1/watch.log")" >&2
  exit 1
}
wait_entries() {  # wait_entries ROOT N: until ROOT's ledger head counts N entries (the head, not the
  # ledger: reading that would cost the run)
  python3 - "$1/ledger.jsonl.head" "$2" <<'PY'
import json, sys, time
head, n = sys.argv[1], int(sys.argv[2])
while True:
    try:
        with open(head) as fh:
            if json.load(fh)["entries"] >= n:
                break
    except (OSError, ValueError):
        pass
    time.sleep(0.01)
PY
}
stop_watch() {
  kill -TERM "$watcher"
  wait "$watcher" || { echo "intake bench: the watcher failed: $(tail -3 "$1/watch.log")" >&2; exit 1; }
  watcher=""
}
signed "$work/stage" "$files"
start_watch "$work/run"
sync
# The renames, timed from before the first; then the wait for the ledger's head to count them all.
t0=$(python3 - "$work/stage" "$work/run" <<'PY'
import os, sys, time
stage, run = sys.argv[1], sys.argv[2]
names = sorted(f for f in os.listdir(stage) if not f.endswith(".p7s"))
print(f"{time.time():.6f}")
for f in names:
    os.rename(os.path.join(stage, f + ".p7s"), os.path.join(run, "inbox", f + ".p7s"))
    os.rename(os.path.join(stage, f), os.path.join(run, "inbox", f))
PY
)
wait_entries "$work/run" "$files"
intake_seconds=$(awk "BEGIN{printf \"%.3f\", $EPOCHREALTIME - $t0}")
stop_watch "$work/run"
accepted=$(find "$work/run/accepted" -name '*.result.json' | wc -l)
[ "$accepted" -eq "$files" ] || { echo "intake bench: $accepted of $files accepted" >&2; exit 1; }
intake_rate=$(awk "BEGIN{printf \"%.0f\", $files / $intake_seconds}")
ratio=$(awk "BEGIN{printf \"%.2f\", $intake_rate / $batch_rate}")

# Intake of files already in the inbox when the watcher starts (what a restart after a stop finds): the
# same work without the writer's renames on the same two cores; the clock runs from the watcher's start
# (trust and CRLs loaded, the startup rescan) to the 10,000th entry.
signed "$work/run3/inbox" "$files"
mkdir -p "$work/run3/accepted" "$work/run3/rejected"
sleep 2.2  # the files' ctime --settle old: complete at the first look
t0=$EPOCHREALTIME
start_watch "$work/run3"
wait_entries "$work/run3" "$files"
t1=$EPOCHREALTIME
stop_watch "$work/run3"
present_rate=$(awk "BEGIN{printf \"%.0f\", $files / ($t1 - $t0)}")
present_ratio=$(awk "BEGIN{printf \"%.2f\", $present_rate / $batch_rate}")

# Latency at a steady 200 pairs a second.
steady=2000
signed "$work/steady" "$steady"
start_watch "$work/run2"
latency=$(python3 - "$work/steady" "$work/run2" "$steady" <<'PY'
import os, sys, time
stage, run, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
names = sorted(f for f in os.listdir(stage) if not f.endswith(".p7s"))
arrived = {}
t0 = time.time()
for i, f in enumerate(names):
    due = t0 + i / 200.0
    while time.time() < due:
        time.sleep(0.0005)
    os.rename(os.path.join(stage, f + ".p7s"), os.path.join(run, "inbox", f + ".p7s"))
    arrived[f] = time.time()  # just before the rename that completes the pair (ctime is fine-grained here)
    os.rename(os.path.join(stage, f), os.path.join(run, "inbox", f))
deadline = time.time() + 60
while time.time() < deadline and len([x for x in os.listdir(os.path.join(run, "accepted")) if x.endswith(".result.json")]) < n:
    time.sleep(0.05)
lat = sorted(os.stat(os.path.join(run, "accepted", f)).st_ctime - arrived[f] for f in names)
print(f"{lat[len(lat) // 2] * 1000:.1f} {lat[int(len(lat) * 0.99)] * 1000:.1f}")
PY
)
stop_watch "$work/run2"
median=${latency% *} p99=${latency#* }
{
  echo "intake: $files signed files of 2 KiB on $fs ($base); 2 cores"
  printf '%-44s %8s files/s\n' "mam-verify --jobs 2 (batch)" "$batch_rate"
  printf '%-44s %8s files/s\n' "mam-verify --jobs 2 --json > file (batch)" "$json_rate"
  printf '%-44s %8s files/s   %sx the batch (a ceiling: no intake moves more here)\n' "the file work alone (bench/intake_floor.c)" "$floor_rate" "$floor_ratio"
  printf '%-44s %8s files/s   %sx the batch (target >= 0.7)\n' "mam-verify --watch (all dropped at once)" "$intake_rate" "$ratio"
  printf '%-44s %8s files/s   %sx the batch\n' "mam-verify --watch (already in the inbox)" "$present_rate" "$present_ratio"
  printf '%-44s %8s ms median, %s ms 99th percentile\n' "arrival to move at 200 files/s" "$median" "$p99"
} >&2
cat >"$out/intake.json" <<JSON
{"files": $files, "file_system": "$fs", "files_per_second": {"batch_jobs_2": $batch_rate, "batch_jobs_2_json": $json_rate, "intake": $intake_rate, "intake_already_in_inbox": $present_rate, "file_work_alone": $floor_rate},
 "intake_over_batch": $ratio, "file_work_alone_over_batch": $floor_ratio, "intake_already_in_inbox_over_batch": $present_ratio, "latency_ms_at_200_per_second": {"median": $median, "p99": $p99}}
JSON
echo "written: $out/intake.json" >&2
