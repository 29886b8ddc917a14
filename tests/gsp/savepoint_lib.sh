# tests/gsp/savepoint_lib.sh — "savepoint, stop, start from it: same output
# as an uninterrupted run" (sourced after tests/lib.sh or tests/s3/s3_lib.sh
# by tests/gsp/savepoint_callthread.sh and tests/s3/savepoint_s3.sh).
#
# file source -> callthread -> three file sinks, over callgen's calls plus a
# call open since the first line. Run 1 (parallelism 2) follows a file that
# a writer appends to; mid-stream `martflow savepoint --stop` takes a
# savepoint and stops the pipeline. Run 2 (parallelism 1: the keyed state is
# split again) starts with --from-savepoint and a fresh data_dir, reads to
# the end. The facts of run 1 and run 2 together, line by line, are the
# clean run's: nothing lost, nothing twice (the sources hold at the
# savepoint's barrier, so run 1 wrote exactly what the savepoint accounts for).

sp_make_input() {
    python3 - "$TMP" <<'PY' || fail "cannot make the input"
import json, subprocess, sys, os
tmp = sys.argv[1]
open(f"{tmp}/gen.yaml", "w").write(f"""pipeline: gen
sources:
  gen: {{plugin: callgen, seed: 23, calls: 2500, agents: 40, rate: 0.5}}
sinks:
  ev: {{plugin: file, inputs: [gen.callthread], path: '{tmp}/events.jsonl'}}
  n: {{plugin: "null", inputs: [gen.agentstate]}}
""")
subprocess.run([os.environ["MARTFLOW"], "run", f"{tmp}/gen.yaml"], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
lines = [json.dumps({"key": "t1:" + e["CallThreadID"], **e}) for e in map(json.loads, open(f"{tmp}/events.jsonl"))]
first = json.loads(lines[0])
lines.insert(0, json.dumps({"key": "t1:OPEN-SINCE-START", "id": "EventRinging", "time": first["time"], "seq": 1,
                            "CallThreadID": "OPEN-SINCE-START", "ConnID": "open-1", "ThisDN": "7001",
                            "ThisDNType": "Extension", "AgentID": "a-open", "CallType": "Inbound",
                            "CallID": "open-call", "ANI": "+15550000", "DNIS": "8005550000"}))
open(f"{tmp}/all.jsonl", "w").write("".join(x + "\n" for x in lines))
PY
    SP_TOTAL=$(wc -l <"$TMP/all.jsonl" | tr -d ' ')
}

# sp_pipeline YAML PARALLELISM OUTDIR FOLLOW INPUT: with $SP_SETTINGS (the
# checkpoint and savepoint locations, s3_* ...)
sp_pipeline() {
    mkdir -p "$3"
    cat >"$1" <<Y
pipeline: sp-callthread
settings: {${SP_SETTINGS:-} checkpoint_interval: 100ms, checkpoint_retain: 1, metrics_listen: '127.0.0.1:0'}
sources:
  in: {plugin: file, path: '$5', key_field: key, lines_per_poll: 32, follow: $4}
transforms:
  ct: {plugin: callthread, inputs: [in], parallelism: $2}
sinks:
  ixn: {plugin: file, inputs: [ct.interactions], path: '$3/ixn.jsonl'}
  irf: {plugin: file, inputs: [ct.resources], path: '$3/irf.jsonl'}
  msf: {plugin: file, inputs: [ct.segments], path: '$3/msf.jsonl'}
Y
}

sp_clean_run() {
    sp_pipeline "$TMP/clean.yaml" 1 "$TMP/clean" false "$TMP/all.jsonl"
    MARTFLOW_DATA_DIR=$TMP/clean/data "$MARTFLOW" run "$TMP/clean.yaml" >"$TMP/clean.log" 2>&1 ||
        { cat "$TMP/clean.log" >&2; fail "the clean run failed"; }
}

# sp_flow NAME SP_LOCATION: run 1, savepoint --stop, run 2 from it; compare.
# Sets SP_URL to the savepoint taken.
sp_flow() {
    local name=$1 loc=$2 d=$TMP/$1
    mkdir -p "$d"
    : >"$d/in.jsonl"
    sp_pipeline "$d/r1.yaml" 2 "$d/r1" true "$d/in.jsonl"
    MARTFLOW_DATA_DIR=$d/data1 "$MARTFLOW" run "$d/r1.yaml" >"$d/r1.log" 2>&1 &
    local pid=$!
    local port
    port=$(metrics_port "$d/r1.log")
    # the writer appends the input in slices while run 1 reads
    python3 - "$TMP/all.jsonl" "$d/in.jsonl" <<'PY' &
import sys, time
lines = open(sys.argv[1]).readlines()
with open(sys.argv[2], "a") as out:
    for i in range(0, len(lines), 400):
        out.write("".join(lines[i:i + 400]))
        out.flush()
        time.sleep(0.1)
PY
    local writer=$!
    wait_for 60 metric_at_least "$port" martflow_file_lines_total $((SP_TOTAL * 2 / 5)) ||
        fail "$name: run 1 did not read 40% of the input"
    "$MARTFLOW" savepoint "$d/r1.yaml" --listen "127.0.0.1:$port" --stop --timeout 60s >"$d/sp.out" 2>"$d/sp.err" ||
        { cat "$d/sp.err" "$d/r1.log" >&2; fail "$name: martflow savepoint --stop failed"; }
    SP_URL=$(cat "$d/sp.out")
    [[ $SP_URL == "$loc"/sp-[0-9]* ]] || fail "$name: the savepoint URL '$SP_URL' is not under $loc"
    assert_contains "$d/sp.err" "pipeline 'sp-callthread' stopped" "$name: savepoint --stop waits for the stop"
    wait "$pid" || { cat "$d/r1.log" >&2; fail "$name: run 1 did not stop cleanly after the savepoint"; }
    assert_contains "$d/r1.log" "savepoint stored: $SP_URL" "$name: run 1 logs the savepoint"
    wait "$writer"
    local read1
    read1=$(grep -o '"node":"in"[^}]*"msg":"in=[0-9]*' "$d/r1.log" | grep -o 'in=[0-9]*' | tail -1 || true)
    # run 2: from the savepoint, one worker, another data_dir (no positions.json)
    sp_pipeline "$d/r2.yaml" 1 "$d/r2" false "$d/in.jsonl"
    MARTFLOW_DATA_DIR=$d/data2 "$MARTFLOW" run "$d/r2.yaml" --from-savepoint "$SP_URL" >"$d/r2.log" 2>&1 ||
        { cat "$d/r2.log" >&2; fail "$name: run 2 from the savepoint failed"; }
    assert_contains "$d/r2.log" "restoring savepoint $SP_URL" "$name: run 2 restores the savepoint"

    python3 - "$TMP/clean" "$d/r1" "$d/r2" "$SP_TOTAL" <<'PY' || fail "$name: run 1 + run 2 differ from the clean run"
import collections, sys
clean, r1, r2, total = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
bad = False
for t in ("ixn", "irf", "msf"):
    c = collections.Counter(open(f"{clean}/{t}.jsonl"))
    a = collections.Counter(open(f"{r1}/{t}.jsonl"))
    b = collections.Counter(open(f"{r2}/{t}.jsonl"))
    if not a or not b:
        print(f"{t}: run 1 wrote {sum(a.values())} facts, run 2 {sum(b.values())}: the savepoint was not mid-stream",
              file=sys.stderr)
        bad = True
    got = a + b
    missing, extra = c - got, got - c
    if missing or extra or len(c) < 100:
        print(f"{t}: clean {sum(c.values())} lines, runs {sum(got.values())}: {sum(missing.values())} missing, "
              f"{sum(extra.values())} extra; e.g. {list((missing + extra).elements())[:2]}", file=sys.stderr)
        bad = True
sys.exit(1 if bad else 0)
PY
}
