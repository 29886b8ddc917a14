#!/usr/bin/env bash
# Two engine processes in one consumer group split a 4-partition topic; when
# one is stopped (SIGTERM) its partitions move to the other, and nothing is
# lost: every input message reaches the output, and (a graceful hand-over:
# acknowledged, committed, then left the group) none twice.
source "$top_srcdir/tests/kafka/kafka_lib.sh"
IN=$(name in) OUT=$(name out) G=$(name g)
topic "$IN" 4
topic "$OUT" 4
cat >"$TMP/p.yaml" <<Y
pipeline: grouped
settings: {metrics_listen: "127.0.0.1:0"}
sources:
  in: {plugin: kafka, brokers: "$B", topics: [$IN], group: $G, format: raw}
sinks:
  out: {plugin: kafka, inputs: [in], brokers: "$B", topic: $OUT}
Y
# assigned LOG: the partitions of the last assignment, "0 1 ..."
assigned() { grep 'partitions assigned' "$1" | tail -1 | grep -o '\[[0-9]*\]' | tr -d '[]' | sort | tr '\n' ' ' | sed 's/ $//'; }
has_parts() { [[ $(assigned "$1" | wc -w) == "$2" ]]; }

engine "$TMP/p.yaml" "$TMP/a.log"
A=$ENGINE
wait_for 30 has_parts "$TMP/a.log" 4 || fail "first member did not get the 4 partitions"
engine "$TMP/p.yaml" "$TMP/b.log"
Bpid=$ENGINE
wait_for 30 has_parts "$TMP/b.log" 2 || fail "second member got no share: $(assigned "$TMP/b.log")"
wait_for 30 has_parts "$TMP/a.log" 2 || fail "first member kept $(assigned "$TMP/a.log")"
a_parts=$(assigned "$TMP/a.log") b_parts=$(assigned "$TMP/b.log")
assert_eq "0 1 2 3" "$(echo $a_parts $b_parts | tr ' ' '\n' | sort | tr '\n' ' ' | sed 's/ $//')" "the members split the partitions ($a_parts | $b_parts)"
pa=$(metrics_port "$TMP/a.log") pb=$(metrics_port "$TMP/b.log")

# input keeps arriving while the first member stops
(for ((i = 0; i < 40000; i += 400)); do
    awk -v s=$i 'BEGIN { for (j = s; j < s + 400; j++) printf "k%d\tv:%d\n", j, j }'
    sleep 0.05
done | kcat -b "$B" -P -t "$IN" -K '\t') &
producer=$!
wait_for 30 metric_at_least "$pa" martflow_kafka_delivered_total 1000 || fail "first member delivers nothing"
wait_for 30 metric_at_least "$pb" martflow_kafka_delivered_total 1000 || fail "second member delivers nothing"
stop_engine "$A"
assert_eq 0 "$RC" "first member's exit status"
assert_contains "$TMP/a.log" 'partitions revoked' "first member gave its partitions back"
wait_for 30 has_parts "$TMP/b.log" 4 || fail "the partitions did not move: $(assigned "$TMP/b.log")"
wait "$producer" || fail "producer failed"

consume "$IN" | cut -f2 | sort >"$TMP/in.txt"
assert_eq 40000 "$(wc -l <"$TMP/in.txt")" "input count"
complete() { consume "$OUT" | cut -f2 | sort >"$TMP/out.txt"; [[ $(comm -23 "$TMP/in.txt" "$TMP/out.txt" | wc -l) == 0 ]]; }
wait_for 60 complete || fail "$(comm -23 "$TMP/in.txt" "$TMP/out.txt" | wc -l) input messages never reached the output"
stop_engine "$Bpid"
assert_eq 0 "$RC" "second member's exit status"
assert_eq 0 "$(comm -13 "$TMP/in.txt" "$TMP/out.txt" | wc -l)" "duplicates or strangers in the output after a graceful hand-over"
