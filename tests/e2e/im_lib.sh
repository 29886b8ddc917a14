# tests/e2e/im_lib.sh — what the end-to-end tests check in an Info Mart
# (sourced after tests/postgres/pg_lib.sh or a library that sources it: it
# uses pg_sql and value). The one-process flow (tests/e2e/local.sh) and the
# three services over Kafka (tests/e2e/three_services.sh) check the same
# things with it:
#   im_dump [DB]             every dimension and fact row, comparable between runs
#   im_check_plan PLAN [DB]  the facts callgen's plan says, counted in the Info Mart
#   im_check_config [DB]     the resources named from the sample configuration

# im_dump [DB]: every row of every Info Mart dimension and fact table as JSON,
# one a line, "table {...}", sorted: a deterministic dump two runs of the same
# events can be compared with. Each surrogate key (a dimension's own key and
# every *_key naming a dimension row) is replaced by the natural key it stands
# for: surrogate keys depend on the order rows were created in, and identity
# values used by a rolled-back transaction (a cycle retried after an outage or
# a kill) are skipped. Left out, because they legitimately differ between
# runs of the same events: create_audit_key and update_audit_key (one per
# committed loader cycle: how many cycles a run took depends on timing, and a
# replayed cycle updates rows again) and gmt_start_time (the load time of the
# rows the loader creates itself: tenant, placeholders). Not dumped: ctl_*
# (the loader's runs), date_time (filled around the load time) and
# gim_pending_update (checked empty by im_check_config). Set-based: fast
# enough for tens of thousands of rows.
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
SELECT d FROM unnest(ARRAY['tenant', 'media_type', 'interaction_type', 'technical_descriptor', 'resource_state',
  'resource_state_reason', 'resource_', 'place', 'resource_group_', 'resource_group_member_', 'interaction_fact',
  'interaction_resource_fact', 'mediation_segment_fact', 'sm_res_session_fact', 'sm_res_state_fact',
  'sm_res_state_reason_fact', 'contact_attempt_fact']::regclass[]) t,
  pg_temp.dump(t) d ORDER BY 1;
SQL
}

# im_check_plan PLAN [DB]: the Info Mart holds what callgen's plan says:
# interactions by type, IRFs by technical result and by resource type, MSFs by
# result, the after-call work attributed to IRFs, agent sessions and their
# seconds, state seconds per state, reason seconds per reason. Fails with the
# difference (< plan, > Info Mart).
im_check_plan() {
    local plan=$1 db=${2:-$PGDATABASE}
    python3 - "$plan" >"$TMP/plan.want" <<'PY'
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
    pg_sql -d "$db" -At -c "
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
" | sort >"$TMP/plan.got"
    diff "$TMP/plan.want" "$TMP/plan.got" >"$TMP/plan.diff" ||
        { cat "$TMP/plan.diff" >&2; fail "the Info Mart $db differs from callgen's plan (< plan, > Info Mart)"; }
    (($(wc -l <"$TMP/plan.want") > 25)) || fail "too few planned counts compared: $(wc -l <"$TMP/plan.want")"
}

# im_check_config AGENTS [DB]: the resources are named from the sample
# configuration (pipelines/sample-config.jsonl, the cfgdb sample): nothing is a
# placeholder, every agent callgen named (a10001...) that has a session is its
# configured login with the person's name, the queues and routing point carry
# their CfgDN names, the places their configuration; the three agent groups;
# no kept update left, no interaction still active.
im_check_config() {
    local agents=$1 db=${2:-$PGDATABASE}
    local q="pg_sql -d $db -At -c"
    assert_eq "" "$($q "SELECT string_agg(resource_type || '/' || switch_name || '/' || resource_name, ' ')
                        FROM resource_ WHERE placeholder_flag = 1")" "resource placeholders"
    assert_eq 0 "$($q "SELECT count(*) FROM place WHERE placeholder_flag = 1")" "place placeholders"
    assert_eq "$agents" "$($q "SELECT count(DISTINCT resource_key) FROM sm_res_session_fact s JOIN resource_ r USING (resource_key)
                      WHERE r.resource_type = 'Agent' AND r.switch_name = 'SIP_Switch' AND r.agent_last_name IS NOT NULL
                        AND r.resource_cfg_type = 'CfgAgentLogin' AND r.resource_name ~ '^a100[0-9][0-9]$'")" \
        "agents with a session: configured logins with their person"
    assert_eq "Ada|Lovelace|ada.lovelace|E10001" "$($q "SELECT agent_first_name || '|' || agent_last_name || '|' || user_name || '|' || employee_id
                                                  FROM resource_ WHERE resource_name = 'a10001'")" "agent a10001"
    assert_eq "5000|Main entry,7001|Sales,7002|Support" "$($q "SELECT string_agg(n, ',' ORDER BY n) FROM (SELECT DISTINCT r.resource_name || '|' || r.resource_alias AS n
        FROM mediation_segment_fact f JOIN resource_ r USING (resource_key)) x")" "the routing point and queues of the MSFs"
    assert_eq 0 "$($q "SELECT count(*) FROM interaction_resource_fact f JOIN place p USING (place_key) WHERE p.place_cfg_dbid IS NULL")" \
        "IRF places without their configuration"
    assert_eq 3 "$($q "SELECT count(*) FROM resource_group_")" "agent groups"
    assert_eq 0 "$($q "SELECT count(*) FROM gim_pending_update")" "kept updates left"
    assert_eq 0 "$($q "SELECT count(*) FROM interaction_fact WHERE active_flag = 1 OR end_ts IS NULL")" "interactions still active"
}
