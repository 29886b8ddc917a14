#!/usr/bin/env bash
# PostgreSQL stops for a few seconds while records keep coming (a followed
# file), then starts again: the sink retries (counted by class), the
# pipeline goes on, and at the end every record is in the table exactly once
# (insert mode into a table without a key: a duplicate would show).
PG_EXCLUSIVE=1 # stops the server: no other PostgreSQL test may run meanwhile
source "$top_srcdir/tests/postgres/sink_lib.sh"

N=30000
pg_sql -c "CREATE TABLE t (id bigint, name text)"
: >"$TMP/in.jsonl"
cat >"$TMP/p.yaml" <<Y
pipeline: outage
settings: {metrics_listen: "127.0.0.1:0", retry_cap: 1s}
sources:
  in: {plugin: file, path: "$TMP/in.jsonl", follow: true, positions: false}
sinks:
  db:
    plugin: postgres
    inputs: [in]
    table: t
    batch_time: 200ms
    batch_records: 2000
    columns: {id: id, name: name}
Y
engine "$TMP/p.yaml" "$TMP/log"
port=$(metrics_port "$TMP/log")

# about 4,000 records a second, for about 7 s
(for ((i = 1; i <= N; i += 200)); do
    awk -v s=$i 'BEGIN { for (j = s; j < s + 200; j++) printf "{\"id\":%d,\"name\":\"r%d\"}\n", j, j }' >>"$TMP/in.jsonl"
    sleep 0.05
done) &
writer=$!
rows() { value "SELECT count(*) FROM t"; }
at_least() { (($(rows 2>/dev/null || echo 0) >= $1)); }
wait_for 30 at_least 3000 || fail "nothing was written before the outage"

note "stopping PostgreSQL for 3 s"
"$top_srcdir/tests/services.sh" stop postgres >/dev/null 2>&1 || fail "cannot stop PostgreSQL"
sleep 3
kill -0 "$ENGINE" 2>/dev/null || fail "the engine died during the outage: $(tail -3 "$TMP/log")"
"$top_srcdir/tests/services.sh" start postgres >/dev/null 2>&1 || fail "cannot start PostgreSQL again"
wait "$writer"
wait_for 40 at_least $N || fail "only $(rows) of $N rows arrived"
curl -fsS "http://127.0.0.1:$port/metrics" >"$TMP/metrics" || fail "no metrics"
retries=$(awk '/^martflow_postgres_retries_total\{.*class="transient"/ {s += $2} END {printf "%d", s}' "$TMP/metrics")
((retries >= 1)) || { grep martflow_postgres "$TMP/metrics" >&2; fail "no transient retry counted"; }
kill -TERM "$ENGINE"
RC=0; wait "$ENGINE" || RC=$?
assert_eq 0 "$RC" "exit status after SIGTERM"

assert_eq "$N|$N|1|$N" "$(value 'SELECT count(*), count(DISTINCT id), min(id), max(id) FROM t')" \
    "every record exactly once"
assert_contains "$TMP/log" '"node":"db".*PostgreSQL connection lost|"node":"db".*cannot connect to PostgreSQL' "the outage is logged"
assert_contains "$TMP/log" '"node":"db".*reconnected to PostgreSQL' "the recovery is logged"
note "transient retries: $retries; $(grep -o 'table t: [^"]*' "$TMP/log")"
