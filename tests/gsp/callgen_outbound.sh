#!/usr/bin/env bash
# callgen's campaign traffic against its plan: 3,000 calls with a third agent
# outbound calls, each a preview-campaign chain (a failed dialer attempt,
# then the agent's call: busy or answered), through callgen -> callthread +
# outbound -> files. The contact attempts equal the plan's by call result
# and chains, each id once, every answered attempt naming the agent IRF and
# interaction callthread made of its call (tests/gsp/callgen_check.py
# outbound); the same with disorder and duplicates gives the same attempts;
# without `campaign` callgen writes no outbound event.
source "$top_srcdir/tests/lib.sh"
check="python3 $top_srcdir/tests/gsp/callgen_check.py"

run() { # outdir [extra callgen options]
    local out=$1 extra=${2:-}
    mkdir -p "$out"
    cat >"$out/pipeline.yaml" <<Y
pipeline: callgen-outbound
sources:
  gen: {plugin: callgen, seed: 11, calls: 3000, agents: 40, rate: 0.5, outbound: 0.3, campaign: true,
        plan: '$out/plan.json' $extra}
transforms:
  ct: {plugin: callthread, inputs: [gen.callthread]}
  ob: {plugin: outbound, inputs: [gen.outbound], parallelism: 2}
sinks:
  ev: {plugin: file, inputs: [gen.outbound], path: '$out/outbound.jsonl'}
  ixn: {plugin: file, inputs: [ct.interactions], path: '$out/ixn.jsonl'}
  irf: {plugin: file, inputs: [ct.resources], path: '$out/irf.jsonl'}
  att: {plugin: file, inputs: [ob.attempts], path: '$out/attempts.jsonl'}
  rest: {plugin: "null", inputs: [ct.segments, gen.agentstate]}
  err: {plugin: file, inputs: [ct.errors, ob.errors], path: '$out/err.jsonl', format: envelope}
Y
    "$MARTFLOW" run "$out/pipeline.yaml" >"$out/log" 2>&1 || { cat "$out/log" >&2; fail "martflow run ($out) failed"; }
    [[ ! -s $out/err.jsonl ]] || { head -3 "$out/err.jsonl" >&2; fail "generated events rejected ($out)"; }
}

run "$TMP/a"
$check outbound "$TMP/a" "$TMP/a/plan.json" || fail "the contact attempts differ from the plan"
chains=$(python3 -c "import json; print(json.load(open('$TMP/a/plan.json'))['outbound']['chains'])")
((chains > 500)) || fail "only $chains chains generated"
assert_eq "$((chains * 2))" "$(python3 -c "import json; print(json.load(open('$TMP/a/plan.json'))['outbound']['attempts']['total'])")" \
    "two attempts per chain"

run "$TMP/b" ", disorder: 0.2, duplicates: 0.1"
$check outbound "$TMP/b" "$TMP/b/plan.json" || fail "disordered and duplicated: the contact attempts differ from the plan"
sort "$TMP/a/attempts.jsonl" >"$TMP/a.sorted"
sort "$TMP/b/attempts.jsonl" >"$TMP/b.sorted"
cmp -s "$TMP/a.sorted" "$TMP/b.sorted" || fail "disorder and duplicates changed the attempts"

# without campaign: the same calls, no outbound event
cat >"$TMP/off.yaml" <<Y
pipeline: callgen-off
sources:
  gen: {plugin: callgen, seed: 11, calls: 300, outbound: 0.3, plan: '$TMP/off.json'}
sinks:
  ev: {plugin: file, inputs: [gen.outbound], path: '$TMP/off.jsonl'}
  rest: {plugin: "null", inputs: [gen.callthread, gen.agentstate]}
Y
"$MARTFLOW" run "$TMP/off.yaml" >"$TMP/off.log" 2>&1 || { cat "$TMP/off.log" >&2; fail "run without campaign"; }
assert_eq 0 "$(wc -l <"$TMP/off.jsonl")" "no outbound events without campaign"
