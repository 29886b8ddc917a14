#!/usr/bin/env bash
# The maintenance job (the gim sink's jobs:, kind maintenance;
# docs/plugins/gim.md, "Maintenance") against the real PostgreSQL:
#   - facts ended long ago, recently and still active (end_ts NULL), in two
#     tables with different days to keep: `martflow job FILE maint` fills
#     DATE_TIME to its horizon, purges exactly the rows past retention (in
#     several batches), keeps the young and the active ones, writes one
#     ctl_purge_history row per purged table with its count and a SUCCESS
#     ctl_etl_history row; a second run purges 0;
#   - a purge of many rows while a loader loads into the same table (both
#     running): every loaded row is there afterwards, the old ones are gone,
#     and the run succeeded.
source "$top_srcdir/tests/gim/gim_lib.sh"

NOW=$(date +%s)
DAY=86400
JOBS="jobs:
      maint:
        kind: maintenance
        every: 1d
        date_time_days_ahead: 400
        keep_days: {interaction_fact: 30, contact_attempt_fact: 0}
        keep_days_default: 200
        batch_rows: 100"

# facts TABLE FIRST COUNT AGE-DAYS|active: COUNT GSP records, keys FIRST.., ended AGE days ago (or active)
facts() {
    python3 - "$@" <<'PY'
import json, sys, time
table, first, count, age = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
now = int(time.time())
for k in range(first, first + count):
    end = None if age == "active" else now - int(age) * 86400 - k % 3600
    start = (end if end is not None else now) - 3600 - 600 * 86400 * (age == "active")
    if table == "INTERACTION_FACT":
        row = {"interaction_id": k, "media_type": "VOICE", "interaction_type": "Inbound", "source_address": "s%d" % k,
               "target_address": "t", "start_ts": start, "active_flag": 1 if end is None else 0}
    else:
        row = {"sm_res_state_fact_key": k, "sm_res_session_fact_key": 1, "media_type": "VOICE",
               "resource": {"type": "Agent", "name": "a%d" % (k % 10), "switch": "SIP_Switch"},
               "resource_state": "READY", "start_ts": start, "total_duration": 3600}
    if end is not None:
        row["end_ts"] = end
    print(json.dumps({"table": table, "op": "upsert", "tenant": "t1", "row": row}))
PY
}
{
    facts INTERACTION_FACT 1 250 500     # past both retentions
    facts INTERACTION_FACT 1001 250 100  # past interaction_fact's 30 days
    facts INTERACTION_FACT 2001 100 10   # young
    facts INTERACTION_FACT 3001 50 active
    facts SM_RES_STATE_FACT 1 300 500    # past the default 200 days
    facts SM_RES_STATE_FACT 1001 200 100 # young for the default
    facts SM_RES_STATE_FACT 2001 50 active
} >"$TMP/in.jsonl"
# the loads without the job (a loader runs its due jobs itself), the job's file with it
gim_yaml "$TMP/load.yaml" "$TMP/in.jsonl" "positions: false"
run_pipeline "$TMP/load.yaml" "$TMP/load.log"
gim_yaml "$TMP/p.yaml" "$TMP/in.jsonl" "positions: false" "$JOBS"
"$MARTFLOW" check "$TMP/p.yaml" >/dev/null || fail "the pipeline with a maintenance job does not check"
assert_eq 650 "$(value "SELECT count(*) FROM interaction_fact")" "interaction_fact loaded"
assert_eq 550 "$(value "SELECT count(*) FROM sm_res_state_fact")" "sm_res_state_fact loaded"

maint() { "$MARTFLOW" job "$TMP/p.yaml" maint >"$TMP/job.log" 2>&1 || { cat "$TMP/job.log" >&2; fail "martflow job maint failed ($1)"; }; }
purged() { value "SELECT string_agg(table_name || '=' || row_count, ',' ORDER BY table_name) FROM ctl_purge_history WHERE status = 'SUCCESS' AND start_ts = (SELECT max(start_ts) FROM ctl_purge_history)"; }

maint 1
# DATE_TIME: 400 days ahead (the loader's own filling stops at 366)
assert_eq t "$(value "SELECT max(date_time_key) >= extract(epoch FROM now() + interval '400 days')::bigint - 1800 FROM date_time")" \
    "DATE_TIME reaches 400 days ahead"
assert_eq 0 "$(value "SELECT count(*) FROM generate_series(floor(extract(epoch FROM now()) / 900)::bigint * 900, extract(epoch FROM now() + interval '399 days')::bigint, 900) g WHERE NOT EXISTS (SELECT 1 FROM date_time WHERE date_time_key = g)")" \
    "no 15-minute interval missing up to the horizon"
# the right rows purged, the young and active ones kept
assert_eq "2001-2100:100,3001-3050:50" \
    "$(value "SELECT string_agg(lo || '-' || hi || ':' || n, ',' ORDER BY lo) FROM (SELECT min(interaction_id) lo, max(interaction_id) hi, count(*) n FROM interaction_fact GROUP BY interaction_id / 1000) s")" \
    "interaction_fact: the rows ended more than 30 days ago purged"
assert_eq "1001-1200:200,2001-2050:50" \
    "$(value "SELECT string_agg(lo || '-' || hi || ':' || n, ',' ORDER BY lo) FROM (SELECT min(sm_res_state_fact_key) lo, max(sm_res_state_fact_key) hi, count(*) n FROM sm_res_state_fact GROUP BY sm_res_state_fact_key / 1000) s")" \
    "sm_res_state_fact: the rows ended more than 200 days ago purged"
assert_eq "interaction_fact=500,interaction_resource_fact=0,mediation_segment_fact=0,sm_res_session_fact=0,sm_res_state_fact=300,sm_res_state_reason_fact=0" \
    "$(purged)" "one ctl_purge_history row per table (contact_attempt_fact kept for ever: none)"
assert_eq 0 "$(value "SELECT count(*) FROM ctl_purge_history WHERE status <> 'SUCCESS'")" "purge rows not SUCCESS"
assert_eq 1 "$(value "SELECT count(*) FROM ctl_purge_history WHERE table_name = 'interaction_fact' AND cutoff_ts BETWEEN $NOW - 30 * $DAY AND $NOW - 30 * $DAY + 600")" \
    "the cutoff of interaction_fact: now - 30 days"
assert_eq 1 "$(value "SELECT count(*) FROM ctl_etl_history WHERE job_name = 'maint' AND status = 'SUCCESS' AND row_count >= 800 AND end_ts >= start_ts")" \
    "the run's ctl_etl_history row"
assert_eq t "$(value "SELECT last_analyze IS NOT NULL OR last_autoanalyze IS NOT NULL FROM pg_stat_user_tables WHERE relname = 'interaction_fact'")" \
    "interaction_fact analyzed"
assert_contains "$TMP/job.log" "interaction_fact: 500 rows ended before" "the purge is logged"
# partitions (schema 7): the months whose every row was purged were dropped
# whole, not emptied row by row; the months ahead exist to the horizon
assert_contains "$TMP/job.log" "interaction_fact: [0-9]+ monthly partitions dropped whole" "whole months dropped"
assert_contains "$TMP/job.log" "sm_res_state_fact: [0-9]+ monthly partitions dropped whole" "whole months dropped"
assert_eq 0 "$(value "SELECT count(*) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
    WHERE i.inhparent IN ('interaction_fact'::regclass, 'sm_res_state_fact'::regclass)
    AND NOT EXISTS (SELECT 1 FROM interaction_fact f WHERE f.tableoid = c.oid)
    AND NOT EXISTS (SELECT 1 FROM sm_res_state_fact f WHERE f.tableoid = c.oid)
    AND substring(pg_get_expr(c.relpartbound, c.oid) FROM 'TO \\(''?([0-9]+)')::bigint <= $NOW - 30 * $DAY")" \
    "no empty partition left behind the cutoffs"
assert_eq 2 "$(value "SELECT count(*) FROM pg_class WHERE relname IN ('interaction_fact_' || to_char(now() + interval '399 days', 'YYYYMM'),
    'sm_res_state_fact_' || to_char(now() + interval '399 days', 'YYYYMM'))")" "partitions made up to the horizon"

sleep 1.1 # the second run's rows have a start_ts of their own
maint 2
assert_eq "interaction_fact=0,interaction_resource_fact=0,mediation_segment_fact=0,sm_res_session_fact=0,sm_res_state_fact=0,sm_res_state_reason_fact=0" \
    "$(purged)" "a second run purges nothing"
assert_eq 2 "$(value "SELECT count(*) FROM ctl_etl_history WHERE job_name = 'maint' AND status = 'SUCCESS'")" "two successful runs"
assert_eq "150 250" "$(value "SELECT count(*) FROM interaction_fact") $(value "SELECT count(*) FROM sm_res_state_fact")" "nothing more purged"

# 2. a purge of 20,000 rows (200 batches) while a loader writes 20,000 young rows into the same table
facts SM_RES_STATE_FACT 100000 20000 500 >"$TMP/old.jsonl"
gim_yaml "$TMP/old.yaml" "$TMP/old.jsonl" "positions: false"
run_pipeline "$TMP/old.yaml" "$TMP/load.log"
assert_eq 20250 "$(value "SELECT count(*) FROM sm_res_state_fact")" "the old rows loaded"
{
    facts SM_RES_STATE_FACT 200000 20000 5
    facts SM_RES_STATE_FACT 1001 200 90 # updates of kept rows, also locked by the loader's cycles
} >"$TMP/young.all"
split -l 500 "$TMP/young.all" "$TMP/chunk."
: >"$TMP/young.jsonl"
gim_yaml "$TMP/young.yaml" "$TMP/young.jsonl" "follow: true, positions: false"
engine "$TMP/young.yaml" "$TMP/young.log"
# the input grows by 500 records every 0.25 s: the loader loads for about 10 s
(for f in "$TMP"/chunk.*; do cat "$f" >>"$TMP/young.jsonl"; sleep 0.25; done) &
ENGINE_PIDS+=($!)
young() { value "SELECT count(*) FROM sm_res_state_fact WHERE sm_res_state_fact_key >= 200000"; }
loading() { (($(young) > 0)); }
wait_for 30 loading || { tail -5 "$TMP/young.log" >&2; fail "the loader does not load"; }
before=$(young)
sleep 1.1 # a start_ts of its own
maint 3
during=$(young)
young_all() { (($(young) == 20000)); }
wait_for 60 young_all || fail "only $(young) of the 20000 young rows"
kill -TERM "$ENGINE"; wait "$ENGINE" || fail "the loader exited $?"
note "the loader had loaded $before of 20000 rows when the purge started, $during when it ended"
((before < 20000)) || fail "the loader was done before the purge started: no overlap"
assert_eq "sm_res_state_fact=20000" "$(value "SELECT table_name || '=' || row_count FROM ctl_purge_history WHERE table_name = 'sm_res_state_fact' AND start_ts = (SELECT max(start_ts) FROM ctl_purge_history)")" \
    "the purge beside the loader: every old row"
assert_eq "0 20000 250" "$(value "SELECT count(*) FILTER (WHERE sm_res_state_fact_key BETWEEN 100000 AND 199999), count(*) FILTER (WHERE sm_res_state_fact_key >= 200000), count(*) FILTER (WHERE sm_res_state_fact_key < 100000) FROM sm_res_state_fact" | tr '|' ' ')" \
    "no lost row: old gone, young and kept rows all there"
assert_eq 3 "$(value "SELECT count(*) FROM ctl_etl_history WHERE job_name = 'maint' AND status = 'SUCCESS'")" "three successful runs"
assert_eq 0 "$(value "SELECT count(*) FROM ctl_etl_history WHERE status NOT IN ('SUCCESS')")" "no failed cycle or run"
[[ ! -s $TMP/errors.jsonl ]] || { head -3 "$TMP/errors.jsonl" >&2; fail "rejected records"; }

# 3. `martflow check` finds what is wrong in a maintenance job's options, each at its place
gim_yaml "$TMP/bad.yaml" /dev/null "positions: false" "jobs:
      m1: {kind: maintenance, every: 1d, batch_rows: 5, date_time_days_ahead: -1}
      m2: {kind: maintenance, every: 1d, keep_days: {Bad-Name: 3, interaction_fact: many}, keep_days_default: 1.5}
      m3: {kind: maintenance, every: 1d, keep_days: [1]}"
rc=0; "$MARTFLOW" check "$TMP/bad.yaml" >"$TMP/out" 2>&1 || rc=$?
assert_eq 2 "$rc" "bad maintenance options fail the check"
assert_contains "$TMP/out" "bad.yaml:[0-9]+:[0-9]+: .*batch_rows is an integer 100\.\.1000000" "batch_rows range"
assert_contains "$TMP/out" "date_time_days_ahead is an integer 0\.\.36600" "date_time_days_ahead range"
assert_contains "$TMP/out" "keep_days: 'Bad-Name' is not a table name" "keep_days table name"
assert_contains "$TMP/out" "keep_days is an integer" "keep_days value"
assert_contains "$TMP/out" "keep_days_default is an integer" "keep_days_default value"
assert_contains "$TMP/out" "keep_days is a map of fact table" "keep_days not a map"
