#!/usr/bin/env bash
# parallelism: 2 — two lua workers, each with its own Lua state, records
# routed by key: per-key state must be complete and in order on one worker.
# 20 keys x 150 records, interleaved. The script numbers each key's records
# (seq) and reports per-key totals at the end of input with its worker.
source "$top_srcdir/tests/lib.sh"

keys=20 per_key=150
for ((i = 0; i < keys * per_key; i++)); do
    printf '{"k":"key-%d","i":%d}\n' $((i % keys)) "$i"
done >"$TMP/in.jsonl"

cat >"$TMP/pipeline.yaml" <<Y
pipeline: lua-parallel
sources:
  in: {plugin: file, path: '$TMP/in.jsonl', key_field: k, lines_per_poll: 64}
transforms:
  count:
    plugin: lua
    inputs: [in]
    parallelism: 2
    ports: [totals]
    api: 1
    code: |
      seen = {}
      function process(record, emit)
        local n = (seen[record.key] or 0) + 1
        seen[record.key] = n
        record.value.seq = n
        record.value.worker = martflow.worker
        emit(record)
      end
      function shutdown(emit)
        for k, n in pairs(seen) do
          emit({key = k, value = {key = k, total = n, worker = martflow.worker, workers = martflow.workers}}, "totals")
        end
      end
sinks:
  out: {plugin: file, inputs: [count], path: '$TMP/out.jsonl'}
  totals: {plugin: file, inputs: [count.totals], path: '$TMP/totals.jsonl'}
Y
"$MARTFLOW" run "$TMP/pipeline.yaml" >"$TMP/log" 2>&1 || { cat "$TMP/log" >&2; fail "martflow run failed"; }

assert_lines $((keys * per_key)) "$TMP/out.jsonl" "every record out once"
assert_lines "$keys" "$TMP/totals.jsonl" "one total per key: no key split over workers"
# per key: seq runs 1..per_key in input order (i ascending), all on one worker
python3 - "$TMP/out.jsonl" "$TMP/totals.jsonl" "$keys" "$per_key" <<'PY' || fail "per-key state is wrong (see above)"
import json, sys
out, totals, keys, per_key = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
by_key = {}
for line in open(out):
    v = json.loads(line)
    by_key.setdefault(v["k"], []).append(v)
ok = True
for k, recs in by_key.items():
    recs.sort(key=lambda v: v["i"])
    if [v["seq"] for v in recs] != list(range(1, per_key + 1)):
        print(f"{k}: seq out of order or incomplete", file=sys.stderr); ok = False
    if len({v["worker"] for v in recs}) != 1:
        print(f"{k}: handled by several workers", file=sys.stderr); ok = False
tot = [json.loads(l) for l in open(totals)]
workers = {t["worker"] for t in tot}
if len(by_key) != keys: print(f"{len(by_key)} keys, expected {keys}", file=sys.stderr); ok = False
if any(t["total"] != per_key for t in tot): print("a total is wrong", file=sys.stderr); ok = False
if any(t["workers"] != 2 for t in tot): print("martflow.workers is not 2", file=sys.stderr); ok = False
if workers != {0, 1}: print(f"workers used: {workers}, expected both", file=sys.stderr); ok = False
for t in tot:
    if {v["worker"] for v in by_key[t["key"]]} != {t["worker"]}:
        print(f'{t["key"]}: total from another worker than its records', file=sys.stderr); ok = False
sys.exit(0 if ok else 1)
PY
