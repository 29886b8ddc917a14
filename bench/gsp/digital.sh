#!/usr/bin/env bash
# bench/gsp/digital.sh [INTERACTIONS] [RUNS] — the digital transforms, with
# outbound, against parsing alone. `digital` and
# `digitalagentstate` must be built (it says so and stops otherwise).
#
# 1. Generates once with callgen (seed 1, digital: true, campaign: true) the
#    digital-itx events of INTERACTIONS (200,000) digital interactions, their
#    agents' digital-agentstate events, and the voice-outbound events of as
#    many campaign chains, into three files; not measured, kept for the next
#    run (BENCH_DIR).
# 2. Throughput, interleaved, medians of RUNS (5): the baseline parse_only.c
#    (cc -O2 + jansson) parses each line of the three files and nothing else;
#    ours is one pipeline: file sources -> digital, digitalagentstate (fed the
#    agents' events and digital's handling events) and outbound -> null.
#    Prints events/s over the three files, the ratio (target >= 0.5, as for
#    the voice transforms), CPU s.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
n_ixn=${1:-200000}
runs=${2:-5}
source "$top/bench/lib.sh"
bench_build
for p in transform_digital transform_digitalagentstate transform_outbound; do
    [[ -f $plugins/$p.so ]] || { echo "no $plugins/$p.so: this bench needs the digital transforms (#16)" >&2; exit 1; }
done
work=${BENCH_DIR:-/tmp/martflow-bench-gsp}
mkdir -p "$work"
itx=$work/digital-itx-$n_ixn.jsonl das=$work/digital-as-$n_ixn.jsonl ob=$work/digital-ob-$n_ixn.jsonl

if [[ ! -s $itx || ! -s $das || ! -s $ob ]]; then
    echo "generating $n_ixn digital interactions and $n_ixn chains with callgen ..." >&2
    cat >"$work/digital-gen.yaml" <<Y
pipeline: bench-digital-gen
sources:
  gen: {plugin: callgen, seed: 1, key_member: true, calls: $n_ixn, agents: 400, rate: 4, campaign: true,
        outbound: 1, abandon_in_queue: 0, abandon_ringing: 0, rona: 0, transfer_single_step: 0,
        transfer_two_step: 0, conference: 0, internal: 0,
        digital: true, digital_interactions: $n_ixn, digital_agents: 600, digital_rate: 2}
sinks:
  itx: {plugin: file, inputs: [gen.digital_itx], path: "$itx.tmp"}
  das: {plugin: file, inputs: [gen.digital_agentstate], path: "$das.tmp"}
  ob: {plugin: file, inputs: [gen.outbound], path: "$ob.tmp"}
  rest: {plugin: "null", inputs: [gen.callthread, gen.agentstate]}
Y
    rm -f "$itx.tmp" "$das.tmp" "$ob.tmp"
    MARTFLOW_DATA_DIR=$work/data "$mf" run "$work/digital-gen.yaml" --plugin-path "$plugins" >"$work/gen.log" 2>&1 ||
        { tail -5 "$work/gen.log" >&2; exit 1; }
    mv "$itx.tmp" "$itx"
    mv "$das.tmp" "$das"
    mv "$ob.tmp" "$ob"
fi
n1=$(wc -l <"$itx") n2=$(wc -l <"$das") n3=$(wc -l <"$ob")
n=$((n1 + n2 + n3))
echo "events: $n1 digital-itx ($(($(wc -c <"$itx") / n1)) bytes each), $n2 digital-agentstate, $n3 outbound" >&2
cc -O2 -o "$work/parse_only" "$here/parse_only.c" $(pkg-config --cflags --libs jansson)

cat >"$work/digital.yaml" <<Y
pipeline: bench-digital
sources:
  itx: {plugin: file, path: "$itx", key_field: key, positions: false}
  das: {plugin: file, path: "$das", key_field: key, positions: false}
  ob: {plugin: file, path: "$ob", key_field: key, positions: false}
transforms:
  dx: {plugin: digital, inputs: [itx]}
  ds: {plugin: digitalagentstate, inputs: [das, dx.agent_events]}
  obt: {plugin: outbound, inputs: [ob]}
sinks:
  out: {plugin: "null", inputs: [dx.interactions, dx.resources, dx.segments, dx.errors, ds.sessions, ds.states,
                                 ds.reasons, ds.errors, obt.attempts, obt.errors, itx.errors, das.errors, ob.errors]}
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
    t=0 c=0
    for f in "$itx" "$das" "$ob"; do
        t=$(echo "$t + $(timed "$work/parse_only" "$f")" | bc -l)
        c=$(echo "$c + $(cat "$work/cpu.s")" | bc -l)
    done
    base+=("$t")
    cpu_base+=("$c")
    ours+=("$(timed "$mf" run "$work/digital.yaml" --plugin-path "$plugins")")
    cpu_ours+=("$(cat "$work/cpu.s")")
    grep -q '"node":"dx".*"in='"$n1"' ' "$work/out.log" || { echo "digital did not take every event" >&2; exit 1; }
    grep -q '"node":"obt".*"in='"$n3"' ' "$work/out.log" || { echo "outbound did not take every event" >&2; exit 1; }
    echo "run $((r + 1)): parse-only ${base[r]}s, files -> digital + digitalagentstate + outbound -> null ${ours[r]}s" >&2
done
rate() { echo "$1 / $2" | bc -l | xargs printf '%.0f'; }
mb=$(median "${base[@]}") mo=$(median "${ours[@]}")
cb=$(median "${cpu_base[@]}") co=$(median "${cpu_ours[@]}")
echo "parse-only (jansson), three files:          $(rate "$n" "$mb") events/s, CPU $cb s"
echo "digital + digitalagentstate + outbound:     $(rate "$n" "$mo") events/s, CPU $co s"
printf 'ratio: %.2f (target >= 0.5); by CPU time %.2f\n' "$(echo "$mb / $mo" | bc -l)" "$(echo "$cb / $co" | bc -l)"
