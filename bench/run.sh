#!/usr/bin/env bash
# Every benchmark, one after the other; the JSON results go to bench/results/latest.json.
# Usage: bench/run.sh [build-dir]. Build first (scripts/build.sh). Needs ~6 GiB free in /tmp.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
work=$(mktemp -d /tmp/mamsign-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
bash bench/batch.sh "$build" "$work/batch"
bash bench/certid.sh "$build" "$work/certid"
bash bench/hostile.sh "$build" "$work/hostile"
bash bench/hsm.sh "$build" "$work/hsm"
bash bench/perfile.sh "$build" "$work/perfile"
bash bench/tsa.sh "$build" "$work/tsa"
bash bench/intake.sh "$build" /var/tmp "$work/intake"
mkdir -p bench/results
{ echo "{\"batch\":"; cat "$work/batch/batch.json"; echo ", \"certid\":"; cat "$work/certid/certid.json"; echo ", \"hostile\":"; cat "$work/hostile/hostile.json"; echo ", \"hsm\":"; cat "$work/hsm/hsm.json"; echo ", \"perfile\":"; cat "$work/perfile/perfile.json"; echo ", \"tsa\":"; cat "$work/tsa/tsa.json"; echo ", \"intake\":"; cat "$work/intake/intake.json"; echo "}"; } > bench/results/latest.json
echo "written: bench/results/latest.json"
