#!/usr/bin/env bash
# A record larger than max_record is rejected to the errors port (with only
# its start kept), counted in martflow_kafka_oversized_total, and the run goes
# on; a record at the limit passes. The sink counts what the producer refuses
# as larger than message.max.bytes in the same counter (its node's series).
source "$top_srcdir/tests/kafka/kafka_lib.sh"
IN=$(name in) OUT=$(name out) G=$(name g)
topic "$IN" 1
topic "$OUT" 1
big=$(head -c 5000 /dev/zero | tr '\0' 'x')
edge=$(head -c 1022 /dev/zero | tr '\0' 'y')
{
    echo "a	\"small\""
    echo "b	$big"
    echo "c	\"$edge\"" # 1024 bytes with the quotes: exactly max_record
    echo "d	${big}z"
    echo "e	\"last\""
} >"$TMP/in.tsv"
produce "$IN" "$TMP/in.tsv"
cat >"$TMP/p.yaml" <<Y
pipeline: oversized
settings: {metrics_listen: "127.0.0.1:0"}
sources:
  in: {plugin: kafka, brokers: "$B", topics: [$IN], group: $G, max_record: 1KiB}
sinks:
  out: {plugin: file, inputs: [in], path: $TMP/out.jsonl, format: envelope}
  rejects: {plugin: file, inputs: [in.errors], path: $TMP/rejects.jsonl, format: envelope}
  small: {plugin: kafka, inputs: [in], brokers: "$B", topic: $OUT, rdkafka.message.max.bytes: 1000}
  refused: {plugin: file, inputs: [small.errors], path: $TMP/refused.jsonl, format: envelope}
Y
engine "$TMP/p.yaml" "$TMP/log"
port=$(metrics_port "$TMP/log")
wait_for 30 bash -c "[[ \$(wc -l <'$TMP/out.jsonl' 2>/dev/null || echo 0) -ge 3 ]]" || fail "records did not arrive"
wait_for 10 metric_at_least "$port" martflow_kafka_oversized_total 2 || fail "oversized counter: $(metric "$port" martflow_kafka_oversized_total)"
wait_for 10 bash -c "[[ -s '$TMP/refused.jsonl' ]]" || fail "the sink did not refuse the 1024-byte record"
curl -fsS "http://127.0.0.1:$port/metrics" >"$TMP/metrics"
assert_contains "$TMP/metrics" '^martflow_kafka_oversized_total\{pipeline="oversized",node="in",plugin="kafka"\} 2$' "source: oversized counter"
assert_contains "$TMP/metrics" '^martflow_kafka_oversized_total\{pipeline="oversized",node="small",plugin="kafka"\} 1$' "sink: oversized counter"
stop_engine "$ENGINE"
assert_eq 0 "$RC" "exit status"

assert_eq "a c e" "$(grep -o '"key":"[a-z]"' "$TMP/out.jsonl" | cut -d'"' -f4 | tr '\n' ' ' | sed 's/ $//')" "records at or below the limit pass, in order"
assert_lines 2 "$TMP/rejects.jsonl" "two rejects"
assert_lines 1 "$TMP/refused.jsonl" "the sink refused one record"
assert_contains "$TMP/refused.jsonl" '"key":"c".*Broker: Message size too large|"key":"c".*too large' "the sink's reason"
assert_eq 2 "$(count "$OUT")" "the others were produced"
assert_contains "$TMP/rejects.jsonl" '"key":"b".*value of 5000 bytes is larger than max_record \(1024 bytes\); only its first 1024 bytes are kept' "reason"
v=$(grep '"key":"d"' "$TMP/rejects.jsonl" | grep -o '"value":"[^"]*"') || fail "the reject of d keeps a value"
assert_eq $((1024 + 10)) "${#v}" "only the first 1024 bytes are kept in the reject"
