#!/usr/bin/env bash
# `broadcast:` inputs: the records of source B reach every worker of a
# `parallelism: 3` transform (three copies, one per worker); the keyed source
# A is still routed by key (once). Every record of both sources is
# acknowledged: their saved positions reach the end of their files.
source "$top_srcdir/tests/lib.sh"

for ((i = 0; i < 300; i++)); do printf '{"k":"key-%d","i":%d}\n' $((i % 17)) "$i"; done >"$TMP/a.jsonl"
for ((i = 0; i < 40; i++)); do printf '{"b":%d}\n' "$i"; done >"$TMP/b.jsonl"

cat >"$TMP/p.yaml" <<Y
pipeline: broadcast
sources:
  a: {plugin: file, path: '$TMP/a.jsonl', key_field: k, lines_per_poll: 32}
  b: {plugin: file, path: '$TMP/b.jsonl', lines_per_poll: 8}
transforms:
  tag:
    plugin: lua
    inputs: [a, b]
    broadcast: [b]
    parallelism: 3
    api: 1
    code: |
      function process(record, emit)
        record.value.worker = martflow.worker
        emit(record)
      end
sinks:
  out: {plugin: file, inputs: [tag], path: '$TMP/out.jsonl'}
Y
"$MARTFLOW" check "$TMP/p.yaml" >"$TMP/log" 2>&1 || { cat "$TMP/log" >&2; fail "check failed"; }
"$MARTFLOW" run "$TMP/p.yaml" >"$TMP/log" 2>&1 || { cat "$TMP/log" >&2; fail "martflow run failed"; }

assert_lines $((300 + 40 * 3)) "$TMP/out.jsonl" "A once, B three times"
python3 - "$TMP/out.jsonl" <<'PY' || fail "wrong routing (see above)"
import json, sys, collections
a, b = collections.Counter(), collections.defaultdict(list)
key_workers = collections.defaultdict(set)
for line in open(sys.argv[1]):
    v = json.loads(line)
    if "b" in v:
        b[v["b"]].append(v["worker"])
    else:
        a[v["i"]] += 1
        key_workers[v["k"]].add(v["worker"])
ok = True
if sorted(a) != list(range(300)) or set(a.values()) != {1}:
    print("A: not every record exactly once", file=sys.stderr); ok = False
if any(len(ws) != 1 for ws in key_workers.values()):
    print("A: a key reached several workers", file=sys.stderr); ok = False
if sorted(b) != list(range(40)) or any(sorted(ws) != [0, 1, 2] for ws in b.values()):
    print("B: not once on each of the 3 workers", file=sys.stderr); ok = False
sys.exit(0 if ok else 1)
PY

# Acknowledged: each source's saved position is the end of its file.
for s in a b; do
    python3 - "$MARTFLOW_DATA_DIR/broadcast/$s/positions.json" "$(stat -c %s "$TMP/$s.jsonl")" <<'PY' ||
import json, sys
files = json.load(open(sys.argv[1]))["files"]
sys.exit(0 if files and files[0]["offset"] == int(sys.argv[2]) else 1)
PY
        { cat "$MARTFLOW_DATA_DIR/broadcast/$s/positions.json" >&2 || true; fail "source $s: not all acknowledged"; }
done
