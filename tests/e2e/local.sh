#!/usr/bin/env bash
# pipelines/local.yaml end to end, in a fresh database of the test PostgreSQL:
# callgen (1,000 calls, 20 agents, with its plan) -> callthread + agentstate,
# the sample configuration -> gspconfig -> the gim loader, one process. The
# run ends by itself (the bounded callgen's end -> the loader's last cycle);
# then the Info Mart holds what the plan says: interactions by type, IRFs by
# technical result, MSFs by result, the after-call work attributed to IRFs,
# agent sessions and their seconds, state seconds per state, reason seconds
# per reason; every agent, DN and place callgen names is a configured row
# (no placeholder left), with the person's name. Then the same events from a
# file (EVENTS_FILE, callgen with key_member) into a second database: the two
# Info Marts' table dumps are equal. In both, every fact's reference names its
# dimension row (infomart_check_references).
source "$top_srcdir/tests/gim/gim_lib.sh"

# im_dump [DB]: every fact row as JSON, one a line, sorted, each surrogate key
# replaced by the natural key it stands for (those depend on the order rows
# were created in), without the audit keys; and the dimension rows the
# configuration made. Set-based: fast enough for a few thousand rows.
im_dump() {
    pg_sql -d "${1:-$PGDATABASE}" -At <<'SQL'
CREATE TEMP TABLE nat (k text, id bigint, v text);
INSERT INTO nat
  SELECT 'resource', resource_key, resource_type || '/' || switch_name || '/' || resource_name FROM resource_
  UNION ALL SELECT 'place', place_key, place_name FROM place
  UNION ALL SELECT 'tenant', tenant_key, tenant_name FROM tenant
  UNION ALL SELECT 'media_type', media_type_key, media_name_code FROM media_type
  UNION ALL SELECT 'interaction_type', interaction_type_key, interaction_type FROM interaction_type
  UNION ALL SELECT 'resource_state', resource_state_key, state_name_code FROM resource_state
  UNION ALL SELECT 'technical_descriptor', technical_descriptor_key,
                   resource_role || '/' || role_reason || '/' || technical_result || '/' || result_reason FROM technical_descriptor
  UNION ALL SELECT 'resource_state_reason', resource_state_reason_key,
                   reason_type || '/' || software_reason_key || '/' || software_reason_value || '/' || workmode FROM resource_state_reason
  UNION ALL SELECT 'resource_group', resource_group_key, group_type || '/' || group_name FROM resource_group_;
CREATE INDEX ON nat (k, id);
CREATE FUNCTION pg_temp.dump(t regclass) RETURNS SETOF text LANGUAGE plpgsql AS $$
BEGIN
  RETURN QUERY EXECUTE format(
    'SELECT %L || '' '' || (SELECT jsonb_object_agg(e.key, coalesce(to_jsonb(n.v), e.value))
       FROM jsonb_each(to_jsonb(r) - ''create_audit_key'' - ''update_audit_key'' - ''gmt_start_time'') e
       LEFT JOIN nat n ON n.k = CASE WHEN e.key IN (''last_queue_resource_key'', ''last_rp_resource_key'')
                                     THEN ''resource'' ELSE left(e.key, -4) END
        AND n.id = CASE WHEN e.key LIKE ''%%\_key'' AND jsonb_typeof(e.value) = ''number''
                        THEN (e.value #>> ''{}'')::bigint END)::text
     FROM %s r', t::text, t);
END $$;
SELECT d FROM unnest(ARRAY['resource_', 'place', 'resource_group_', 'interaction_fact', 'interaction_resource_fact',
  'mediation_segment_fact', 'sm_res_session_fact', 'sm_res_state_fact', 'sm_res_state_reason_fact']::regclass[]) t,
  pg_temp.dump(t) d ORDER BY 1;
SQL
}
DB2=${PGDATABASE}_file
PGDATABASE=postgres pg_sql -c "CREATE DATABASE $DB2" || fail "cannot create database $DB2"
trap 'PGDATABASE=postgres pg_sql -c "DROP DATABASE IF EXISTS $DB2 WITH (FORCE)" >/dev/null 2>&1 || true; sink_cleanup' EXIT
cd "$top_srcdir" # local.yaml's default paths are relative to the repository root

# local DB LOG [VAR=value...]: run pipelines/local.yaml into DB to its end
local_run() {
    local db=$1 log=$2
    shift 2
    env PGDATABASE="$db" GIM_SCHEMA_DIR="$top_srcdir/plugins/gim/sql" METRICS_LISTEN=127.0.0.1:0 \
        DEAD_LETTER="$TMP/dead-$db.jsonl" "$@" \
        "$MARTFLOW" run pipelines/local.yaml >"$log" 2>&1 || { tail -n 20 "$log" >&2; fail "local.yaml into $db exited $?"; }
    [[ ! -s $TMP/dead-$db.jsonl ]] || { head -3 "$TMP/dead-$db.jsonl" >&2; fail "records rejected (dead letter of $db)"; }
}

SECONDS=0
local_run "$PGDATABASE" "$TMP/run1.log" SEED=7 CALLS=1000 AGENTS=20 RATE=0.1 PLAN_FILE="$TMP/plan.json"
[[ -f $TMP/plan.json ]] || fail "callgen wrote no plan"
note "callgen -> Info Mart: ${SECONDS}s"
assert_contains "$TMP/run1.log" "pipeline 'local' finished" "the run ended by itself"

# expected (from the plan) and actual (from the Info Mart), one "what|value" line each
python3 - "$TMP/plan.json" >"$TMP/want" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
ct, ag = p["callthread"], p["agentstate"]
out = []
for t, n in ct["interactions"]["by_type"].items():
    out.append(f"interactions|{t}|{n}")
for t, n in ct["resources"]["by_technical_result"].items():
    out.append(f"irf|{t}|{n}")
for t, n in ct["resources"]["by_resource_type"].items():
    out.append(f"irf_resource|{t}|{n}")
for t, n in ct["segments"]["by_result"].items():
    out.append(f"msf|{t}|{n}")
out.append(f"msf_total|{ct['segments']['total']}")
out.append(f"acw_irfs|{ag['acw_after_call']}")
out.append(f"sessions|{ag['sessions']['total']}|{ag['sessions']['total_duration']}")
for s, n in ag["states"].items():
    out.append(f"state|{s}|{n}")
for s, rs in ag["reasons"].items():
    for r, v in rs.items():
        out.append(f"reason|{s}|{r}|{v['duration']}")
print("\n".join(sorted(out)))
PY
value "
SELECT 'interactions|' || t.interaction_type || '|' || count(*) FROM interaction_fact f
  JOIN interaction_type t USING (interaction_type_key) GROUP BY t.interaction_type
UNION ALL SELECT 'irf|' || d.technical_result || '|' || count(*) FROM interaction_resource_fact f
  JOIN technical_descriptor d USING (technical_descriptor_key) GROUP BY d.technical_result
UNION ALL SELECT 'irf_resource|' || r.resource_type || '|' || count(*) FROM interaction_resource_fact f
  JOIN resource_ r USING (resource_key) GROUP BY r.resource_type
UNION ALL SELECT 'msf|' || d.technical_result || '/' || d.result_reason || '|' || count(*) FROM mediation_segment_fact f
  JOIN technical_descriptor d USING (technical_descriptor_key) GROUP BY d.technical_result, d.result_reason
UNION ALL SELECT 'msf_total|' || count(*) FROM mediation_segment_fact
UNION ALL SELECT 'acw_irfs|' || count(*) FROM interaction_resource_fact WHERE after_call_work_count > 0
UNION ALL SELECT 'sessions|' || count(*) || '|' || sum(total_duration) FROM sm_res_session_fact
UNION ALL SELECT 'state|' || s.state_name_code || '|' || sum(f.total_duration) FROM sm_res_state_fact f
  JOIN resource_state s USING (resource_state_key) GROUP BY s.state_name_code
UNION ALL SELECT 'reason|' || s.state_name_code || '|' || r.software_reason_value || '|' || sum(f.total_duration)
  FROM sm_res_state_reason_fact f JOIN resource_state s USING (resource_state_key)
  JOIN resource_state_reason r USING (resource_state_reason_key) GROUP BY s.state_name_code, r.software_reason_value
" | sort >"$TMP/got"
diff "$TMP/want" "$TMP/got" >"$TMP/diff" || { cat "$TMP/diff" >&2; fail "the Info Mart differs from callgen's plan (< plan, > Info Mart)"; }
(($(wc -l <"$TMP/want") > 25)) || fail "too few planned counts compared: $(wc -l <"$TMP/want")"
# the counts above join the dimensions: no fact row may lack its dimension row
assert_references

# resources named from the configuration: nothing is a placeholder, every
# agent callgen named (a10001..a10020) is its configured login with the
# person's name, the queues and routing point carry their CfgDN names
assert_eq 0 "$(value "SELECT count(*) FROM resource_ WHERE placeholder_flag = 1")" "resource placeholders"
assert_eq 0 "$(value "SELECT count(*) FROM place WHERE placeholder_flag = 1")" "place placeholders"
assert_eq 20 "$(value "SELECT count(DISTINCT resource_key) FROM sm_res_session_fact s JOIN resource_ r USING (resource_key)
                      WHERE r.resource_type = 'Agent' AND r.switch_name = 'SIP_Switch' AND r.agent_last_name IS NOT NULL
                        AND r.resource_cfg_type = 'CfgAgentLogin' AND r.resource_name ~ '^a100[0-2][0-9]$'")" \
    "agents with a session: configured logins with their person"
assert_eq "Ada|Lovelace|ada.lovelace|E10001" "$(value "SELECT agent_first_name || '|' || agent_last_name || '|' || user_name || '|' || employee_id
                                              FROM resource_ WHERE resource_name = 'a10001'")" "agent a10001"
assert_eq "5000|Main entry,7001|Sales,7002|Support" "$(value "SELECT string_agg(n, ',' ORDER BY n) FROM (SELECT DISTINCT r.resource_name || '|' || r.resource_alias AS n
    FROM mediation_segment_fact f JOIN resource_ r USING (resource_key)) x")" "the routing point and queues of the MSFs"
assert_eq 0 "$(value "SELECT count(*) FROM interaction_resource_fact f JOIN place p USING (place_key) WHERE p.place_cfg_dbid IS NULL")" \
    "IRF places without their configuration"
assert_eq 3 "$(value "SELECT count(*) FROM resource_group_")" "agent groups"
assert_eq 0 "$(value "SELECT count(*) FROM gim_pending_update")" "kept updates left"
assert_eq 0 "$(value "SELECT count(*) FROM interaction_fact WHERE active_flag = 1 OR end_ts IS NULL")" "interactions still active"

# the same events from a file: the same Info Mart
cat >"$TMP/gen.yaml" <<Y
pipeline: local-events
sources:
  gen: {plugin: callgen, seed: 7, calls: 1000, agents: 20, rate: 0.1, key_member: true}
sinks:
  out: {plugin: file, inputs: [gen.callthread, gen.agentstate], path: "$TMP/events.jsonl", fsync: never}
Y
"$MARTFLOW" run "$TMP/gen.yaml" >"$TMP/gen.log" 2>&1 || { tail -5 "$TMP/gen.log" >&2; fail "generating the events file"; }
local_run "$DB2" "$TMP/run2.log" EVENTS_FILE="$TMP/events.jsonl" CALLS=1 AGENTS=1
note "events file -> Info Mart: ${SECONDS}s"
im_dump >"$TMP/dump1"
im_dump "$DB2" >"$TMP/dump2"
diff -q "$TMP/dump1" "$TMP/dump2" >/dev/null || { diff "$TMP/dump1" "$TMP/dump2" | head -5 >&2; fail "EVENTS_FILE gave another Info Mart"; }
assert_references "$DB2"
(($(wc -l <"$TMP/dump1") > 6000)) || fail "the dump is too small: $(wc -l <"$TMP/dump1") rows"
note "plan matched; EVENTS_FILE gave the same $(wc -l <"$TMP/dump1") rows (${SECONDS}s)"
