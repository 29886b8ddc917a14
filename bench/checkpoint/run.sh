#!/usr/bin/env bash
# bench/checkpoint/run.sh [TRAFFIC_CALLS] [RUNS] — what checkpoints cost with
# 100,000 open calls in callthread's state (issue 13, "Performance").
#
# The pipeline: file source -> callthread -> null (every port). The file
# (made once with callgen, kept in BENCH_DIR) holds OPEN_CALLS (100,000)
# calls that stay open (keep_open: 6 events each, tenant "open", within the
# first ~8 minutes of event time), then TRAFFIC_CALLS (450,000, ~3.5 M
# events) ordinary calls (tenant t1, 1.2 calls/s of event time, ~4 days);
# stuck_timeout 720h keeps the open ones open to the end.
#  1. Throughput, interleaved (each pair in the other order than the one
#     before, both at debug log level), medians of RUNS (3): checkpoints every 10 s
#     into a file:// store (checkpoint_retain 2) against no checkpoints at all
#     (no store, checkpoint_interval 0). Prints events/s of each, the ratio
#     and the cost (target <= 5%), the cost of each pair and its median; the
#     same from user+sys CPU seconds, which
#     a machine shared with other work disturbs less than wall time.
#  2. Per checkpoint (from the runs' debug log "checkpoint N stored ... B
#     bytes, T ms"): its duration (barrier request to manifest) and size,
#     median over every checkpoint of every run.
#     A checkpoint taken after both sources ended holds little (callthread
#     flushed its open calls at the end of input): sizes are listed.
#     And the time callthread's worker spends in snapshot() (debug log
#     "snapshot for checkpoint N: B bytes, T ms on the worker"): the worker
#     processes nothing meanwhile; median over the snapshots above 1 MB.
#  3. The open calls alone, the source following the file (it never ends), with
#     checkpoints every 2 s: once the open-threads gauge reads 100,000 and two
#     more checkpoints are stored, the checkpoint metrics from /metrics
#     (duration, size, failures), then SIGTERM. Restore time: the pipeline
#     started again on that store, from the process's launch
#     to its "pipeline ... starting" log line (list, load, verify by SHA-256,
#     restore()), against the same start with --from-checkpoint none; the
#     open-threads gauge after the restore.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
traffic=${1:-450000}
runs=${2:-3}
open_calls=100000
source "$top/bench/lib.sh"
bench_build
work=${BENCH_DIR:-/tmp/martflow-bench-checkpoint}
mkdir -p "$work"

# ---- the events (not measured; kept in BENCH_DIR for the next run) ----------------------------
# open.jsonl: the open calls (event time from 2024-03-30T23:30Z, ~8 min);
# in.jsonl: them, then the traffic (from 2024-03-31T00:00Z): one stream, so
# callthread's watermark moves smoothly.
gen() { # NAME CALLGEN-OPTIONS
    cat >"$work/gen-$1.yaml" <<Y
pipeline: bench-checkpoint-gen
sources:
  gen: {plugin: callgen, $2}
sinks:
  ct: {plugin: file, inputs: [gen.callthread], path: "$work/$1.jsonl"}
  as: {plugin: "null", inputs: [gen.agentstate]}
Y
    rm -f "$work/$1.jsonl"
    MARTFLOW_DATA_DIR=$work/data "$mf" run "$work/gen-$1.yaml" --plugin-path "$plugins" >"$work/gen.log" 2>&1 ||
        { tail -5 "$work/gen.log" >&2; exit 1; }
}
if [[ ! -f $work/in.jsonl || $(cat "$work/in.calls" 2>/dev/null) != "$traffic" ]]; then
    echo "generating $open_calls open calls and $traffic calls with callgen ..." >&2
    gen open "seed: 7, tenant: open, calls: $open_calls, agents: 2000, rate: 200, keep_open: true, key_member: true"
    gen traffic "seed: 1, tenant: t1, calls: $traffic, agents: 200, rate: 1.2, key_member: true, start: '2024-03-31T00:00:00Z'"
    cat "$work/open.jsonl" "$work/traffic.jsonl" >"$work/in.jsonl"
    rm -f "$work/traffic.jsonl"
    echo "$traffic" >"$work/in.calls"
fi

pipeline() { # yaml settings input follow
    cat >"$1" <<Y
pipeline: bench-checkpoint
settings: {$2}
sources:
  in: {plugin: file, path: "$3", key_field: key, positions: false, follow: $4}
transforms:
  ct: {plugin: callthread, inputs: [in], stuck_timeout: 720h}
sinks:
  out: {plugin: "null", inputs: [ct.interactions, ct.resources, ct.segments, ct.errors, in.errors]}
Y
}
store=file://$work/store
pipeline "$work/none.yaml" "checkpoint_interval: 0" "$work/in.jsonl" false
pipeline "$work/ckpt.yaml" "checkpoints: '$store', checkpoint_interval: 10s, checkpoint_retain: 2" "$work/in.jsonl" false

now() { date +%s.%N; }
timed() { # LOG CMD...: wall seconds; user+sys CPU seconds in $work/cpu.s
    local log=$1 t0 t1
    shift
    t0=$(now)
    /usr/bin/time -f '%U %S' -o "$work/cpu" "$@" >"$log" 2>&1 || { tail -5 "$log" >&2; exit 1; }
    t1=$(now)
    awk '{print $1 + $2}' "$work/cpu" >"$work/cpu.s"
    echo "$t1 - $t0" | bc -l
}
events_of() { grep -o '"node":"ct".*"message":"in=[0-9]*' "$1" | grep -o '[0-9]*$'; }

t_none=() t_ckpt=() c_none=() c_ckpt=() n_ckpt=() durations=() sizes=() snaps=()
snap_ms() { # LOG: the worker's snapshot() times in ms, "wall/CPU", of the snapshots above 1 MB
    grep -o 'snapshot for checkpoint [0-9]*: [0-9]* bytes, [0-9.]* ms on the worker (CPU [0-9.]* ms)' "$1" |
        sed -E 's/.*: ([0-9]+) bytes, ([0-9.]+) ms on the worker \(CPU ([0-9.]+) ms\)/\1 \2 \3/' |
        awk '$1 > 1000000 {print $2 "/" $3}'
}
snap_median() { # "wall/CPU"...: the medians of each
    printf '%s ms wall, %s ms CPU' "$(median "${@%%/*}")" "$(median "${@##*/}")"
}
run_none() {
    t_none+=("$(timed "$work/none.log" "$mf" run "$work/none.yaml" --plugin-path "$plugins" --log-level debug)")
    c_none+=("$(cat "$work/cpu.s")")
}
run_ckpt() {
    rm -rf "$work/store"
    t_ckpt+=("$(timed "$work/ckpt.log" "$mf" run "$work/ckpt.yaml" --plugin-path "$plugins" --log-level debug)")
    c_ckpt+=("$(cat "$work/cpu.s")")
}
# Each pair in the other order than the one before (a machine that drifts
# faster or slower over the runs favours neither side); both at debug level.
for ((r = 0; r < runs; r++)); do
    if ((r % 2 == 0)); then run_none; run_ckpt; else run_ckpt; run_none; fi
    ev_none=$(events_of "$work/none.log") ev_ckpt=$(events_of "$work/ckpt.log")
    [[ $ev_none == "$ev_ckpt" ]] || { echo "callthread took $ev_none vs $ev_ckpt events" >&2; exit 1; }
    n=0
    while read -r b ms; do
        sizes+=("$b") durations+=("$ms")
        n=$((n + 1))
    done < <(grep -o 'checkpoint [0-9]* stored in [^:]*:[^:]*: [0-9]* bytes, [0-9]* ms' "$work/ckpt.log" |
        sed -E 's/.*: ([0-9]+) bytes, ([0-9]+) ms/\1 \2/')
    n_ckpt+=("$n")
    while read -r ms; do snaps+=("$ms"); done < <(snap_ms "$work/ckpt.log")
    echo "run $((r + 1)): no checkpoints ${t_none[r]} s (CPU ${c_none[r]} s), checkpoints every 10 s ${t_ckpt[r]} s" \
        "(CPU ${c_ckpt[r]} s; $n stored), $ev_none events" >&2
done
((${#sizes[@]} > 0)) || { echo "no checkpoint was stored" >&2; exit 1; }
mn=$(median "${t_none[@]}") mc=$(median "${t_ckpt[@]}")
rate() { echo "$1 / $2" | bc -l | xargs printf '%.0f'; }
echo "events: $ev_none (of which $(wc -l <"$work/open.jsonl") of the $open_calls open calls)"
echo "no checkpoints:          $(rate "$ev_none" "$mn") events/s (median $mn s)"
echo "checkpoints every 10 s:  $(rate "$ev_ckpt" "$mc") events/s (median $mc s; checkpoints per run: ${n_ckpt[*]})"
printf 'ratio: %.3f; cost %.1f%% (target <= 5%%)\n' "$(echo "$mn / $mc" | bc -l)" "$(echo "($mc / $mn - 1) * 100" | bc -l)"
pairs=()
for ((r = 0; r < runs; r++)); do pairs+=("$(echo "(${t_ckpt[r]} / ${t_none[r]} - 1) * 100" | bc -l)"); done
printf 'cost per pair (%%): %s; median %.1f%%\n' "$(printf '%.1f ' "${pairs[@]}")" "$(median "${pairs[@]}")"
cn=$(median "${c_none[@]}") cc=$(median "${c_ckpt[@]}")
printf 'CPU (user+sys): %s s against %s s: %.1f%% more (less sensitive to a loaded machine than wall time)\n' \
    "$cc" "$cn" "$(echo "($cc / $cn - 1) * 100" | bc -l)"
echo "checkpoints of the throughput runs: duration median $(median "${durations[@]}") ms (each: ${durations[*]});" \
    "size median $(median "${sizes[@]}") bytes (each: ${sizes[*]})"
((${#snaps[@]} > 0)) && echo "callthread's snapshot() on its worker: median $(snap_median "${snaps[@]}") (each, wall/CPU ms: ${snaps[*]})"

# ---- 3. one checkpoint of the open calls, and its restore ------------------------------------------
# prep: the open calls alone, the source following the file (never ends); once the
# gauge reads every open call and two more checkpoints are stored, SIGTERM.
# The checkpoint metrics of that run are what /metrics shows.
metric() { curl -s "http://127.0.0.1:$1/metrics" | awk -v m="$2" '$1 ~ "^"m"({|$)" {s += $2} END {printf "%.3f", s}'; }
wait_port() { # LOG: the listener's port
    local i
    for ((i = 0; i < 300; i++)); do grep -aq '(port [0-9]*)' "$1" 2>/dev/null && break; sleep 0.1; done
    grep -ao '(port [0-9]*)' "$1" | grep -o '[0-9]*' | head -1
}
rm -rf "$work/store"
pipeline "$work/prep.yaml" "checkpoints: '$store', checkpoint_interval: 2s, checkpoint_retain: 1, metrics_listen: '127.0.0.1:0'" \
    "$work/open.jsonl" true
rm -f "$work/prep.log" # else wait_port may read the last run's port before the shell truncates it
"$mf" run "$work/prep.yaml" --plugin-path "$plugins" --log-level debug >"$work/prep.log" 2>&1 &
pid=$!
trap 'kill -TERM "$pid" 2>/dev/null || true' EXIT # it follows the file: never left running
port=$(wait_port "$work/prep.log")
for ((i = 0; i < 600; i++)); do
    g=$(metric "$port" martflow_callthread_open_threads)
    ((${g%.*} >= open_calls)) && break
    sleep 0.5
done
c0=$(metric "$port" martflow_checkpoints_total)
for ((i = 0; i < 600; i++)); do
    (($(metric "$port" martflow_checkpoints_total | cut -d. -f1) >= ${c0%.*} + 2)) && break
    sleep 0.5
done
echo "a checkpoint of ${g%.*} open calls (/metrics): martflow_checkpoint_duration_seconds" \
    "$(metric "$port" martflow_checkpoint_duration_seconds), martflow_checkpoint_size_bytes" \
    "$(metric "$port" martflow_checkpoint_size_bytes | cut -d. -f1), failures $(metric "$port" martflow_checkpoint_failures_total | cut -d. -f1)"
kill -TERM "$pid"
wait "$pid" || true
mapfile -t snaps < <(snap_ms "$work/prep.log")
((${#snaps[@]} > 0)) && echo "the open calls alone, callthread's snapshot() on its worker: median $(snap_median "${snaps[@]}") (each, wall/CPU ms: ${snaps[*]})"

cp "$work/prep.yaml" "$work/restore.yaml" # reads on from the restored position: the end of open.jsonl
# start_ms ARGS...: ms from launch to the "starting" line; leaves the open-threads gauge in $work/gauge
start_ms() {
    local t0 pid port t1 g=0 i
    rm -f "$work/restore.log"
    t0=$(date +%s%3N)
    "$mf" run "$work/restore.yaml" --plugin-path "$plugins" "$@" >"$work/restore.log" 2>&1 &
    pid=$!
    for ((i = 0; i < 600; i++)); do grep -aq "pipeline 'bench-checkpoint' starting" "$work/restore.log" 2>/dev/null && break; sleep 0.1; done
    port=$(wait_port "$work/restore.log")
    t1=$(grep -a "pipeline 'bench-checkpoint' starting" "$work/restore.log" |
        python3 -c 'import json, sys, datetime; t = json.loads(sys.stdin.readline())["time"]; print(int(datetime.datetime.fromisoformat(t.replace("Z", "+00:00")).timestamp() * 1000))')
    for ((i = 0; i < 50; i++)); do
        g=$(metric "$port" martflow_callthread_open_threads | cut -d. -f1)
        ((g > 0)) && break
        sleep 0.1
    done
    echo "$g" >"$work/gauge"
    kill -TERM "$pid"
    wait "$pid" || true
    echo $((t1 - t0))
}
cp -r "$work/store" "$work/store.keep"
rest=() empty=()
for ((r = 0; r < runs; r++)); do
    rm -rf "$work/store" && cp -r "$work/store.keep" "$work/store"
    rest+=("$(start_ms)")
    grep -q 'restoring checkpoint' "$work/restore.log" || { cat "$work/restore.log" >&2; exit 1; }
    gauge=$(cat "$work/gauge")
    empty+=("$(start_ms --from-checkpoint none)")
done
rm -rf "$work/store.keep"
echo "restore: $(median "${rest[@]}") ms from launch to running (each: ${rest[*]}), open threads after it: $gauge;" \
    "an empty start: $(median "${empty[@]}") ms"
