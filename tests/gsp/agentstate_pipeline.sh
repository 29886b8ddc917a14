#!/usr/bin/env bash
# agentstate in a pipeline, wired as gsp.yaml will: one file source (the
# record key from each event's "key" member) -> a lua split (call events to
# callthread, agent-state events on) -> callthread -> callthread.agent_events
# and the agent-state events -> agentstate -> one file sink per port. The
# agent scenarios' events one after the other (the n-th moved n days later),
# agentstate with parallelism 1 and 2: the same rows per key, every SM row
# keyed "{tenant}:{AgentID}", the states of every session tiling it, and every
# IRF update naming an IRF callthread emitted, keyed by its thread. Not
# agent_bad_input (what is late depends on the watermark, which is per worker).
source "$top_srcdir/tests/lib.sh"

# `martflow check` checks the priority option (the engine's list splitting)
check_priority() { # value -> status, output in $TMP/check.out
    cat >"$TMP/check.yaml" <<Y
pipeline: check
sources:
  in: {plugin: file, path: '$TMP/check.yaml'}
transforms:
  as: {plugin: agentstate, inputs: [in], priority: $1}
sinks:
  out: {plugin: null, inputs: [as.sessions, as.states, as.reasons, as.resources, as.errors]}
Y
    "$MARTFLOW" check "$TMP/check.yaml" >"$TMP/check.out" 2>&1
}
check_priority '"BUSY, READY ,ACW,NOT_READY"' || { cat "$TMP/check.out" >&2; fail "a good priority refused"; }
check_priority '[ACW, BUSY, READY, IDLE]' && fail "priority naming IDLE accepted"
assert_contains "$TMP/check.out" "option 'priority': 'IDLE' is not one of" "check names the bad state"
check_priority '[ACW, BUSY, READY]' && fail "priority without NOT_READY accepted"
assert_contains "$TMP/check.out" "must name each of ACW, NOT_READY, BUSY, READY once" "check says what is missing"

python3 - "$top_srcdir/tests/scenarios" >"$TMP/in.jsonl" <<'PY'
import datetime, glob, json, os, sys
def agents(f):
    exp = f.replace(".events.jsonl", ".expected.json")
    return os.path.exists(exp) and "sessions" in json.load(open(exp))
files = sorted(f for f in glob.glob(os.path.join(sys.argv[1], "agent_*.events.jsonl"))
               if agents(f) and "agent_bad_input" not in f)
for n, f in enumerate(files):
    for line in open(f):
        e = json.loads(line)
        t = e["time"]
        if isinstance(t, str):
            d = datetime.datetime.strptime(t, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
            t = int(d.timestamp() * 1000)
        e["time"] = t + n * 86400000
        print(json.dumps(e))
PY

run() { # parallelism outdir
    mkdir -p "$2"
    cat >"$2/pipeline.yaml" <<Y
pipeline: agentstate-p$1
sources:
  in: {plugin: file, path: '$TMP/in.jsonl', key_field: key, lines_per_poll: 5}
transforms:
  split:
    plugin: lua
    inputs: [in]
    api: 1
    ports: [calls]
    code: |
      function process(record, emit)
        if record.value.CallThreadID then emit(record, "calls") else emit(record) end
      end
  ct:
    plugin: callthread
    inputs: [split.calls]
  as:
    plugin: agentstate
    inputs: [split, ct.agent_events]
    parallelism: $1
sinks:
  ses: {plugin: file, inputs: [as.sessions], path: '$2/ses.jsonl', format: envelope}
  sta: {plugin: file, inputs: [as.states], path: '$2/sta.jsonl', format: envelope}
  rea: {plugin: file, inputs: [as.reasons], path: '$2/rea.jsonl', format: envelope}
  acw: {plugin: file, inputs: [as.resources], path: '$2/acw.jsonl', format: envelope}
  irf: {plugin: file, inputs: [ct.resources], path: '$2/irf.jsonl', format: envelope}
  rest: {plugin: null, inputs: [ct.interactions, ct.segments]}
  err: {plugin: file, inputs: [as.errors, ct.errors, split.errors, in.errors], path: '$2/err.jsonl', format: envelope}
Y
    MARTFLOW_DATA_DIR="$2/data" "$MARTFLOW" run "$2/pipeline.yaml" >"$2/log" 2>&1 ||
        { cat "$2/log" >&2; fail "martflow run (parallelism $1) failed"; }
}
run 1 "$TMP/p1"
run 2 "$TMP/p2"

python3 - "$TMP/p1" "$TMP/p2" <<'PY' || fail "agentstate pipeline output is wrong (see above)"
import json, sys
def load(d, name):
    try:
        return [json.loads(l) for l in open(f"{d}/{name}.jsonl")]
    except FileNotFoundError:
        return []
ok = True
def bad(msg):
    global ok
    print(msg, file=sys.stderr); ok = False
for d in sys.argv[1:]:
    if load(d, "err"):
        bad(f"{d}: errors: {[r['headers']['mf.error'] for r in load(d, 'err')]}")
    last = lambda rows, id: {r["value"]["row"][id]: r["value"]["row"] for r in rows}
    sessions = last(load(d, "ses"), "sm_res_session_fact_key")
    states = last(load(d, "sta"), "sm_res_state_fact_key")
    if len(sessions) != 8:
        bad(f"{d}: {len(sessions)} sessions, not 8")
    for k, s in sessions.items():
        mine = sorted((r for r in states.values() if r["sm_res_session_fact_key"] == k), key=lambda r: r["start_ts"])
        at = s["start_ts"]
        for r in mine:
            if r["start_ts"] != at:
                bad(f"{d}: session {k}: a state starts at {r['start_ts']}, not {at}")
            at = r["start_ts"] + r["total_duration"]
        if at != s["start_ts"] + s["total_duration"]:
            bad(f"{d}: session {k}: the states end at {at}, the session at {s['start_ts'] + s['total_duration']}")
    for name in ("ses", "sta", "rea"):
        for r in load(d, name):
            if r["key"] != "t1:" + r["value"]["row"]["resource"]["name"]:
                bad(f"{d}: {name}: key {r['key']} is not the agent's")
    irfs = {(r["key"], r["value"]["row"]["interaction_resource_id"]) for r in load(d, "irf")}
    acw = load(d, "acw")
    if len(acw) != 3:
        bad(f"{d}: {len(acw)} IRF updates, not 3")
    for r in acw:
        if (r["key"], r["value"]["row"]["interaction_resource_id"]) not in irfs:
            bad(f"{d}: IRF update {r['value']} names no IRF of callthread")
by_key = lambda rows: {k: [r["value"] for r in rows if r["key"] == k] for k in {r["key"] for r in rows}}
for name in ("ses", "sta", "rea", "acw"):
    if by_key(load(sys.argv[1], name)) != by_key(load(sys.argv[2], name)):
        bad(f"{name}: rows differ between parallelism 1 and 2")
sys.exit(0 if ok else 1)
PY
