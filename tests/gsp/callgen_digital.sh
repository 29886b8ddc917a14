#!/usr/bin/env bash
# NEEDS THE TRANSFORMS: runs only once `digital` and `digitalagentstate` (#16)
# are built (plugins/gsp/Makefile.inc lists it in gsp_tests from then on).
#
# callgen's digital traffic against its plan, through the transforms: 3,000
# digital interactions (every shape of docs/plugins/callgen.md) and their
# agents through callgen -> digital (parallelism 2) -> digitalagentstate
# (fed the agents' events and digital's handling events) -> one file sink
# per port. The facts, each id counted once (its last upsert), none active,
# equal the plan's digital member (IF by media, IRF by descriptor / result /
# role / type / media, MSF by result / type / media), the handling events its
# handling_events, and per agent and media the session, state and reason
# seconds the plan's digitalagentstate member (tests/gsp/callgen_check.py
# dfacts); nothing is rejected. Disorder and duplicates: the same facts
# (identical fact files once sorted) as the clean run.
source "$top_srcdir/tests/lib.sh"
check="python3 $top_srcdir/tests/gsp/callgen_check.py"
for p in transform_digital transform_digitalagentstate; do
    [[ -f $MARTFLOW_PLUGIN_PATH/$p.so || -f $top_builddir/build/plugins/$p.so ]] ||
        fail "$p.so is not built: this test needs the digital transforms (#16)"
done

run() { # outdir [extra callgen options]
    local out=$1 extra=${2:-}
    mkdir -p "$out"
    cat >"$out/pipeline.yaml" <<Y
pipeline: callgen-digital
sources:
  gen: {plugin: callgen, seed: 9, calls: 200, agents: 10, digital: true, digital_interactions: 3000,
        plan: '$out/plan.json' $extra}
transforms:
  dx: {plugin: digital, inputs: [gen.digital_itx], parallelism: 2}
  ds: {plugin: digitalagentstate, inputs: [gen.digital_agentstate, dx.agent_events], parallelism: 2}
sinks:
  itx: {plugin: file, inputs: [gen.digital_itx], path: '$out/itx.jsonl'}
  das: {plugin: file, inputs: [gen.digital_agentstate], path: '$out/das.jsonl'}
  ixn: {plugin: file, inputs: [dx.interactions], path: '$out/dixn.jsonl'}
  irf: {plugin: file, inputs: [dx.resources], path: '$out/dirf.jsonl'}
  msf: {plugin: file, inputs: [dx.segments], path: '$out/dmsf.jsonl'}
  hdl: {plugin: file, inputs: [dx.agent_events], path: '$out/dhandling.jsonl'}
  ses: {plugin: file, inputs: [ds.sessions], path: '$out/dsessions.jsonl'}
  sta: {plugin: file, inputs: [ds.states], path: '$out/dstates.jsonl'}
  rsn: {plugin: file, inputs: [ds.reasons], path: '$out/dreasons.jsonl'}
  voice: {plugin: "null", inputs: [gen.callthread, gen.agentstate]}
  err: {plugin: file, inputs: [dx.errors, ds.errors], path: '$out/err.jsonl', format: envelope}
Y
    "$MARTFLOW" run "$out/pipeline.yaml" >"$out/log" 2>&1 || { cat "$out/log" >&2; fail "martflow run ($out) failed"; }
    [[ -f $out/plan.json ]] || fail "no plan written ($out)"
    [[ ! -s $out/err.jsonl ]] || { head -3 "$out/err.jsonl" >&2; fail "the transforms rejected generated events ($out)"; }
}

run "$TMP/a"
$check digital "$TMP/a/itx.jsonl" "$TMP/a/das.jsonl" "$TMP/a/plan.json" || fail "the events differ from the plan"
$check dfacts "$TMP/a" "$TMP/a/plan.json" || fail "the digital facts of 3,000 interactions differ from the plan"

run "$TMP/b" ", disorder: 0.2, duplicates: 0.1"
$check dfacts "$TMP/b" "$TMP/b/plan.json" || fail "disordered and duplicated: the digital facts differ from the plan"
for f in dixn dirf dmsf dsessions dstates dreasons; do
    # the last record of each id, as GIM keeps it
    for d in a b; do
        python3 - "$TMP/$d/$f.jsonl" >"$TMP/$d.$f.last" <<'PY'
import json, sys
ids = {"INTERACTION_FACT": "interaction_id", "INTERACTION_RESOURCE_FACT": "interaction_resource_id",
       "MEDIATION_SEGMENT_FACT": "mediation_segment_id", "SM_RES_SESSION_FACT": "sm_res_session_fact_key",
       "SM_RES_STATE_FACT": "sm_res_state_fact_key", "SM_RES_STATE_REASON_FACT": "sm_res_state_reason_fact_key"}
last = {}
for line in open(sys.argv[1]):
    r = json.loads(line)
    last[(r["table"], r["row"][ids[r["table"]]])] = line
sys.stdout.writelines(sorted(last.values()))
PY
    done
    cmp -s "$TMP/a.$f.last" "$TMP/b.$f.last" || fail "disorder and duplicates changed the $f facts"
done
