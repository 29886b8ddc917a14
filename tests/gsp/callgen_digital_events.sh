#!/usr/bin/env bash
# callgen's digital traffic on its own (no transform needed): 3,000 digital
# interactions (chats and e-mails, every shape) and 300 calls through
# callgen -> file sinks. The events keep the digital-itx / digital-agentstate
# field contract of docs/events.md §1 and, replayed by docs/digital-rules.md
# (tests/gsp/callgen_check.py digital), give exactly the plan's digital and
# digitalagentstate members; no agent ever handles more than its capacity and
# every offer goes to a logged-in, Ready agent below capacity. The same seed
# gives byte-identical files and plan, another seed others; disorder and
# duplicates only move and double events (the same set of events, and the
# same replay); digital on changes no voice event but for its seq, and no
# voice count of the plan; digital off writes no digital event.
source "$top_srcdir/tests/lib.sh"
check="python3 $top_srcdir/tests/gsp/callgen_check.py"

run() { # outdir seed [extra callgen options]
    local out=$1 seed=$2 extra=${3:-}
    mkdir -p "$out"
    cat >"$out/pipeline.yaml" <<Y
pipeline: callgen-digital-events
sources:
  gen: {plugin: callgen, seed: $seed, calls: 300, agents: 20, rate: 0.5, key_member: true,
        plan: '$out/plan.json' $extra}
sinks:
  ct: {plugin: file, inputs: [gen.callthread], path: '$out/callthread.jsonl'}
  as: {plugin: file, inputs: [gen.agentstate], path: '$out/agentstate.jsonl'}
  dx: {plugin: file, inputs: [gen.digital_itx], path: '$out/itx.jsonl'}
  da: {plugin: file, inputs: [gen.digital_agentstate], path: '$out/das.jsonl'}
Y
    "$MARTFLOW" run "$out/pipeline.yaml" >"$out/log" 2>&1 || { cat "$out/log" >&2; fail "martflow run ($out) failed"; }
    [[ -f $out/plan.json ]] || fail "no plan written ($out)"
}
digital=", digital: true, digital_interactions: 3000"

# options checked before the run: the digital shares add up to at most 1
cat >"$TMP/bad.yaml" <<'Y'
pipeline: callgen-bad
sources:
  gen: {plugin: callgen, digital: true, email: 0.8, chat_transfer: 0.5}
sinks:
  n: {plugin: "null", inputs: [gen.digital_itx]}
Y
if "$MARTFLOW" check "$TMP/bad.yaml" >"$TMP/check.out" 2>&1; then fail "check accepted digital shares adding up to 1.56"; fi
assert_contains "$TMP/check.out" "the digital shares .* add up to 1.560: at most 1" "check names the digital shares' sum"

run "$TMP/a" 5 "$digital"
$check digital "$TMP/a/itx.jsonl" "$TMP/a/das.jsonl" "$TMP/a/plan.json" || fail "the digital events differ from the plan"
python3 - "$TMP/a/plan.json" <<'PY' || fail "the plan does not cover every digital shape"
import json, sys
p = json.load(open(sys.argv[1]))
s = p["digital"]["situations"]
need = ["chat", "chat_timeout", "chat_reject", "chat_revoke", "chat_transfer", "chat_conference", "chat_abandon", "email"]
missing = [k for k in need if s.get(k, 0) < 20]
assert not missing, f"fewer than 20 interactions of {missing}: {s}"
assert p["digital"]["interactions"]["total"] == 3000, p["digital"]["interactions"]
d = p["digital"]["resources"]["by_descriptor"]
for k in ("Received/Unspecified/Redirected/RouteOnNoAnswer", "Received/Unspecified/Redirected/Unspecified",
          "Received/Unspecified/Revoked/Unspecified", "Received/Unspecified/Transferred/Unspecified",
          "ReceivedTransfer/Unspecified/Completed/Unspecified", "Received/ConferenceJoined/Completed/Unspecified"):
    assert d.get(k, 0) >= 20, f"IRFs {k}: {d}"
assert p["digital"]["segments"]["by_resource_type"].get("Workbin", 0) >= 20, p["digital"]["segments"]
ag = p["digitalagentstate"]
assert set(ag["sessions"]["by_media"]) == {"CHAT", "EMAIL"}, ag["sessions"]
for m in ("CHAT", "EMAIL"):
    st = ag["states"][m]
    assert all(st[k] > 0 for k in ("READY", "NOT_READY", "BUSY")), f"{m} states {st}"
    assert ag["reasons"][m].get("NOT_READY"), f"{m} reasons {ag['reasons'][m]}"
for aid, media in ag["agents"].items():
    for m, a in media.items():
        assert a["max_handled"] <= a["capacity"], f"{aid} {m} handled {a['max_handled']} > {a['capacity']}"
        assert m != "CHAT" or 2 <= a["capacity"] <= 3, f"{aid} chat capacity {a['capacity']}"
assert any(a["CHAT"]["max_handled"] == a["CHAT"]["capacity"] for a in ag["agents"].values() if "CHAT" in a), \
    "no chat agent ever at capacity"
PY

# the same seed: the same bytes; another seed: other events
run "$TMP/a2" 5 "$digital"
for f in itx.jsonl das.jsonl callthread.jsonl agentstate.jsonl plan.json; do
    cmp -s "$TMP/a/$f" "$TMP/a2/$f" || fail "seed 5 twice: $f differs"
done
run "$TMP/c" 6 "$digital"
if cmp -s "$TMP/a/itx.jsonl" "$TMP/c/itx.jsonl"; then fail "seeds 5 and 6 gave the same digital events"; fi
$check digital "$TMP/c/itx.jsonl" "$TMP/c/das.jsonl" "$TMP/c/plan.json" || fail "seed 6: the digital events differ from the plan"

# disorder and duplicates: the same events, moved and doubled
run "$TMP/b" 5 "$digital, disorder: 0.2, duplicates: 0.1"
for f in itx.jsonl das.jsonl; do
    sort "$TMP/a/$f" >"$TMP/a.$f"
    sort -u "$TMP/b/$f" >"$TMP/b.$f"
    cmp -s "$TMP/a.$f" "$TMP/b.$f" || fail "disorder and duplicates changed the set of $f events"
done
cmp -s "$TMP/a/itx.jsonl" "$TMP/b/itx.jsonl" && fail "disorder moved no digital event"
dups=$(python3 -c "import json; print(json.load(open('$TMP/b/plan.json'))['input']['duplicates'])")
all_b=$(cat "$TMP/b"/*.jsonl | wc -l) all_a=$(cat "$TMP/a"/*.jsonl | wc -l)
assert_eq "$((all_a + dups))" "$all_b" "the disordered run: the clean run's events plus the planned duplicates"
$check digital "$TMP/b/itx.jsonl" "$TMP/b/das.jsonl" "$TMP/b/plan.json" || fail "disordered: the digital events differ"

# digital off: no digital event; the voice events are digital on's but for seq
run "$TMP/off" 5
assert_eq 0 "$(cat "$TMP/off/itx.jsonl" "$TMP/off/das.jsonl" | wc -l)" "no digital events without digital"
for f in callthread.jsonl agentstate.jsonl; do
    sed -E 's/"seq":[0-9]+,//' "$TMP/a/$f" >"$TMP/on.$f"
    sed -E 's/"seq":[0-9]+,//' "$TMP/off/$f" >"$TMP/off.$f"
    cmp -s "$TMP/on.$f" "$TMP/off.$f" || fail "digital on changed the voice $f events (beyond seq)"
done
python3 - "$TMP/a/plan.json" "$TMP/off/plan.json" <<'PY' || fail "digital on changed the voice plan"
import json, sys
on, off = (json.load(open(f)) for f in sys.argv[1:])
for k in ("callthread", "agentstate", "outbound"):
    assert on[k] == off[k], k
assert "digital" not in off and "digitalagentstate" not in off and "digital" not in off["generator"]
assert "digital_itx_events" not in off["input"]
PY
