#!/usr/bin/env bash
# GDPR forget and export (`martflow gdpr FILE ...`, the gim sink's job of kind
# gdpr; docs/gdpr.md) against the real PostgreSQL:
#   - export of a customer returns exactly the rows holding their ANI, and of
#     an employee exactly their resource_ row; ctl_gdpr_history lists each field;
#   - forget of a customer (an ANI) and of a contact number: no text column of
#     any table holds the value any more (information_schema: every column),
#     ctl_gdpr_history lists every personal column checked and each field masked;
#   - the same input loaded again (the replayed GSP records) does not bring
#     the values back (the loader consults the forget list);
#   - forget of an employee (employee id): their id, names and user name are
#     gone everywhere, also after a replay;
#   - a forget while a loader loads that customer's records: never back (a smoke test:
#     the race the forget list's lock closes is narrow, a run without the lock may pass);
#   - a custom column named in the job's config (customer_columns) is masked
#     too, also after a replay; a column that is not text fails the request;
#   - usage errors: no subject, a gdpr job with `every:`, arguments to a job that takes none.
source "$top_srcdir/tests/gim/gim_lib.sh"

JOBS="jobs:
      gdpr: {kind: gdpr, mask: forgotten}
      gdpr_custom: {kind: gdpr, customer_columns: [interaction_fact.media_server_ixn_guid]}
      gdpr_bad: {kind: gdpr, customer_columns: [interaction_fact.start_ts]}
      exp: {kind: export, every: 1d, target: \"file://$TMP/exp\"}"
ANI="+15550010"
CONTACT="+16660003"
EMP="E1010"

$GEN 600 --outbound >"$TMP/in.jsonl"
grep -q "\"$ANI\"" "$TMP/in.jsonl" || fail "the input has no $ANI"
grep -q "\"$CONTACT\"" "$TMP/in.jsonl" || fail "the input has no $CONTACT"
gim_yaml "$TMP/p.yaml" "$TMP/in.jsonl" "positions: false" "$JOBS"
"$MARTFLOW" check "$TMP/p.yaml" >/dev/null || fail "the pipeline with a gdpr job does not check"
run_pipeline "$TMP/p.yaml" "$TMP/load.log"

# traces VALUE: "table.column=rows" of every text column of every table holding VALUE
traces() {
    pg_sql -At -v v="$1" <<'SQL'
CREATE FUNCTION pg_temp.traces(v text) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE c record; n bigint;
BEGIN
  FOR c IN SELECT col.table_name, col.column_name FROM information_schema.columns col
           JOIN information_schema.tables t ON t.table_schema = col.table_schema AND t.table_name = col.table_name
           WHERE col.table_schema = current_schema() AND t.table_type = 'BASE TABLE'
             AND col.data_type IN ('text', 'character varying', 'character', 'json', 'jsonb') LOOP
    EXECUTE format('SELECT count(*) FROM %I WHERE strpos(%I::text, $1) > 0', c.table_name, c.column_name) INTO n USING v;
    IF n > 0 THEN RETURN NEXT c.table_name || '.' || c.column_name || '=' || n; END IF;
  END LOOP;
END $$;
SELECT * FROM pg_temp.traces(:'v');
SQL
}
ncols=$(value "SELECT count(*) FROM information_schema.columns WHERE table_schema = current_schema() AND data_type IN ('text', 'character varying')")
[[ $ncols -gt 50 ]] || fail "only $ncols text columns found"
t=$(traces "$ANI")
assert_contains "$t" "^interaction_fact.source_address=1$" "the ANI is loaded"
assert_contains "$(traces "$CONTACT")" "^contact_attempt_fact.contact_info=2$" "the contact number is loaded"
assert_contains "$(traces "$EMP")" "^resource_.employee_id=1$" "the employee is loaded"

# 1. export of the customer: exactly their rows
"$MARTFLOW" gdpr "$TMP/p.yaml" export --customer "$ANI" --output "$TMP/ani.json" --request-id exp1 >"$TMP/exp.log" 2>&1 ||
    { tail -5 "$TMP/exp.log" >&2; fail "martflow gdpr export failed"; }
want=$(value "SELECT string_agg(interaction_id::text, ',' ORDER BY interaction_id) FROM interaction_fact WHERE source_address = '$ANI' OR target_address = '$ANI'")
python3 - "$TMP/ani.json" "$ANI" "$want" <<'PY' || fail "the customer's export is not exactly their rows"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["format"] == "martflow-gdpr-export" and d["subject_type"] == "customer" and d["subject"] == sys.argv[2], d
t = d["tables"]
assert set(t) == {"interaction_fact", "contact_attempt_fact"}, t.keys()
ids = ",".join(str(r["interaction_id"]) for r in t["interaction_fact"])
assert ids == sys.argv[3], (ids, sys.argv[3])
assert all(sys.argv[2] in (r["source_address"], r["target_address"]) for r in t["interaction_fact"])
assert t["contact_attempt_fact"] == [], t["contact_attempt_fact"]
assert len(t["interaction_fact"][0]) > 10  # every column of the row
PY
assert_eq "interaction_fact.source_address exported 1,interaction_fact.target_address checked 1,contact_attempt_fact.contact_info checked 1" \
    "$(value "SELECT string_agg(table_name || '.' || column_name || ' ' || action || ' ' || n, ',' ORDER BY table_name DESC, column_name) FROM (SELECT table_name, column_name, action, count(*) n FROM ctl_gdpr_history WHERE request_id = 'exp1' GROUP BY 1, 2, 3) s")" \
    "the export's ctl_gdpr_history rows"
assert_eq 0 "$(value "SELECT count(*) FROM ctl_gdpr_history WHERE request_id = 'exp1' AND old_value_hash IS NOT NULL AND action = 'exported' AND old_value_hash <> encode(sha256(convert_to('$ANI', 'UTF8')), 'hex')")" "history hashes"

# employee export: their one resource_ row
"$MARTFLOW" gdpr "$TMP/p.yaml" export --employee "$EMP" --output "$TMP/emp.json" >"$TMP/exp2.log" 2>&1 || fail "employee export failed"
python3 - "$TMP/emp.json" <<'PY' || fail "the employee's export is not their row"
import json, sys
t = json.load(open(sys.argv[1]))["tables"]
assert list(t) == ["resource_"], t.keys()
assert [(r["employee_id"], r["agent_first_name"], r["user_name"]) for r in t["resource_"]] == [("E1010", "First1010", "u1010")], t
PY

# 2. forget the customer and a contact number
forget() { "$MARTFLOW" gdpr "$TMP/p.yaml" --job "${JOB:-gdpr}" forget "$@" >"$TMP/forget.log" 2>&1 || { tail -5 "$TMP/forget.log" >&2; fail "martflow gdpr forget $* failed"; }; }
forget --customer "$ANI" --request-id f1
forget --customer "$CONTACT" --request-id f2
assert_eq "" "$(traces "$ANI")" "no trace of the ANI in any text column after forget"
assert_eq "" "$(traces "$CONTACT")" "no trace of the contact number after forget"
! grep -qF "$ANI" "$TMP/exp.log" "$TMP/forget.log" || fail "a log holds the value"
assert_eq 1 "$(value "SELECT count(*) FROM interaction_fact WHERE source_address = 'forgotten'")" "the ANI masked"
assert_eq "contact_attempt_fact.contact_info checked,gim_pending_update.record checked,interaction_fact.source_address masked,interaction_fact.target_address checked" \
    "$(value "SELECT string_agg(table_name || '.' || column_name || ' ' || action, ',' ORDER BY 1) FROM (SELECT DISTINCT table_name, column_name, action FROM ctl_gdpr_history WHERE request_id = 'f1') s")" \
    "ctl_gdpr_history lists each field of the customer forget"
assert_eq 2 "$(value "SELECT count(*) FROM ctl_gdpr_history WHERE request_id = 'f2' AND action = 'masked' AND table_name = 'contact_attempt_fact' AND row_id IS NOT NULL AND old_value_hash = encode(sha256(convert_to('$CONTACT', 'UTF8')), 'hex')")" \
    "each masked contact field in ctl_gdpr_history with its hash"
assert_eq 2 "$(value "SELECT count(*) FROM gim_forget_list WHERE subject_type = 'customer'")" "the forget list"
assert_eq 1 "$(value "SELECT count(*) FROM ctl_etl_history WHERE job_name = 'gdpr' AND status = 'SUCCESS' AND row_count > 0 AND error_message IS NULL AND start_ts > 0 AND duration_ms >= 0 AND etl_history_key = (SELECT max(etl_history_key) FROM ctl_etl_history WHERE job_name = 'gdpr')")" "the run in ctl_etl_history"

# 3. the same records again: the loader masks them
run_pipeline "$TMP/p.yaml" "$TMP/load2.log"
assert_eq "" "$(traces "$ANI")" "no trace of the ANI after replaying its records"
assert_eq "" "$(traces "$CONTACT")" "no trace of the contact number after replaying"
assert_eq 1 "$(value "SELECT count(*) FROM interaction_fact WHERE source_address = 'forgotten'")" "the replayed row masked"
assert_eq 1 "$(value "SELECT count(*) FROM interaction_fact WHERE source_address = '+15550011'")" "another customer's ANI kept"

# 4. forget an employee
forget --employee "$EMP" --request-id f3
for v in "$EMP" First1010 Last1010 u1010; do assert_eq "" "$(traces "$v")" "no trace of the employee's $v"; done
assert_eq "agent_first_name masked,agent_last_name masked,employee_id masked,user_name masked" \
    "$(value "SELECT string_agg(column_name || ' ' || action, ',' ORDER BY 1) FROM ctl_gdpr_history WHERE request_id = 'f3' AND table_name = 'resource_'")" \
    "ctl_gdpr_history lists each field of the employee"
assert_eq 1 "$(value "SELECT count(*) FROM resource_ WHERE resource_name = '1010' AND employee_id = 'forgotten' AND agent_first_name = 'forgotten'")" "the agent's row masked, its login kept"
assert_eq First1011 "$(value "SELECT agent_first_name FROM resource_ WHERE resource_name = '1011'")" "another agent kept"
# a custom column (the job's customer_columns): the value G12 lives in interaction_fact.media_server_ixn_guid
assert_contains "$(traces G12)" "^interaction_fact.media_server_ixn_guid=1$" "G12 is loaded"
JOB=gdpr_custom forget --customer G12 --request-id f4
assert_eq "" "$(traces G12)" "no trace of the custom column's value"
assert_eq 1 "$(value "SELECT count(*) FROM ctl_gdpr_history WHERE request_id = 'f4' AND column_name = 'media_server_ixn_guid' AND action = 'masked'")" "the custom field in ctl_gdpr_history"
assert_eq "f" "$(value "SELECT builtin FROM gim_gdpr_column WHERE column_name = 'media_server_ixn_guid'")" "the custom column recorded"
"$MARTFLOW" gdpr "$TMP/p.yaml" --job gdpr_bad forget --customer 1 >"$TMP/u.log" 2>&1 && fail "a bigint custom column was taken"
assert_contains "$(cat "$TMP/u.log")" "interaction_fact.start_ts is not a text column" "a custom column that is not text: the message"
run_pipeline "$TMP/p.yaml" "$TMP/load3.log"
for v in "$EMP" First1010 Last1010 u1010 "$ANI" G12; do assert_eq "" "$(traces "$v")" "no trace of $v after a replay"; done
# the loaded data is otherwise whole: every interaction of the input is there
assert_eq "$(grep -c '"table":"INTERACTION_FACT".*"media_server_ixn_guid"' "$TMP/in.jsonl")" \
    "$(value "SELECT count(*) FROM interaction_fact")" "every interaction loaded"

# 5. forget while a loader loads the same customer's records: the forget waits for the cycle in
#    progress and the next cycles see the list (the forget list's lock), so the value never comes back
LIVE="+15550020"
line=$(grep -F "\"source_address\":\"$LIVE\"" "$TMP/in.jsonl" | head -1)
[[ -n $line ]] || fail "no record with $LIVE"
: >"$TMP/live.jsonl"
gim_yaml "$TMP/live.yaml" "$TMP/live.jsonl" "follow: true, positions: false" "$JOBS"
engine "$TMP/live.yaml" "$TMP/live.log"
(for i in $(seq 1 150); do printf '%s\n' "$line" >>"$TMP/live.jsonl"; sleep 0.01; done) &
feeder=$!
sleep 0.7
forget --customer "$LIVE" --request-id f5
wait "$feeder"
sleep 1 # the file source reads the last lines (follow: it polls)
kill -TERM "$ENGINE"; wait "$ENGINE" || fail "the live loader exited $?"
assert_contains "$TMP/live.log" '"in=150 ' "the loader took every record fed"
assert_eq "" "$(traces "$LIVE")" "no trace of a customer forgotten while the loader loaded their records"
assert_eq 1 "$(value "SELECT count(*) FROM interaction_fact WHERE source_address = 'forgotten' AND media_server_ixn_guid = 'G20'")" "their row masked"

# 6. usage errors
"$MARTFLOW" gdpr "$TMP/p.yaml" forget >"$TMP/u.log" 2>&1 && fail "forget without a subject succeeded"
assert_contains "$(cat "$TMP/u.log")" "whose data" "no subject: the message"
"$MARTFLOW" gdpr "$TMP/p.yaml" export --customer x >"$TMP/u.log" 2>&1 && fail "export without --output succeeded"
"$MARTFLOW" job "$TMP/p.yaml" exp -- now >"$TMP/u.log" 2>&1 && fail "arguments to an export job were taken"
assert_contains "$(cat "$TMP/u.log")" "takes no arguments" "a job without arguments: the message"
rc=0; "$MARTFLOW" job "$TMP/p.yaml" gdpr extra >"$TMP/u.log" 2>&1 || rc=$?
assert_eq 2 "$rc" "an argument without -- is a usage error"
sed -i 's/{kind: gdpr, mask: forgotten}/{kind: gdpr, every: 1h}/' "$TMP/p.yaml"
rc=0; "$MARTFLOW" check "$TMP/p.yaml" >"$TMP/u.log" 2>&1 || rc=$?
assert_eq 2 "$rc" "a gdpr job with every: fails the check"
assert_contains "$(cat "$TMP/u.log")" "p.yaml:[0-9]+:[0-9]+: .*only on demand" "the check names file:line"
