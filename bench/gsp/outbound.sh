#!/usr/bin/env bash
# bench/gsp/outbound.sh [CHAINS] [RUNS] — the outbound transform against
# parsing alone.
#
# 1. Generates the voice-outbound events of CHAINS (100,000) preview-campaign
#    chains once with callgen (campaign: true, every call an agent outbound
#    call: about 9 events per chain, two attempts each) into a file; not
#    measured, kept for the next run (BENCH_DIR).
# 2. Throughput, interleaved, medians of RUNS (5): the baseline parse_only.c
#    (cc -O2 + jansson) parses each line and nothing else; ours is file
#    source -> outbound -> null. Prints events/s, the ratio (target >= 0.5,
#    as for the voice transforms), CPU s.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
chains=${1:-100000}
runs=${2:-5}
source "$top/bench/lib.sh"
bench_build
work=${BENCH_DIR:-/tmp/martflow-bench-gsp}
mkdir -p "$work"
ob=$work/outbound-$chains.jsonl

if [[ ! -s $ob ]]; then
    echo "generating $chains chains with callgen ..." >&2
    cat >"$work/ob-gen.yaml" <<Y
pipeline: bench-outbound-gen
sources:
  gen: {plugin: callgen, seed: 1, calls: $chains, agents: 400, rate: 4, key_member: true, campaign: true,
        outbound: 1, abandon_in_queue: 0, abandon_ringing: 0, rona: 0, transfer_single_step: 0,
        transfer_two_step: 0, conference: 0, internal: 0}
sinks:
  ob: {plugin: file, inputs: [gen.outbound], path: "$ob.tmp"}
  rest: {plugin: "null", inputs: [gen.callthread, gen.agentstate]}
Y
    MARTFLOW_DATA_DIR=$work/data "$mf" run "$work/ob-gen.yaml" --plugin-path "$plugins" >"$work/gen.log" 2>&1 ||
        { tail -5 "$work/gen.log" >&2; exit 1; }
    mv "$ob.tmp" "$ob"
fi
n=$(wc -l <"$ob")
echo "events: $n outbound ($(($(wc -c <"$ob") / n)) bytes each)" >&2
cc -O2 -o "$work/parse_only" "$here/parse_only.c" $(pkg-config --cflags --libs jansson)

cat >"$work/outbound.yaml" <<Y
pipeline: bench-outbound
sources:
  in: {plugin: file, path: "$ob", key_field: key, positions: false}
transforms:
  ob: {plugin: outbound, inputs: [in]}
sinks:
  out: {plugin: "null", inputs: [ob.attempts, ob.errors, in.errors]}
Y
now() { date +%s.%N; }
timed() { # CMD...: wall seconds on stdout; user+sys CPU seconds in $work/cpu.s
    local t0 t1
    t0=$(now)
    /usr/bin/time -f '%U %S' -o "$work/cpu" "$@" >"$work/out.log" 2>&1 || { tail -5 "$work/out.log" >&2; exit 1; }
    t1=$(now)
    awk '{print $1 + $2}' "$work/cpu" >"$work/cpu.s"
    echo "$t1 - $t0" | bc -l
}
declare -a base ours cpu_base cpu_ours
for ((r = 0; r < runs; r++)); do
    base+=("$(timed "$work/parse_only" "$ob")")
    cpu_base+=("$(cat "$work/cpu.s")")
    ours+=("$(timed "$mf" run "$work/outbound.yaml" --plugin-path "$plugins")")
    cpu_ours+=("$(cat "$work/cpu.s")")
    grep -q '"node":"ob".*"in='"$n"' ' "$work/out.log" || { echo "outbound did not take every event" >&2; exit 1; }
    echo "run $((r + 1)): parse-only ${base[r]}s, file -> outbound -> null ${ours[r]}s" >&2
done
rate() { echo "$1 / $2" | bc -l | xargs printf '%.0f'; }
mb=$(median "${base[@]}") mo=$(median "${ours[@]}")
cb=$(median "${cpu_base[@]}") co=$(median "${cpu_ours[@]}")
echo "parse-only (jansson):     $(rate "$n" "$mb") events/s, CPU $cb s"
echo "file -> outbound -> null: $(rate "$n" "$mo") events/s, CPU $co s"
printf 'ratio: %.2f (target >= 0.5); by CPU time %.2f\n' "$(echo "$mb / $mo" | bc -l)" "$(echo "$cb / $co" | bc -l)"
