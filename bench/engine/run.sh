#!/usr/bin/env bash
# bench/engine/run.sh [RECORDS] [RUNS] — martflow's file source -> pass-through
# transform -> file sink, against a baseline C program that reads the same
# file, parses each line with jansson, serialises it and writes it. Prints
# records/s and MB/s of both (medians of RUNS runs, alternated) and the ratio
# (target >= 0.8). Then the peak RSS of a run whose sink is throttled to 1,000
# records/s while the source reads as fast as it can (target < 64 MiB).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
records=${1:-1000000}
runs=${2:-5}
source "$top/bench/lib.sh"
bench_build
work=${BENCH_DIR:-/tmp/martflow-bench-engine}
mkdir -p "$work"
in=$work/in.jsonl
bench_events "$records" "$in"
bytes=$(stat -c %s "$in")
cc -O2 -o "$work/baseline" "$here/baseline.c" $(pkg-config --cflags --libs jansson)

cat >"$work/pipeline.yaml" <<Y
pipeline: bench-engine
sources:
  in: {plugin: file, path: $in}
transforms:
  pass: {plugin: fields, inputs: [in]}
sinks:
  out: {plugin: file, inputs: [pass], path: $work/out.jsonl}
Y

now() { date +%s.%N; }
declare -a ours base
for ((r = 0; r < runs; r++)); do
    rm -f "$work/out.jsonl" "$work/base.jsonl"
    t0=$(now); "$work/baseline" "$in" "$work/base.jsonl" 2>/dev/null; t1=$(now)
    base+=("$(echo "$t1 - $t0" | bc -l)")
    t0=$(now); "$mf" run "$work/pipeline.yaml" --plugin-path "$plugins" >/dev/null; t1=$(now)
    ours+=("$(echo "$t1 - $t0" | bc -l)")
    lines=$(wc -l <"$work/out.jsonl")
    [[ $lines == "$records" ]] || { echo "ours wrote $lines of $records records" >&2; exit 1; }
    echo "run $((r + 1)): baseline ${base[r]}s, martflow ${ours[r]}s" >&2
done
mb=$(median "${ours[@]}")
bb=$(median "${base[@]}")
printf 'engine pass-through, %d records of %d bytes avg, median of %d runs\n' "$records" $((bytes / records)) "$runs"
printf '  baseline (read+parse+serialise+write): %8.0f records/s %7.1f MB/s\n' \
    "$(echo "$records / $bb" | bc -l)" "$(echo "$bytes / $bb / 1000000" | bc -l)"
printf '  martflow file -> fields -> file:       %8.0f records/s %7.1f MB/s\n' \
    "$(echo "$records / $mb" | bc -l)" "$(echo "$bytes / $mb / 1000000" | bc -l)"
printf '  ratio martflow / baseline: %.2f (target >= 0.80)\n' "$(echo "$bb / $mb" | bc -l)"

# Bounded memory: sink at 1,000 records/s, source unthrottled (far more than
# 10x faster); 20 s, then SIGTERM (the grace period is short: what is queued
# is not waited for).
cat >"$work/throttled.yaml" <<Y
pipeline: bench-memory
settings: {grace_period: 2s}
sources:
  in: {plugin: file, path: $in}
sinks:
  out: {plugin: "null", inputs: [in], rate: 1000}
Y
secs=${MEMORY_SECONDS:-20}
/usr/bin/time -f '%M' -o "$work/rss" "$mf" run "$work/throttled.yaml" --plugin-path "$plugins" \
    >"$work/throttled.log" 2>&1 &
tpid=$!
sleep "$secs"
pkill -TERM -P "$tpid" martflow 2>/dev/null || pkill -TERM -f "run $work/throttled.yaml" || true
wait "$tpid" || true
rss=$(tail -n 1 "$work/rss")
printf 'peak RSS, sink throttled to 1000 records/s for %ss, source unthrottled: %.1f MiB (target < 64 MiB)\n' \
    "$secs" "$(echo "$rss / 1024" | bc -l)"
