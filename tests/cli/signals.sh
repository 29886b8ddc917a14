#!/usr/bin/env bash
# SIGTERM: sources stop, queues drain, sinks flush, exit 0 within the grace
# period. A second signal exits at once (130). A sink that cannot drain in the
# grace period makes the process give up with status 1.
source "$top_srcdir/tests/lib.sh"
: >"$TMP/in.jsonl"
cat >"$TMP/follow.yaml" <<Y
sources:
  in: {plugin: file, path: $TMP/in.jsonl, follow: true}
sinks:
  out: {plugin: file, inputs: [in], path: $TMP/out.jsonl}
Y
"$MARTFLOW" run "$TMP/follow.yaml" >"$TMP/log1" &
pid=$!
for i in $(seq 1 500); do printf '{"n":%d}\n' "$i" >>"$TMP/in.jsonl"; done
wait_for 10 bash -c "[[ \$(wc -l <'$TMP/out.jsonl' 2>/dev/null || echo 0) -ge 500 ]]" || fail "records did not arrive"
kill -TERM $pid
rc=0; wait $pid || rc=$?
assert_eq 0 "$rc" "SIGTERM exits 0"
assert_lines 500 "$TMP/out.jsonl" "nothing lost or doubled"
assert_contains "$TMP/log1" 'Terminated: stopping sources' "the stop is logged"

# second signal while a slow sink drains: exit 130 at once
seq 1 20000 | sed 's/.*/{"n":&}/' >"$TMP/big.jsonl"
cat >"$TMP/slow.yaml" <<Y
settings: {grace_period: 60s}
sources:
  in: {plugin: file, path: $TMP/big.jsonl}
sinks:
  out: {plugin: null, inputs: [in], rate: 200}
Y
"$MARTFLOW" run "$TMP/slow.yaml" >"$TMP/log2" &
pid=$!
sleep 1
kill -INT $pid
sleep 0.5
start=$SECONDS
kill -INT $pid
rc=0; wait $pid || rc=$?
assert_eq 130 "$rc" "second signal"
((SECONDS - start <= 2)) || fail "second signal did not exit at once"
assert_contains "$TMP/log2" 'second Interrupt: exiting now' "second signal logged"

# grace period runs out
sed -i 's/grace_period: 60s/grace_period: 1s/' "$TMP/slow.yaml"
"$MARTFLOW" run "$TMP/slow.yaml" >"$TMP/log3" &
pid=$!
sleep 1
kill -TERM $pid
rc=0; wait $pid || rc=$?
assert_eq 1 "$rc" "grace period expired"
assert_contains "$TMP/log3" 'grace period of 1000 ms ran out' "expiry logged"
