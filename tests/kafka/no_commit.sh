#!/usr/bin/env bash
# commit: false — a topic read whole at every start (the gca-cfg cache): a
# second run of the same group reads everything again; start: committed is
# refused with it. A source whose every topic is disabled ("") ends at once
# under stop_at_end (nothing to read is read to its end).
source "$top_srcdir/tests/kafka/kafka_lib.sh"
T=$(name t) G=$(name g)
topic "$T" 2
keyed_input "$TMP/in.tsv" 40 5
produce "$T" "$TMP/in.tsv"
run() { # name extra-options; exit status in RC
    cat >"$TMP/$1.yaml" <<Y
pipeline: nocommit
sources:
  in: {plugin: kafka, brokers: "$B", topics: [$T], group: $G, stop_at_end: true, $2}
sinks:
  out: {plugin: file, inputs: [in], path: $TMP/$1.jsonl, fsync: batch}
Y
    RC=0
    timeout 60 "$MARTFLOW" run "$TMP/$1.yaml" >"$TMP/$1.log" 2>&1 || RC=$?
}
run first "commit: false"
assert_eq 0 "$RC" "first run"
assert_lines 40 "$TMP/first.jsonl" "first run reads everything"
run second "commit: false"
assert_eq 0 "$RC" "second run"
assert_lines 40 "$TMP/second.jsonl" "second run reads everything again"
grep -q '"committed:' "$TMP/second.log" && fail "commit: false committed offsets"
run refused "commit: false, start: committed"
assert_eq 1 "$RC" "start: committed with commit: false"
assert_contains "$TMP/refused.log" "commit: false never has committed offsets to start from" "refusal"
# the default commits: a run after a committing run reads nothing new
run third ""
run fourth ""
assert_lines 40 "$TMP/third.jsonl" "committing run reads everything"
[[ ! -s $TMP/fourth.jsonl ]] || fail "the run after a committing run read again: $(wc -l <"$TMP/fourth.jsonl")"

cat >"$TMP/idle.yaml" <<Y
pipeline: idle
sources:
  in: {plugin: kafka, brokers: "$B", topics: [""], group: $G, stop_at_end: true}
sinks:
  out: {plugin: null, inputs: [in]}
Y
RC=0
timeout 20 "$MARTFLOW" run "$TMP/idle.yaml" >"$TMP/idle.log" 2>&1 || RC=$?
assert_eq 0 "$RC" "a source with every topic disabled ends under stop_at_end"
assert_contains "$TMP/idle.log" "every topic is disabled" "disabled logged"
