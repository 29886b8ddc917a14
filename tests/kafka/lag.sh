#!/usr/bin/env bash
# martflow_kafka_records_lag_max: the largest (high watermark - position) of
# the source's assigned partitions, from librdkafka's cached watermarks once a
# second: large while a slow sink holds the source back, 0 once all is read.
source "$top_srcdir/tests/kafka/kafka_lib.sh"
IN=$(name in) G=$(name g)
topic "$IN" 2
keyed_input "$TMP/in.tsv" 3000 7
produce "$IN" "$TMP/in.tsv"
cat >"$TMP/p.yaml" <<Y
pipeline: lag
settings: {metrics_listen: "127.0.0.1:0", queue_records: 10, batch_records: 10}
sources:
  in: {plugin: kafka, brokers: "$B", topics: [$IN], group: $G, rdkafka.queued.max.messages.kbytes: 64}
sinks:
  out: {plugin: null, inputs: [in], rate: 200}
Y
engine "$TMP/p.yaml" "$TMP/log"
port=$(metrics_port "$TMP/log")
lag_between() { local v; v=$(metric "$port" martflow_kafka_records_lag_max); ((v >= $1 && v <= $2)); }
# 3000 records over 2 partitions, read at 200/s: a partition lags by hundreds
wait_for 20 lag_between 300 1500 || fail "lag while held back: $(metric "$port" martflow_kafka_records_lag_max)"
stop_engine "$ENGINE"
cat >"$TMP/fast.yaml" <<Y
pipeline: lag
settings: {metrics_listen: "127.0.0.1:0"}
sources:
  in: {plugin: kafka, brokers: "$B", topics: [$IN], group: $G}
sinks:
  out: {plugin: null, inputs: [in]}
Y
engine "$TMP/fast.yaml" "$TMP/log2"
port=$(metrics_port "$TMP/log2")
wait_for 30 metric_at_least "$port" martflow_node_records_out_total 1 || fail "the second run read nothing"
wait_for 20 lag_between 0 0 || fail "lag once everything is read: $(metric "$port" martflow_kafka_records_lag_max)"
stop_engine "$ENGINE"
assert_eq 0 "$RC" "exit status"

# Everything committed: a new run reads nothing, and no partition lags (a
# partition with no record read since its assignment counts from its fetch
# position, never from its low watermark). Lag is sampled once a second.
engine "$TMP/fast.yaml" "$TMP/log3"
port=$(metrics_port "$TMP/log3")
for _ in 1 2 3 4; do
    sleep 1
    assert_eq 0 "$(metric "$port" martflow_kafka_records_lag_max)" "lag of a group read to the end, nothing new"
done
assert_eq 0 "$(metric "$port" martflow_node_records_out_total)" "nothing read again"
stop_engine "$ENGINE"
assert_eq 0 "$RC" "exit status of the third run"
