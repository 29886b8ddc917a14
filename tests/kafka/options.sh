#!/usr/bin/env bash
# Configuration mistakes are refused with a message that names the option:
# settings the plugins own cannot be overridden through rdkafka.*, unknown
# librdkafka settings and bad topic names fail the start (exit 1), a missing
# required option fails `martflow check` (exit 2); start: committed refuses a
# partition that has no committed offset. Where a new group starts: earliest
# reads what is there, latest only what comes after the assignment, and a
# group that committed resumes after its offset whatever `start` says.
source "$top_srcdir/tests/kafka/kafka_lib.sh"
T=$(name t) G=$(name g)
topic "$T" 1
printf 'k\t{"n":1}\n' >"$TMP/in.tsv"
produce "$T" "$TMP/in.tsv"

expect() { # name, exit status, log pattern, source options (but brokers), sink options (same)
    cat >"$TMP/$1.yaml" <<Y
pipeline: options
sources:
  in: {plugin: kafka, brokers: "$B", $4}
sinks:
  out: {plugin: kafka, inputs: [in], brokers: "$B", $5}
Y
    local rc=0
    timeout 60 "$MARTFLOW" run "$TMP/$1.yaml" >"$TMP/$1.log" 2>&1 || rc=$?
    assert_eq "$2" "$rc" "$1: exit status"
    assert_contains "$TMP/$1.log" "$3" "$1: message"
}
expect group_id 1 'rdkafka.group.id: set by the plugin to [^;]*; use the option `group`' \
    "topics: [$T], group: $G, rdkafka.group.id: other" "topic: $T"
expect offset_store 1 'rdkafka.enable.auto.offset.store: set by the plugin to false; offsets are stored only when acknowledged' \
    "topics: [$T], group: $G, rdkafka.enable.auto.offset.store: true" "topic: $T"
expect idempotence 1 'rdkafka.enable.idempotence: set by the plugin to true' \
    "topics: [$T], group: $G" "topic: $T, rdkafka.enable.idempotence: false"
expect bootstrap 1 'rdkafka.bootstrap.servers: set by the plugin; use the option `brokers`' \
    "topics: [$T], group: $G, rdkafka.bootstrap.servers: x:1" "topic: $T"
expect unknown 1 'rdkafka.no.such.setting: No such configuration property' \
    "topics: [$T], group: $G, rdkafka.no.such.setting: 1" "topic: $T"
expect bad_topic 1 "topics\\[0\\]: 'bad topic!' is not a valid topic name" \
    "group: $G, topics: ['bad topic!']" "topic: $T"
expect no_topic 1 'set `topic`, `topic_field` or `topic_header`' "topics: [$T], group: $G" "key_field: id"
expect committed 1 "$T\\[0\\] has no committed offset for group $G and start is 'committed'" \
    "topics: [$T], group: $G, start: committed" "topic: $T"

cat >"$TMP/check.yaml" <<Y
sources:
  in: {plugin: kafka, brokers: "$B", topics: [$T]}
sinks:
  out: {plugin: null, inputs: [in]}
Y
rc=0
"$MARTFLOW" check "$TMP/check.yaml" >"$TMP/check.log" 2>&1 || rc=$?
assert_eq 2 "$rc" "check: exit status"
assert_contains "$TMP/check.log" "check.yaml:2:[0-9]+: .*group" "check: the missing group, with its location"

# Where a partition starts (3 partitions, 6 messages already there).
S=$(name s)
topic "$S" 3
keyed_input "$TMP/old.tsv" 6 6
produce "$S" "$TMP/old.tsv"
startat() { # name, source options -> $TMP/<name>.yaml writing $TMP/<name>.jsonl
    cat >"$TMP/$1.yaml" <<Y
pipeline: start
sources:
  in: {plugin: kafka, brokers: "$B", topics: [$S], format: raw, $2}
sinks:
  out: {plugin: file, inputs: [in], path: "$TMP/$1.jsonl", format: value}
Y
}
GE=$(name ge)
startat earliest "group: $GE, start: earliest, stop_at_end: true"
timeout 60 "$MARTFLOW" run "$TMP/earliest.yaml" >"$TMP/earliest.log" 2>&1 || fail "earliest: the run failed"
assert_eq 6 "$(wc -l <"$TMP/earliest.jsonl")" "earliest: what was there"
assert_contains "$TMP/earliest.log" "partitions assigned: $S\\[[0-9]\\]@0" "earliest: the log names the start offsets"

startat latest "group: $(name gl), start: latest"
engine "$TMP/latest.yaml" "$TMP/latest.log"
wait_for 30 grep -q 'partitions assigned' "$TMP/latest.log" || fail "latest: no assignment"
keyed_input "$TMP/new.tsv" 3 3
sed -i 's/"n":/"new":/' "$TMP/new.tsv"
produce "$S" "$TMP/new.tsv"
has_lines() { [[ -f $1 ]] && (($(wc -l <"$1") >= $2)); }
wait_for 30 has_lines "$TMP/latest.jsonl" 3 || fail "latest: the new messages did not arrive"
sleep 1 # nothing else may follow
stop_engine "$ENGINE"
assert_eq 0 "$RC" "latest: exit status"
assert_eq 3 "$(wc -l <"$TMP/latest.jsonl")" "latest: only what came after the assignment"
assert_eq 3 "$(grep -c '"new":' "$TMP/latest.jsonl")" "latest: the new messages"

# the group of the earliest run committed its offsets: latest does not apply to it
startat resume "group: $GE, start: latest, stop_at_end: true"
timeout 60 "$MARTFLOW" run "$TMP/resume.yaml" >"$TMP/resume.log" 2>&1 || fail "resume: the run failed"
assert_eq 3 "$(wc -l <"$TMP/resume.jsonl")" "resume: what came after the committed offsets"
assert_eq 3 "$(grep -c '"new":' "$TMP/resume.jsonl")" "resume: the new messages"
