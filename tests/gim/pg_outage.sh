#!/usr/bin/env bash
# PostgreSQL stops for 10 s (data kept) while the loader loads a followed
# file fed in steps, then starts again: the loader reconnects, takes its lock
# again and completes; the tables equal those of a clean run of the same
# records; ctl_etl_history has the FAILED cycles of the outage and the
# SUCCESS ones after; gim_server_state (read every 200 ms) went negative and
# through -1, -2 to -3 and back to 1; gim_failed_jobsteps counted them; /readyz stays 200 once ready
# (the loader is alive and loads again by itself: the outage shows in
# gim_server_state, not in readiness). Runs against a PostgreSQL of its own.
PG_PRIVATE=1
source "$top_srcdir/tests/gim/gim_lib.sh"
$GEN 8000 >"$TMP/in.jsonl"
CLEAN=${PGDATABASE}_clean
pg_sql -c "CREATE DATABASE $CLEAN" || fail "cannot create $CLEAN"
gim_yaml "$TMP/clean.yaml" "$TMP/in.jsonl" "" "" "$CLEAN"
run_pipeline "$TMP/clean.yaml" "$TMP/clean.log"
nat_dump "$CLEAN" >"$TMP/clean.dump"

: >"$TMP/feed.jsonl"
gim_yaml "$TMP/p.yaml" "$TMP/feed.jsonl" "follow: true, positions: false"
engine "$TMP/p.yaml" "$TMP/log"
port=$(metrics_port "$TMP/log")

# every 200 ms: "gim_server_state /readyz-status" (state "-" before it exists)
(while :; do
    s=$(curl -fsS "http://127.0.0.1:$port/metrics" 2>/dev/null | awk '$1 ~ /^gim_server_state\{/ {print $2}')
    r=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/readyz" 2>/dev/null || true)
    echo "${s:--} $r"
    sleep 0.2
done >"$TMP/scrape") &
scraper=$!
ENGINE_PIDS+=("$scraper")

# the records in 16 steps of 500, one every 0.8 s: some before, some during
# and some after the outage
split -l 500 "$TMP/in.jsonl" "$TMP/part."
(for f in "$TMP"/part.*; do cat "$f" >>"$TMP/feed.jsonl"; sleep 0.8; done) &
feeder=$!
cycles() { value "SELECT count(*) FROM ctl_etl_history WHERE status = 'SUCCESS' AND row_count > 0" 2>/dev/null || echo 0; }
two() { (($(cycles) >= 2)); }
wait_for 30 two || fail "no cycles committed before the outage"

note "stopping PostgreSQL for 10 s after $(cycles) cycles"
"$top_srcdir/tests/services.sh" stop postgres >/dev/null 2>&1 || fail "cannot stop PostgreSQL"
sleep 10
kill -0 "$ENGINE" 2>/dev/null || fail "the engine died during the outage: $(tail -3 "$TMP/log")"
"$top_srcdir/tests/services.sh" start postgres >/dev/null 2>&1 || fail "cannot start PostgreSQL again"
wait "$feeder"

# the configuration comes last (TENANT last of all): once it is in, all is
loaded() { [[ $(value "SELECT count(*) FROM tenant WHERE tenant_cfg_dbid = 1" 2>/dev/null) == 1 ]]; }
wait_for 60 loaded || { tail -5 "$TMP/log" >&2; fail "the records were not all loaded after the outage"; }
wait_for 10 metric_at_least "$port" gim_server_state 1 || fail "gim_server_state is not back to 1"
failed_steps=$(metric "$port" gim_failed_jobsteps)
((failed_steps > 0)) || fail "gim_failed_jobsteps is $failed_steps after the outage"
sleep 0.5 # one more sample of the recovered state
kill "$scraper" 2>/dev/null || true
wait "$scraper" 2>/dev/null || true
kill -TERM "$ENGINE"
RC=0; wait "$ENGINE" || RC=$?
assert_eq 0 "$RC" "exit status after SIGTERM"

nat_dump >"$TMP/dump"
diff -q "$TMP/clean.dump" "$TMP/dump" >/dev/null || { diff "$TMP/clean.dump" "$TMP/dump" | head -5 >&2; fail "the tables differ from a clean run's"; }
assert_eq 0 "$(value "SELECT count(*) FROM gim_pending_update")" "kept updates left"
assert_references

# the history: the outage's cycles FAILED (with the error), then SUCCESS again
nfailed=$(value "SELECT count(*) FROM ctl_etl_history WHERE status = 'FAILED' AND error_message <> ''")
((nfailed >= 3)) || fail "$nfailed FAILED cycles in ctl_etl_history (3 at least in 10 s)"
after=$(value "SELECT count(*) FROM ctl_etl_history WHERE status = 'SUCCESS' AND row_count > 0
    AND start_ts > (SELECT max(start_ts) FROM ctl_etl_history WHERE status = 'FAILED')")
((after >= 1)) || fail "no SUCCESS cycle with rows after the last FAILED one"
assert_eq "$failed_steps" "$nfailed" "FAILED rows = gim_failed_jobsteps"

# gim_server_state: 1, then negative during the outage, then 1 again
states=$(awk '$1 != "-" {print $1}' "$TMP/scrape" | uniq | tr '\n' ' ')
note "gim_server_state: $states"
# (a cycle that cannot connect fails like one that lost its connection: -1,
# -2, then -3 while the outage lasts; -1 and -2 last a backoff each, shorter
# than the sampling may see)
assert_contains "$states" '(^| )1 (-1 )?(-2 )?-3 1 $' "gim_server_state 1, -1, -2, -3, then 1 again"
# /readyz: 503 until the first cycle, then 200 throughout the outage
ready=$(awk '{print $2}' "$TMP/scrape" | uniq | tr '\n' ' ')
note "/readyz: $ready"
assert_contains "$ready" '^(503 )?200 $' "/readyz 200 from the first cycle on, outage included"
assert_contains "$TMP/log" '"node":"im".*cycle of [0-9]+ records failed \(transient' "the failed cycles are logged"
assert_contains "$TMP/log" '"node":"im".*reconnected to PostgreSQL' "the reconnection is logged"
