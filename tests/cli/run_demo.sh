#!/usr/bin/env bash
# The toy demo pipeline (docs/examples/demo.yaml) runs end to end: valid events are
# tagged and written, invalid ones land in the rejects file with a reason.
source "$top_srcdir/tests/lib.sh"
cd "$top_srcdir"
export DEMO_OUT=$TMP/demo
"$MARTFLOW" run docs/examples/demo.yaml >"$TMP/log"
assert_lines 7 "$DEMO_OUT/events.jsonl" "valid events written"
assert_lines 2 "$DEMO_OUT/rejects.jsonl" "rejects written"
assert_contains "$DEMO_OUT/events.jsonl" '"CallThreadID":"ct-1001".*"pipeline":"demo"' "events tagged"
assert_contains "$DEMO_OUT/rejects.jsonl" '"mf.error":"missing required field .id.","mf.error.node":"tagged"' "missing field reason"
assert_contains "$DEMO_OUT/rejects.jsonl" '"mf.error":"[^"]*events.jsonl line 8: invalid JSON' "invalid JSON reason"
assert_contains "$TMP/log" '"level":"info","pipeline":"demo","message":"pipeline .demo. finished"' "JSON log lines"
# every line of the log is a JSON object
python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$TMP/log" || fail "log is not JSON lines"
