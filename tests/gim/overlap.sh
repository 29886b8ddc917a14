#!/usr/bin/env bash
# Intake goes on during a cycle: while a cycle's transaction is held up (a
# lock another session holds on ctl_audit_log, which every cycle writes
# first), the loader keeps taking and checking records for the next cycle,
# up to cycle_records of them (gim_records_waiting), and then takes no more;
# nothing is acknowledged meanwhile: killed (kill -9) with nothing committed,
# a restart reads every record again, and the tables equal those of a clean
# run of the same records.
source "$top_srcdir/tests/gim/gim_lib.sh"
$GEN 6000 >"$TMP/in.jsonl"
CLEAN=${PGDATABASE}_clean
pg_sql -c "CREATE DATABASE $CLEAN" || fail "cannot create $CLEAN"
LOCKER=""
trap '[[ -z $LOCKER ]] || kill "$LOCKER" 2>/dev/null; pg_sql -c "DROP DATABASE IF EXISTS $CLEAN WITH (FORCE)" >/dev/null 2>&1 || true; sink_cleanup' EXIT

gim_yaml "$TMP/clean.yaml" "$TMP/in.jsonl" "" "" "$CLEAN"
run_pipeline "$TMP/clean.yaml" "$TMP/clean.log"
nat_dump "$CLEAN" >"$TMP/clean.dump"

# the loader up and ready (its first, empty cycle committed) on a followed file, still empty
: >"$TMP/feed.jsonl"
gim_yaml "$TMP/p.yaml" "$TMP/feed.jsonl" "follow: true, positions: true"
engine "$TMP/p.yaml" "$TMP/log1"
port=$(metrics_port "$TMP/log1")
committed() { value "SELECT count(*) FROM ctl_etl_history WHERE status = 'SUCCESS'" 2>/dev/null || echo 0; }
ready() { (($(committed) >= 1)); }
wait_for 30 ready || fail "the loader did not commit its first cycle"

# hold the next cycle up: its INSERT INTO ctl_audit_log waits for this lock
psql -X -q -c "BEGIN" -c "LOCK TABLE ctl_audit_log IN EXCLUSIVE MODE" -c "SELECT pg_sleep(120)" >/dev/null 2>&1 &
LOCKER=$!
locked() { (($(value "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
                       WHERE c.relname = 'ctl_audit_log' AND l.mode = 'ExclusiveLock' AND l.granted") >= 1)); }
wait_for 20 locked || fail "the lock on ctl_audit_log was not taken"
before=$(committed)
cat "$TMP/in.jsonl" >>"$TMP/feed.jsonl"

# node im's own input counter (the errors sink has one too)
im_in() { curl -fsS "http://127.0.0.1:$port/metrics" 2>/dev/null |
    awk '$1 ~ /^martflow_node_records_in_total\{/ && $1 ~ /node="im"/ {s += $2} END {printf "%d\n", s}'; }
waiting_full() { (($(metric "$port" gim_records_waiting) >= 2000)); }
wait_for 30 waiting_full || fail "the next cycle's records were not taken during the held cycle (gim_records_waiting $(metric "$port" gim_records_waiting), im took $(im_in))"
blocked() { (($(value "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'INSERT INTO ctl_audit_log%'") >= 1)); }
blocked || fail "no cycle is waiting for the lock"
taken=$(im_in) waiting=$(metric "$port" gim_records_waiting)
((taken > waiting)) || fail "the loader took $taken records, $waiting of them waiting: none for the held cycle"
sleep 1 # backpressure: no more than the next cycle's records are taken meanwhile
waiting=$(metric "$port" gim_records_waiting)
((waiting < 4000)) || fail "$waiting records waiting: more than one cycle's worth was taken"
assert_eq "$before" "$(committed)" "cycles committed while the lock was held"
assert_eq 0 "$(value "SELECT count(*) FROM interaction_fact")" "facts written while the lock was held"
note "while a cycle of $((taken - waiting)) records was held: $(im_in) taken, $waiting waiting for the next cycle"

# nothing was acknowledged: after kill -9, a restart reads every record again
kill -9 "$ENGINE"
wait "$ENGINE" 2>/dev/null || true
kill "$LOCKER" 2>/dev/null || true
wait "$LOCKER" 2>/dev/null || true
LOCKER=""
pg_sql -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(120)%' AND pid <> pg_backend_pid()" >/dev/null
gim_yaml "$TMP/p2.yaml" "$TMP/feed.jsonl" "positions: true"
run_pipeline "$TMP/p2.yaml" "$TMP/log2"
nat_dump >"$TMP/dump"
diff -q "$TMP/clean.dump" "$TMP/dump" >/dev/null || { diff "$TMP/clean.dump" "$TMP/dump" | head -5 >&2; fail "the tables differ from a clean run's"; }
assert_eq 0 "$(value "SELECT count(*) FROM gim_pending_update")" "kept updates left"
assert_references
