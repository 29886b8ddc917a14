#!/usr/bin/env bash
# Aligned barriers: two file sources feed one stateful node (lua counting
# the records of each source in its `state` table). With a checkpoint store
# the node holds back what a source sent after barrier N until N arrived
# from the other source too, so in every stored checkpoint the node's count
# per source equals that source's read position in the same checkpoint: the
# snapshot is exactly the state after the records before barrier N. The
# sources read at different speeds (lines_per_poll 1 and 200), so without
# alignment the fast one's records behind its barrier would be counted.
# (Checkpoints every 5 ms: on a quiet machine the run takes a few tens of ms,
# and at least 3 checkpoints must fall inside it.)
# Then restore: the lua state is not keyed, so another parallelism is refused
# (until --from-checkpoint none); --from-checkpoint ID picks that one.
source "$top_srcdir/tests/lib.sh"

python3 - "$TMP" <<'PY'
import sys
for name, n in (("a", 100000), ("b", 100000)):
    with open(f"{sys.argv[1]}/{name}.jsonl", "w") as f:
        for i in range(n):
            f.write('{"src": "%s", "n": %d, "pad": "%s"}\n' % (name, i, "x" * 100))
PY
cat >"$TMP/p.yaml" <<Y
pipeline: aligned
settings: {checkpoints: 'file://$TMP/store', checkpoint_interval: 5ms, checkpoint_retain: 1000}
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
      function shutdown(emit)
        emit({value = {a = counts.a, b = counts.b}})
      end
sinks:
  out: {plugin: file, inputs: [count], path: '$TMP/out.jsonl'}
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
    mixed += 0 < pos["a"] < 100000 and 0 < pos["b"] < 100000
if bad:
    sys.exit(1)
if not mixed:
    print("no checkpoint was taken while both sources were reading", file=sys.stderr); sys.exit(1)
PY

# run again on the same store: the counts and the read positions are restored
# together, so whatever the newest checkpoint was, every line ends up counted
# exactly once
# (the counts as the node ends: a finite run takes no checkpoint at its end,
# so the store's newest one may be older than the end of run 2)
newest=$(ls "$TMP/store" | sort | tail -n1)
rm -f "$TMP/out.jsonl"
"$MARTFLOW" run "$TMP/p.yaml" --log-level debug >"$TMP/log2" 2>&1 || { cat "$TMP/log2" >&2; fail "run 2 failed"; }
assert_contains "$TMP/log2" "restoring checkpoint $((10#${newest#chk-})) " "run 2 restored the newest checkpoint"
last=$(ls "$TMP/store" | sort | tail -n1)
assert_eq '{"a":100000,"b":100000}' "$(python3 -c 'import json,sys; print(json.dumps(json.loads(open(sys.argv[1]).read().splitlines()[-1]), separators=(",", ":"), sort_keys=True))' "$TMP/out.jsonl")" "the counts after two runs (exactly once)"
# lua's state is not keyed: another parallelism is refused, with the way out
sed -i 's/    state: counts/    state: counts\n    parallelism: 2/' "$TMP/p.yaml"
if "$MARTFLOW" run "$TMP/p.yaml" >"$TMP/log3" 2>&1; then fail "a non-keyed state was restored into parallelism 2"; fi
assert_contains "$TMP/log3" "ran with parallelism 1, now 2, and its plugin's state is not keyed" "the refusal says why"
"$MARTFLOW" run "$TMP/p.yaml" --from-checkpoint none >"$TMP/log4" 2>&1 || { cat "$TMP/log4" >&2; fail "--from-checkpoint none failed"; }
assert_contains "$TMP/log4" "--from-checkpoint none: starting empty" "--from-checkpoint none"
if "$MARTFLOW" run "$TMP/p.yaml" --from-checkpoint 999999 >"$TMP/log5" 2>&1; then fail "a missing checkpoint was accepted"; fi
assert_contains "$TMP/log5" "checkpoint 999999 .* is not usable" "--from-checkpoint of a missing one"
if "$MARTFLOW" run "$TMP/p.yaml" --from-checkpoint "file:///elsewhere/chk-1" >"$TMP/log6" 2>&1; then
    fail "a checkpoint URL outside settings.checkpoints was accepted"
fi
assert_contains "$TMP/log6" "not in settings.checkpoints" "--from-checkpoint of another location"
sed -i 's/    parallelism: 2/    parallelism: 1/' "$TMP/p.yaml"
"$MARTFLOW" run "$TMP/p.yaml" --from-checkpoint "file://$TMP/store/$last" >"$TMP/log7" 2>&1 ||
    { cat "$TMP/log7" >&2; fail "--from-checkpoint URL failed"; }
assert_contains "$TMP/log7" "restoring checkpoint $((10#${last#chk-})) " "--from-checkpoint URL"
