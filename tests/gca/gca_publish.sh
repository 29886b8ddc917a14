#!/usr/bin/env bash
# pipelines/gca.yaml against the real PostgreSQL and Kafka: the sample
# configuration is published once per object to a topic it creates compacted,
# the gspconfig transform accepts every record, the snapshot is the topic's
# current state; inserts, updates and deletes of persons, agent logins and
# DNs give exactly the matching records, and a restart emits nothing.
source "$top_srcdir/tests/gca/gca_lib.sh"

gca_once "$TMP/run1.log"
assert_eq compact "$("$TOPIC_CONFIG" "$B" "$TOPIC_GCA_CFG" cleanup.policy)" "the topic is created compacted"
assert_contains "$TMP/run1.log" "topic $TOPIC_GCA_CFG created" "the creation is logged"
topic_dump "$TMP/t1"
assert_lines 104 "$TMP/t1" "one record per object of the sample"
assert_eq 104 "$(cut -f1 "$TMP/t1" | sort -u | wc -l)" "distinct keys"
assert_eq 0 "$(grep -c '"op":"delete"' "$TMP/t1" || true)" "no deletes"
assert_eq ok "$(python3 "$CHECK" records "$TMP/t1" t1)" "well-formed records"
assert_eq "CfgActionCode 8
CfgAgentGroup 3
CfgAgentLogin 20
CfgDN 27
CfgPerson 21
CfgPlace 20
CfgSkill 3
CfgSwitch 1
CfgTenant 1" "$(python3 "$CHECK" types "$TMP/t1")" "objects per type"
# what GSP's cache reads: the person with its login and annex, the login's switch
assert_contains "$(grep '^t1:CfgPerson:1001	' "$TMP/t1")" '"agent_logins":\[\{"agent_login_dbid":2001,"wrapup_time":30\}\]' "person 1001's login"
assert_contains "$(grep '^t1:CfgPerson:1001	' "$TMP/t1")" '"annex":\{"htcc":\{"roles":"agent,supervisor"\}' "person 1001's annex"
assert_contains "$(grep '^t1:CfgAgentLogin:2001	' "$TMP/t1")" '"login_code":"a10001".*"switch_dbid":101' "login a10001"
assert_contains "$(grep '^t1:CfgAgentGroup:5003	' "$TMP/t1")" '"members":\[1001,1002,1011,1012\]' "group members"
assert_eq ok "$(python3 "$CHECK" snapshot "$(snap)" "$TMP/t1")" "the snapshot is the topic's state"
assert_contains "$(snap)" "\"topic\":\"$TOPIC_GCA_CFG\",\"offsets\":\[\{\"partition\":0,\"offset\":104\}\]" "the snapshot's offsets"
assert_contains "$TMP/run1.log" 'change set [0-9]+: 104 upserts, 0 deletes' "the change set is logged"

note "gspconfig accepts every record"
cat >"$TMP/gsp.yaml" <<Y
pipeline: gspcfg
sources:
  cfg: {plugin: kafka, brokers: "$B", topics: ["$TOPIC_GCA_CFG"], group: gspcfg-$$, commit: false, stop_at_end: true}
transforms:
  gspconfig: {plugin: gspconfig, inputs: [cfg]}
sinks:
  out: {plugin: file, inputs: [gspconfig], path: "$TMP/gsp-cfg.jsonl"}
  errors: {plugin: file, inputs: [cfg.errors, gspconfig.errors], path: "$TMP/gsp-errors.jsonl", format: envelope}
Y
"$MARTFLOW" run "$TMP/gsp.yaml" >"$TMP/gsp.log" 2>&1 || { tail "$TMP/gsp.log" >&2; fail "the gspconfig pipeline failed"; }
assert_eq 0 "$(cat "$TMP/gsp-errors.jsonl" 2>/dev/null | wc -l)" "records gspconfig rejected"
# (a login's row comes again once its person arrives, with the person's names)
assert_eq 20 "$(grep '"table":"RESOURCE_"' "$TMP/gsp-cfg.jsonl" | grep '"resource_type":"Agent"' |
    grep -o '"resource_name":"[^"]*"' | sort -u | wc -l)" "an agent row per login"
assert_contains "$(grep '"table":"RESOURCE_".*"resource_name":"a10001"' "$TMP/gsp-cfg.jsonl" | tail -1)" \
    '"agent_first_name":"Ada","agent_last_name":"Lovelace","employee_id":"E10001","user_name":"ada.lovelace"' "login a10001 is Ada's"
assert_eq 1 "$(grep -c '"resource_name":"7001".*"resource_type":"Queue"\|"resource_type":"Queue".*"resource_name":"7001"' "$TMP/gsp-cfg.jsonl")" "queue 7001"
assert_eq 20 "$(grep -c '"table":"PLACE"' "$TMP/gsp-cfg.jsonl")" "places"

note "restart with nothing changed"
gca_once "$TMP/run2.log"
assert_contains "$TMP/run2.log" 'snapshot of change set [0-9]+ loaded from file://.* \(gca-snapshot-t1/cs-[0-9]{20}\.json\): 104 objects' "the snapshot is loaded"
topic_dump "$TMP/t2"
assert_lines 104 "$TMP/t2" "nothing emitted by a restart"

note "insert, update and delete persons, agent logins and DNs"
pg_sql <<'SQL'
INSERT INTO cfg_person (dbid, tenant_dbid, user_name, first_name, last_name, employee_id) VALUES (1030, 1, 'new.agent', 'New', 'Agent', 'E10030');
INSERT INTO cfg_agent_login (dbid, tenant_dbid, switch_dbid, login_code) VALUES (2030, 1, 101, 'a10030');
INSERT INTO cfg_login_info (person_dbid, agent_login_dbid, wrapup_time) VALUES (1030, 2030, 45);
UPDATE cfg_person SET last_name = 'Byron' WHERE dbid = 1001;
UPDATE cfg_agent_login SET login_code = 'a19999' WHERE dbid = 2019;
UPDATE cfg_dn SET name = 'Sales queue' WHERE dbid = 3101;
DELETE FROM cfg_dn WHERE dbid = 3020;
DELETE FROM cfg_person WHERE dbid = 1021;
-- a change that leaves the published data as it was: nothing
UPDATE cfg_place SET name = name WHERE dbid = 4001;
SQL
gca_once "$TMP/run3.log"
topic_dump "$TMP/t3"
python3 "$CHECK" tail "$TMP/t3" 104 >"$TMP/new"
assert_eq "upsert t1:CfgAgentLogin:2019
upsert t1:CfgAgentLogin:2030
upsert t1:CfgDN:3101
upsert t1:CfgPerson:1001
upsert t1:CfgPerson:1030
delete t1:CfgPerson:1021
delete t1:CfgDN:3020" "$(cut -d' ' -f1,2 "$TMP/new")" "exactly the changed objects, upserts then deletes"
assert_eq 1 "$(cut -d' ' -f3 "$TMP/new" | sort -u | wc -l)" "one version for the change set"
assert_eq ok "$(python3 "$CHECK" records "$TMP/t3" t1)" "versions increase"
assert_eq ok "$(python3 "$CHECK" snapshot "$(snap)" "$TMP/t3")" "the snapshot is the topic's state after the changes"
assert_contains "$(snap)" '"offsets":\[\{"partition":0,"offset":111\}\]' "the snapshot's offsets after the changes"
assert_contains "$(grep '^t1:CfgPerson:1030	' "$TMP/t3")" '"agent_logins":\[\{"agent_login_dbid":2030,"wrapup_time":45\}\]' "the new person's login"

note "restart after the changes"
gca_once "$TMP/run4.log"
topic_dump "$TMP/t4"
assert_lines 111 "$TMP/t4" "nothing emitted by a restart after the changes"
assert_eq 0 "$(cat "$GCA_DEAD_LETTER" 2>/dev/null | wc -l)" "nothing rejected"
