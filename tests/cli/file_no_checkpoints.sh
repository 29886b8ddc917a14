#!/usr/bin/env bash
# checkpoint_interval: 0 with the file sink's fsync: checkpoint: no checkpoint
# ever comes, so the sink syncs after every batch instead of holding the
# acknowledgements forever. Every input is acknowledged while the pipeline
# runs: the (following, never ending) source's saved position reaches the end
# of its input.
source "$top_srcdir/tests/lib.sh"
seq 1 3000 | sed 's/.*/{"n":&}/' >"$TMP/in.jsonl"
size=$(stat -c %s "$TMP/in.jsonl")
cat >"$TMP/p.yaml" <<Y
pipeline: nockpt
settings: {checkpoint_interval: 0}
sources:
  in: {plugin: file, path: $TMP/in.jsonl, follow: true, positions_interval: 50ms}
sinks:
  out: {plugin: file, inputs: [in], path: $TMP/out.jsonl, fsync: checkpoint}
Y
"$MARTFLOW" run "$TMP/p.yaml" >"$TMP/log" 2>&1 &
pid=$!
state=$MARTFLOW_DATA_DIR/nockpt/in/positions.json
acked_to_end() {
    [[ -f $state ]] && python3 - "$state" "$size" <<'P'
import json, sys
files = json.load(open(sys.argv[1]))["files"]
sys.exit(0 if files and files[0]["offset"] == int(sys.argv[2]) else 1)
P
}
ok=0; wait_for 15 acked_to_end || ok=$?
kill -TERM $pid; wait $pid || true
[[ $ok == 0 ]] || { cat "$state" >&2 || true; fail "the inputs were not all acknowledged while running"; }
assert_lines 3000 "$TMP/out.jsonl" "every record written once"
assert_contains "$TMP/log" 'takes no checkpoints .checkpoint_interval: 0.: fsync: checkpoint syncs after every batch' \
    "the fallback is logged"
