#!/usr/bin/env bash
# The outbound transform under checkpoints (docs/checkpoints.md) over
# file://: file source -> outbound -> file sink, checkpoints every 200 ms,
# callgen campaign chains split in three parts. Part A read by one worker,
# kill -9 after two checkpoints; part B appended, restored into 3 workers,
# kill -9 while it flows; part C appended, restored into 1 worker, read to
# the end. The last CONTACT_ATTEMPT_FACT per id over all runs equals a clean
# run's: no attempt lost, none different (a replayed one is the same record).
source "$top_srcdir/tests/lib.sh"

cat >"$TMP/gen.yaml" <<Y
pipeline: gen
sources:
  gen: {plugin: callgen, seed: 5, calls: 2500, agents: 60, rate: 1, key_member: true, campaign: true,
        outbound: 1, abandon_in_queue: 0, abandon_ringing: 0, rona: 0, transfer_single_step: 0,
        transfer_two_step: 0, conference: 0, internal: 0, plan: '$TMP/plan.json'}
sinks:
  ev: {plugin: file, inputs: [gen.outbound], path: '$TMP/all.jsonl'}
  n: {plugin: "null", inputs: [gen.callthread, gen.agentstate]}
Y
"$MARTFLOW" run "$TMP/gen.yaml" >"$TMP/gen.log" 2>&1 || { cat "$TMP/gen.log" >&2; fail "cannot generate the events"; }
n=$(wc -l <"$TMP/all.jsonl")
a=$((n * 4 / 10)) b=$((n * 7 / 10))
head -n "$a" "$TMP/all.jsonl" >"$TMP/A.jsonl"
sed -n "$((a + 1)),${b}p" "$TMP/all.jsonl" >"$TMP/B.jsonl"
tail -n +"$((b + 1))" "$TMP/all.jsonl" >"$TMP/C.jsonl"
NA=$(wc -l <"$TMP/A.jsonl")
NB=$(wc -l <"$TMP/B.jsonl")

pipeline() { # file parallelism outdir follow store(or "")
    local settings="checkpoint_interval: 200ms, metrics_listen: '127.0.0.1:0'"
    [[ -n $5 ]] && settings+=", checkpoints: '$5', checkpoint_retain: 3"
    mkdir -p "$3"
    cat >"$1" <<Y
pipeline: ckpt-outbound
settings: {$settings}
sources:
  in: {plugin: file, path: '$TMP/in.jsonl', key_field: key, lines_per_poll: 64, follow: $4}
transforms:
  ob: {plugin: outbound, inputs: [in], parallelism: $2}
sinks:
  att: {plugin: file, inputs: [ob.attempts], path: '$3/attempts.jsonl'}
  err: {plugin: file, inputs: [ob.errors, in.errors], path: '$3/errors.jsonl'}
Y
}
start() { # yaml log datadir: runs in the background, PID in $PID
    MARTFLOW_DATA_DIR=$3 "$MARTFLOW" run "$1" >"$2" 2>&1 &
    PID=$!
    PORT=$(metrics_port "$2")
}

cp "$TMP/all.jsonl" "$TMP/in.jsonl"
pipeline "$TMP/clean.yaml" 1 "$TMP/clean" false ""
MARTFLOW_DATA_DIR=$TMP/clean/data "$MARTFLOW" run "$TMP/clean.yaml" >"$TMP/clean.log" 2>&1 ||
    { cat "$TMP/clean.log" >&2; fail "the clean run failed"; }

STORE="file://$TMP/store" DATA=$TMP/ck/data
cp "$TMP/A.jsonl" "$TMP/in.jsonl"
pipeline "$TMP/r1.yaml" 1 "$TMP/r1" true "$STORE"
start "$TMP/r1.yaml" "$TMP/r1.log" "$DATA"
wait_for 60 metric_at_least "$PORT" martflow_file_lines_total "$NA" || fail "run 1 did not read A"
c0=$(metric "$PORT" martflow_checkpoints_total)
wait_for 30 metric_at_least "$PORT" martflow_checkpoints_total $((c0 + 2)) || fail "run 1 completed no checkpoint"
(($(metric "$PORT" martflow_outbound_open_chains) > 0)) || fail "no chain open at the checkpoint"
kill -9 "$PID"; wait "$PID" 2>/dev/null || true

cat "$TMP/B.jsonl" >>"$TMP/in.jsonl"
pipeline "$TMP/r2.yaml" 3 "$TMP/r2" true "$STORE"
start "$TMP/r2.yaml" "$TMP/r2.log" "$DATA"
assert_contains "$TMP/r2.log" 'restoring checkpoint [0-9]+' "run 2 restored no checkpoint"
wait_for 60 metric_at_least "$PORT" martflow_file_lines_total "$NB" || fail "run 2 did not read B"
assert_eq "$NB" "$(metric "$PORT" martflow_file_lines_total)" "lines run 2 read (B only: A is in the checkpoint)"
cat "$TMP/C.jsonl" >>"$TMP/in.jsonl"
sleep 0.3
kill -9 "$PID"; wait "$PID" 2>/dev/null || true

pipeline "$TMP/r3.yaml" 1 "$TMP/r3" false "$STORE"
MARTFLOW_DATA_DIR=$DATA "$MARTFLOW" run "$TMP/r3.yaml" >"$TMP/r3.log" 2>&1 || { cat "$TMP/r3.log" >&2; fail "the last run failed"; }
assert_contains "$TMP/r3.log" 'restoring checkpoint [0-9]+' "run 3 restored no checkpoint"
cat "$TMP"/r*/errors.jsonl "$TMP/clean/errors.jsonl" 2>/dev/null | head -3 >"$TMP/errs"
[[ ! -s $TMP/errs ]] || { cat "$TMP/errs" >&2; fail "events rejected"; }

python3 - "$TMP" <<'PY' || fail "the checkpointed runs' attempts differ from the clean run's (see above)"
import json, sys
tmp = sys.argv[1]
def last(dirs):
    out = {}
    for d in dirs:
        try:
            f = open(f"{tmp}/{d}/attempts.jsonl")
        except FileNotFoundError:
            continue
        for l in f:
            try:
                r = json.loads(l)
            except ValueError:
                continue  # a line cut by kill -9
            out[r["row"]["contact_attempt_fact_key"]] = r
    return out
clean, ck = last(["clean"]), last(["r1", "r2", "r3"])
want = json.load(open(f"{tmp}/plan.json"))["outbound"]["attempts"]["total"]
if len(clean) != want:
    print(f"the clean run has {len(clean)} attempts, the plan {want}", file=sys.stderr); sys.exit(1)
missing = [k for k in clean if k not in ck]
extra = [k for k in ck if k not in clean]
diff = [k for k in clean if k in ck and clean[k] != ck[k]]
if missing or extra or diff:
    print(f"{len(missing)} missing, {len(extra)} extra, {len(diff)} differ", file=sys.stderr)
    for k in diff[:2]:
        print("clean:", clean[k], "\nckpt: ", ck[k], file=sys.stderr)
    sys.exit(1)
print(f"{len(clean)} attempts, the same after two kill -9 and restores", file=sys.stderr)
PY
