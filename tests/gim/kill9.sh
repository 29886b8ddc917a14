#!/usr/bin/env bash
# kill -9 of the loader while it loads (a followed file, positions kept),
# then a restart that reads on from the acknowledged position to the end:
# the tables equal those of a clean run of the same records into another
# database (records read again are upserted again: idempotent).
source "$top_srcdir/tests/gim/gim_lib.sh"
$GEN 6000 >"$TMP/in.jsonl"
CLEAN=${PGDATABASE}_clean
pg_sql -c "CREATE DATABASE $CLEAN" || fail "cannot create $CLEAN"
trap 'pg_sql -c "DROP DATABASE IF EXISTS $CLEAN WITH (FORCE)" >/dev/null 2>&1 || true; sink_cleanup' EXIT

gim_yaml "$TMP/clean.yaml" "$TMP/in.jsonl" "" "" "$CLEAN"
run_pipeline "$TMP/clean.yaml" "$TMP/clean.log"
nat_dump "$CLEAN" >"$TMP/clean.dump"

# the same records, fed slowly, the loader killed after a few cycles
: >"$TMP/feed.jsonl"
gim_yaml "$TMP/p.yaml" "$TMP/feed.jsonl" "follow: true, positions: true"
engine "$TMP/p.yaml" "$TMP/log1"
split -l 500 "$TMP/in.jsonl" "$TMP/part."
for f in "$TMP"/part.*; do cat "$f" >>"$TMP/feed.jsonl"; sleep 0.1; done
cycles() { value "SELECT count(*) FROM ctl_etl_history WHERE status = 'SUCCESS' AND row_count > 0" 2>/dev/null || echo 0; }
three() { (($(cycles) >= 3)); }
wait_for 30 three || fail "no cycles committed before the kill"
kill -9 "$ENGINE"
wait "$ENGINE" 2>/dev/null || true
note "killed after $(cycles) cycles; restarting"
gim_yaml "$TMP/p2.yaml" "$TMP/feed.jsonl" "positions: true"
run_pipeline "$TMP/p2.yaml" "$TMP/log2"
nat_dump >"$TMP/dump"
diff -q "$TMP/clean.dump" "$TMP/dump" >/dev/null || { diff "$TMP/clean.dump" "$TMP/dump" | head -5 >&2; fail "the tables differ from a clean run's"; }
assert_eq 0 "$(value "SELECT count(*) FROM gim_pending_update")" "kept updates left"
assert_references
