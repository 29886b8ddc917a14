#!/usr/bin/env bash
# `martflow savepoint` and `run --from-savepoint` when something is wrong:
# each error says what, exits 2 (the file or command line) or 1 (the running
# pipeline), and a failed savepoint leaves the pipeline running — with
# --stop too: its sources, held at the barrier, read on.
source "$top_srcdir/tests/lib.sh"
PID=
trap '[[ -z $PID ]] || kill "$PID" 2>/dev/null || true; cleanup_tmp' EXIT # a failed assertion leaves no pipeline running

seq 1 2000 | sed 's/.*/{"n": &}/' >"$TMP/in.jsonl"
pipeline() { # yaml name settings
    cat >"$1" <<Y
pipeline: $2
settings: {$3}
sources:
  in: {plugin: file, path: '$TMP/in.jsonl', follow: true, lines_per_poll: 50}
sinks:
  out: {plugin: file, inputs: [in], path: '$TMP/out-$2.jsonl'}
Y
}
# expect RC PATTERN ARGS...: martflow ARGS exits RC with PATTERN in its
# messages (stderr; run logs on stdout); savepoint prints no URL
expect() {
    local want=$1 pat=$2 rc=0
    shift 2
    "$MARTFLOW" "$@" >"$TMP/out" 2>"$TMP/err" || rc=$?
    assert_eq "$want" "$rc" "exit status of martflow $*"
    if [[ $1 == savepoint ]]; then
        assert_contains "$TMP/err" "$pat" "message of martflow $*"
        [[ ! -s $TMP/out ]] || fail "martflow $* printed a URL: $(cat "$TMP/out")"
    else
        cat "$TMP/out" >>"$TMP/err"
        assert_contains "$TMP/err" "$pat" "message of martflow $*"
    fi
}
STORE=file://$TMP/store

# ---- the file or the command line ------------------------------------------------------------
pipeline "$TMP/none.yaml" p "checkpoints: '$STORE', metrics_listen: '127.0.0.1:9'"
expect 2 "settings.savepoints is not set: no location for savepoints" savepoint "$TMP/none.yaml"
pipeline "$TMP/nolisten.yaml" p "checkpoints: '$STORE', savepoints: '$STORE'"
expect 2 "settings.metrics_listen is empty" savepoint "$TMP/nolisten.yaml"
pipeline "$TMP/port0.yaml" p "checkpoints: '$STORE', savepoints: '$STORE', metrics_listen: '127.0.0.1:0'"
expect 2 "has port 0" savepoint "$TMP/port0.yaml"
expect 2 "--timeout 'soon'" savepoint "$TMP/port0.yaml" --listen 127.0.0.1:9 --timeout soon
expect 2 "exclude each other" run "$TMP/port0.yaml" --from-checkpoint none --from-savepoint "$STORE/sp-1"
expect 2 "which pipeline file" savepoint

# ---- nothing listening ------------------------------------------------------------------------
free_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
expect 1 "pipeline 'p' is not running, or not listening at http://127.0.0.1:$free_port" \
    savepoint "$TMP/port0.yaml" --listen "127.0.0.1:$free_port"

# ---- run: savepoints need checkpoints; --from-savepoint of nothing --------------------------------
pipeline "$TMP/nockpt.yaml" p "savepoints: '$STORE'"
expect 1 "settings.savepoints needs settings.checkpoints" run "$TMP/nockpt.yaml"
expect 1 "not a savepoint URL" run "$TMP/port0.yaml" --from-savepoint "$STORE/chk-00000000000000000001"
expect 1 "--from-savepoint $STORE/sp-00000000000000000007: not usable" \
    run "$TMP/port0.yaml" --from-savepoint "$STORE/sp-00000000000000000007"

# ---- a running pipeline that cannot take one -----------------------------------------------------
pipeline "$TMP/a.yaml" a "checkpoints: '$STORE', metrics_listen: '127.0.0.1:0'"
"$MARTFLOW" run "$TMP/a.yaml" >"$TMP/a.log" 2>&1 &
PID=$!
PORT=$(metrics_port "$TMP/a.log")
# the file asks for savepoints, the running pipeline has none configured
expect 1 "settings.savepoints is not set in the running pipeline 'a'" \
    savepoint "$TMP/a.yaml" --set "settings.savepoints=$STORE" --listen "127.0.0.1:$PORT"
pipeline "$TMP/b.yaml" b "checkpoints: '$STORE', savepoints: '$STORE'"
expect 1 "this listener runs pipeline 'a', not 'b'" savepoint "$TMP/b.yaml" --listen "127.0.0.1:$PORT"
assert_eq 404 "$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$PORT/checkpoint")" "POST elsewhere"
assert_eq 405 "$(curl -s -o /dev/null -w '%{http_code}' -X PUT "http://127.0.0.1:$PORT/savepoint")" "PUT /savepoint"
kill -TERM "$PID"
wait "$PID" || { cat "$TMP/a.log" >&2; fail "pipeline a did not stop cleanly"; }

# ---- the savepoint cannot be stored: reported, the pipeline goes on (--stop too) -----------------
mkdir -p "$TMP/ro"
: >"$TMP/ro/.mf-tmp" # where the file store stages its writes: a file, not a directory
pipeline "$TMP/c.yaml" c "checkpoints: '$STORE-c', savepoints: 'file://$TMP/ro', metrics_listen: '127.0.0.1:0'"
"$MARTFLOW" run "$TMP/c.yaml" >"$TMP/c.log" 2>&1 &
PID=$!
PORT=$(metrics_port "$TMP/c.log")
wait_for 30 metric_at_least "$PORT" martflow_file_lines_total 2000 || fail "pipeline c did not read its input"
expect 1 "savepoint failed: .*cannot create a staging file" savepoint "$TMP/c.yaml" --listen "127.0.0.1:$PORT" --stop
assert_eq 1 "$(metric "$PORT" martflow_savepoint_failures_total)" "martflow_savepoint_failures_total"
assert_eq 0 "$(metric "$PORT" martflow_savepoints_total)" "martflow_savepoints_total after a failure"
assert_contains "$TMP/c.log" "savepoint failed \(the pipeline goes on\)" "the failure is logged"
# still running and reading: the held sources were released
seq 2001 2500 | sed 's/.*/{"n": &}/' >>"$TMP/in.jsonl"
wait_for 30 metric_at_least "$PORT" martflow_file_lines_total 2500 || fail "the sources stayed held after a failed savepoint"
curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null || fail "unhealthy after a failed savepoint"
kill -TERM "$PID"
wait "$PID" || { cat "$TMP/c.log" >&2; fail "pipeline c did not stop cleanly"; }
assert_lines 2500 "$TMP/out-c.jsonl" "pipeline c wrote every line once"
