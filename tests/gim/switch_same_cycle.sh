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
