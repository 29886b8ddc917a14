#!/usr/bin/env bash
# Topic names as the guide configures them:
#  - an empty topic disables that input, and this is logged at start;
#  - a topic that does not exist yet is warned about once and waited for:
#    once created, it is read;
#  - a sink whose topic is empty discards (and counts) what it gets.
source "$top_srcdir/tests/kafka/kafka_lib.sh"
T1=$(name t1) LATER=$(name later) G=$(name g)
topic "$T1" 1
awk 'BEGIN { for (i = 0; i < 100; i++) printf "k\t{\"t1\":%d}\n", i }' >"$TMP/t1.tsv"
produce "$T1" "$TMP/t1.tsv"
cat >"$TMP/p.yaml" <<Y
pipeline: topics
settings: {metrics_listen: "127.0.0.1:0"}
sources:
  in:
    plugin: kafka
    brokers: "$B"
    topics: ["", $T1, $LATER]
    group: $G
    rdkafka.topic.metadata.refresh.interval.ms: 500
sinks:
  # fsync: batch acknowledges each batch at once (the default waits for a
  # checkpoint, which cannot happen while a rebalance waits for acks)
  out: {plugin: file, inputs: [in], path: $TMP/out.jsonl, fsync: batch}
  nowhere: {plugin: kafka, inputs: [in], brokers: "$B", topic: ""}
Y
engine "$TMP/p.yaml" "$TMP/log"
port=$(metrics_port "$TMP/log")
lines() { local n; n=$(grep -c "$1" "$TMP/out.jsonl" 2>/dev/null) || true; [[ ${n:-0} -ge $2 ]]; }
wait_for 30 lines '"t1"' 100 || fail "the existing topic was not read"
assert_contains "$TMP/log" '"node":"in".*topics\[0\] is empty: that input is disabled \(its data is not read\)' "disabled input logged"
assert_contains "$TMP/log" '"node":"nowhere".*topic is empty: records are discarded' "discarding sink logged"
wait_for 20 grep -q "topic $LATER does not exist (yet): waiting for it" "$TMP/log" || fail "missing topic not warned about"
sleep 3 # several metadata refreshes: still one warning
assert_eq 1 "$(grep -c "topic $LATER does not exist" "$TMP/log")" "the missing topic is warned about once"

topic "$LATER" 2
awk 'BEGIN { for (i = 0; i < 50; i++) printf "k%d\t{\"later\":%d}\n", i, i }' >"$TMP/later.tsv"
produce "$LATER" "$TMP/later.tsv"
wait_for 60 lines '"later"' 50 || fail "the topic created later was not read"
assert_contains "$TMP/log" "topic $LATER exists now: reading it" "appearance logged"
wait_for 10 metric_at_least "$port" martflow_kafka_discarded_total 150 || fail "discarded counter"
stop_engine "$ENGINE"
assert_eq 0 "$RC" "exit status"
assert_eq 150 "$(wc -l <"$TMP/out.jsonl")" "records read"
assert_eq 50 "$(grep -c '"later"' "$TMP/out.jsonl")" "records of the topic created later"

# stop_at_end over topics that do not exist: nothing to read is read to its
# end (a deployment without a domain's traffic still ends a backfill), while
# a topic that exists keeps the source until it is read
NONE=$(name none) G2=$(name g2)
cat >"$TMP/end.yaml" <<Y
pipeline: missing-end
sources:
  gone: {plugin: kafka, brokers: "$B", topics: [$NONE], group: $G2, stop_at_end: true}
  some: {plugin: kafka, brokers: "$B", topics: [$T1, $NONE], group: $G2-b, stop_at_end: true}
sinks:
  out: {plugin: file, inputs: [gone, some], path: $TMP/end.jsonl, fsync: batch}
Y
rc=0
timeout 60 "$MARTFLOW" run "$TMP/end.yaml" >"$TMP/end.log" 2>&1 || rc=$?
assert_eq 0 "$rc" "exit status of stop_at_end over a missing topic ($(tail -n 2 "$TMP/end.log"))"
assert_contains "$TMP/end.log" '"node":"gone".*no topic of this source exists: nothing to read \(stop_at_end\)' "missing-topic end logged"
assert_contains "$TMP/end.log" '"node":"some".*every assigned partition is read to its end' "the existing topic read to its end"
assert_eq 100 "$(wc -l <"$TMP/end.jsonl")" "records of the existing topic"
