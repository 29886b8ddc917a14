#!/usr/bin/env bash
# The configuration database stops for 10 s under a running GCA (poll 1 s):
# it retries and logs, emits nothing meanwhile (above all no deletes), and
# once the database is back it resumes: a change made then is published, and
# only that change.
PG_EXCLUSIVE=1 # stops the server: no other PostgreSQL test may run meanwhile
source "$top_srcdir/tests/gca/gca_lib.sh"

GCA_POLL=1s gca_engine "$TMP/log"
wait_for 60 snap_has '"count":104,' || { tail "$TMP/log" >&2; fail "no first snapshot"; }
port=$(metrics_port "$TMP/log")
topic_dump "$TMP/t1"
assert_lines 104 "$TMP/t1" "the sample, published"

note "stopping PostgreSQL for 10 s"
"$top_srcdir/tests/services.sh" stop postgres >/dev/null 2>&1 || fail "cannot stop PostgreSQL"
sleep 10
kill -0 "$ENGINE" 2>/dev/null || fail "the engine died during the outage: $(tail -3 "$TMP/log")"
"$top_srcdir/tests/services.sh" start postgres >/dev/null 2>&1 || fail "cannot start PostgreSQL again"
assert_contains "$TMP/log" '"node":"configdb".*cannot read the configuration database: .*retrying' "the failed reads are logged"
((  $(metric "$port" martflow_configdb_read_failures_total) >= 1 )) || fail "no failed read counted"
wait_for 60 grep -q 'the configuration database is readable again after' "$TMP/log" ||
    { tail "$TMP/log" >&2; fail "no recovery logged"; }
topic_dump "$TMP/t2"
assert_lines 104 "$TMP/t2" "nothing emitted by the outage"

note "a change after the outage"
pg_sql -c "UPDATE cfg_person SET first_name = 'Gracie' WHERE dbid = 1003" || fail "cannot update"
count() { topic_dump "$TMP/t3"; (($(wc -l <"$TMP/t3") >= 105)); }
wait_for 30 count || fail "the change was not published"
sleep 3 # a few more polls: nothing else may come
topic_dump "$TMP/t3"
assert_eq "upsert t1:CfgPerson:1003" "$(python3 "$CHECK" tail "$TMP/t3" 104 | cut -d' ' -f1,2)" "only the change"
changes() { curl -fsS "http://127.0.0.1:$port/metrics" | awk -v op="op=\"$1\"" \
    '$1 ~ /^martflow_configdb_changes_total\{/ && index($1, op) {s += $2} END {printf "%d", s}'; }
assert_eq 0 "$(changes delete)" "no delete emitted"
assert_eq 105 "$(changes upsert)" "upserts emitted"
wait_for 20 snap_has 'Gracie' || fail "the snapshot misses the change"
assert_eq ok "$(python3 "$CHECK" snapshot "$(snap)" "$TMP/t3")" "the snapshot is the topic's state"
kill -TERM "$ENGINE"
RC=0; wait "$ENGINE" || RC=$?
assert_eq 0 "$RC" "exit status after SIGTERM"
