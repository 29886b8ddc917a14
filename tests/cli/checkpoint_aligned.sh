#!/usr/bin/env bash
# Aligned barriers: two file sources feed one stateful node (lua counting
# the records of each source in its `state` table). With a checkpoint store
# the node holds back what a source sent after barrier N until N arrived
# from the other source too, so in every stored checkpoint the node's count
# per source equals that source's read position in the same checkpoint: the
# snapshot is exactly the state after the records before barrier N. The
# sources read at different speeds (lines_per_poll 1 and 200), so without
# alignment the fast one's records behind its barrier would be counted.
source "$top_srcdir/tests/lib.sh"

python3 - "$TMP" <<'PY'
import sys
for name, n in (("a", 100000), ("b", 20000)):
    with open(f"{sys.argv[1]}/{name}.jsonl", "w") as f:
        for i in range(n):
            f.write('{"src": "%s", "n": %d, "pad": "%s"}\n' % (name, i, "x" * 100))
PY
cat >"$TMP/p.yaml" <<Y
pipeline: aligned
settings: {checkpoints: 'file://$TMP/store', checkpoint_interval: 20ms, checkpoint_retain: 1000}
sources:
  a: {plugin: file, path: '$TMP/a.jsonl', lines_per_poll: 200}
  b: {plugin: file, path: '$TMP/b.jsonl', lines_per_poll: 1}
transforms:
  count:
    plugin: lua
    api: 1
    inputs: [a, b]
    state: counts
    code: |
      counts = {a = 0, b = 0}
      function process(record, emit)
        local s = record.value.src
        counts[s] = counts[s] + 1
      end
sinks:
  out: {plugin: "null", inputs: [count]}
Y
"$MARTFLOW" run "$TMP/p.yaml" >"$TMP/log" 2>&1 || { cat "$TMP/log" >&2; fail "the run failed"; }

python3 - "$TMP/store" <<'PY' || fail "a checkpoint's state is not the state at its barrier (see above)"
import json, os, sys
d = sys.argv[1]
ids = sorted(x for x in os.listdir(d) if os.path.exists(f"{d}/{x}/MANIFEST"))
if len(ids) < 3:
    print(f"only {len(ids)} checkpoints", file=sys.stderr); sys.exit(1)
bad, mixed = 0, 0
for i in ids:
    counts = json.load(open(f"{d}/{i}/count/0"))
    pos = {s: max([f["line"] for f in json.load(open(f"{d}/{i}/{s}/0"))["files"]] or [0]) for s in "ab"}
    if counts != pos:
        bad += 1
        print(f"{i}: state {counts}, positions {pos}", file=sys.stderr)
    mixed += 0 < pos["a"] < 100000 and 0 < pos["b"] < 20000
if bad:
    sys.exit(1)
if not mixed:
    print("no checkpoint was taken while both sources were reading", file=sys.stderr); sys.exit(1)
PY
