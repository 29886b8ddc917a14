#!/usr/bin/env bash
# The broker goes away for 10 s in the middle of a kafka -> kafka run and comes
# back: the run goes on, nothing that is in the input topic is missing from the
# output, and both nodes logged the outage and the recovery.
KAFKA_EXCLUSIVE=1 # stops the broker: no other Kafka test may run meanwhile
source "$top_srcdir/tests/kafka/kafka_lib.sh"
IN=$(name in) OUT=$(name out) G=$(name g)
topic "$IN" 4
topic "$OUT" 4
cat >"$TMP/p.yaml" <<Y
pipeline: outage
settings: {metrics_listen: "127.0.0.1:0"}
sources:
  in: {plugin: kafka, brokers: "$B", topics: [$IN], group: $G, format: raw}
sinks:
  out: {plugin: kafka, inputs: [in], brokers: "$B", topic: $OUT}
Y
engine "$TMP/p.yaml" "$TMP/log"
port=$(metrics_port "$TMP/log")

# Input keeps coming (about 8,000 messages a second) until the broker stops.
(for ((i = 0; i < 200000; i += 400)); do
    awk -v s=$i 'BEGIN { for (j = s; j < s + 400; j++) printf "k%d\ta:%d\n", j % 101, j }'
    sleep 0.05
done | kcat -b "$B" -P -t "$IN" -K '\t' 2>/dev/null) &
producer=$!
wait_for 30 metric_at_least "$port" martflow_kafka_delivered_total 5000 || fail "nothing flows before the outage"

note "stopping the broker for 10 s"
"$top_srcdir/tests/services.sh" stop kafka 2>/dev/null || fail "cannot stop the broker"
kill "$producer" 2>/dev/null || true
wait "$producer" 2>/dev/null || true
sleep 10
kill -0 "$ENGINE" 2>/dev/null || fail "the engine died during the outage: $(tail -3 "$TMP/log")"
"$top_srcdir/tests/services.sh" start kafka 2>/dev/null || fail "cannot restart the broker"
awk 'BEGIN { for (j = 0; j < 10000; j++) printf "k%d\tb:%d\n", j % 101, j }' >"$TMP/after.tsv"
produce "$IN" "$TMP/after.tsv"

# What the input topic holds is the truth (kcat may have lost what it had
# queued when the broker stopped): all of it must reach the output.
consume "$IN" | cut -f2 | sort -u >"$TMP/in.set"
n=$(wc -l <"$TMP/in.set")
((n > 15000)) || fail "too little input ($n) for a meaningful test"
all_copied() { consume "$OUT" | cut -f2 | sort -u >"$TMP/out.set"; [[ $(comm -23 "$TMP/in.set" "$TMP/out.set" | wc -l) == 0 ]]; }
wait_for 90 all_copied || fail "$(comm -23 "$TMP/in.set" "$TMP/out.set" | wc -l) of $n input messages never reached the output"
stop_engine "$ENGINE"
assert_eq 0 "$RC" "exit status after SIGTERM"

for node in in out; do
    assert_contains "$TMP/log" "\"node\":\"$node\".*Kafka outage: " "$node logged the outage"
    assert_contains "$TMP/log" "\"node\":\"$node\".*Kafka recovered: " "$node logged the recovery"
done
note "$(grep -o 'Kafka recovered: [^"]*' "$TMP/log" | tr '\n' ';')"
