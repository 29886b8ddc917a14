#!/usr/bin/env bash
# Two loaders on one database: the first takes the lock and loads; the second
# says it waits, is not ready and loads nothing; when the first stops, the
# second takes over and loads what it reads.
source "$top_srcdir/tests/gim/gim_lib.sh"
$GEN 2000 >"$TMP/all.jsonl"
head -n 1000 "$TMP/all.jsonl" >"$TMP/in.jsonl"
gim_yaml "$TMP/a.yaml" "$TMP/in.jsonl" "follow: true, positions: false"
engine "$TMP/a.yaml" "$TMP/a.log"
A=$ENGINE
pa=$(metrics_port "$TMP/a.log")
ready() { curl -fsS -o /dev/null "http://127.0.0.1:$1/readyz"; }
wait_for 20 ready "$pa" || fail "the first loader is not ready"

sed "s|^pipeline: .*|pipeline: loader-b|; s|errors.jsonl|errors-b.jsonl|" "$TMP/a.yaml" >"$TMP/b.yaml"
engine "$TMP/b.yaml" "$TMP/b.log"
B=$ENGINE
pb=$(metrics_port "$TMP/b.log")
wait_for 20 grep -q 'waiting for the Info Mart lock held by another loader' "$TMP/b.log" || fail "the second loader does not say it waits"
sleep 1
! ready "$pb" || fail "the waiting loader is ready"
assert_eq 1 "$(grep -c 'waiting for the Info Mart lock' "$TMP/b.log")" "the wait is logged once"
! grep -q 'first cycle committed' "$TMP/b.log" || fail "the waiting loader committed"

kill -TERM "$A"; wait "$A" || true
wait_for 20 grep -q 'took the Info Mart lock' "$TMP/b.log" || fail "the second loader did not take over"
wait_for 20 ready "$pb" || fail "the second loader is not ready after taking over"
tail -n +1001 "$TMP/all.jsonl" >>"$TMP/in.jsonl"
all_in() { (($(value "SELECT count(*) FROM resource_ WHERE placeholder_flag = 0" 2>/dev/null || echo 0) == 105)); }
wait_for 30 all_in || fail "the second loader did not load the rest"
b_cycles=$(value "SELECT count(*) FROM ctl_etl_history WHERE job_instance LIKE '%pid $B %' AND row_count > 0")
((b_cycles >= 1)) || fail "no cycle of the second loader"
assert_references
