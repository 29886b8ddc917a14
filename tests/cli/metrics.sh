#!/usr/bin/env bash
# metrics_listen serves /metrics (Prometheus text), /healthz and /readyz on
# the address given, and only there.
source "$top_srcdir/tests/lib.sh"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
: >"$TMP/in.jsonl"
cat >"$TMP/p.yaml" <<Y
pipeline: metered
settings: {metrics_listen: "127.0.0.1:$port"}
sources:
  in: {plugin: file, path: $TMP/in.jsonl, follow: true}
sinks:
  out: {plugin: file, inputs: [in], path: $TMP/out.jsonl}
  bad: {plugin: file, inputs: [in.errors], path: $TMP/bad.jsonl}
Y
"$MARTFLOW" run "$TMP/p.yaml" >"$TMP/log" &
pid=$!
trap 'kill $pid 2>/dev/null || true; cleanup_tmp' EXIT
printf '{"a":1}\n{"a":2}\nbad\n' >>"$TMP/in.jsonl"
wait_for 10 bash -c "[[ \$(wc -l <'$TMP/out.jsonl' 2>/dev/null || echo 0) -ge 2 ]]" || fail "records did not arrive"
wait_for 5 curl -fsS "http://127.0.0.1:$port/healthz" -o "$TMP/health" || fail "/healthz"
assert_contains "$TMP/health" '^ok$' "healthz body"
curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null || fail "/readyz"
curl -fsS "http://127.0.0.1:$port/metrics" >"$TMP/metrics" || fail "/metrics"
assert_contains "$TMP/metrics" '^# TYPE martflow_node_records_out_total counter$' "type line"
assert_contains "$TMP/metrics" '^martflow_node_records_out_total\{pipeline="metered",node="in",plugin="file"\} 3$' "records out (2 + 1 reject)"
assert_contains "$TMP/metrics" '^martflow_node_rejected_total\{pipeline="metered",node="in",plugin="file"\} 1$' "rejected counter"
assert_contains "$TMP/metrics" '^martflow_file_lines_total\{pipeline="metered",node="in",plugin="file"\} 3$' "plugin metric"
assert_contains "$TMP/metrics" '^martflow_queue_records\{pipeline="metered",node="out",plugin="file",worker="0"\} 0$' "queue gauge"
assert_contains "$TMP/metrics" '^martflow_up\{pipeline="metered"\} 1$' "up"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/nope")
assert_eq 404 "$code" "unknown path"
listening=$(ss -Hltn "sport = :$port")
[[ -n $listening ]] || fail "ss shows no listener on port $port"
grep -qv "127.0.0.1:$port" <<<"$listening" && fail "listens beyond 127.0.0.1: $listening"
kill -TERM $pid
wait $pid || fail "exit after SIGTERM"
