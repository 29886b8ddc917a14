#!/usr/bin/env bash
# callgen -> Kafka -> pipelines/gsp.yaml -> Kafka, read back with kcat: 600
# generated calls of 20 agents produced to voice-callthread and
# voice-agentstate (3 partitions each, keyed by thread / agent), gsp.yaml run
# to the end of its inputs; the last record of every id on gsp-ixn and gsp-sm
# gives exactly the facts of callgen's plan (tests/gsp/callgen_check.py, as
# the in-process property test checks them), none rejected.
source "$top_srcdir/tests/kafka/kafka_lib.sh"
check="python3 $top_srcdir/tests/gsp/callgen_check.py"
VC=$(name vc) VA=$(name va) CFG=$(name cfg) IXN=$(name ixn) SM=$(name sm) GCFG=$(name gcfg)
for t in "$VC" "$VA" "$IXN" "$SM"; do topic "$t" 3; done
topic "$CFG" 1
topic "$GCFG" 1

cat >"$TMP/gen.yaml" <<Y
pipeline: callgen-kafka
sources:
  gen: {plugin: callgen, seed: 11, calls: 600, agents: 20, rate: 0.5, plan: '$TMP/plan.json'}
sinks:
  vc: {plugin: kafka, inputs: [gen.callthread], brokers: "$B", topic: "$VC"}
  va: {plugin: kafka, inputs: [gen.agentstate], brokers: "$B", topic: "$VA"}
Y
"$MARTFLOW" run "$TMP/gen.yaml" >"$TMP/gen.log" 2>&1 || { tail -5 "$TMP/gen.log" >&2; fail "callgen -> kafka failed"; }
[[ -f $TMP/plan.json ]] || fail "no plan written"

export KAFKA_BOOTSTRAP=$B TENANT_ID="cgk-$RUN_ID" GSP_STOP_AT_END=true GSP_METRICS_LISTEN=""
export TOPIC_VOICE_CALLTHREAD=$VC TOPIC_VOICE_AGENTSTATE=$VA TOPIC_GCA_CFG=$CFG
export TOPIC_GSP_IXN=$IXN TOPIC_GSP_SM=$SM TOPIC_GSP_CFG=$GCFG
export TOPIC_VOICE_OUTBOUND="" TOPIC_GSP_OUTBOUND="" TOPIC_DIGITAL_ITX="" TOPIC_DIGITAL_AGENTSTATE="" # voice only: the outbound and digital domains off
export GSP_DEAD_LETTER=$TMP/dead.jsonl MARTFLOW_DATA_DIR=$TMP/data
RC=0
timeout 300 "$MARTFLOW" run "$top_srcdir/pipelines/gsp.yaml" >"$TMP/gsp.log" 2>&1 || RC=$?
assert_eq 0 "$RC" "gsp.yaml to the end (log: $(tail -3 "$TMP/gsp.log"))"
[[ ! -s $TMP/dead.jsonl ]] || { head -3 "$TMP/dead.jsonl" >&2; fail "gsp.yaml rejected generated events"; }

# the topics' records into the files callgen_check.py reads, by table and op
kcat -b "$B" -C -t "$IXN" -o beginning -e -q -f '%s\n' >"$TMP/ixn.all" || fail "kcat $IXN"
kcat -b "$B" -C -t "$SM" -o beginning -e -q -f '%s\n' >"$TMP/sm.all" || fail "kcat $SM"
python3 - "$TMP" <<'PY' || fail "cannot split the output topics"
import json, os, sys
d = sys.argv[1]
files = {("INTERACTION_FACT", "upsert"): "ixn", ("INTERACTION_RESOURCE_FACT", "upsert"): "irf",
         ("MEDIATION_SEGMENT_FACT", "upsert"): "msf", ("INTERACTION_RESOURCE_FACT", "update"): "acw",
         ("SM_RES_SESSION_FACT", "upsert"): "sessions", ("SM_RES_STATE_FACT", "upsert"): "states",
         ("SM_RES_STATE_REASON_FACT", "upsert"): "reasons"}
out = {n: open(os.path.join(d, n + ".jsonl"), "w") for n in files.values()}
n = 0
for src in ("ixn.all", "sm.all"):
    for line in open(os.path.join(d, src)):
        r = json.loads(line)
        out[files[(r["table"], r["op"])]].write(line)
        n += 1
assert n > 0, "no output records"
PY
$check facts "$TMP" "$TMP/plan.json" || fail "gsp-ixn differs from callgen's plan"
$check smfacts "$TMP" "$TMP/plan.json" || fail "gsp-sm differs from callgen's plan"
note "600 generated calls through Kafka and gsp.yaml: the facts equal the plan"
