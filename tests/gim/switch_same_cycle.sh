#!/usr/bin/env bash
# A resource named with switch "" and the same resource named with its
# switch, both new, in one cycle (in either order): one resource_ row, which
# both facts reference (docs/events.md §2.5: "" resolves to the only resource
# of that type and name), not a second placeholder of switch "" that no
# configuration would ever complete.
source "$top_srcdir/tests/gim/gim_lib.sh"

fact() { # KEY RESOURCE-JSON
    printf '{"table":"SM_RES_STATE_FACT","op":"upsert","tenant":"t1","row":{"sm_res_state_fact_key":%s,"sm_res_session_fact_key":1,"media_type":"VOICE","resource":%s,"resource_state":"READY","start_ts":1711848000,"end_ts":1711848020,"total_duration":20}}\n' "$1" "$2"
}
{
    fact 1 '{"type":"Agent","name":"7777"}'
    fact 2 '{"type":"Agent","name":"7777","switch":"SIP_Switch"}'
    fact 3 '{"type":"Agent","name":"8888","switch":"SIP_Switch"}'
    fact 4 '{"type":"Agent","name":"8888","switch":""}'
} >"$TMP/in.jsonl"
cat >"$TMP/p.yaml" <<Y
pipeline: $TEST_NAME
sources:
  in: {plugin: file, path: "$TMP/in.jsonl", positions: false}
sinks:
  im: {plugin: gim, inputs: [in], cycle: 1h, schema_dir: $top_srcdir/plugins/gim/sql, pg.dbname: $PGDATABASE}
Y
run_pipeline "$TMP/p.yaml" "$TMP/log"
assert_eq 1 "$(value "SELECT count(*) FROM ctl_etl_history WHERE status = 'SUCCESS'")" "one cycle"
assert_eq "7777|SIP_Switch|1,8888|SIP_Switch|1" \
    "$(value "SELECT string_agg(resource_name || '|' || switch_name || '|' || placeholder_flag, ',' ORDER BY resource_name) FROM resource_")" \
    "one placeholder per resource, of its switch"
assert_eq 2 "$(value "SELECT count(DISTINCT resource_key) FROM sm_res_state_fact")" "the facts of a resource share its row"

# Across cycles: a fact without the switch (a placeholder of switch ""), then
# one with it, then the configuration: the first placeholder takes the
# switch, so one row, completed by the configuration, holds both facts (not
# a second placeholder that the configuration completes while the one of
# switch "" stays a placeholder for ever).
one_cycle() { # FILE
    cat >"$TMP/c.yaml" <<Y
pipeline: $TEST_NAME
sources:
  in: {plugin: file, path: "$1", positions: false}
sinks:
  im: {plugin: gim, inputs: [in], cycle: 1h, schema_dir: $top_srcdir/plugins/gim/sql, pg.dbname: $PGDATABASE}
Y
    run_pipeline "$TMP/c.yaml" "$TMP/c.log"
}
fact 11 '{"type":"Agent","name":"9999"}' >"$TMP/c1.jsonl"
fact 12 '{"type":"Agent","name":"9999","switch":"SIP_Switch"}' >"$TMP/c2.jsonl"
printf '{"table":"RESOURCE_","op":"upsert","tenant":"t1","row":{"resource_type":"Agent","switch_name":"SIP_Switch","resource_name":"9999","agent_last_name":"Nine"}}\n' >"$TMP/c3.jsonl"
one_cycle "$TMP/c1.jsonl"
assert_eq "|1" "$(value "SELECT switch_name || '|' || placeholder_flag FROM resource_ WHERE resource_name = '9999'")" \
    "after the first cycle: a placeholder of switch \"\""
one_cycle "$TMP/c2.jsonl"
one_cycle "$TMP/c3.jsonl"
assert_eq "SIP_Switch|0|Nine" \
    "$(value "SELECT string_agg(switch_name || '|' || placeholder_flag || '|' || coalesce(agent_last_name, ''), ',') FROM resource_ WHERE resource_name = '9999'")" \
    "one row of agent 9999, completed by the configuration"
assert_eq 1 "$(value "SELECT count(DISTINCT resource_key) FROM sm_res_state_fact WHERE sm_res_state_fact_key IN (11, 12)")" \
    "both facts of agent 9999 reference that row"
