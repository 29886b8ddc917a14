#!/usr/bin/env bash
# The GCA snapshot on S3 (versitygw) end to end, with the real PostgreSQL and
# Kafka:
# - GCA (pipelines/gca.yaml, GCA_SNAPSHOTS=s3://...) writes the snapshot
#   document and its pointer; read back with curl --aws-sigv4 they are the
#   topic's configuration; a restart diffs against the S3 snapshot and emits
#   nothing;
# - a GSP (pipelines/gsp.yaml) started afterwards takes its configuration from
#   the snapshot and reads gca-cfg only from the snapshot's offsets: records
#   written after the snapshot (a newer person, a delete) are applied over
#   it, while the records before the offsets are never consumed (the
#   source's count); callthread names the switch of the agent, the queue and
#   the routing point from that configuration, and gsp-cfg has the agents'
#   rows with the names of the snapshot (or of the newer record).
source "$top_srcdir/tests/gca/gca_lib.sh"
need_s3
export PGDATABASE=$PG_TEST_DB
export S3_PATH_STYLE=true GCA_SNAPSHOTS="s3://$S3_BUCKET/$TEST_NAME-$$"
PREFIX="$TEST_NAME-$$"
EMPTY_SHA256=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
# s3get KEY FILE: the object, read by an independent client
s3get() {
    curl -fsS --aws-sigv4 "aws:amz:$S3_REGION:s3" --user "$S3_ACCESS_KEY:$S3_SECRET_KEY" \
        -H "x-amz-content-sha256: $EMPTY_SHA256" "$S3_ENDPOINT/$S3_BUCKET/$PREFIX/$1" -o "$2"
}
field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }

note "GCA writes the snapshot to S3"
gca_once "$TMP/run1.log"
topic_dump "$TMP/t1"
assert_lines 104 "$TMP/t1" "one record per object"
s3get gca-snapshot-t1/LATEST "$TMP/latest" || fail "no pointer gca-snapshot-t1/LATEST in the bucket"
assert_contains "$TMP/latest" '"format":"martflow.gca.snapshot.pointer","version":1' "the pointer's format"
assert_contains "$TMP/latest" "\"topic\":\"$TOPIC_GCA_CFG\",\"offsets\":\[\{\"partition\":0,\"offset\":104\}\]" \
    "the pointer repeats the offsets"
s3get "$(field "$TMP/latest" key)" "$TMP/doc" || fail "the document the pointer names is not in the bucket"
assert_eq "$(field "$TMP/latest" sha256)" "$(sha256sum "$TMP/doc" | cut -d' ' -f1)" "the pointer's SHA-256"
assert_eq ok "$(python3 "$CHECK" snapshot "$TMP/doc" "$TMP/t1")" "the S3 snapshot is the current configuration"
assert_contains "$TMP/run1.log" "snapshot of change set [0-9]+ written: 104 objects, [0-9]+ bytes, s3://$S3_BUCKET/$PREFIX at $S3_ENDPOINT" \
    "the write is logged with the location"

note "a restart diffs against the S3 snapshot"
gca_once "$TMP/run2.log"
assert_contains "$TMP/run2.log" "snapshot of change set [0-9]+ loaded from s3://$S3_BUCKET/$PREFIX .*: 104 objects" \
    "loaded from S3"
topic_dump "$TMP/t2"
assert_lines 104 "$TMP/t2" "nothing emitted by the restart"

note "records after the snapshot: a newer person 1001, DN 10020 deleted"
CS=$(field "$TMP/latest" change_set)
{
    printf 't1:CfgPerson:1001\t{"op":"upsert","type":"CfgPerson","dbid":1001,"tenant":"t1","version":%d,' $((CS + 5))
    printf '"data":{"agent_logins":[{"agent_login_dbid":2001,"wrapup_time":30}],"annex":{},"dbid":1001,'
    printf '"employee_id":"E10001","first_name":"Ada","is_agent":2,"last_name":"Topic","skills":[],"state":1,'
    printf '"user_name":"ada.lovelace"}}\n'
    printf 't1:CfgDN:3020\t{"op":"delete","type":"CfgDN","dbid":3020,"tenant":"t1","version":%d}\n' $((CS + 5))
} >"$TMP/after.tsv"
kcat -b "$B" -P -t "$TOPIC_GCA_CFG" -K '\t' -l "$TMP/after.tsv" || fail "kcat could not produce"

note "GSP starts from the snapshot"
IN=mf-$TEST_NAME-voice-$$ IXN=mf-$TEST_NAME-ixn-$$ GCFG=mf-$TEST_NAME-gspcfg-$$
for t in "$IN" "$IXN" "$GCFG"; do "$top_srcdir/tests/services.sh" kafka-topic "$t" 1 2>/dev/null || fail "topic $t"; done
trap '"$top_srcdir/tests/services.sh" kafka-topic-delete "$IN" >/dev/null 2>&1; "$top_srcdir/tests/services.sh" kafka-topic-delete "$IXN" >/dev/null 2>&1; "$top_srcdir/tests/services.sh" kafka-topic-delete "$GCFG" >/dev/null 2>&1; gca_cleanup' EXIT
# a call through routing point 5000 and queue 7001 answered by agent a10001 at
# 10001: the switch of every resource comes from the configuration
python3 - >"$TMP/in.tsv" <<'PY'
import json
t0 = 1711879200000
ev = [("EventRouteRequest", 0, {"ThisDN": "5000", "ThisDNType": "RoutingPoint", "CallID": "u-1", "ANI": "+1555", "DNIS": "800"}),
      ("EventRouteUsed", 3200, {"ThisDN": "5000", "OtherDN": "7001"}),
      ("EventQueued", 3200, {"ThisDN": "7001"}),
      ("EventRinging", 15000, {"ThisDN": "10001", "AgentID": "a10001", "PlaceID": "Place_10001"}),
      ("EventDiverted", 15000, {"ThisDN": "7001", "OtherDN": "10001"}),
      ("EventEstablished", 20000, {"ThisDN": "10001", "AgentID": "a10001", "PlaceID": "Place_10001"}),
      ("EventReleased", 185000, {"ThisDN": "10001", "AgentID": "a10001", "PlaceID": "Place_10001"})]
for seq, (name, dt, f) in enumerate(ev, 1):
    e = {"id": name, "time": t0 + dt, "seq": seq, "CallThreadID": "CT-S-1", "ConnID": "c-s-1", "CallType": "Inbound"}
    e.update(f)
    print("t1:CT-S-1\t" + json.dumps(e))
PY
kcat -b "$B" -P -t "$IN" -K '\t' -l "$TMP/in.tsv" || fail "kcat could not produce the events"
RC=0
TOPIC_VOICE_CALLTHREAD=$IN TOPIC_GSP_IXN=$IXN TOPIC_GSP_CFG=$GCFG TOPIC_VOICE_AGENTSTATE= TOPIC_GSP_SM= \
    TOPIC_VOICE_OUTBOUND= TOPIC_GSP_OUTBOUND= TOPIC_DIGITAL_ITX= TOPIC_DIGITAL_AGENTSTATE= \
    KAFKA_BOOTSTRAP=$B GSP_STOP_AT_END=true GSP_METRICS_LISTEN=127.0.0.1:0 GSP_DEAD_LETTER=$TMP/gsp-dead.jsonl \
    MARTFLOW_DATA_DIR=$TMP/gsp-data HOSTNAME=snap-$$ \
    timeout 120 "$MARTFLOW" run "$top_srcdir/pipelines/gsp.yaml" >"$TMP/gsp.log" 2>&1 || RC=$?
assert_eq 0 "$RC" "gsp.yaml runs to the end (log: $(tail -3 "$TMP/gsp.log"))"
assert_contains "$TMP/gsp.log" "\"node\":\"gca-snapshot\".*GCA snapshot of change set $CS .*: 104 objects" "the snapshot is loaded"
assert_contains "$TMP/gsp.log" "\"node\":\"gca-cfg\".*start_offsets: $TOPIC_GCA_CFG\[0\] starts at 104" "gca-cfg starts at the snapshot's offset"
# the engine's summary: what each source emitted (the topic: only the 2 records after the snapshot)
assert_contains "$TMP/gsp.log" '"node":"gca-snapshot","plugin":"gcasnapshot","message":"in=0 out=104 ' "104 objects from the snapshot"
assert_contains "$TMP/gsp.log" '"node":"gca-cfg","plugin":"kafka","message":"in=0 out=2 ' "only the records after the offsets from the topic"
assert_eq 0 "$(cat "$TMP/gsp-dead.jsonl" 2>/dev/null | wc -l)" "nothing rejected"

kcat -b "$B" -C -t "$IXN" -o beginning -e -q -f '%s\n' >"$TMP/ixn.jsonl" || fail "cannot read gsp-ixn"
python3 - "$TMP/ixn.jsonl" <<'PY' || fail "callthread's enrichment from the snapshot"
import json, sys
irf = [r for r in map(json.loads, open(sys.argv[1])) if r["table"] == "INTERACTION_RESOURCE_FACT" and r["op"] == "upsert"]
assert irf, "no INTERACTION_RESOURCE_FACT"
row = irf[-1]["row"]
assert row["resource"] == {"type": "Agent", "name": "a10001", "switch": "SIP_Switch"}, row["resource"]
q = row["last_queue_resource"]
assert (q["name"], q["switch"]) == ("7001", "SIP_Switch"), q
assert row["last_rp_resource"]["switch"] == "SIP_Switch", row["last_rp_resource"]
PY

kcat -b "$B" -C -t "$GCFG" -o beginning -e -q -f '%k\t%s\n' >"$TMP/gspcfg.tsv" || fail "cannot read gsp-cfg"
python3 - "$TMP/gspcfg.tsv" <<'PY' || fail "gsp-cfg from the snapshot and the newer records"
import json, sys
last = {}
for line in open(sys.argv[1]):
    k, v = line.rstrip("\n").split("\t", 1)
    last[k] = json.loads(v)
agents = {k: r for k, r in last.items() if ":RESOURCE_:Agent:" in k and r["op"] == "upsert"}
assert len(agents) == 20, "an agent row per login: %d" % len(agents)
def row(code):
    return next(r["row"] for k, r in agents.items() if r["row"]["resource_name"] == code)
assert row("a10002")["agent_first_name"] != "" and row("a10002")["switch_name"] == "SIP_Switch", row("a10002")
assert row("a10001")["agent_last_name"] == "Topic", row("a10001")  # the record after the snapshot wins
dn = [r for k, r in last.items() if ":RESOURCE_:" in k and r["row"].get("resource_name") == "10020"]
assert dn and dn[-1]["op"] == "delete", "DN 10020 deleted after the snapshot: %s" % dn
assert sum(1 for k, r in last.items() if ":PLACE:" in k and r["op"] == "upsert") == 20
PY
