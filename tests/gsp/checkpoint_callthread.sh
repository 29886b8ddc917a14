#!/usr/bin/env bash
# Checkpoints (docs/checkpoints.md) over file://: file source -> callthread
# -> file sinks, checkpoints every 200 ms, with a call open since the first
# line (its thread never closes until the end of input).
#  1. Without a store the acknowledged read position cannot pass that call:
#     positions.json stays within the first poll batch.
#  2. With a store, after part A is read and two more checkpoints completed,
#     kill -9: the newest checkpoint's file position is exactly the end of A,
#     so the replay after a restart is bounded by the checkpoint interval
#     (here: nothing), and the restarted run reads exactly part B's lines.
#  3. kill -9 at further points while data flows, restoring 1 -> 3 workers
#     and 3 -> 1; the last run reads to the end. The last fact per id over
#     all runs equals a clean run's.
#  4. A checkpoint store that cannot be written (a read-only directory):
#     failures counted, the pipeline goes on and ends normally.
source "$top_srcdir/tests/lib.sh"

python3 - "$TMP" <<'PY' || fail "cannot make the input"
import json, subprocess, sys, os
tmp = sys.argv[1]
gen = f"""pipeline: gen
sources:
  gen: {{plugin: callgen, seed: 11, calls: 3000, agents: 50, rate: 0.5}}
sinks:
  ev: {{plugin: file, inputs: [gen.callthread], path: '{tmp}/events.jsonl'}}
  n: {{plugin: "null", inputs: [gen.agentstate]}}
"""
open(f"{tmp}/gen.yaml", "w").write(gen)
subprocess.run([os.environ["MARTFLOW"], "run", f"{tmp}/gen.yaml"], check=True, stderr=subprocess.DEVNULL)
lines = []
for l in open(f"{tmp}/events.jsonl"):
    e = json.loads(l)
    lines.append(json.dumps({"key": "t1:" + e["CallThreadID"], **e}))
first = json.loads(lines[0])
# a call open since the start: one event, its thread closes only at the end
lines.insert(0, json.dumps({"key": "t1:OPEN-SINCE-START", "id": "EventRinging", "time": first["time"], "seq": 1,
                            "CallThreadID": "OPEN-SINCE-START", "ConnID": "open-1", "ThisDN": "7001",
                            "ThisDNType": "Extension", "AgentID": "a-open", "CallType": "Inbound",
                            "CallID": "open-call", "ANI": "+15550000", "DNIS": "8005550000"}))
n = len(lines)
a, b = int(n * 0.4), int(n * 0.7)
for name, part in (("all", lines), ("A", lines[:a]), ("B", lines[a:b]), ("C", lines[b:])):
    open(f"{tmp}/{name}.jsonl", "w").write("".join(x + "\n" for x in part))
PY
lines_of() { wc -l <"$1" | tr -d ' '; }
NA=$(lines_of "$TMP/A.jsonl")
NB=$(lines_of "$TMP/B.jsonl")

pipeline() { # file parallelism outdir follow store(or "")
    local settings="checkpoint_interval: 200ms, metrics_listen: '127.0.0.1:0'"
    [[ -n $5 ]] && settings+=", checkpoints: '$5', checkpoint_retain: 3"
    mkdir -p "$3"
    cat >"$1" <<Y
pipeline: ckpt-callthread
settings: {$settings}
sources:
  in: {plugin: file, path: '$TMP/in.jsonl', key_field: key, lines_per_poll: 64, follow: $4}
transforms:
  ct: {plugin: callthread, inputs: [in], parallelism: $2}
sinks:
  ixn: {plugin: file, inputs: [ct.interactions], path: '$3/ixn.jsonl'}
  irf: {plugin: file, inputs: [ct.resources], path: '$3/irf.jsonl'}
  msf: {plugin: file, inputs: [ct.segments], path: '$3/msf.jsonl'}
Y
}

# ---- the clean run -----------------------------------------------------------------------
cp "$TMP/all.jsonl" "$TMP/in.jsonl"
pipeline "$TMP/clean.yaml" 1 "$TMP/clean" false ""
MARTFLOW_DATA_DIR=$TMP/clean/data "$MARTFLOW" run "$TMP/clean.yaml" >"$TMP/clean.log" 2>&1 ||
    { cat "$TMP/clean.log" >&2; fail "the clean run failed"; }

start() { # yaml log datadir [extra args]: runs in the background, PID in $PID
    local y=$1 log=$2 data=$3; shift 3
    MARTFLOW_DATA_DIR=$data "$MARTFLOW" run "$y" "$@" >"$log" 2>&1 &
    PID=$!
    PORT=$(metrics_port "$log")
}

# ---- 1. without a store: the open call holds the read position --------------------------
cp "$TMP/A.jsonl" "$TMP/in.jsonl"
pipeline "$TMP/nostore.yaml" 1 "$TMP/nostore" true ""
start "$TMP/nostore.yaml" "$TMP/nostore.log" "$TMP/nostore/data"
wait_for 60 metric_at_least "$PORT" martflow_file_lines_total "$NA" || fail "the run without a store did not read A"
c0=$(metric "$PORT" martflow_checkpoints_total)
wait_for 30 metric_at_least "$PORT" martflow_checkpoints_total $((c0 + 3)) || fail "no checkpoints without a store"
sleep 1.2 # positions_interval
kill -9 "$PID"; wait "$PID" 2>/dev/null || true
held=$(python3 -c "import json,sys; print(max([f['line'] for f in json.load(open(sys.argv[1]))['files']] or [0]))" \
    "$TMP/nostore/data/ckpt-callthread/in/positions.json" 2>/dev/null || echo 0)
((held <= 64)) || fail "without a store the acknowledged position passed the open call: line $held"

# ---- 2. with a store: the position of the newest checkpoint is the end of A --------------
STORE="file://$TMP/store"
DATA=$TMP/ck/data
pipeline "$TMP/r1.yaml" 1 "$TMP/r1" true "$STORE"
start "$TMP/r1.yaml" "$TMP/r1.log" "$DATA"
wait_for 60 metric_at_least "$PORT" martflow_file_lines_total "$NA" || fail "run 1 did not read A"
c0=$(metric "$PORT" martflow_checkpoints_total)
wait_for 30 metric_at_least "$PORT" martflow_checkpoints_total $((c0 + 2)) || fail "run 1 completed no checkpoint"
(($(metric "$PORT" martflow_checkpoint_size_bytes) > 1000)) || fail "martflow_checkpoint_size_bytes not set"
(($(metric "$PORT" martflow_checkpoint_last_completed_seconds) > 1700000000)) || fail "no last completed time"
sleep 1.2 # positions_interval
kill -9 "$PID"; wait "$PID" 2>/dev/null || true
# callthread released the acks at commit: the acknowledged position passed the open call
acked=$(python3 -c "import json,sys; print(max(f['line'] for f in json.load(open(sys.argv[1]))['files']))" \
    "$DATA/ckpt-callthread/in/positions.json")
((acked > NA / 2)) || fail "with a store the acknowledged position stayed at line $acked (held by the open call)"

newest_line() { # the file source's position in the newest complete checkpoint
    python3 - "$TMP/store" <<'PY'
import json, os, sys
d = sys.argv[1]
ids = sorted(x for x in os.listdir(d) if x.startswith("chk-") and os.path.exists(f"{d}/{x}/MANIFEST"))
pos = json.load(open(f"{d}/{ids[-1]}/in/0"))
print(max(f["line"] for f in pos["files"]))
PY
}
assert_eq "$NA" "$(newest_line)" "the newest checkpoint's read position"
complete=$(ls -d "$TMP"/store/chk-*/MANIFEST | wc -l)
((complete <= 3)) || fail "checkpoint_retain 3 kept $complete complete checkpoints"

# the restart (1 -> 3 workers) reads B only: no replay of A despite the open call
cat "$TMP/B.jsonl" >>"$TMP/in.jsonl"
pipeline "$TMP/r2.yaml" 3 "$TMP/r2" true "$STORE"
start "$TMP/r2.yaml" "$TMP/r2.log" "$DATA"
assert_contains "$TMP/r2.log" 'restoring checkpoint [0-9]+' "run 2 restored no checkpoint"
wait_for 60 metric_at_least "$PORT" martflow_file_lines_total "$NB" || fail "run 2 did not read B"
c0=$(metric "$PORT" martflow_checkpoints_total)
wait_for 30 metric_at_least "$PORT" martflow_checkpoints_total $((c0 + 1)) || fail "run 2 completed no checkpoint"
assert_eq "$NB" "$(metric "$PORT" martflow_file_lines_total)" "lines run 2 read (B only)"

# ---- 3. kill -9 while data flows, then a last finite run -----------------------------------
cat "$TMP/C.jsonl" >>"$TMP/in.jsonl"
sleep 0.3
kill -9 "$PID"; wait "$PID" 2>/dev/null || true
pipeline "$TMP/r3.yaml" 3 "$TMP/r3" true "$STORE"
start "$TMP/r3.yaml" "$TMP/r3.log" "$DATA"
sleep 0.5
kill -9 "$PID"; wait "$PID" 2>/dev/null || true
pipeline "$TMP/r4.yaml" 1 "$TMP/r4" false "$STORE"
MARTFLOW_DATA_DIR=$DATA "$MARTFLOW" run "$TMP/r4.yaml" >"$TMP/r4.log" 2>&1 ||
    { cat "$TMP/r4.log" >&2; fail "the last run failed"; }
assert_contains "$TMP/r4.log" 'restoring checkpoint [0-9]+' "run 4 restored no checkpoint"

python3 - "$TMP" <<'PY' || fail "the checkpointed runs' facts differ from the clean run's (see above)"
import json, sys
tmp = sys.argv[1]
ids = {"INTERACTION_FACT": "interaction_id", "INTERACTION_RESOURCE_FACT": "interaction_resource_id",
       "MEDIATION_SEGMENT_FACT": "mediation_segment_id"}
def last(dirs):
    out = {}
    for d in dirs:
        for name in ("ixn", "irf", "msf"):
            try:
                f = open(f"{tmp}/{d}/{name}.jsonl")
            except FileNotFoundError:
                continue
            for l in f:
                try:
                    r = json.loads(l)
                except ValueError:
                    continue  # a line cut by kill -9
                out[(r["table"], r["row"][ids[r["table"]]])] = r
    return out
clean, ck = last(["clean"]), last(["r1", "r2", "r3", "r4"])
if len(clean) < 6000:
    print(f"the clean run has only {len(clean)} facts", file=sys.stderr); sys.exit(1)
missing = [k for k in clean if k not in ck]
extra = [k for k in ck if k not in clean]
diff = [k for k in clean if k in ck and clean[k] != ck[k]]
if missing or extra or diff:
    print(f"{len(missing)} missing, {len(extra)} extra, {len(diff)} differ; e.g. {(missing + extra + diff)[:3]}",
          file=sys.stderr)
    for k in diff[:2]:
        print("clean:", clean[k], "\nckpt: ", ck[k], file=sys.stderr)
    sys.exit(1)
PY

# ---- 4. a store that cannot be written: counted, the pipeline goes on ---------------------
mkdir -p "$TMP/ro"
chmod 555 "$TMP/ro"
if [[ -w "$TMP/ro" ]]; then
    note "running as a user who can write a read-only directory: testing a store that is a file instead"
    rmdir "$TMP/ro"; mkdir -p "$TMP/ro"; : >"$TMP/ro/.mf-tmp"
fi
cp "$TMP/A.jsonl" "$TMP/in.jsonl"
pipeline "$TMP/ro.yaml" 1 "$TMP/rout" true "file://$TMP/ro"
start "$TMP/ro.yaml" "$TMP/ro.log" "$TMP/ro-data"
wait_for 60 metric_at_least "$PORT" martflow_checkpoint_failures_total 2 || fail "no failed checkpoint counted"
wait_for 60 metric_at_least "$PORT" martflow_file_lines_total "$NA" || fail "the pipeline stopped with the store down"
assert_eq 0 "$(metric "$PORT" martflow_checkpoints_total)" "completed checkpoints on an unwritable store"
kill -TERM "$PID"
wait "$PID" || { cat "$TMP/ro.log" >&2; fail "the run with an unwritable store did not end cleanly"; }
assert_contains "$TMP/ro.log" 'checkpoint [0-9]+ failed' "the failed checkpoint is logged"
chmod 755 "$TMP/ro"
