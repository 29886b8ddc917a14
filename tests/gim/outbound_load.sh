#!/usr/bin/env bash
# Outbound end to end against the real server: the outbound golden scenarios'
# events (tests/scenarios/outbound_three_attempts, outbound_stuck moved a day
# later) and two bad events in a file -> outbound -> gim -> PostgreSQL. The
# contact_attempt_fact rows are the expected ones, column by column (the
# agent a placeholder resource_ row, campaigns and calling lists placeholder
# rows of their dimensions, call results the seeded codes, the interaction
# and IRF ids those of the voice scheme), the bad events on the errors port
# with their reasons, and a second run of the same file changes nothing
# (deterministic ids). Then a mart loaded at schema 004, when call results
# and campaigns were text, migrated to 005: the same rows.
source "$top_srcdir/tests/gim/gim_lib.sh"

python3 - "$top_srcdir/tests/scenarios" >"$TMP/in.jsonl" <<'PY'
import datetime, json, os, sys
for n, name in enumerate(["outbound_three_attempts", "outbound_stuck"]):
    for line in open(os.path.join(sys.argv[1], name + ".events.jsonl")):
        e = json.loads(line)
        t = e["time"]
        if isinstance(t, str):
            d = datetime.datetime.strptime(t, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
            t = int(d.timestamp() * 1000)
        e["time"] = t + n * 86400000
        print(json.dumps(e))
bad = {"key": "t1:Camp9:1", "id": "EventOCSCallResult", "time": 1711980000000, "seq": 1, "CampaignID": "Camp9",
       "ChainID": 1, "CallResult": "Perhaps"}
print(json.dumps(bad))
del bad["CampaignID"]
print(json.dumps(bad))
PY

cat >"$TMP/p.yaml" <<Y
pipeline: $TEST_NAME
settings: {metrics_listen: "127.0.0.1:0", retry_cap: 1s}
sources:
  in: {plugin: file, path: "$TMP/in.jsonl", key_field: key, positions: false}
transforms:
  outbound: {plugin: outbound, inputs: [in], stuck_timeout: 1h}
sinks:
  im:
    plugin: gim
    inputs: [outbound.attempts]
    cycle: 200ms
    schema_dir: $top_srcdir/plugins/gim/sql
    pg.dbname: $PGDATABASE
  errors: {plugin: file, inputs: [im.errors, in.errors, outbound.errors], path: "$TMP/errors.jsonl", format: envelope}
Y
run_pipeline "$TMP/p.yaml" "$TMP/log"

assert_eq 5 "$(value "SELECT count(*) FROM contact_attempt_fact")" "one row per dial attempt"
rows() {
    value "SELECT g.campaign_name, l.calling_list_name, c.record_id, c.chain_id, c.chain_n, c.attempt_ordinal,
                  c.contact_info, cr.call_result_code, c.record_disposition, r.resource_type || '/' || r.resource_name,
                  r.placeholder_flag, m.media_name_code, c.start_ts, c.connect_ts, c.end_ts, c.dial_duration,
                  c.start_date_time_key, c.end_date_time_key
           FROM contact_attempt_fact c JOIN media_type m USING (media_type_key)
                JOIN campaign g USING (campaign_key) JOIN call_result cr USING (call_result_key)
                LEFT JOIN calling_list l USING (calling_list_key)
                LEFT JOIN resource_ r ON r.resource_key = c.resource_key
           ORDER BY c.start_ts"
}
rows >"$TMP/rows"
cat >"$TMP/expected" <<'R'
Spring Sale|List1|501|42|1|1|+15550001|NoAnswer||||VOICE|1711879201||1711879231|30|1711879200|1711879200
Spring Sale|List1|502|42|2|2|+15550002|Busy||||VOICE|1711881000||1711881004|4|1711881000|1711881000
Spring Sale|List1|501|42|1|3|+15550001|Answered|Sale|Agent/a1001|1|VOICE|1711882800|1711882808|1711882980|8|1711882800|1711882800
Camp1|List1||7||1|+15550007|Answered||||VOICE|1711965600|1711965605|1711965605|5|1711965600|1711965600
Camp2|||8|1|1||AnsweringMachine||||VOICE|1711972801||1711972821|20|1711972800|1711972800
R
diff "$TMP/expected" "$TMP/rows" >&2 || fail "contact_attempt_fact rows differ (expected < > loaded)"

# the ids: the attempt's own, and the voice interaction and IRF it reached
ids=$(python3 - <<'PY'
import hashlib
def mf_id(kind, *keys):
    s = "\x1f".join(["mf1", kind, "t1"] + [str(k) for k in keys]).encode()
    return int.from_bytes(hashlib.sha256(s).digest()[:8], "big") & 0x7FFFFFFFFFFFFFFF or 1
print("%d|%d|%d" % (mf_id("attempt", "Camp1", 42, 1, 3), mf_id("ixn", "voice", "0001000000000OB1"),
                    mf_id("irf", "0001000000000OB1", "00650000000000a1", "1001", 77)))
PY
)
assert_eq "$ids" "$(value "SELECT contact_attempt_fact_key || '|' || interaction_id || '|' || interaction_resource_id
                           FROM contact_attempt_fact WHERE interaction_id IS NOT NULL")" "the connected attempt's ids"
assert_eq "t1" "$(value "SELECT DISTINCT tenant_name FROM contact_attempt_fact JOIN tenant USING (tenant_key)")" "tenant"

# the bad events: rejected with their reasons, nothing else
assert_eq 2 "$(wc -l <"$TMP/errors.jsonl")" "rejected events"
assert_contains "$TMP/errors.jsonl" "field 'CallResult' is 'Perhaps', not one of" "a bad call result rejected"
assert_contains "$TMP/errors.jsonl" "missing mandatory field 'CampaignID'" "a missing CampaignID rejected"

# the same file again: the same rows, none added
rm -f "$TMP/errors.jsonl"
run_pipeline "$TMP/p.yaml" "$TMP/log2"
rows >"$TMP/rows2"
diff "$TMP/rows" "$TMP/rows2" >&2 || fail "a second load changed the rows"
assert_eq 5 "$(value "SELECT count(*) FROM contact_attempt_fact")" "no row added by the replay"

# the dimensions: one placeholder row per campaign and calling list of the
# tenant, the call results the seeded rows (none added), every reference
# resolved
assert_eq "Camp1|1 Camp2|1 Spring Sale|1" "$(value "SELECT string_agg(campaign_name || '|' || placeholder_flag, ' '
    ORDER BY campaign_name) FROM campaign JOIN tenant USING (tenant_key) WHERE tenant_name = 't1'")" "campaign rows"
assert_eq "List1|1" "$(value "SELECT string_agg(calling_list_name || '|' || placeholder_flag, ' ') FROM calling_list")" \
    "calling_list rows"
assert_eq 8 "$(value "SELECT count(*) FROM call_result")" "call results: the seed only"
assert_eq "Answered|1" "$(value "SELECT call_result_code || '|' || is_connected FROM call_result
    JOIN contact_attempt_fact USING (call_result_key) WHERE interaction_id IS NOT NULL")" "the connected attempt's result"
assert_references

# a mart of schema 004, when campaigns, lists and results were text, with
# two attempts in it, then the loader (which migrates it to the shipped
# schema) and the same input: the old rows keep their names through the new
# dimensions (rows created by the schema, audit key 0), the loaded ones reuse
# them, every reference resolves
PGOPTIONS=--client-min-messages=warning pg_sql -c "DROP SCHEMA public CASCADE" -c "CREATE SCHEMA public"
mkdir -p "$TMP/sql004"
cp "$top_srcdir"/plugins/gim/sql/00[1-4]_*.sql "$TMP/sql004/"
MF_TEST_SQLDIR=$TMP/sql004 MF_TEST_SHA001=unused "${top_builddir:-.}/tests/gim/test_gim_schema" --migrate >/dev/null ||
    fail "cannot migrate to schema 004"
pg_sql -c "INSERT INTO tenant (tenant_name, create_audit_key, update_audit_key) VALUES ('t1', 0, 0)" \
    -c "INSERT INTO contact_attempt_fact (contact_attempt_fact_key, tenant_key, media_type_key, campaign_name,
          calling_list_name, attempt_ordinal, call_result, start_ts, end_ts, start_date_time_key, end_date_time_key,
          create_audit_key, update_audit_key)
        SELECT k, t.tenant_key, 1, c, l, 1, r, 1700000000 + k, 1700000030 + k, 1699999200, 1699999200, 0, 0
          FROM tenant t, (VALUES (1, 'Spring Sale', 'List1', 'Busy'), (2, 'Old Campaign', NULL, 'Fax')) v(k, c, l, r)
         WHERE t.tenant_name = 't1'"
run_pipeline "$TMP/p.yaml" "$TMP/log4"
assert_contains "$TMP/log4" "migrations applied, from version 4" "migrated from schema 004"
assert_eq "1|Spring Sale|List1|Busy 2|Old Campaign||Fax" "$(value "SELECT string_agg(concat_ws('|', c.contact_attempt_fact_key,
    g.campaign_name, coalesce(l.calling_list_name, ''), r.call_result_code), ' ' ORDER BY c.contact_attempt_fact_key)
    FROM contact_attempt_fact c JOIN campaign g USING (campaign_key) JOIN call_result r USING (call_result_key)
    LEFT JOIN calling_list l USING (calling_list_key) WHERE c.contact_attempt_fact_key < 10")" "the migrated rows"
assert_eq "Camp1|1 Camp2|1 Old Campaign|0 Spring Sale|0" "$(value "SELECT string_agg(campaign_name || '|' ||
    (create_audit_key > 0)::int, ' ' ORDER BY campaign_name) FROM campaign")" \
    "campaigns once each: the migrated ones made by the schema (audit key 0), the new ones by the loader"
assert_eq 7 "$(value "SELECT count(*) FROM contact_attempt_fact")" "the two old rows and the five loaded"
assert_eq 8 "$(value "SELECT count(*) FROM call_result")" "call results: the seed only"
assert_references
