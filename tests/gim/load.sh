#!/usr/bin/env bash
# The loader against the real server, from a file of 10,000 GSP records
# (tests/gim/gen_gsp.py): facts naming agents, queues and places before the
# configuration brings them (placeholders, completed in place; one named with
# switch "" completed by its only configured switch), after-call-work updates
# arriving before the row they update (kept, applied later), records the
# loader refuses (each rejected alone, with its reason or SQLSTATE, counted),
# then the same file again: the table dumps do not change. Every fact's
# reference names its dimension row (infomart_check_references).
source "$top_srcdir/tests/gim/gim_lib.sh"

$GEN 10000 --bad >"$TMP/in.jsonl"
assert_eq 10004 "$(wc -l <"$TMP/in.jsonl")" "generated records"

# first load: the file followed, so /metrics can be read before the end
gim_yaml "$TMP/p.yaml" "$TMP/in.jsonl" "follow: true, positions: false"
engine "$TMP/p.yaml" "$TMP/log"
port=$(metrics_port "$TMP/log")
errors() { [[ -f $TMP/errors.jsonl ]] && wc -l <"$TMP/errors.jsonl" || echo 0; }
done_loading() { (($(errors) >= 6)) && (($(value "SELECT count(*) FROM resource_ WHERE resource_name = '1099' AND placeholder_flag = 0" 2>/dev/null || echo 0) == 1)); }
wait_for 40 done_loading || { tail -5 "$TMP/log" >&2; fail "the records were not loaded"; }
wait_for 10 metric_at_least "$port" gim_server_state 1 || fail "gim_server_state is not 1"
curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null || fail "/readyz is not 200 after a committed cycle"
m=$(curl -fsS "http://127.0.0.1:$port/metrics")
assert_contains "$m" 'gim_issues_total\{[^}]*issue="unknown_table"[^}]*\} 1' "unknown table counted"
assert_contains "$m" 'gim_issues_total\{[^}]*issue="missing_id"[^}]*\} 1' "missing id counted"
assert_contains "$m" 'gim_issues_total\{[^}]*issue="wrong_type"[^}]*\} 1' "wrong type counted"
assert_contains "$m" 'gim_issues_total\{[^}]*issue="sqlstate"[^}]*\} 2' "refused by the database counted"
shipped=$(find "$top_srcdir/plugins/gim/sql" -name '[0-9][0-9][0-9]_*.sql' | wc -l)
assert_contains "$m" 'gim_server_state\{[^}]*applicationName="gim"[^}]*schema_version="'"$shipped"'"' "gim_server_state labels"
stop_engine() { kill -TERM "$1" 2>/dev/null || true; wait "$1" || true; }
stop_engine "$ENGINE"

# the rejects: each with its reason, the database's with its SQLSTATE
assert_contains "$TMP/errors.jsonl" '"mf.error":"SQLSTATE 22003: value \\"99999999999\\" is out of range for type integer \(column talk_count\)"' "out of range: rejected with its SQLSTATE"
assert_contains "$TMP/errors.jsonl" '"mf.error":"SQLSTATE 23514: new row for relation \\"interaction_resource_fact(_[0-9]{6})?\\" violates check constraint' "CHECK: rejected with its SQLSTATE"
assert_contains "$TMP/errors.jsonl" "unknown table 'NO_SUCH_TABLE'" "unknown table rejected"
assert_contains "$TMP/errors.jsonl" 'the id field interaction_id is missing' "missing id rejected"
assert_contains "$TMP/errors.jsonl" 'field start_ts: must be an integer' "wrong type rejected"
assert_eq 6 "$(errors)" "rejected records (5 by the loader, 1 by the source)"

# everything else is in
assert_eq 1088 "$(value "SELECT count(*) FROM interaction_fact WHERE active_flag = 0 AND end_ts IS NOT NULL")" "interactions, ended"
assert_eq 2176 "$(value "SELECT count(*) FROM interaction_resource_fact")" "IRFs (the two refused ones not among them)"
assert_eq 0 "$(value "SELECT count(*) FROM interaction_resource_fact WHERE interaction_id = 1")" "refused rows are not written"
assert_eq 1088 "$(value "SELECT count(*) FROM mediation_segment_fact")" "MSFs"
assert_eq 544 "$(value "SELECT count(*) FROM sm_res_session_fact")" "sessions"
assert_eq 1088 "$(value "SELECT count(*) FROM sm_res_state_fact")" "states"
assert_eq 544 "$(value "SELECT count(*) FROM sm_res_state_reason_fact")" "reasons"
# column-wise upserts: ring_count of the first upsert kept, talk of the second added, the update's ACW
assert_eq 1088 "$(value "SELECT count(*) FROM interaction_resource_fact WHERE ring_count = 1 AND talk_count = 1 AND after_call_work_count = 1 AND after_call_work_duration BETWEEN 5 AND 44")" "agent IRFs: upserts merged column-wise, the ACW update applied"
# the updates that came before their row were kept, then applied: nothing waits
assert_eq 0 "$(value "SELECT count(*) FROM gim_pending_update")" "kept updates left"
assert_eq 363 "$(value "SELECT count(*) FROM interaction_fact f JOIN interaction_resource_fact r USING (interaction_id) WHERE r.after_call_work_count = 1 AND substr(f.media_server_ixn_guid, 2)::int % 3 = 0")" "updates that arrived before their row: applied"
# *_date_time_key from the times
assert_eq 0 "$(value "SELECT count(*) FROM interaction_resource_fact WHERE start_date_time_key <> start_ts - start_ts % 900 OR end_date_time_key <> end_ts - end_ts % 900")" "date_time keys"
# placeholders completed by the configuration
assert_eq 0 "$(value "SELECT count(*) FROM resource_ WHERE placeholder_flag = 1")" "resource placeholders left"
assert_eq "Agent|SIP_Switch|First1099|0" "$(value "SELECT resource_type || '|' || switch_name || '|' || agent_first_name || '|' || placeholder_flag FROM resource_ WHERE resource_name = '1099'")" "switch \"\" placeholder completed by its only switch"
assert_eq 105 "$(value "SELECT count(*) FROM resource_")" "resources (100 agents, 5 queues)"
assert_eq "0|6001" "$(value "SELECT placeholder_flag || '|' || place_cfg_dbid FROM place WHERE place_name = 'Place_1001'")" "place completed"
assert_eq 1 "$(value "SELECT count(*) FROM technical_descriptor WHERE result_reason = 'TestOnlyReason'")" "a new technical descriptor"
assert_eq 4 "$(value "SELECT count(*) FROM resource_state_reason")" "state reasons created on first use"
assert_eq 1 "$(value "SELECT tenant_cfg_dbid FROM tenant WHERE tenant_name = 't1'")" "tenant"
# the control rows: one audit row per committed cycle, whose key the rows carry
assert_eq 0 "$(value "SELECT count(*) FROM ctl_etl_history h LEFT JOIN ctl_audit_log a USING (audit_key) WHERE h.status = 'SUCCESS' AND a.audit_key IS NULL")" "each cycle's audit row"
assert_eq 5 "$(value "SELECT sum(rejected_count) FROM ctl_etl_history")" "rejected_count"
assert_eq 0 "$(value "SELECT count(*) FROM interaction_resource_fact WHERE update_audit_key NOT IN (SELECT audit_key FROM ctl_audit_log WHERE job_name = 'etl')")" "rows carry their cycle's audit key"
assert_references
nat_dump >"$TMP/dump1"

# the same file again (a replay): nothing changes
gim_yaml "$TMP/p2.yaml" "$TMP/in.jsonl"
run_pipeline "$TMP/p2.yaml" "$TMP/log2"
nat_dump >"$TMP/dump2"
diff -q "$TMP/dump1" "$TMP/dump2" >/dev/null || { diff "$TMP/dump1" "$TMP/dump2" | head -5 >&2; fail "the replay changed the tables"; }
assert_eq 0 "$(value "SELECT count(*) FROM gim_pending_update")" "kept updates left after the replay"
assert_references
(($(wc -l <"$TMP/dump1") > 6500)) || fail "the dump is too small: $(wc -l <"$TMP/dump1") rows"
