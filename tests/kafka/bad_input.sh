#!/usr/bin/env bash
# Bad input goes to the errors ports with the reason, and the run goes on:
#  - source (format json): values that are not valid JSON by martflow's rule
#    (not JSON at all; a duplicate key, which jansson alone would take) are
#    rejected, with the reason, the byte and their topic/partition/offset;
#  - sink: a record Kafka refuses for good (here: its topic_field names a
#    topic that does not exist) is rejected from its delivery report; the
#    sink's errors port feeds another sink.
source "$top_srcdir/tests/kafka/kafka_lib.sh"
IN=$(name in) OUT=$(name out) G=$(name g) MISSING=$(name missing)
topic "$IN" 2
topic "$OUT" 2
awk -v missing="$MISSING" 'BEGIN { for (i = 1; i <= 1000; i++) {
    if (i % 100 == 0) printf "k%d\tnot json {%d\n", i, i
    else if (i % 100 == 50) printf "k%d\t{\"n\":%d,\"n\":0}\n", i, i
    else if (i % 250 == 1) printf "k%d\t{\"n\":%d,\"dest\":\"%s\"}\n", i, i, missing
    else printf "k%d\t{\"n\":%d}\n", i, i } }' >"$TMP/in.tsv"
produce "$IN" "$TMP/in.tsv"

cat >"$TMP/p.yaml" <<Y
pipeline: bad
sources:
  in: {plugin: kafka, brokers: "$B", topics: [$IN], group: $G, stop_at_end: true}
sinks:
  out:
    plugin: kafka
    inputs: [in]
    brokers: "$B"
    topic: $OUT
    topic_field: dest
    # give up on an unknown topic after 1 s instead of 30 s
    rdkafka.topic.metadata.propagation.max.ms: 1000
  source_rejects: {plugin: file, inputs: [in.errors], path: $TMP/source_rejects.jsonl, format: envelope}
  sink_rejects: {plugin: file, inputs: [out.errors], path: $TMP/sink_rejects.jsonl, format: envelope}
Y
rc=0
timeout 120 "$MARTFLOW" run "$TMP/p.yaml" >"$TMP/log" 2>&1 || rc=$?
assert_eq 0 "$rc" "exit status (every reject went to a wired errors port)"

# 10 not JSON, 10 with a duplicate key, 4 to the missing topic, 976 good
assert_lines 20 "$TMP/source_rejects.jsonl" "source rejects"
assert_lines 4 "$TMP/sink_rejects.jsonl" "sink rejects"
assert_eq 976 "$(count "$OUT")" "good records delivered, the run went on past the bad ones"
consume "$OUT" >"$TMP/out.tsv"
assert_eq 0 "$(grep -c 'not json' "$TMP/out.tsv" || true)" "bad records in the output"

first=$(grep -m1 '"value":"not json {100"' "$TMP/source_rejects.jsonl") || fail "the bad value is kept in the reject"
assert_contains "$first" '"mf.error":"'"$IN"'\[[01]\]@[0-9]+: invalid JSON at byte 3: invalid token near .not.' "source reason with topic, partition, offset, byte"
dup=$(grep -m1 '"key":"k150"' "$TMP/source_rejects.jsonl") || fail "the duplicate-key value is rejected"
assert_contains "$dup" '"mf.error":"'"$IN"'\[[01]\]@[0-9]+: invalid JSON at byte 12: duplicate key \\"n\\"' "the rule: a duplicate key"
assert_contains "$first" '"mf.error.node":"in"' "rejecting node"
assert_contains "$first" '"origin":\{"source":"in","topic":"'"$IN"'","partition":[01],"offset":[0-9]+\}' "origin"
assert_contains "$first" '"key":"k100"' "key kept"

sink=$(head -1 "$TMP/sink_rejects.jsonl")
assert_contains "$sink" '"mf.error":"delivery to Kafka topic '"$MISSING"' failed: [^"]*[Uu]nknown' "sink reason from the delivery report"
assert_contains "$sink" '"mf.error.node":"out"' "rejecting node"
assert_contains "$sink" '"origin":\{"source":"in","topic":"'"$IN"'"' "origin survives the sink"
assert_contains "$sink" '"value":\{"n":[0-9]+,"dest":"'"$MISSING"'"\}' "value kept"

# the offsets of the rejected records are committed too: they were handled
"$OFFSETS" end "$B" "$IN" 2 >"$TMP/end"
"$OFFSETS" committed "$B" "$G" "$IN" 2 >"$TMP/committed"
cmp -s "$TMP/end" "$TMP/committed" || fail "committed offsets are not the end offsets after the rejects"
