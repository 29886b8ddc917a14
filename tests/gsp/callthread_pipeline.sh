#!/usr/bin/env bash
# callthread in a pipeline: file source (the record key from each event's
# "key" member) -> callthread -> one file sink per port. The golden
# scenarios' events one after the other (the n-th moved n days later, so the
# stream's event time goes forward), run with parallelism 1 and 2: the same
# rows (each thread's rows on one worker, in order), every row keyed
# "{tenant}:{CallThreadID}", and the bad events on the errors port. Not the
# agent scenarios (agentstate_pipeline.sh runs those), nor the
# late_* and stuck scenarios: whether an event is late or a thread stuck
# depends on the watermark, which is per worker (docs/call-thread-rules.md,
# "Parallelism"). Nor the cfg_* scenarios: configuration records must reach
# every worker (a broadcast input of their own), not one by key. Nor the
# outbound_* and digital_* ones (other topics and transforms: tests/gsp/test_outbound,
# tests/gsp/test_digital).
source "$top_srcdir/tests/lib.sh"

python3 - "$top_srcdir/tests/scenarios" >"$TMP/in.jsonl" <<'PY'
import datetime, glob, json, os, sys
def agents(f):  # agentstate's scenarios: their expected output is agentstate's ports
    exp = f.replace(".events.jsonl", ".expected.json")
    return os.path.exists(exp) and "sessions" in json.load(open(exp))
files = sorted(f for f in glob.glob(os.path.join(sys.argv[1], "*.events.jsonl"))
               if "/late_" not in f and "/stuck." not in f and "/cfg_" not in f and "/outbound_" not in f
               and "/digital_" not in f
               and not agents(f))
for n, f in enumerate(files):
    for line in open(f):
        try:
            e = json.loads(line)
        except ValueError:
            sys.stdout.write(line)  # the bad input's line that is not JSON
            continue
        t = e.get("time")
        if isinstance(t, str) and t.endswith("Z") and "T" in t:
            d = datetime.datetime.strptime(t, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
            t = int(d.timestamp() * 1000)
        if isinstance(t, int):
            e["time"] = t + n * 86400000
        print(json.dumps(e))
PY

run() { # parallelism outdir
    mkdir -p "$2"
    cat >"$2/pipeline.yaml" <<Y
pipeline: callthread-p$1
sources:
  in: {plugin: file, path: '$TMP/in.jsonl', key_field: key, lines_per_poll: 7}
transforms:
  ct:
    plugin: callthread
    inputs: [in]
    parallelism: $1
sinks:
  ixn: {plugin: file, inputs: [ct.interactions], path: '$2/ixn.jsonl', format: envelope}
  irf: {plugin: file, inputs: [ct.resources], path: '$2/irf.jsonl', format: envelope}
  msf: {plugin: file, inputs: [ct.segments], path: '$2/msf.jsonl', format: envelope}
  err: {plugin: file, inputs: [ct.errors, in.errors], path: '$2/err.jsonl', format: envelope}
Y
    MARTFLOW_DATA_DIR="$2/data" "$MARTFLOW" run "$2/pipeline.yaml" >"$2/log" 2>&1 ||
        { cat "$2/log" >&2; fail "martflow run (parallelism $1) failed"; }
}
run 1 "$TMP/p1"
run 2 "$TMP/p2"

python3 - "$TMP/p1" "$TMP/p2" <<'PY' || fail "parallelism 2 differs from parallelism 1 (see above)"
import json, sys
def load(d, name):
    return [json.loads(l) for l in open(f"{d}/{name}.jsonl")]
ok = True
for name in ("ixn", "irf", "msf"):
    a, b = load(sys.argv[1], name), load(sys.argv[2], name)
    if not a:
        print(f"{name}: no rows", file=sys.stderr); ok = False
    for r in a + b:
        v = r["value"]
        if not r["key"].startswith(v["tenant"] + ":"):
            print(f"{name}: key {r['key']} is not the thread's", file=sys.stderr); ok = False
    # the same rows; per key in the same order
    by_key = lambda rows: {k: [r["value"] for r in rows if r["key"] == k] for k in {r["key"] for r in rows}}
    if by_key(a) != by_key(b):
        print(f"{name}: rows differ between parallelism 1 and 2", file=sys.stderr); ok = False
errs = [r["headers"]["mf.error"] for r in load(sys.argv[1], "err")]
errs2 = [r["headers"]["mf.error"] for r in load(sys.argv[2], "err")]
if sorted(errs) != sorted(errs2) or len(errs) != 11:
    print(f"errors differ or not 11: {errs} / {errs2}", file=sys.stderr); ok = False
sys.exit(0 if ok else 1)
PY
