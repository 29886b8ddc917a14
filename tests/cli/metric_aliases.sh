#!/usr/bin/env bash
# settings.metric_aliases renders metrics again under other names on
# /metrics: one series per matching series with its labels kept (constant
# labels added or replacing), or one aggregated series (sum of nothing: 0),
# with the alias's type and help; a rate over a window from 1 s samples; an
# alias naming a metric nobody registered is logged at start. Bad aliases
# fail `check` at their file:line:col.
source "$top_srcdir/tests/lib.sh"
: >"$TMP/in.jsonl"
cat >"$TMP/p.yaml" <<Y
pipeline: aliased
settings:
  metrics_listen: "127.0.0.1:0"
  metric_aliases:
    flink_jobmanager_numRunningJobs: {metric: martflow_up, aggregate: sum, type: gauge, help: "Running jobs"}
    per_node_out:
      metric: martflow_node_records_out_total
      match: {node: [in, other]}
      labels: {operator_name: 'Source: "in"', plugin: renamed}
    all_rejected: {metric: martflow_node_rejected_total, aggregate: sum}
    nothing_summed: {metric: martflow_node_rejected_total, match: {node: nosuch}, aggregate: sum}
    nothing_listed: {metric: martflow_node_rejected_total, match: {node: nosuch}}
    queue_max: {metric: martflow_queue_records, aggregate: max}
    out_rate: {metric: martflow_node_records_out_total, match: {node: in}, rate: 3s}
    sum_rate: {metric: martflow_node_records_out_total, aggregate: sum, rate: 3s}
    unknown: {metric: martflow_nobody_total}
sources:
  in: {plugin: file, path: $TMP/in.jsonl, follow: true}
sinks:
  out: {plugin: file, inputs: [in], path: $TMP/out.jsonl, fsync: never}
  bad: {plugin: file, inputs: [in.errors], path: $TMP/bad.jsonl, fsync: never}
Y
"$MARTFLOW" check "$TMP/p.yaml" >/dev/null || fail "the valid file fails check"
"$MARTFLOW" run "$TMP/p.yaml" >"$TMP/log" &
pid=$!
trap 'kill $pid 2>/dev/null || true; cleanup_tmp' EXIT
port=$(metrics_port "$TMP/log")
scrape() { curl -fsS "http://127.0.0.1:$port/metrics" >"$TMP/metrics" || fail "/metrics"; }

# 10 lines a second for 4 s: 3 of each 10 are not JSON
for s in 1 2 3 4; do
    for i in 1 2 3 4 5 6 7; do printf '{"a":%d}\n' "$i"; done >>"$TMP/in.jsonl"
    printf 'bad\nbad\nbad\n' >>"$TMP/in.jsonl"
    sleep 1
done
wait_for 10 bash -c "[[ \$(wc -l <'$TMP/out.jsonl' 2>/dev/null || echo 0) -ge 28 ]]" || fail "records did not arrive"
scrape
assert_contains "$TMP/metrics" '^# HELP flink_jobmanager_numRunningJobs Running jobs$' "help"
assert_contains "$TMP/metrics" '^# TYPE flink_jobmanager_numRunningJobs gauge$' "declared type"
assert_contains "$TMP/metrics" '^flink_jobmanager_numRunningJobs 1$' "sum of martflow_up"
assert_contains "$TMP/metrics" '^# TYPE per_node_out counter$' "the metric's own type"
assert_contains "$TMP/metrics" '^# HELP per_node_out martflow_node_records_out_total \(alias\)$' "default help"
assert_contains "$TMP/metrics" \
    '^per_node_out\{pipeline="aliased",node="in",operator_name="Source: \\"in\\"",plugin="renamed"\} 40$' \
    "labels kept, added and replaced"
assert_eq 1 "$(grep -c '^per_node_out{' "$TMP/metrics")" "only the matching series"
assert_contains "$TMP/metrics" '^all_rejected 12$' "sum over every node"
assert_contains "$TMP/metrics" '^nothing_summed 0$' "a sum of nothing is 0"
grep -q 'nothing_listed' "$TMP/metrics" && fail "an alias without series is not rendered"
assert_contains "$TMP/metrics" '^queue_max [0-9]+$' "max"
assert_contains "$TMP/metrics" '^# TYPE out_rate gauge$' "a rate is a gauge"
rate=$(awk '$1 ~ /^out_rate[{]/ {print $2}' "$TMP/metrics")
sum_rate=$(awk '$1 == "sum_rate" {print $2}' "$TMP/metrics")
# 10 records a second (the last second may have been partly idle)
python3 -c "import sys; r = float('$rate'); sys.exit(0 if 2 <= r <= 15 else 1)" || fail "out_rate $rate is not ~10/s"
python3 -c "import sys; r = float('$sum_rate'); sys.exit(0 if 2 <= r <= 25 else 1)" || fail "sum_rate $sum_rate"
assert_contains "$TMP/log" "settings.metric_aliases: 'unknown': no node registered martflow_nobody_total" "unknown metric logged"
# idle for longer than the window: the rate falls to 0
sleep 5
scrape
assert_contains "$TMP/metrics" '^out_rate\{pipeline="aliased",node="in",plugin="file"\} 0$' "idle rate"
kill -TERM $pid
wait $pid || fail "exit after SIGTERM"

# check: each mistake at its place
expect_check() { # file line pattern
    local rc=0
    "$MARTFLOW" check "$1" >/dev/null 2>"$TMP/err" || rc=$?
    assert_eq 2 "$rc" "check $1"
    assert_contains "$TMP/err" "^$1:$2:[0-9]+: .*$3" "check $1"
}
bad() { # alias line (YAML flow map)
    printf 'settings:\n  metric_aliases:\n    %s\nsources:\n  in: {plugin: file, path: /dev/null}\nsinks:\n  out: {plugin: stdout, inputs: [in]}\n' "$1" >"$TMP/bad.yaml"
}
bad 'martflow_x: {metric: martflow_up}'
expect_check "$TMP/bad.yaml" 3 "'martflow_x' is not a metric name outside martflow_"
bad 'x: {metric: up}'
expect_check "$TMP/bad.yaml" 3 "'x': metric 'up' is not a martflow_\* metric name"
bad 'x: {metric: martflow_up, aggregate: avg}'
expect_check "$TMP/bad.yaml" 3 "aggregate 'avg' is not none, sum, min or max"
bad 'x: {metric: martflow_up, rate: 10ms}'
expect_check "$TMP/bad.yaml" 3 "rate '10ms' is not a duration from 1s to 1h"
bad 'x: {metric: martflow_up, rate: 10s, type: counter}'
expect_check "$TMP/bad.yaml" 3 "a rate is a gauge, not a counter"
bad 'x: {metric: martflow_up, matc: {node: a}}'
expect_check "$TMP/bad.yaml" 3 "unknown key 'matc'"
bad 'x: {metric: martflow_up, match: {node: []}}'
expect_check "$TMP/bad.yaml" 3 "an empty list matches nothing"
bad 'x: {match: {node: a}}'
expect_check "$TMP/bad.yaml" 3 "'metric' is required"
bad 'x: {metric: martflow_up, labels: {"a-b": c}}'
expect_check "$TMP/bad.yaml" 3 "labels: 'a-b' must be a label name"
printf 'settings:\n  metric_aliases: [a]\nsources:\n  in: {plugin: file, path: /dev/null}\nsinks:\n  out: {plugin: stdout, inputs: [in]}\n' >"$TMP/bad.yaml"
expect_check "$TMP/bad.yaml" 2 "settings.metric_aliases: expected a map"
