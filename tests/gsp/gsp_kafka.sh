#!/usr/bin/env bash
# pipelines/gsp.yaml against the real broker: golden scenarios' events
# produced to voice-callthread with kcat (keys from the events; the n-th
# scenario moved n days later so event time goes forward), plus one event
# without ConnID; gsp.yaml run with GSP_STOP_AT_END=true; gsp-ixn read back
# with kcat: per scenario the records' tables, ops, keys and every id match
# the expected.json; an agent scenario on voice-agentstate comes back on
# gsp-sm, and the gca-cfg objects of tests/gsp/cfg as gsp-cfg dimension rows;
# the outbound scenario on voice-outbound comes back on gsp-outbound (its
# three attempts, keyed by chain; a chain started a day later closes it while
# following, so numChainsProcessed counts it); a digital chat on digital-itx
# comes back on gsp-ixn (its golden records, beside the voice ones), and a
# digital agent's per-media states on gsp-sm (its golden, with the handling
# events of that scenario on digital-agentstate, which reads both kinds).
# While it runs (a second run, following), /metrics has
# the guide's flink_* names with the input's values. TOPIC_GSP_IXN=""
# disables that sink: logged, the facts discarded and counted.
source "$top_srcdir/tests/kafka/kafka_lib.sh"
SCENARIOS="inbound_answered transfer_two_step conference abandon_in_queue rona"
AGENT_SCENARIO=agent_login_ready_logout # on voice-agentstate, 5 days after the first
OUTBOUND_SCENARIO=outbound_three_attempts # on voice-outbound, as it is
DIGITAL_SCENARIO=digital_chat_completed # on digital-itx, as it is
DIGITAL_AGENT_SCENARIO=digital_agent_capacity # on digital-agentstate, as it is
IN=$(name voice) IXN=$(name ixn) AS=$(name agents) CFG=$(name gcacfg) SM=$(name sm) GCFG=$(name gspcfg)
OB=$(name outbound) GOB=$(name gspoutbound) DIX=$(name dix) DAS=$(name das)
topic "$IN" 1 # one partition: the event-time order of the stream is kept
topic "$AS" 1
topic "$CFG" 1
topic "$OB" 1
topic "$DIX" 1
topic "$DAS" 1
for t in "$IXN" "$SM" "$GCFG" "$GOB"; do topic "$t" 3; done
python3 - "$top_srcdir/tests/scenarios/$OUTBOUND_SCENARIO.events.jsonl" >"$TMP/ob.tsv" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    e = json.loads(line)
    print(e.pop("key") + "\t" + json.dumps(e))
later = {"id": "EventOCSChainStartProcessing", "time": "2024-04-01T12:00:00.000Z", "seq": 1, "CampaignID": "Camp1",
         "ChainID": 43}
print("t1:Camp1:43\t" + json.dumps(later))
PY
produce "$OB" "$TMP/ob.tsv"
for s in "$DIGITAL_SCENARIO:$DIX" "$DIGITAL_AGENT_SCENARIO:$DAS"; do
    python3 -c 'import json, sys
for line in open(sys.argv[1]):
    e = json.loads(line)
    print(e.pop("key") + "\t" + json.dumps(e))' "$top_srcdir/tests/scenarios/${s%%:*}.events.jsonl" >"$TMP/${s%%:*}.tsv"
    produce "${s#*:}" "$TMP/${s%%:*}.tsv"
done
# the configuration: gca-cfg objects (tests/gsp/cfg) keyed by identity
python3 - "$top_srcdir/tests/gsp/cfg/gspconfig.input.jsonl" >"$TMP/cfg.tsv" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    o = json.loads(line)
    print("%s:%s:%d\t%s" % (o["tenant"], o["type"], o["dbid"], line.strip()))
PY
produce "$CFG" "$TMP/cfg.tsv"
python3 - "$top_srcdir/tests/scenarios" "$AGENT_SCENARIO" >"$TMP/as.tsv" <<'PY'
import datetime, json, os, sys
for line in open(os.path.join(sys.argv[1], sys.argv[2] + ".events.jsonl")):
    e = json.loads(line)
    d = datetime.datetime.strptime(e["time"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
    e["time"] = int(d.timestamp() * 1000) + 5 * 86400000
    print(e.pop("key") + "\t" + json.dumps(e))
PY
produce "$AS" "$TMP/as.tsv"
python3 - "$top_srcdir/tests/scenarios" $SCENARIOS >"$TMP/in.tsv" 2>"$TMP/expect.env" <<'PY'
import datetime, json, os, sys
calls, threads = set(), set()
for n, name in enumerate(sys.argv[2:]):
    for line in open(os.path.join(sys.argv[1], name + ".events.jsonl")):
        e = json.loads(line)
        t = e["time"]
        if isinstance(t, str):
            d = datetime.datetime.strptime(t, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
            t = int(d.timestamp() * 1000)
        e["time"] = t + n * 86400000
        calls.add((e["key"], e["ConnID"]))
        threads.add(e["key"])
        last = max(e["time"], globals().get("last", 0))
        print(e["key"] + "\t" + json.dumps(e))
# invalid: no ConnID (rejected by callthread), after everything else
print('t1:CT-NOCONN\t{"id": "EventRinging", "time": %d, "seq": 1, "CallThreadID": "CT-NOCONN", "ThisDN": "1"}'
      % (t + 1000))
print("CALLS=%d THREADS=%d LAST=%d" % (len(calls), len(threads), last), file=sys.stderr)
PY
source "$TMP/expect.env"
produce "$IN" "$TMP/in.tsv"

export KAFKA_BOOTSTRAP=$B TENANT_ID="gsptest-$RUN_ID" TOPIC_VOICE_CALLTHREAD=$IN TOPIC_GSP_IXN=$IXN
export TOPIC_VOICE_AGENTSTATE=$AS TOPIC_GCA_CFG=$CFG TOPIC_GSP_SM=$SM TOPIC_GSP_CFG=$GCFG
export TOPIC_VOICE_OUTBOUND=$OB TOPIC_GSP_OUTBOUND=$GOB
export TOPIC_DIGITAL_ITX=$DIX TOPIC_DIGITAL_AGENTSTATE=$DAS
export GSP_METRICS_LISTEN=127.0.0.1:0 GSP_DEAD_LETTER=$TMP/dead.jsonl MARTFLOW_DATA_DIR=$TMP/data
RC=0
GSP_STOP_AT_END=true timeout 120 "$MARTFLOW" run "$top_srcdir/pipelines/gsp.yaml" >"$TMP/run.log" 2>&1 || RC=$?
assert_eq 0 "$RC" "gsp.yaml run to the end (log: $(tail -3 "$TMP/run.log"))"
# the event without ConnID, and the invalid gca-cfg object of tests/gsp/cfg
# (rejected by callthread's configuration input and by gspconfig)
assert_lines 3 "$TMP/dead.jsonl" "the invalid records in the dead letter file"
assert_contains "$TMP/dead.jsonl" '"mf.error":"missing mandatory field .ConnID.","mf.error.node":"callthread"' "the event rejected by callthread"
assert_contains "$TMP/dead.jsonl" '"mf.error.node":"gspconfig"' "the invalid object rejected by gspconfig"

kcat -b "$B" -C -t "$IXN" -o beginning -e -q -f '%k\t%s\n' >"$TMP/ixn.tsv" || fail "kcat could not read $IXN"
python3 - "$top_srcdir/tests/scenarios" "$TMP/ixn.tsv" $SCENARIOS $DIGITAL_SCENARIO <<'PY' || fail "gsp-ixn differs from the scenarios (above)"
import collections, hashlib, json, os, sys
def mf_id(kind, tenant, *keys):
    s = "\x1f".join(["mf1", kind, tenant] + [str(k) for k in keys]).encode()
    return int.from_bytes(hashlib.sha256(s).digest()[:8], "big") & 0x7FFFFFFFFFFFFFFF or 1
def ids(tenant, row):  # the id columns, resolved
    return tuple(sorted((c, mf_id(v["$id"][0], tenant, *v["$id"][1:]) if isinstance(v, dict) and "$id" in v else v)
                        for c, v in row.items() if c.endswith("_id") and (isinstance(v, int) or isinstance(v, dict) and "$id" in v)))
want = collections.Counter()
for name in sys.argv[3:]:
    exp = json.load(open(os.path.join(sys.argv[1], name + ".expected.json")))
    for port in ("interactions", "resources", "segments"):
        for r in exp[port]:
            want[(r["key"], r["table"], r["op"], r["tenant"], ids(r["tenant"], r["row"]))] += 1
got, order = collections.Counter(), collections.defaultdict(list)
for line in open(sys.argv[2]):
    key, value = line.rstrip("\n").split("\t", 1)
    r = json.loads(value)
    got[(key, r["table"], r["op"], r["tenant"], ids(r["tenant"], r["row"]))] += 1
tables = lambda c: collections.Counter(k[1] for k in c.elements())
print("tables expected", dict(tables(want)), "got", dict(tables(got)), file=sys.stderr)
ok = want == got and sum(want.values()) > 0
for k in (want - got): print("missing", k, file=sys.stderr)
for k in (got - want): print("unexpected", k, file=sys.stderr)
sys.exit(0 if ok else 1)
PY

# gsp-sm: the agent scenario's session, state and reason facts (ids with
# their times moved 5 days); gsp-cfg: the dimension rows of the configuration
consume "$SM" >"$TMP/sm.tsv"
python3 - "$top_srcdir/tests/scenarios/$AGENT_SCENARIO.expected.json" "$TMP/sm.tsv" \
    "$top_srcdir/tests/scenarios/$DIGITAL_AGENT_SCENARIO.expected.json" <<'PY' || fail "gsp-sm differs from $AGENT_SCENARIO and $DIGITAL_AGENT_SCENARIO (above)"
import collections, hashlib, json, sys
SHIFT = 5 * 86400000
def mf_id(kind, tenant, *keys):
    s = "\x1f".join(["mf1", kind, tenant] + [str(k) for k in keys]).encode()
    return int.from_bytes(hashlib.sha256(s).digest()[:8], "big") & 0x7FFFFFFFFFFFFFFF or 1
def ids(tenant, row, shift):
    out = []
    for c, v in row.items():
        if isinstance(v, dict) and "$id" in v:
            k = list(v["$id"])
            k[-1] += shift  # the sm_* ids end with a time in epoch ms
            out.append((c, mf_id(k[0], tenant, *k[1:])))
    return tuple(sorted(out))
want = collections.Counter()
for path, shift in ((sys.argv[1], SHIFT), (sys.argv[3], 0)):  # the voice agent moved 5 days; the digital one as it is
    exp = json.load(open(path))
    want.update((r["key"], r["table"], r["op"], ids(r["tenant"], r["row"], shift))
                for p in ("sessions", "states", "reasons") for r in exp[p])
got = collections.Counter()
for line in open(sys.argv[2]):
    key, value = line.rstrip("\n").split("\t", 1)
    r = json.loads(value)
    got[(key, r["table"], r["op"], tuple(sorted((c, v) for c, v in r["row"].items() if c.endswith("_fact_key"))))] += 1
for k in (want - got): print("missing", k, file=sys.stderr)
for k in (got - want): print("unexpected", k, file=sys.stderr)
sys.exit(0 if want == got and want else 1)
PY
# gsp-outbound: the outbound scenario's attempts, each once, keyed by its chain
consume "$GOB" >"$TMP/gob.tsv"
python3 - "$top_srcdir/tests/scenarios/$OUTBOUND_SCENARIO.expected.json" "$TMP/gob.tsv" <<'PY' || fail "gsp-outbound differs from $OUTBOUND_SCENARIO (above)"
import collections, hashlib, json, sys
def mf_id(kind, tenant, *keys):
    s = "\x1f".join(["mf1", kind, tenant] + [str(k) for k in keys]).encode()
    return int.from_bytes(hashlib.sha256(s).digest()[:8], "big") & 0x7FFFFFFFFFFFFFFF or 1
def resolved(tenant, row):
    return json.dumps({c: mf_id(v["$id"][0], tenant, *v["$id"][1:]) if isinstance(v, dict) and "$id" in v else v
                       for c, v in row.items()}, sort_keys=True)
exp = json.load(open(sys.argv[1]))
want = collections.Counter((r["key"], r["table"], r["op"], resolved(r["tenant"], r["row"])) for r in exp["attempts"])
got = collections.Counter()
for line in open(sys.argv[2]):
    key, value = line.rstrip("\n").split("\t", 1)
    r = json.loads(value)
    got[(key, r["table"], r["op"], json.dumps(r["row"], sort_keys=True))] += 1
for k in (want - got): print("missing", k, file=sys.stderr)
for k in (got - want): print("unexpected", k, file=sys.stderr)
sys.exit(0 if want == got and want else 1)
PY
consume "$GCFG" >"$TMP/gspcfg.tsv"
python3 - "$top_srcdir/tests/gsp/cfg/gspconfig.expected.jsonl" "$TMP/gspcfg.tsv" <<'PY' || fail "gsp-cfg differs from tests/gsp/cfg/gspconfig.expected.jsonl"
import collections, json, sys
want = collections.Counter()
for line in open(sys.argv[1]):
    r = json.loads(line)
    want[(r["key"], json.dumps(r["value"], sort_keys=True))] += 1
got = collections.Counter()
for line in open(sys.argv[2]):
    k, v = line.rstrip("\n").split("\t", 1)
    got[(k, json.dumps(json.loads(v), sort_keys=True))] += 1
for k in (want - got): print("missing", k, file=sys.stderr)
for k in (got - want): print("unexpected", k, file=sys.stderr)
sys.exit(0 if want == got and want else 1)
PY

# Following (no stop_at_end) from the start again (a new group): the
# guide's metrics while it runs.
export TENANT_ID="gsptest2-$RUN_ID"
"$MARTFLOW" run "$top_srcdir/pipelines/gsp.yaml" >"$TMP/follow.log" 2>&1 &
ENGINE=$!
ENGINE_PIDS+=("$ENGINE")
port=$(metrics_port "$TMP/follow.log")
F=flink_taskmanager_job_task_operator
# the invalid event comes last: once it is counted, everything was read
wait_for 60 metric_at_least "$port" ${F}_errors_numInvalidRecords 3 || fail "the input was not read"
wait_for 30 metric_at_least "$port" ${F}_numChainsProcessed 1 || fail "the outbound chain was not processed"
sleep 2 # a rate sample after the counts
curl -fsS "http://127.0.0.1:$port/metrics" >"$TMP/metrics" || fail "/metrics"
val() { awk -v n="$1" '$1 == n || index($1, n "{") == 1 {print $2; exit}' "$TMP/metrics"; }
assert_eq 1 "$(val flink_jobmanager_numRunningJobs)" "numRunningJobs"
assert_eq "$CALLS" "$(val ${F}_numCallsCreated)" "numCallsCreated = the calls of the input"
assert_eq "$THREADS" "$(val ${F}_numThreadsCreated)" "numThreadsCreated"
assert_eq 3 "$(val ${F}_errors_numInvalidRecords)" "numInvalidRecords"
assert_contains "$TMP/metrics" "^${F}_user_errors_numOversizedMessages\{.*node=\"voice-callthread\".*\} 0$" "numOversizedMessages"
assert_contains "$TMP/metrics" "^${F}_records_lag_max\{.*node=\"voice-callthread\".*\} 0$" "records_lag_max once read"
assert_contains "$TMP/metrics" "^# TYPE ${F}_records_consumed_rate gauge$" "records_consumed_rate"
assert_eq 1 "$(val ${F}_numChainsProcessed)" "numChainsProcessed: chain 42 closed, 43 open"
for m in numCallsCreatedPerSecond numCallThreadsCreatedPerSecond numChainsProcessedPerSecond; do
    v=$(val ${F}_$m)
    python3 -c "import sys; sys.exit(0 if float('$v') > 0 else 1)" || fail "$m is $v"
done
# the latest valid event time (epoch ms) minus max_out_of_order (5 s)
last=$LAST
wm=$(val ${F}_currentInputWatermark)
assert_eq $((last - 5000)) "${wm%.*}" "currentInputWatermark"
wm_out=$(val ${F}_currentOutputWatermark)
python3 -c "import sys; sys.exit(0 if 0 < float('$wm_out') <= $last else 1)" || fail "currentOutputWatermark $wm_out"
stop_engine "$ENGINE"
assert_eq 0 "$RC" "exit after SIGTERM"

# an empty topic name disables that sink's domain
export TENANT_ID="gsptest3-$RUN_ID"
RC=0
TOPIC_GSP_IXN="" GSP_STOP_AT_END=true GSP_METRICS_LISTEN="" timeout 120 \
    "$MARTFLOW" run "$top_srcdir/pipelines/gsp.yaml" >"$TMP/off.log" 2>&1 || RC=$?
assert_eq 0 "$RC" "run with TOPIC_GSP_IXN empty"
assert_contains "$TMP/off.log" '"node":"gsp-ixn".*topic is empty: records .*are discarded' "disabled sink logged"
n=$(grep -o '"node":"gsp-ixn"[^}]*in=[0-9]*' "$TMP/off.log" | grep -o 'in=[0-9]*' | tail -1)
assert_eq "in=$(wc -l <"$TMP/ixn.tsv")" "$n" "the facts reached the disabled sink (and were discarded)"
