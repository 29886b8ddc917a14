#!/usr/bin/env bash
# bench/engine/run.sh [RECORDS] [RUNS] — the engine's own cost on the call
# events of bench/gen_events.py, against a baseline C program (baseline.c:
# read the file, parse each line with jansson, serialise it, write it — the
# engine's cost before issue 9, kept as it was). Interleaved runs, medians:
#   baseline                   read + jansson parse + serialise + write
#   file -> fields -> file     pass-through through a transform (target: >= 5x
#                              the baseline's records/s, issue 9)
#   file -> file               no transform: the source's and sink's cost alone
#   parse-only                 file source reading key_field and time_field of
#                              each event (validated, no tree) -> null, beside
#                              the Flink peer's parse-only run on the same file
#                              (Jackson binding six fields), when java and mvn
#                              are present (../shared/peers/flink-callthread,
#                              or FLINK_PEER; copied to the work dir, built once)
# Every row: records/s over the whole process's wall time, and CPU seconds.
# Then the peak RSS of a run whose sink is throttled to 1,000 records/s while
# the source reads as fast as it can (target < 64 MiB).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
records=${1:-1000000}
runs=${2:-3}
source "$top/bench/lib.sh"
bench_build
work=${BENCH_DIR:-/tmp/martflow-bench-engine}
mkdir -p "$work"
in=$work/in.jsonl
bench_events "$records" "$in"
bytes=$(stat -c %s "$in")
cc -O2 -o "$work/baseline" "$here/baseline.c" $(pkg-config --cflags --libs jansson)

pipeline() { # NAME TRANSFORM-OR-"" SINK-YAML: writes $work/NAME.yaml
    local name=$1 transform=$2 sink=$3 from=in
    {
        echo "pipeline: bench-$name"
        echo "sources:"
        # positions: false, so every run reads the whole file again
        echo "  in: {plugin: file, path: $in, positions: false${PARSE_FIELDS:+, $PARSE_FIELDS}}"
        if [[ -n $transform ]]; then
            echo "transforms:"
            echo "  pass: {plugin: $transform, inputs: [in]}"
            from=pass
        fi
        echo "sinks:"
        echo "  out: {inputs: [$from], $sink}"
    } >"$work/$name.yaml"
}
pipeline fields fields "plugin: file, path: $work/out.jsonl"
pipeline file "" "plugin: file, path: $work/out.jsonl"
PARSE_FIELDS="key_field: CallThreadID, time_field: time" pipeline parse "" 'plugin: "null"'

# The Flink peer, when it can be built here.
peer_src=${FLINK_PEER:-$top/../shared/peers/flink-callthread}
peer=$work/flink-peer
flink=0
if command -v java >/dev/null && command -v mvn >/dev/null && [[ -d $peer_src ]]; then
    if [[ ! -f $peer/target/cp.txt ]]; then
        echo "building the Flink peer in $peer (Maven) ..." >&2
        rm -rf "$peer" && cp -r "$peer_src" "$peer" && chmod -R u+w "$peer"
        (cd "$peer" && ./run.sh build) >"$work/flink-build.log" 2>&1 ||
            echo "Flink peer build failed (see $work/flink-build.log): no Flink row" >&2
    fi
    [[ -f $peer/target/cp.txt ]] && flink=1
fi

# measure NAME CMD...: one run; appends wall and CPU seconds to NAME_wall, NAME_cpu
measure() {
    local name=$1; shift
    /usr/bin/time -f '%e %U %S' -o "$work/time" "$@" >"$work/$name.out" 2>"$work/$name.err" ||
        { echo "$name failed:" >&2; tail -5 "$work/$name.err" >&2; exit 1; }
    local wall user sys
    read -r wall user sys <"$work/time"
    eval "${name}_wall+=($wall); ${name}_cpu+=($(echo "$user + $sys" | bc -l))"
}
expect_lines() {
    local lines; lines=$(wc -l <"$1")
    [[ $lines == "$records" ]] || { echo "$2 wrote $lines of $records records" >&2; exit 1; }
}

declare -a base_wall base_cpu fields_wall fields_cpu file_wall file_cpu parse_wall parse_cpu flink_wall flink_cpu flink_job
cat "$in" >/dev/null # the page cache holds the input for every run
for ((r = 0; r < runs; r++)); do
    rm -f "$work/base.jsonl"
    measure base "$work/baseline" "$in" "$work/base.jsonl"
    expect_lines "$work/base.jsonl" baseline
    for p in fields file parse; do
        rm -f "$work/out.jsonl"
        measure "$p" "$mf" run "$work/$p.yaml" --plugin-path "$plugins"
        [[ $p == parse ]] || expect_lines "$work/out.jsonl" "file -> $p"
    done
    line="run $((r + 1)): baseline ${base_wall[r]}s, fields ${fields_wall[r]}s, file ${file_wall[r]}s, parse ${parse_wall[r]}s"
    if ((flink)); then
        measure flink java -Xms1g -Xmx1g -cp "$peer/target/classes:$(cat "$peer/target/cp.txt")" \
            peer.CallThreadJob --input "$in" --mode parse --ckpt-ms 0
        result=$(grep '^RESULT' "$work/flink.err") || { echo "no RESULT from Flink" >&2; exit 1; }
        [[ $result == *" parsed=$records "* ]] || { echo "Flink parsed other than $records: $result" >&2; exit 1; }
        flink_job+=("$(sed 's/.* job_s=\([0-9.]*\).*/\1/' <<<"$result")")
        line+=", flink ${flink_wall[r]}s (job ${flink_job[r]}s)"
    fi
    echo "$line (load $(cut -d' ' -f1 /proc/loadavg))" >&2
done

rate() { echo "$records / $1" | bc -l; }
row() { # LABEL NAME
    local w c
    w=$(eval "median \"\${${2}_wall[@]}\"")
    c=$(eval "median \"\${${2}_cpu[@]}\"")
    printf '  %-44s %9.0f records/s %6.1f MB/s %6.2f CPU s\n' "$1" "$(rate "$w")" \
        "$(echo "$bytes / $w / 1000000" | bc -l)" "$c"
}
bw=$(median "${base_wall[@]}")
printf 'engine, %d records of %d bytes avg, median of %d interleaved runs (whole process, wall time)\n' \
    "$records" $((bytes / records)) "$runs"
row "baseline (jansson read+parse+serialise+write)" base
row "martflow file -> fields -> file" fields
row "martflow file -> file" file
printf '  ratio file -> fields -> file / baseline: %5.2f (target >= 5.00)\n' \
    "$(echo "$bw / $(median "${fields_wall[@]}")" | bc -l)"
printf '  ratio file -> file / baseline:           %5.2f\n' "$(echo "$bw / $(median "${file_wall[@]}")" | bc -l)"
echo "parse-only (every line validated and its fields read; nothing written)"
row "martflow file (key, time) -> null" parse
if ((flink)); then
    row "Flink 2.3 parse-only (Jackson, 6 fields)" flink
    fj=$(median "${flink_job[@]}")
    printf '  %-44s %9.0f records/s (execute() only, no JVM start)\n' "Flink 2.3 parse-only, job time" "$(rate "$fj")"
    printf '  ratio martflow / Flink parse-only: %.2f (whole process), %.2f (against Flink job time)\n' \
        "$(echo "$(median "${flink_wall[@]}") / $(median "${parse_wall[@]}")" | bc -l)" \
        "$(echo "$fj / $(median "${parse_wall[@]}")" | bc -l)"
else
    echo "  (no Flink row: needs java, mvn and the peer in $peer_src)"
fi

# Bounded memory: sink at 1,000 records/s, source unthrottled (far more than
# 10x faster); 20 s, then SIGTERM (the grace period is short: what is queued
# is not waited for).
cat >"$work/throttled.yaml" <<Y
pipeline: bench-memory
settings: {grace_period: 2s}
sources:
  in: {plugin: file, path: $in, positions: false}
sinks:
  out: {plugin: "null", inputs: [in], rate: 1000}
Y
secs=${MEMORY_SECONDS:-20}
/usr/bin/time -f '%M' -o "$work/rss" "$mf" run "$work/throttled.yaml" --plugin-path "$plugins" \
    >"$work/throttled.log" 2>&1 &
tpid=$!
sleep "$secs"
pkill -TERM -P "$tpid" martflow 2>/dev/null || true # the martflow under this time(1)
wait "$tpid" || true
rss=$(tail -n 1 "$work/rss")
printf 'peak RSS, sink throttled to 1000 records/s for %ss, source unthrottled: %.1f MiB (target < 64 MiB)\n' \
    "$secs" "$(echo "$rss / 1024" | bc -l)"
