#!/usr/bin/env bash
# Exit statuses: 0 clean, 1 rejects with no errors port / a node failed to
# start, 2 configuration errors; --set overrides options.
source "$top_srcdir/tests/lib.sh"
printf '{"a":1}\nnope\n{"a":2}\n' >"$TMP/in.jsonl"
cat >"$TMP/p.yaml" <<Y
sources:
  in: {plugin: file, path: $TMP/in.jsonl}
sinks:
  out: {plugin: file, inputs: [in], path: $TMP/out.jsonl}
Y
rc=0; "$MARTFLOW" run "$TMP/p.yaml" >"$TMP/log" || rc=$?
assert_eq 1 "$rc" "a reject with no errors port fails the run"
assert_contains "$TMP/log" 'rejected record \(no errors port wired\)' "the reject is logged"
assert_contains "$TMP/log" '1 records were rejected and no errors port was wired' "summary names the count"
assert_lines 2 "$TMP/out.jsonl" "the good records still arrive"

# --set: point the sink somewhere unwritable: init fails, exit 1
rc=0; "$MARTFLOW" run "$TMP/p.yaml" --set out.path=/proc/nope/out.jsonl --set out.mkdir=false >"$TMP/log" || rc=$?
assert_eq 1 "$rc" "a sink that cannot start"
assert_contains "$TMP/log" 'cannot open /proc/nope/out.jsonl' "init error logged"

rc=0; "$MARTFLOW" run "$TMP/p.yaml" --set out.nosuch=1 2>"$TMP/err" >/dev/null || rc=$?
assert_eq 2 "$rc" "config error"
assert_contains "$TMP/err" "^--set: node 'out' \(sink file\): unknown option 'nosuch'" "--set error location"

rc=0; "$MARTFLOW" frobnicate 2>/dev/null || rc=$?
assert_eq 2 "$rc" "unknown command"
"$MARTFLOW" version | grep -qE '^martflow [0-9]+\.[0-9]+\.[0-9]+ \(plugin ABI 1\.5\)$' || fail "version line"
