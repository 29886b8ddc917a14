#!/usr/bin/env bash
# bench/gsp/run.sh [EVENTS] [RUNS] — the GSP transforms against parsing alone.
#
# 1. Generates EVENTS (2,000,000) voice-callthread events once with the
#    callgen source (seed 1, 200 agents, 1.2 calls/s, key_member: true) into
#    a file, plus the agents' voice-agentstate events of the same run into a
#    second file; not measured, kept for the next run (BENCH_DIR).
# 2. Throughput, interleaved, medians of RUNS: the baseline parse_only.c
#    (built here: cc -O2 + pkg-config jansson) parses each line of the
#    callthread file with jansson and nothing else; ours is file source ->
#    callthread -> null (every port). When the build has
#    transform_agentstate.so, a second pipeline file also runs: the same
#    plus a file source of the agentstate events -> agentstate, fed the call
#    events from callthread's agent_events port (the wiring of the agentstate
#    branch); its events/s count the events of both files, its baseline
#    parses both files. Prints events/s, the ratio (target >= 0.5), CPU s.
# 3. State per open call: callgen keep_open (every call routed, queued,
#    answered and left established: 6 events each) makes 100,000 open calls;
#    a file source that follows the file (never ends, so nothing is flushed)
#    -> callthread -> null. Once the open-threads gauge on /metrics reads
#    100,000, the process's RSS (VmRSS; and VmHWM, the peak) minus the same
#    pipeline's with one open call, divided by 100,000 (target < 2 KiB).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
events=${1:-2000000}
runs=${2:-3}
open_calls=100000
source "$top/bench/lib.sh"
bench_build
work=${BENCH_DIR:-/tmp/martflow-bench-gsp}
mkdir -p "$work"
ct=$work/callthread.jsonl as=$work/agentstate.jsonl
run_mf() { "$mf" run "$1" --plugin-path "$plugins"; }

# ---- 1. the events (not measured) ------------------------------------------------------
if [[ ! -f $ct || $(wc -l <"$ct") -ne $events ]]; then
    echo "generating $events events with callgen ..." >&2
    cat >"$work/gen.yaml" <<Y
pipeline: bench-gsp-gen
sources:
  gen: {plugin: callgen, seed: 1, calls: $((events / 7 + 1000)), agents: 200, rate: 1.2, key_member: true}
sinks:
  ct: {plugin: file, inputs: [gen.callthread], path: "$work/all.jsonl"}
  as: {plugin: file, inputs: [gen.agentstate], path: "$work/as-all.jsonl"}
Y
    rm -f "$work/all.jsonl" "$work/as-all.jsonl"
    MARTFLOW_DATA_DIR=$work/data run_mf "$work/gen.yaml" >"$work/gen.log" 2>&1 || { tail -5 "$work/gen.log" >&2; exit 1; }
    head -n "$events" "$work/all.jsonl" >"$ct"
    # the agents' events up to the last call event kept
    last=$(tail -n 1 "$ct" | python3 -c 'import json,sys; print(json.load(sys.stdin)["time"])')
    python3 - "$work/as-all.jsonl" "$last" >"$as" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    if json.loads(line)["time"] <= sys.argv[2]:
        sys.stdout.write(line)
PY
    rm -f "$work/all.jsonl" "$work/as-all.jsonl"
fi
n_ct=$(wc -l <"$ct") n_as=$(wc -l <"$as")
echo "events: $n_ct callthread ($(($(wc -c <"$ct") / n_ct)) bytes each), $n_as agentstate" >&2

cc -O2 -o "$work/parse_only" "$here/parse_only.c" $(pkg-config --cflags --libs jansson)

# ---- 2. throughput ---------------------------------------------------------------------------
cat >"$work/callthread.yaml" <<Y
pipeline: bench-gsp
sources:
  in: {plugin: file, path: "$ct", key_field: key, positions: false}
transforms:
  ct: {plugin: callthread, inputs: [in]}
sinks:
  out: {plugin: "null", inputs: [ct.interactions, ct.resources, ct.segments, ct.errors, in.errors]}
Y
with_agentstate=0
if [[ -f $plugins/transform_agentstate.so ]]; then
    with_agentstate=1
    cat >"$work/agentstate.yaml" <<Y
pipeline: bench-gsp-agentstate
sources:
  in: {plugin: file, path: "$ct", key_field: key, positions: false}
  agents: {plugin: file, path: "$as", key_field: key, positions: false}
transforms:
  ct: {plugin: callthread, inputs: [in]}
  as: {plugin: agentstate, inputs: [agents, ct.agent_events]}
sinks:
  out: {plugin: "null", inputs: [ct.interactions, ct.resources, ct.segments, ct.errors, in.errors,
                                 as.sessions, as.states, as.reasons, as.resources, as.errors, agents.errors]}
Y
fi

now() { date +%s.%N; }
# timed CMD...: wall seconds on stdout; user+sys CPU seconds in $work/cpu
timed() {
    local t0 t1
    t0=$(now)
    /usr/bin/time -f '%U %S' -o "$work/cpu" "$@" >"$work/out.log" 2>&1 || { tail -5 "$work/out.log" >&2; exit 1; }
    t1=$(now)
    awk '{print $1 + $2}' "$work/cpu" >"$work/cpu.s"
    echo "$t1 - $t0" | bc -l
}
declare -a base ours base2 ours2 cpu_base cpu_ours cpu_ours2
for ((r = 0; r < runs; r++)); do
    base+=("$(timed "$work/parse_only" "$ct")")
    cpu_base+=("$(cat "$work/cpu.s")")
    ours+=("$(timed "$mf" run "$work/callthread.yaml" --plugin-path "$plugins")")
    cpu_ours+=("$(cat "$work/cpu.s")")
    grep -q '"node":"ct".*"in='"$n_ct"' ' "$work/out.log" || { echo "callthread did not take every event" >&2; exit 1; }
    line="run $((r + 1)): parse-only ${base[r]}s, file -> callthread -> null ${ours[r]}s"
    if ((with_agentstate)); then
        t_a=$(timed "$work/parse_only" "$ct") t_b=$(timed "$work/parse_only" "$as")
        base2+=("$(echo "$t_a + $t_b" | bc -l)")
        ours2+=("$(timed "$mf" run "$work/agentstate.yaml" --plugin-path "$plugins")")
        cpu_ours2+=("$(cat "$work/cpu.s")")
        line+=", with agentstate ${ours2[r]}s (parse-only of both files ${base2[r]}s)"
    fi
    echo "$line" >&2
done

rate() { echo "$1 / $2" | bc -l | xargs printf '%.0f'; }
mb=$(median "${base[@]}") mo=$(median "${ours[@]}")
echo "parse-only (jansson):       $(rate "$n_ct" "$mb") events/s, CPU $(median "${cpu_base[@]}") s"
echo "file -> callthread -> null: $(rate "$n_ct" "$mo") events/s, CPU $(median "${cpu_ours[@]}") s"
printf 'ratio: %.2f (target >= 0.5)\n' "$(echo "$mb / $mo" | bc -l)"
if ((with_agentstate)); then
    mb2=$(median "${base2[@]}") mo2=$(median "${ours2[@]}")
    n2=$((n_ct + n_as))
    echo "parse-only, both files:     $(rate "$n2" "$mb2") events/s"
    echo "callthread + agentstate:    $(rate "$n2" "$mo2") events/s, CPU $(median "${cpu_ours2[@]}") s"
    printf 'ratio with agentstate: %.2f (target >= 0.5)\n' "$(echo "$mb2 / $mo2" | bc -l)"
else
    echo "(no transform_agentstate.so in this build: callthread only)"
fi

# ---- 3. state per open call ----------------------------------------------------------------------
open_file() { # N FILE: N calls left open
    [[ -f $2 && $(wc -l <"$2") -eq $(($1 * 6)) ]] && return
    cat >"$work/open-gen.yaml" <<Y
pipeline: bench-gsp-open-gen
sources:
  gen: {plugin: callgen, seed: 1, calls: $1, agents: 200, rate: 200, keep_open: true, key_member: true}
sinks:
  ct: {plugin: file, inputs: [gen.callthread], path: "$2"}
Y
    rm -f "$2"
    MARTFLOW_DATA_DIR=$work/data run_mf "$work/open-gen.yaml" >"$work/gen.log" 2>&1 || { tail -5 "$work/gen.log" >&2; exit 1; }
}
open_file "$open_calls" "$work/open.jsonl"
open_file 1 "$work/open1.jsonl"

metric_sum() { # NAME PORT
    curl -s "http://127.0.0.1:$2/metrics" | awk -v m="$1" '$1 ~ "^"m"({|$)" {s += $2} END {printf "%d\n", s}'
}
# open_rss FILE N: RSS and peak RSS (KiB) once N threads are open
open_rss() {
    local port=$((20000 + RANDOM % 20000))
    cat >"$work/open.yaml" <<Y
pipeline: bench-gsp-open
settings: {metrics_listen: "127.0.0.1:$port"}
sources:
  in: {plugin: file, path: "$1", key_field: key, positions: false, follow: true}
transforms:
  ct: {plugin: callthread, inputs: [in]}
sinks:
  out: {plugin: "null", inputs: [ct.interactions, ct.resources, ct.segments, ct.errors, in.errors]}
Y
    "$mf" run "$work/open.yaml" --plugin-path "$plugins" >"$work/open.log" 2>&1 &
    local pid=$! n=0 e=0 i
    for ((i = 0; i < 600; i++)); do
        n=$(metric_sum martflow_callthread_open_threads "$port" 2>/dev/null) || n=0 # not listening yet
        e=$(metric_sum martflow_callthread_events_total "$port" 2>/dev/null) || e=0
        [[ $n -ge $2 && $e -ge $(($2 * 6)) ]] && break
        sleep 0.5
    done
    sleep 1 # let the queues drain
    local rss hwm
    rss=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status")
    hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$pid/status")
    kill -TERM "$pid"
    wait "$pid" || true
    [[ $n -ge $2 ]] || { echo "only $n threads open (want $2)" >&2; exit 1; }
    echo "$rss $hwm $n"
}
read -r rss1 hwm1 _ <<<"$(open_rss "$work/open1.jsonl" 1)"
read -r rssn hwmn gauge <<<"$(open_rss "$work/open.jsonl" "$open_calls")"
echo "open calls: gauge martflow_callthread_open_threads = $gauge"
echo "RSS with 1 open call: $rss1 KiB (peak $hwm1); with $open_calls: $rssn KiB (peak $hwmn)"
per=$(((rssn - rss1) * 1024 / open_calls)) per_peak=$(((hwmn - hwm1) * 1024 / open_calls))
echo "state per open call: $per bytes (from peak RSS: $per_peak bytes; target < 2048)"
