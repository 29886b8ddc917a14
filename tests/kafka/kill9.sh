#!/usr/bin/env bash
# kill -9 the engine at a random point of a kafka -> kafka run, twice,
# restarting each time, then let a last run finish: every input message is in
# the output at least once, and after each kill the group's committed offsets
# never pass a message that is not in the output (checked against what kcat
# reads from the output topic, per partition and offset).
source "$top_srcdir/tests/kafka/kafka_lib.sh"
IN=$(name in) OUT=$(name out) G=$(name g)
topic "$IN" 4
topic "$OUT" 4
# The input keeps arriving (about 8,000 messages a second) until both kills
# are done, so every kill hits a stream in motion. Value "P:OFFSET": the topic
# is new, so each message's input offset is known.
for p in 0 1 2 3; do
    (for ((i = 0; i < 400000; i += 400)); do
        [[ -e $TMP/stop ]] && break
        awk -v p=$p -v s=$i 'BEGIN { for (j = s; j < s + 400; j++) printf "k%d\t%d:%d\n", j % 97, p, j }'
        sleep 0.2
    done | tee "$TMP/in$p.tsv" | kcat -b "$B" -P -t "$IN" -p $p -K '\t') &
    PRODUCERS+=($!)
done

pipeline() { # $1: extra source options
    cat >"$TMP/p.yaml" <<Y
pipeline: kill9
settings: {metrics_listen: "127.0.0.1:0"}
sources:
  in:
    plugin: kafka
    brokers: "$B"
    topics: [$IN]
    group: $G
    format: raw
    # a killed member leaves the group after this, not after 45 s
    rdkafka.session.timeout.ms: 6000
    rdkafka.heartbeat.interval.ms: 1000
    rdkafka.auto.commit.interval.ms: 500
    $1
sinks:
  out: {plugin: kafka, inputs: [in], brokers: "$B", topic: $OUT}
Y
}

# Every input message "P:O" with O below partition P's committed offset must be in the output.
check_committed() {
    "$OFFSETS" committed "$B" "$G" "$IN" 4 >"$TMP/committed" || fail "committed offsets"
    consume "$OUT" | cut -f2 >"$TMP/out.txt"
    local missing
    missing=$(awk 'NR == FNR { c[$1] = $2; next } { seen[$1] = 1 }
        END { for (p = 0; p < 4; p++) for (o = 0; o < c[p]; o++) if (!((p ":" o) in seen)) { m++; if (m < 4) print p ":" o > "/dev/stderr" }
              print m + 0 }' "$TMP/committed" "$TMP/out.txt")
    assert_eq 0 "$missing" "$1: committed offsets passed messages missing from the output ($(tr '\n' ' ' <"$TMP/committed"))"
    note "$1: committed $(tr '\n' ' ' <"$TMP/committed")/ output $(wc -l <"$TMP/out.txt")"
}

for round in 1 2; do
    pipeline ""
    engine "$TMP/p.yaml" "$TMP/log$round"
    port=$(metrics_port "$TMP/log$round")
    wait_for 30 metric_at_least "$port" martflow_kafka_delivered_total 1 || fail "round $round: nothing delivered"
    # then kill at a random moment 0.5 .. 2.5 s later
    sleep "$((RANDOM % 3)).$((RANDOM % 10))"
    sleep 0.5
    kill -9 "$ENGINE"
    wait "$ENGINE" 2>/dev/null || true
    check_committed "after kill $round"
done
touch "$TMP/stop"
for p in "${PRODUCERS[@]}"; do wait "$p" || fail "a producer failed"; done
N=$(cat "$TMP"/in?.tsv | wc -l)

pipeline "stop_at_end: true"
rc=0
timeout 120 "$MARTFLOW" run "$TMP/p.yaml" >"$TMP/log3" 2>&1 || rc=$?
assert_eq 0 "$rc" "last run exit status"
check_committed "after the last run"
"$OFFSETS" end "$B" "$IN" 4 >"$TMP/end" || fail "end offsets"
cmp -s "$TMP/end" "$TMP/committed" || fail "the last run did not commit the end offsets"

for p in 0 1 2 3; do cut -f2 "$TMP/in$p.tsv"; done | sort -u >"$TMP/in.set"
sort -u "$TMP/out.txt" >"$TMP/out.set"
assert_eq 0 "$(comm -23 "$TMP/in.set" "$TMP/out.set" | wc -l)" "input messages missing from the output"
assert_eq 0 "$(comm -13 "$TMP/in.set" "$TMP/out.set" | wc -l)" "nothing in the output that was not input"
note "output $(wc -l <"$TMP/out.txt") messages for $N inputs ($(($(wc -l <"$TMP/out.txt") - N)) duplicates from the kills)"
