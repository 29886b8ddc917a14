#!/usr/bin/env bash
# bench/lua/run.sh [RECORDS] [RUNS] — the cost of a `lua` node.
#
# RECORDS JSON events of about 400 bytes (generated once by bench/gen_events.py) through
#   base:    file -> null
#   process: file -> lua (process: reads one field, emits the record) -> null
#   batch:   file -> lua (process_batch: the same per record) -> null
# Prints records/s of each (median of RUNS runs, run in rotation) and the
# ratios to base. Targets: process >= 0.5, process_batch >= 0.7.
# The nodes run on their own threads, so on 2+ free cores the lua node mostly
# overlaps the source (which parses the JSON): the CPU time (user + system)
# per record is printed too, and its difference to base is the lua node's
# own cost.
# BUILD_DIR: a built tree (default: this tree, else _build); BENCH_DIR: where
# the data goes (default /tmp/martflow-bench-lua); CPUS: run pinned to these
# CPUs (taskset -c, e.g. CPUS=0 for one core: the lua node's CPU time then
# adds up instead of overlapping the source).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
records=${1:-1000000}
runs=${2:-3}
source "$top/bench/lib.sh"
bench_build
[[ -e $plugins/transform_lua.so ]] || { echo "no transform_lua.so in $plugins" >&2; exit 1; }
work=${BENCH_DIR:-/tmp/martflow-bench-lua}
mkdir -p "$work"
in=$work/in.jsonl
bench_events "$records" "$in"
bytes=$(stat -c %s "$in")

source_yaml="sources:
  in: {plugin: file, path: '$in', positions: false}"
cat >"$work/base.yaml" <<Y
pipeline: bench-lua-base
$source_yaml
sinks:
  out: {plugin: "null", inputs: [in]}
Y
cat >"$work/process.yaml" <<Y
pipeline: bench-lua-process
$source_yaml
transforms:
  l:
    plugin: lua
    inputs: [in]
    api: 1
    code: |
      function process(record, emit)
        if record.value.id ~= "EventSkipped" then emit(record) end
      end
sinks:
  out: {plugin: "null", inputs: [l]}
Y
cat >"$work/batch.yaml" <<Y
pipeline: bench-lua-batch
$source_yaml
transforms:
  l:
    plugin: lua
    inputs: [in]
    api: 1
    code: |
      function process_batch(records, emit)
        for i = 1, #records do
          local record = records[i]
          if record.value.id ~= "EventSkipped" then emit(record) end
        end
      end
sinks:
  out: {plugin: "null", inputs: [l]}
Y

declare -A times cpu
for ((r = 0; r < runs; r++)); do
    line="run $((r + 1)):"
    for kind in base process batch; do
        /usr/bin/time -f '%e %U %S' -o "$work/$kind.time" ${CPUS:+taskset -c "$CPUS"} \
            "$mf" run "$work/$kind.yaml" --plugin-path "$plugins" >"$work/$kind.log" 2>&1 ||
            { cat "$work/$kind.log" >&2; exit 1; }
        grep -q "node\":\"out\".*in=$records " "$work/$kind.log" ||
            { echo "$kind: the sink did not get $records records" >&2; grep '"out"' "$work/$kind.log" >&2; exit 1; }
        read -r t u s <"$work/$kind.time"
        times[$kind]+="$t "
        cpu[$kind]+="$(echo "$u + $s" | bc -l) "
        line+=" $kind $(printf '%.2f' "$t")s (cpu $(printf '%.2f' "$(echo "$u + $s" | bc -l)")s)"
    done
    echo "$line" >&2
done
tb=$(median ${times[base]})
tp=$(median ${times[process]})
tq=$(median ${times[batch]})
rate() { echo "$records / $1" | bc -l; }
printf 'lua node cost, %d records of %d bytes avg, median of %d runs%s\n' "$records" $((bytes / records)) "$runs" \
    "${CPUS:+, pinned to CPUs $CPUS}"
printf '  file -> null:                        %9.0f records/s\n' "$(rate "$tb")"
printf '  file -> lua (process) -> null:       %9.0f records/s  ratio %.2f (target >= 0.50)\n' \
    "$(rate "$tp")" "$(echo "$tb / $tp" | bc -l)"
printf '  file -> lua (process_batch) -> null: %9.0f records/s  ratio %.2f (target >= 0.70)\n' \
    "$(rate "$tq")" "$(echo "$tb / $tq" | bc -l)"
cb=$(median ${cpu[base]})
cp=$(median ${cpu[process]})
cq=$(median ${cpu[batch]})
us() { echo "$1 * 1000000 / $records" | bc -l; }
printf 'CPU time per record (user + system, all threads):\n'
printf '  base %.2f us; process %.2f us (lua node +%.2f us); process_batch %.2f us (lua node +%.2f us)\n' \
    "$(us "$cb")" "$(us "$cp")" "$(us "$(echo "$cp - $cb" | bc -l)")" "$(us "$cq")" "$(us "$(echo "$cq - $cb" | bc -l)")"
