#!/usr/bin/env bash
# `after:` on a source: it reads only once the sources it names have ended.
# Two file sources into one sink worker: with `after: [a]` on b, every
# record of a comes out before the first of b (without it they interleave:
# checked too, so the test proves the key does something). `after` naming
# no other source, or on a transform, is a check error with its place.
source "$top_srcdir/tests/lib.sh"

for ((i = 0; i < 3000; i++)); do printf '{"s":"a","i":%d}\n' "$i"; done >"$TMP/a.jsonl"
for ((i = 0; i < 3000; i++)); do printf '{"s":"b","i":%d}\n' "$i"; done >"$TMP/b.jsonl"

pipeline() { # FILE AFTER-LINE
    cat >"$1" <<Y
pipeline: after
sources:
  a: {plugin: file, path: '$TMP/a.jsonl', lines_per_poll: 16, positions: false}
  b:
    plugin: file
    path: '$TMP/b.jsonl'
    lines_per_poll: 16
    positions: false
$2
sinks:
  out: {plugin: file, inputs: [a, b], path: '$TMP/out.jsonl'}
Y
}
# the position of the first b record and of the last a record in the output
order() { python3 -c '
import json, sys
s = [json.loads(l)["s"] for l in open(sys.argv[1])]
assert len(s) == 6000, len(s)
print(max(i for i, x in enumerate(s) if x == "a") < min(i for i, x in enumerate(s) if x == "b"))' "$TMP/out.jsonl"; }

pipeline "$TMP/with.yaml" "    after: [a]"
"$MARTFLOW" run "$TMP/with.yaml" >"$TMP/with.log" 2>&1 || { cat "$TMP/with.log" >&2; fail "the run with after failed"; }
assert_eq True "$(order)" "with after: [a], all of a before b"
assert_contains "$TMP/with.log" '"node":"b".*the sources it waits for \(after\) have ended' "b says when it starts"

interleaved=0
for try in 1 2 3; do
    rm -f "$TMP/out.jsonl"
    pipeline "$TMP/without.yaml" ""
    "$MARTFLOW" run "$TMP/without.yaml" >/dev/null 2>&1 || fail "the run without after failed"
    [[ $(order) == False ]] && { interleaved=1; break; }
done
assert_eq 1 "$interleaved" "without after, the two sources interleave"

pipeline "$TMP/bad.yaml" "    after: [nosuch]"
rc=0; "$MARTFLOW" check "$TMP/bad.yaml" 2>"$TMP/bad.err" || rc=$?
assert_eq 2 "$rc" "after naming no source is a configuration error"
assert_contains "$TMP/bad.err" "bad.yaml:[0-9]+:[0-9]+: .*after 'nosuch' is not another source of the pipeline" "the error and its place"
