#!/usr/bin/env bash
# The Kafka source with a checkpoint store: kafka -> callthread -> file, with
# a call open since the first message (its thread holds the acks of what it
# absorbed). The group's committed offsets follow the checkpoints, not the
# acknowledged watermark: once everything is read and checkpoints went on,
# they equal the log end, which is also the newest checkpoint's position.
# After kill -9 and more input, the restart — in a new consumer group, which
# has no committed offsets and would start at the earliest — reads exactly the
# new messages: the source seeks to the checkpoint's offsets.
source "$top_srcdir/tests/kafka/kafka_lib.sh"
IN=$(name in) G=$(name g) G2=$(name g2)
topic "$IN" 1 # one partition: the events stay in event-time order (callthread drops late ones)

python3 - "$TMP" <<'PY' || fail "cannot make the input"
import json, os, subprocess, sys
tmp = sys.argv[1]
open(f"{tmp}/gen.yaml", "w").write(f"""pipeline: gen
sources:
  gen: {{plugin: callgen, seed: 3, calls: 600, agents: 20, rate: 0.5}}
sinks:
  ev: {{plugin: file, inputs: [gen.callthread], path: '{tmp}/events.jsonl'}}
  n: {{plugin: "null", inputs: [gen.agentstate]}}
""")
subprocess.run([os.environ["MARTFLOW"], "run", f"{tmp}/gen.yaml"], check=True, stderr=subprocess.DEVNULL)
ev = [json.loads(l) for l in open(f"{tmp}/events.jsonl")]
ev.insert(0, {"id": "EventRinging", "time": ev[0]["time"], "seq": 1, "CallThreadID": "OPEN", "ConnID": "open-1",
              "ThisDN": "7001", "ThisDNType": "Extension", "AgentID": "a-open", "CallType": "Inbound",
              "CallID": "open-call", "ANI": "+15550000", "DNIS": "8005550000"})
rows = ["t1:%s\t%s\n" % (e["CallThreadID"], json.dumps(e)) for e in ev]
half = len(rows) // 2
open(f"{tmp}/A.tsv", "w").write("".join(rows[:half]))
open(f"{tmp}/B.tsv", "w").write("".join(rows[half:]))
PY
NA=$(wc -l <"$TMP/A.tsv" | tr -d ' ')
NB=$(wc -l <"$TMP/B.tsv" | tr -d ' ')
produce "$IN" "$TMP/A.tsv"

cat >"$TMP/p.yaml" <<Y
pipeline: ckpt-kafka
settings: {checkpoints: 'file://$TMP/store', checkpoint_interval: 200ms, metrics_listen: "127.0.0.1:0"}
sources:
  in:
    plugin: kafka
    brokers: "$B"
    topics: [$IN]
    group: $G
    rdkafka.session.timeout.ms: 6000
    rdkafka.heartbeat.interval.ms: 1000
    rdkafka.auto.commit.interval.ms: 300
transforms:
  ct: {plugin: callthread, inputs: [in], parallelism: 2}
sinks:
  out: {plugin: file, inputs: [ct.interactions, ct.resources, ct.segments], path: '$TMP/out.jsonl'}
Y

newest() { # the newest complete checkpoint's offsets: "PARTITION OFFSET" lines
    python3 - "$TMP/store" <<'PY'
import json, os, sys
d = sys.argv[1]
ids = sorted(x for x in os.listdir(d) if x.startswith("chk-") and os.path.exists(f"{d}/{x}/MANIFEST"))
for p in sorted(json.load(open(f"{d}/{ids[-1]}/in/0"))["partitions"], key=lambda p: p["partition"]):
    print(p["partition"], p["offset"])
PY
}
sum_offsets() { awk '{ s += $2 } END { print s + 0 }'; }
committed_is() { # committed offsets equal "$1" (the checkpoint's)
    [[ "$("$OFFSETS" committed "$B" "$G" "$IN" 1)" == "$1" ]]
}

engine "$TMP/p.yaml" "$TMP/log1"
port=$(metrics_port "$TMP/log1")
wait_for 60 metric_at_least "$port" martflow_callthread_events_total "$NA" || fail "run 1 did not read A"
c0=$(metric "$port" martflow_checkpoints_total)
wait_for 30 metric_at_least "$port" martflow_checkpoints_total $((c0 + 2)) || fail "no checkpoint in run 1"
pos=$(newest)
assert_eq "$NA" "$(sum_offsets <<<"$pos")" "the newest checkpoint's offsets (all of A)"
# the open call holds acknowledgements; the committed offsets follow the checkpoint anyway
wait_for 20 committed_is "$pos" ||
    fail "committed offsets $("$OFFSETS" committed "$B" "$G" "$IN" 1 | tr '\n' ' ') are not the checkpoint's $(tr '\n' ' ' <<<"$pos")"
kill -9 "$ENGINE"; wait "$ENGINE" 2>/dev/null || true

produce "$IN" "$TMP/B.tsv"
sed -i "s/group: $G\$/group: $G2/" "$TMP/p.yaml"
grep -q "group: $G2" "$TMP/p.yaml" || fail "cannot switch the group"
engine "$TMP/p.yaml" "$TMP/log2"
port=$(metrics_port "$TMP/log2")
assert_contains "$TMP/log2" 'restoring checkpoint [0-9]+' "run 2 restored no checkpoint"
wait_for 60 metric_at_least "$port" martflow_callthread_events_total "$NB" || fail "run 2 did not read B"
c0=$(metric "$port" martflow_checkpoints_total)
wait_for 30 metric_at_least "$port" martflow_checkpoints_total $((c0 + 1)) || fail "no checkpoint in run 2"
assert_eq "$NB" "$(metric "$port" martflow_callthread_events_total)" "events run 2 read (B only, no replay)"
stop_engine "$ENGINE"
assert_eq 0 "$RC" "run 2's exit status"
