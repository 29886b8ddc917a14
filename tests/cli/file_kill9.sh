#!/usr/bin/env bash
# kill -9 mid-run, three times, then run to the end: the file source resumes
# at its acknowledged position, so every input line arrives and the
# duplicates are bounded by what can be in flight; a clean restart after the
# complete run emits nothing.
source "$top_srcdir/tests/lib.sh"
n=200000
queue_records=512 batch_records=128 lines_per_poll=128
# In flight at a kill, read but not yet saved as acknowledged: the edge queue
# (it may overshoot by one batch), the batch in the sink, and the current and
# the previous poll (acknowledged, its position being written).
bound=$((queue_records + 2 * batch_records + 2 * lines_per_poll))
seq 1 $n | sed 's/.*/{"id":&,"pad":"................................"}/' >"$TMP/in.jsonl"
cat >"$TMP/p.yaml" <<Y
pipeline: kill9
settings: {queue_records: $queue_records, batch_records: $batch_records}
sources:
  in: {plugin: file, path: $TMP/in.jsonl, lines_per_poll: $lines_per_poll, positions_interval: 0}
sinks:
  out: {plugin: file, inputs: [in], path: $TMP/out.jsonl, fsync: batch}
Y
lines() { if [[ -f $TMP/out.jsonl ]]; then echo $(($(wc -l <"$TMP/out.jsonl"))); else echo 0; fi; }
for k in 1 2 3; do
    "$MARTFLOW" run "$TMP/p.yaml" >>"$TMP/log" 2>&1 &
    pid=$!
    target=$(($(lines) + 20000))
    wait_for 60 bash -c "[[ -f '$TMP/out.jsonl' ]] && (( \$(wc -l <'$TMP/out.jsonl') >= $target ))" ||
        fail "run $k: the output did not grow"
    kill -0 $pid 2>/dev/null || fail "run $k ended before it was killed: make the test slower"
    kill -KILL $pid
    wait $pid 2>/dev/null || true
    note "killed run $k at $(lines) output lines"
done
timeout 120 "$MARTFLOW" run "$TMP/p.yaml" >>"$TMP/log" 2>&1 || fail "the last run failed"
total=$(lines)
note "$total output lines for $n input lines (bound: $n + 3 * $bound)"
# Every input id is there (a kill may tear the line it interrupts: ids are
# matched, not lines parsed).
missing=$(grep -o '"id":[0-9]*' "$TMP/out.jsonl" | cut -d: -f2 | sort -u | comm -13 - <(seq 1 $n | sort) | wc -l)
assert_eq 0 "$missing" "input ids missing from the output"
((total >= n)) || fail "fewer output lines ($total) than input lines"
((total <= n + 3 * bound)) || fail "$total output lines: more duplicates than could be in flight (3 x $bound)"
# complete: a clean restart reads nothing
"$MARTFLOW" run "$TMP/p.yaml" >>"$TMP/log" 2>&1 || fail "the clean restart failed"
assert_eq "$total" "$(lines)" "a clean restart after a complete run emits nothing"
