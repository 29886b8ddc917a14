#!/usr/bin/env bash
# callgen against its plan: 10,000 generated calls (100 agents, over midnight
# and many 15-minute intervals) through callgen -> callthread (parallelism 2)
# + agentstate (parallelism 2) -> one file sink per port. The facts, counted by tests/gsp/callgen_check.py,
# equal the plan exactly (IF by type, IRF by descriptor / technical result /
# role / resource type, MSF by result); the agents' sessions and state
# durations recomputed from the generated events equal the plan's and add up
# to each session, and so do the agentstate transform's session, state and
# reason facts and its after-call-work updates. Determinism: the same seed gives byte-identical event
# files, another seed different ones. Disorder and duplicates: the same
# facts (identical fact files once sorted) as the clean run.
source "$top_srcdir/tests/lib.sh"
check="python3 $top_srcdir/tests/gsp/callgen_check.py"

run() { # outdir seed [extra callgen options]
    local out=$1 seed=$2 extra=${3:-}
    mkdir -p "$out"
    cat >"$out/pipeline.yaml" <<Y
pipeline: callgen-property
sources:
  gen: {plugin: callgen, seed: $seed, calls: 10000, agents: 100, rate: 0.5, plan: '$out/plan.json' $extra}
transforms:
  ct: {plugin: callthread, inputs: [gen.callthread], parallelism: 2}
  # agentstate behind a callthread of parallelism 2: its workers' agent
  # events arrive with a lag of a batch or more between them, each worker a
  # stream of its own in agentstate's watermark (none may be rejected)
  ct1: {plugin: callthread, inputs: [gen.callthread], parallelism: 2}
  ag: {plugin: agentstate, inputs: [gen.agentstate, ct1.agent_events], parallelism: 2}
sinks:
  ev: {plugin: file, inputs: [gen.callthread], path: '$out/callthread.jsonl'}
  as: {plugin: file, inputs: [gen.agentstate], path: '$out/agentstate.jsonl'}
  ixn: {plugin: file, inputs: [ct.interactions], path: '$out/ixn.jsonl'}
  irf: {plugin: file, inputs: [ct.resources], path: '$out/irf.jsonl'}
  msf: {plugin: file, inputs: [ct.segments], path: '$out/msf.jsonl'}
  ses: {plugin: file, inputs: [ag.sessions], path: '$out/sessions.jsonl'}
  sta: {plugin: file, inputs: [ag.states], path: '$out/states.jsonl'}
  rsn: {plugin: file, inputs: [ag.reasons], path: '$out/reasons.jsonl'}
  acw: {plugin: file, inputs: [ag.resources], path: '$out/acw.jsonl'}
  ct1facts: {plugin: "null", inputs: [ct1.interactions, ct1.resources, ct1.segments]}
  err: {plugin: file, inputs: [ct.errors, ct1.errors, ag.errors], path: '$out/err.jsonl', format: envelope}
Y
    "$MARTFLOW" run "$out/pipeline.yaml" >"$out/log" 2>&1 || { cat "$out/log" >&2; fail "martflow run ($out) failed"; }
    [[ -f $out/plan.json ]] || fail "no plan written ($out)"
    [[ ! -s $out/err.jsonl ]] || { head -3 "$out/err.jsonl" >&2; fail "callthread rejected generated events ($out)"; }
}

# options checked before the run: the shares add up to at most 1, start parses
cat >"$TMP/bad.yaml" <<'Y'
pipeline: callgen-bad
sources:
  gen: {plugin: callgen, rona: 0.9, outbound: 0.5, start: yesterday}
sinks:
  n: {plugin: "null", inputs: [gen.callthread]}
Y
if "$MARTFLOW" check "$TMP/bad.yaml" >"$TMP/check.out" 2>&1; then fail "check accepted shares adding up to 1.63"; fi
assert_contains "$TMP/check.out" "add up to 1.630: at most 1" "check names the shares' sum"
assert_contains "$TMP/check.out" "start: not an RFC 3339 time" "check names a bad start"

run "$TMP/a" 7
$check facts "$TMP/a" "$TMP/a/plan.json" || fail "the facts of 10,000 calls differ from the plan"
$check agents "$TMP/a/callthread.jsonl" "$TMP/a/agentstate.jsonl" "$TMP/a/plan.json" ||
    fail "the agents' states differ from the plan"
$check smfacts "$TMP/a" "$TMP/a/plan.json" || fail "the agentstate transform's facts differ from the plan"
python3 - "$TMP/a/plan.json" <<'PY' || fail "the plan does not cover every situation"
import json, sys
p = json.load(open(sys.argv[1]))
s, ct = p["callthread"]["situations"], p["callthread"]
need = ["abandoned_in_queue", "abandoned_ringing", "rona", "transfer_single_step", "transfer_two_step",
        "conference", "holds", "outbound", "outbound_busy", "internal", "answered"]
missing = [k for k in need if s.get(k, 0) < 20]
assert not missing, f"fewer than 20 calls of {missing}: {s}"
assert ct["interactions"]["total"] == 10000, ct["interactions"]
t = p["time"]
assert t["last_event"] - t["first_event"] > 4 * 3600 * 1000, "less than 4 h of event time"
day = lambda ms: ms // 86400000
assert day(t["first_event"]) != day(t["last_event"]), "midnight not crossed"
r = p["agentstate"]["reasons"]
assert r.get("ACW") and r.get("NOT_READY", {}).get("RONA"), f"reasons: {r}"
PY

# determinism
run "$TMP/b" 7
for f in callthread.jsonl agentstate.jsonl ixn.jsonl plan.json; do
    [[ $f == ixn.jsonl ]] && continue # output order across two workers may differ; the events may not
    cmp -s "$TMP/a/$f" "$TMP/b/$f" || fail "two runs with seed 7 differ in $f"
done
run "$TMP/c" 8
cmp -s "$TMP/a/callthread.jsonl" "$TMP/c/callthread.jsonl" && fail "seeds 7 and 8 give the same events"

# disorder and duplicates: the same facts
run "$TMP/d" 7 ", disorder: 0.2, duplicates: 0.1"
python3 - "$TMP/a/plan.json" "$TMP/d/plan.json" "$TMP/a/callthread.jsonl" "$TMP/d/callthread.jsonl" <<'PY' ||
import json, sys
a, d = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
i = d["input"]
assert i.get("disordered", 0) > 1000 and i.get("duplicates", 0) > 1000, i
assert a["callthread"] == d["callthread"] and a["agentstate"] == d["agentstate"], "the plans differ"
clean, messy = open(sys.argv[3]).read().splitlines(), open(sys.argv[4]).read().splitlines()
assert clean != messy[: len(clean)], "no event moved"
assert sorted(set(messy)) == sorted(clean), "not the same events"
PY
    fail "the disorder run did not generate the same events, disordered and duplicated"
$check facts "$TMP/d" "$TMP/a/plan.json" || fail "the facts of the disorder run differ from the plan"
$check agents "$TMP/d/callthread.jsonl" "$TMP/d/agentstate.jsonl" "$TMP/a/plan.json" ||
    fail "the agents' states of the disorder run differ from the plan"
$check smfacts "$TMP/d" "$TMP/a/plan.json" || fail "the agentstate facts of the disorder run differ from the plan"
for f in ixn irf msf; do
    cmp -s <(sort "$TMP/a/$f.jsonl") <(sort "$TMP/d/$f.jsonl") || fail "$f facts differ with disorder and duplicates"
done
note "10,000 calls: facts equal the plan; deterministic; the same facts with disorder and duplicates"
