#!/usr/bin/env bash
# Checkpoints on s3:// (the real versitygw): file source -> callthread ->
# file sinks with checkpoints every 200 ms under a prefix of this test. The
# manifest and objects land in the bucket (listed by curl); kill -9 and a
# restart from the checkpoint on S3 give the clean run's last facts. Then
# the server is stopped during a run: checkpoints fail and are counted, the
# pipeline goes on; started again, the next checkpoint succeeds.
S3_EXCLUSIVE=1 # it stops the server
source "$top_srcdir/tests/s3/s3_lib.sh"

python3 - "$TMP" <<'PY' || fail "cannot make the input"
import json, os, subprocess, sys
tmp = sys.argv[1]
open(f"{tmp}/gen.yaml", "w").write(f"""pipeline: gen
sources:
  gen: {{plugin: callgen, seed: 5, calls: 1500, agents: 30, rate: 0.5}}
sinks:
  ev: {{plugin: file, inputs: [gen.callthread], path: '{tmp}/events.jsonl'}}
  n: {{plugin: "null", inputs: [gen.agentstate]}}
""")
subprocess.run([os.environ["MARTFLOW"], "run", f"{tmp}/gen.yaml"], check=True, stderr=subprocess.DEVNULL)
lines = [json.dumps({"key": "t1:" + json.loads(l)["CallThreadID"], **json.loads(l)}) for l in open(f"{tmp}/events.jsonl")]
half = len(lines) // 2
open(f"{tmp}/all.jsonl", "w").write("".join(x + "\n" for x in lines))
open(f"{tmp}/A.jsonl", "w").write("".join(x + "\n" for x in lines[:half]))
open(f"{tmp}/B.jsonl", "w").write("".join(x + "\n" for x in lines[half:]))
PY
NA=$(wc -l <"$TMP/A.jsonl" | tr -d ' ')

pipeline() { # yaml outdir follow store
    mkdir -p "$2"
    local store=""
    [[ -n $4 ]] && store="checkpoints: '$4', s3_endpoint: '\${env:S3_ENDPOINT}', s3_region: '\${env:S3_REGION}',
    s3_access_key: '\${env:S3_ACCESS_KEY}', s3_secret_key: '\${env:S3_SECRET_KEY}', s3_path_style: true,"
    cat >"$1" <<Y
pipeline: ckpt-s3
settings: {$store checkpoint_interval: 200ms, metrics_listen: '127.0.0.1:0'}
sources:
  in: {plugin: file, path: '$TMP/in.jsonl', key_field: key, lines_per_poll: 64, follow: $3}
transforms:
  ct: {plugin: callthread, inputs: [in], parallelism: 2}
sinks:
  ixn: {plugin: file, inputs: [ct.interactions], path: '$2/ixn.jsonl'}
  irf: {plugin: file, inputs: [ct.resources], path: '$2/irf.jsonl'}
  msf: {plugin: file, inputs: [ct.segments], path: '$2/msf.jsonl'}
Y
}
start() { # yaml log
    "$MARTFLOW" run "$1" >"$2" 2>&1 &
    PID=$!
    PORT=$(metrics_port "$2")
}

cp "$TMP/all.jsonl" "$TMP/in.jsonl"
pipeline "$TMP/clean.yaml" "$TMP/clean" false ""
MARTFLOW_DATA_DIR=$TMP/clean-data "$MARTFLOW" run "$TMP/clean.yaml" >"$TMP/clean.log" 2>&1 ||
    { cat "$TMP/clean.log" >&2; fail "the clean run failed"; }

STORE=s3://$S3_BUCKET/$S3_PREFIX/ckpt
cp "$TMP/A.jsonl" "$TMP/in.jsonl"
pipeline "$TMP/r1.yaml" "$TMP/r1" true "$STORE"
start "$TMP/r1.yaml" "$TMP/r1.log"
wait_for 60 metric_at_least "$PORT" martflow_file_lines_total "$NA" || fail "run 1 did not read A"
c0=$(metric "$PORT" martflow_checkpoints_total)
wait_for 30 metric_at_least "$PORT" martflow_checkpoints_total $((c0 + 2)) || fail "no checkpoint stored on S3"
kill -9 "$PID"; wait "$PID" 2>/dev/null || true
s3curl_keys "$S3_PREFIX/ckpt/" >"$TMP/keys" || fail "curl cannot list the checkpoints"
assert_contains "$TMP/keys" "^$S3_PREFIX/ckpt/chk-[0-9]{20}/MANIFEST$" "a manifest on S3"
assert_contains "$TMP/keys" "^$S3_PREFIX/ckpt/chk-[0-9]{20}/ct/1$" "worker 1's state on S3"
if grep -q "$S3_SECRET_KEY" "$TMP/r1.log"; then fail "the secret key is in the log"; fi

cat "$TMP/B.jsonl" >>"$TMP/in.jsonl"
pipeline "$TMP/r2.yaml" "$TMP/r2" false "$STORE"
"$MARTFLOW" run "$TMP/r2.yaml" >"$TMP/r2.log" 2>&1 || { cat "$TMP/r2.log" >&2; fail "run 2 failed"; }
assert_contains "$TMP/r2.log" 'restoring checkpoint [0-9]+ .* from s3://' "run 2 restored from S3"
python3 - "$TMP" <<'PY' || fail "the facts after a restore from S3 differ from the clean run's"
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
                    continue
                out[(r["table"], r["row"][ids[r["table"]]])] = r
    return out
a, b = last(["clean"]), last(["r1", "r2"])
if len(a) < 3000 or a != b:
    print(f"clean {len(a)} facts, checkpointed {len(b)}; {sum(1 for k in a if a[k] != b.get(k))} differ",
          file=sys.stderr)
    sys.exit(1)
PY

# the server down during a run: failures counted, the run goes on; back up: stored again
cp "$TMP/A.jsonl" "$TMP/in.jsonl"
pipeline "$TMP/r3.yaml" "$TMP/r3" true "$STORE-outage"
start "$TMP/r3.yaml" "$TMP/r3.log"
wait_for 30 metric_at_least "$PORT" martflow_checkpoints_total 1 || fail "run 3 stored no checkpoint"
"$top_srcdir/tests/services.sh" stop s3 >&2
wait_for 60 metric_at_least "$PORT" martflow_checkpoint_failures_total 1 || {
    "$top_srcdir/tests/services.sh" start s3 >&2; fail "no failure counted with the S3 server down"; }
cat "$TMP/B.jsonl" >>"$TMP/in.jsonl"
lines=$(wc -l <"$TMP/in.jsonl" | tr -d ' ')
wait_for 60 metric_at_least "$PORT" martflow_file_lines_total "$lines" || {
    "$top_srcdir/tests/services.sh" start s3 >&2; fail "the pipeline stopped reading with the S3 server down"; }
"$top_srcdir/tests/services.sh" start s3 >&2 || fail "cannot start the S3 server again"
c0=$(metric "$PORT" martflow_checkpoints_total)
wait_for 90 metric_at_least "$PORT" martflow_checkpoints_total $((c0 + 1)) || fail "no checkpoint after the outage"
kill -TERM "$PID"
wait "$PID" || { cat "$TMP/r3.log" >&2; fail "run 3 did not end cleanly"; }
assert_contains "$TMP/r3.log" 'checkpoint [0-9]+ failed' "the failed checkpoint is logged"
