#!/usr/bin/env bash
# charts/gsp's savepoint scripts, as rendered, against a real GSP
# (pipelines/gsp.yaml on the test broker, file:// checkpoints and savepoints
# as with a persistent claim) and a fake kubectl that plays the cluster: a
# "pod" is the Deployment's start script run in a restart loop (the kubelet),
# `kubectl exec` runs the command with the pod's environment, `scale
# --replicas=0` deletes the pod, the ConfigMap is a JSON file that the next
# container start reads (configMapKeyRef). Checked:
#   pre-upgrade: a savepoint with --stop (the pipeline stops, its container
#     restarts into the stop marker's sleep, not the pipeline), the pod
#     deleted, savepoint and restore recorded;
#   the new pod starts --from-savepoint that URL; post-upgrade: once it is
#     ready, restore is removed, and a container restart then starts from the
#     latest checkpoint, not the savepoint again;
#   take-savepoint (the CronJob): a savepoint without a stop, recorded.
source "$top_srcdir/tests/kafka/kafka_lib.sh"
source "$top_srcdir/tests/deploy/render.sh"
# the "pods" first (their kubelet loops are in ENGINE_PIDS; the containers are not)
hooks_cleanup() {
    local f
    for f in "$TMP"/k/pod*.kubelet; do [[ -f $f ]] && kill -9 "$(cat "$f")" 2>/dev/null || true; done
    for f in "$TMP"/k/pod*.container; do [[ -f $f ]] && kill -9 "$(cat "$f")" 2>/dev/null || true; done
    kafka_cleanup
}
trap hooks_cleanup EXIT

"${HELM[@]}" template gsp "$CHARTS/gsp" -n gsp --set persistence.existingClaim=gsp-state >"$TMP/gsp.yaml" ||
    fail "helm template gsp"
python3 - "$TMP/gsp.yaml" "$TMP" <<'PY' || fail "cannot extract the scripts"
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
out = sys.argv[2]
def script(spec):
    return spec["containers"][0]["args"][0]
for d in docs:
    if d["kind"] == "Deployment":
        c = d["spec"]["template"]["spec"]["containers"][0]
        open(out + "/pod.sh", "w").write(script(d["spec"]["template"]["spec"]))
        env = {e["name"]: e["value"] for e in c["env"] if "value" in e}
        with open(out + "/chart.env", "w") as f:
            for k, v in env.items():
                f.write("export %s=%s\n" % (k, "'" + v.replace("'", "'\\''") + "'"))
    elif d["kind"] == "CronJob":
        spec = d["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        open(out + "/cron.sh", "w").write(script(spec))
        job_env = {e["name"]: e["value"] for e in spec["containers"][0]["env"]}
    elif d["kind"] == "Job":
        hook = d["metadata"]["annotations"]["helm.sh/hook"].split(",")[0]
        open(out + "/" + hook + ".sh", "w").write(script(d["spec"]["template"]["spec"]))
with open(out + "/job.env", "w") as f:
    for k, v in job_env.items():
        f.write("export %s='%s'\n" % (k, v))
PY
for f in pod cron pre-upgrade post-upgrade; do [[ -s $TMP/$f.sh ]] || fail "no $f script rendered"; done
assert_contains "$TMP/job.env" "SAVEPOINT_DURABLE='true'" "a claim makes the savepoints durable"
# the pod's /tmp is its own emptyDir: the scripts' absolute /tmp paths move to it
sed -i "s#/tmp/martflow-stopped#\$POD_TMP/martflow-stopped#g" "$TMP/pod.sh" "$TMP/pre-upgrade.sh"

IN=$(name voice)
topic "$IN" 1
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# the chart's environment, with this machine's broker, topics and directories
cat "$TMP/chart.env" >"$TMP/pod.env"
cat >>"$TMP/pod.env" <<ENV
export KAFKA_BOOTSTRAP=$B KAFKA_SECRET_FILE= TENANT_ID=hooks-$RUN_ID TOPIC_VOICE_CALLTHREAD=$IN
export TOPIC_VOICE_AGENTSTATE= TOPIC_VOICE_OUTBOUND= TOPIC_GCA_CFG= TOPIC_GSP_IXN= TOPIC_GSP_SM= TOPIC_GSP_CFG= TOPIC_GSP_OUTBOUND= TOPIC_DIGITAL_ITX= TOPIC_DIGITAL_AGENTSTATE=
export GSP_METRICS_LISTEN=127.0.0.1:$port GSP_CHECKPOINTS=file://$TMP/claim/checkpoints GSP_SAVEPOINTS=file://$TMP/claim/savepoints
export GSP_CHECKPOINT_INTERVAL=500ms GSP_DEAD_LETTER=$TMP/claim/dead.jsonl MARTFLOW_DATA_DIR=$TMP/claim/state
export GSP_PIPELINE=$top_srcdir/pipelines/gsp.yaml PATH=$(dirname "$MARTFLOW"):\$PATH
ENV
grep -q "^export GSP_PIPELINE='/usr/share/martflow/pipelines/gsp.yaml'" "$TMP/pod.env" || fail "the chart's GSP_PIPELINE"
mkdir -p "$TMP/claim" "$TMP/bin" "$TMP/k"

# pod N: the kubelet's loop over the container (a new container each time,
# GSP_RESTORE_SAVEPOINT read from the ConfigMap then); its /tmp is new per pod
start_pod() {
    local n=$1
    mkdir -p "$TMP/k/pod$n.tmp"
    (
        while [[ ! -e $TMP/k/pod$n.deleted ]]; do
            restore=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["data"].get("restore",""))' "$TMP/k/cm.json" 2>/dev/null || true)
            (source "$TMP/pod.env"; export POD_TMP=$TMP/k/pod$n.tmp GSP_RESTORE_SAVEPOINT=$restore
             exec sh "$TMP/pod.sh") >>"$TMP/pod$n.log" 2>&1 &
            echo $! >"$TMP/k/pod$n.container"
            echo x >>"$TMP/k/pod$n.starts"
            wait $! || true
            echo "--- container exited" >>"$TMP/pod$n.log"
        done
    ) &
    echo $! >"$TMP/k/pod$n.kubelet"
    ENGINE_PIDS+=("$!")
    echo "$n" >"$TMP/k/current"
}

cat >"$TMP/bin/kubectl" <<'KUBECTL'
#!/usr/bin/env bash
# a fake kubectl for tests/deploy/hooks.sh: $K is its state
set -euo pipefail
echo "kubectl $*" >>"$K/calls.log"
n=$(cat "$K/current")
ready() { curl -fs -o /dev/null "http://127.0.0.1:$PORT/readyz"; }
cm() { python3 - "$K/cm.json" "$@"; }
case "$1 $2" in
"get deploy") if ready; then echo -n 1; fi ;;
"get pods") if kill -0 "$(cat "$K/pod$n.kubelet")" 2>/dev/null; then echo "pod/gsp-$n"; fi ;;
"get configmap") cm <<'PY'
import json, sys
print(json.load(open(sys.argv[1]))["data"].get("restore", ""), end="")
PY
    ;;
"exec deploy/gsp")
    while [[ $1 != -- ]]; do shift; done
    shift
    source "$POD_ENV"; export POD_TMP=$K/pod$n.tmp
    exec "$@" ;;
"scale deploy/gsp")
    [[ $3 == --replicas=0 ]] || exit 1
    # a kubelet faster than the API: the stopped container restarts and reaches
    # its marker's sleep first (waiting for the start alone raced: under ASan the
    # TERM below killed the new container before it said why it sleeps)
    for i in $(seq 300); do
        (($(wc -l <"$K/pod$n.starts") >= 2)) && grep -q "stopped for an upgrade" "$K/../pod$n.log" && break
        sleep 0.1
    done
    touch "$K/pod$n.deleted"
    kill -TERM "$(cat "$K/pod$n.container")" 2>/dev/null || true ;;
"patch configmap")
    [[ -f $K/cm.json ]] || { echo "configmaps not found" >&2; exit 1; }
    cm "$5" "$7" <<'PY'
import json, sys
cm = json.load(open(sys.argv[1]))
if sys.argv[2] == "merge":
    cm["data"].update(json.loads(sys.argv[3])["data"])
else:
    for op in json.loads(sys.argv[3]):
        assert op["op"] == "remove" and op["path"].startswith("/data/")
        del cm["data"][op["path"][6:]]
json.dump(cm, open(sys.argv[1], "w"))
PY
    ;;
"create configmap")
    shift 3
    cm "$@" <<'PY'
import json, sys
data = dict(a[len("--from-literal="):].split("=", 1) for a in sys.argv[2:])
json.dump({"data": data}, open(sys.argv[1], "w"))
PY
    ;;
"rollout status") for i in $(seq 100); do ready && exit 0; sleep 0.2; done; exit 1 ;;
*) echo "fake kubectl: $* not played" >&2; exit 1 ;;
esac
KUBECTL
chmod +x "$TMP/bin/kubectl"
job() { # job SCRIPT: run a hook or cron script as its Job would (its env, kubectl on PATH)
    (source "$TMP/job.env"; export K=$TMP/k PORT=$port POD_ENV=$TMP/pod.env PATH=$TMP/bin:$PATH
     export GSP_PIPELINE=$top_srcdir/pipelines/gsp.yaml SAVEPOINT_TIMEOUT=1m
     exec sh "$TMP/$1.sh") >"$TMP/$1.log" 2>&1
}
cmval() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["data"].get(sys.argv[2], "<none>"))' "$TMP/k/cm.json" "$1"; }

# ---- version 1 runs; the pre-upgrade hook --------------------------------------------
start_pod 1
wait_for 30 curl -fs -o /dev/null "http://127.0.0.1:$port/readyz" || { cat "$TMP/pod1.log" >&2; fail "pod 1 not ready"; }
wait_for 30 metric_at_least "$port" martflow_checkpoints_total 2 || fail "pod 1 takes no checkpoints"
job pre-upgrade || { cat "$TMP/pre-upgrade.log" >&2; fail "the pre-upgrade hook failed"; }
SP=$(cmval savepoint)
assert_contains "$SP" "^file://$TMP/claim/savepoints/sp-[0-9]+$" "the savepoint recorded"
assert_eq "$SP" "$(cmval restore)" "restore: the same savepoint"
[[ -f ${SP#file://}/MANIFEST ]] || fail "the savepoint $SP has no manifest"
assert_contains "$TMP/pre-upgrade.log" "savepoint \(stopped\): $SP" "the hook's log"
assert_contains "$TMP/k/calls.log" 'kubectl exec deploy/gsp -c gsp -- sh -c' "the savepoint taken in the GSP container"
assert_contains "$TMP/k/calls.log" 'kubectl scale deploy/gsp --replicas=0' "the old version scaled to 0"
wait_for 10 bash -c "! kill -0 $(cat "$TMP/k/pod1.kubelet") 2>/dev/null" || fail "pod 1 not deleted"
assert_contains "$TMP/pod1.log" "savepoint stored: $SP.*" "the pipeline stored the savepoint"
# after --stop the container ran again: into the marker's sleep, not the pipeline
assert_contains "$TMP/pod1.log" "stopped for an upgrade at savepoint $SP" "the stopped version did not start again"
(($(wc -l <"$TMP/k/pod1.starts") >= 2)) || fail "pod 1's container did not restart after the stop"
assert_eq 1 "$(grep -c 'metrics, health and readiness on' "$TMP/pod1.log")" "pod 1 ran the pipeline once"

# ---- version 2 starts from the savepoint; the post-upgrade hook --------------------------
start_pod 2
wait_for 30 grep -q "restoring savepoint $SP" "$TMP/pod2.log" || { cat "$TMP/pod2.log" >&2; fail "pod 2 did not start from $SP"; }
job post-upgrade || { cat "$TMP/post-upgrade.log" >&2; fail "the post-upgrade hook failed"; }
assert_eq "<none>" "$(cmval restore)" "restore removed after the rollout"
assert_eq "$SP" "$(cmval savepoint)" "the savepoint kept"
# a container restart now starts from the latest checkpoint
c0=$(metric "$port" martflow_checkpoints_total)
wait_for 30 metric_at_least "$port" martflow_checkpoints_total $((c0 + 1)) || fail "pod 2 takes no checkpoints"
kill -TERM "$(cat "$TMP/k/pod2.container")"
wait_for 30 grep -q 'restoring checkpoint' "$TMP/pod2.log" || { tail -5 "$TMP/pod2.log" >&2; fail "the restarted container did not restore its latest checkpoint"; }
assert_eq 1 "$(grep -c "restoring savepoint" "$TMP/pod2.log")" "the savepoint restored once only"

# ---- the take-savepoint CronJob: no stop ---------------------------------------------
wait_for 30 curl -fs -o /dev/null "http://127.0.0.1:$port/readyz" || fail "pod 2 not ready after its restart"
job cron || { cat "$TMP/cron.log" >&2; fail "the take-savepoint job failed"; }
SP2=$(cmval savepoint)
[[ $SP2 != "$SP" && -f ${SP2#file://}/MANIFEST ]] || fail "the cron job's savepoint: $SP2"
curl -fs -o /dev/null "http://127.0.0.1:$port/healthz" || fail "pod 2 stopped after a savepoint without --stop"
touch "$TMP/k/pod2.deleted"
kill -TERM "$(cat "$TMP/k/pod2.container")"
note "pre-upgrade $SP, restored once, cron $SP2"
