#!/usr/bin/env bash
# digitalagentstate in a pipeline, wired as docs/digital-rules.md shows: one
# file source (the record key from each event's "key" member) -> a lua split
# (the handling events, which have an "event" member, on a port of their own)
# -> for those a second lua node standing in for `digital` (its agent_events
# are another upstream, so another input stream: two ports of one node are
# one stream, whose batches may arrive in either order) -> digitalagentstate
# -> one file sink per port. The events of digital_agent_capacity and
# digital_agent_handling_logged_out merged in time order, digitalagentstate
# with parallelism 1 and 2: per agent key, exactly the golden rows (ids
# computed here by docs/events.md §2.3), no error. Not digital_agent_bad_input
# (what is late depends on the watermark, which is per worker).
source "$top_srcdir/tests/lib.sh"

python3 - "$top_srcdir/tests/scenarios" >"$TMP/in.jsonl" <<'PY'
import datetime, json, os, sys
lines = []
for name in ("digital_agent_capacity", "digital_agent_handling_logged_out"):
    for n, line in enumerate(open(os.path.join(sys.argv[1], name + ".events.jsonl"))):
        e = json.loads(line)
        d = datetime.datetime.strptime(e["time"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
        lines.append((int(d.timestamp() * 1000), name, n, line.strip()))
for l in sorted(lines):
    print(l[3])
PY

run() { # parallelism outdir
    mkdir -p "$2"
    cat >"$2/pipeline.yaml" <<Y
pipeline: digitalagentstate-p$1
sources:
  in: {plugin: file, path: '$TMP/in.jsonl', key_field: key, lines_per_poll: 3}
transforms:
  split:
    plugin: lua
    inputs: [in]
    api: 1
    ports: [handling]
    code: |
      function process(record, emit)
        if record.value.event then emit(record, "handling") else emit(record) end
      end
  dx:
    plugin: lua
    inputs: [split.handling]
    api: 1
    code: |
      function process(record, emit) emit(record) end
  ds:
    plugin: digitalagentstate
    inputs: [split, dx]
    parallelism: $1
sinks:
  ses: {plugin: file, inputs: [ds.sessions], path: '$2/sessions.jsonl', format: envelope}
  sta: {plugin: file, inputs: [ds.states], path: '$2/states.jsonl', format: envelope}
  rea: {plugin: file, inputs: [ds.reasons], path: '$2/reasons.jsonl', format: envelope}
  err: {plugin: file, inputs: [ds.errors, dx.errors, split.errors, in.errors], path: '$2/err.jsonl', format: envelope}
Y
    MARTFLOW_DATA_DIR="$2/data" "$MARTFLOW" run "$2/pipeline.yaml" >"$2/log" 2>&1 ||
        { cat "$2/log" >&2; fail "martflow run (parallelism $1) failed"; }
}
run 1 "$TMP/p1"
run 2 "$TMP/p2"

python3 - "$top_srcdir/tests/scenarios" "$TMP/p1" "$TMP/p2" <<'PY' || fail "digitalagentstate pipeline output is wrong (see above)"
import hashlib, json, os, sys
def mf_id(kind, tenant, *keys):
    s = "\x1f".join(["mf1", kind, tenant] + [str(k) for k in keys]).encode()
    return int.from_bytes(hashlib.sha256(s).digest()[:8], "big") & 0x7FFFFFFFFFFFFFFF or 1
def resolve(v, tenant):
    if isinstance(v, dict):
        if "$id" in v:
            return mf_id(v["$id"][0], tenant, *v["$id"][1:])
        return {k: resolve(x, tenant) for k, x in v.items()}
    if isinstance(v, list):
        return [resolve(x, tenant) for x in v]
    return v
def by_key(records):
    out = {}
    for r in records:
        out.setdefault(r["key"], []).append({k: r[k] for k in ("table", "op", "tenant", "row")})
    return out
ok = True
expected = {}
for name in ("digital_agent_capacity", "digital_agent_handling_logged_out"):
    exp = json.load(open(os.path.join(sys.argv[1], name + ".expected.json")))
    for port in ("sessions", "states", "reasons"):
        for k, rows in by_key(resolve(exp[port], "t1")).items():
            expected.setdefault(port, {}).setdefault(k, []).extend(rows)
for d in sys.argv[2:]:
    def load(name):
        try:
            return [json.loads(l) for l in open(f"{d}/{name}.jsonl")]
        except FileNotFoundError:
            return []
    errs = load("err")
    if errs:
        print(f"{d}: errors: {[r['headers'].get('mf.error') for r in errs]}", file=sys.stderr); ok = False
    for port in ("sessions", "states", "reasons"):
        got = by_key({"key": r["key"], **r["value"]} for r in load(port))
        if got != expected.get(port, {}):
            print(f"{d}: {port} differ:\n  expected {json.dumps(expected.get(port))}\n  got      {json.dumps(got)}",
                  file=sys.stderr)
            ok = False
sys.exit(0 if ok else 1)
PY
