#!/usr/bin/env bash
# Savepoints on file:// (docs/checkpoints.md, "Savepoints"):
#  1. savepoint --stop mid-stream, start from it (tests/gsp/savepoint_lib.sh):
#     run 1 + run 2 wrote exactly the clean run's facts. The savepoints share
#     the checkpoints' directory (checkpoint_retain 1): retention deletes old
#     chk-* but never an sp-*.
#  2. A savepoint without --stop (SIGUSR1, then POST twice): the pipeline goes
#     on; numbered sp-2, sp-3, ... after the one there; every one verifies.
source "$top_srcdir/tests/lib.sh"
source "$top_srcdir/tests/gsp/savepoint_lib.sh"

sp_make_input
sp_clean_run
STORE=file://$TMP/store
SP_SETTINGS="checkpoints: '$STORE', savepoints: '$STORE',"
sp_flow file "$STORE"
assert_eq "$STORE/sp-00000000000000000001" "$SP_URL" "the first savepoint's URL"
[[ -f $TMP/store/sp-00000000000000000001/MANIFEST ]] || fail "the savepoint has no manifest"
chk=$(ls -d "$TMP"/store/chk-*/MANIFEST | wc -l)
((chk == 1)) || fail "checkpoint_retain 1 kept $chk complete checkpoints"

# ---- 2. savepoints while the pipeline goes on ---------------------------------------------
d=$TMP/more
sp_pipeline "$d.yaml" 1 "$d" true "$TMP/file/in.jsonl"
MARTFLOW_DATA_DIR=$d/data "$MARTFLOW" run "$d.yaml" --from-savepoint "$SP_URL" >"$d.log" 2>&1 &
PID=$!
PORT=$(metrics_port "$d.log")
kill -USR1 "$PID"
wait_for 30 grep -q "savepoint stored: $STORE/sp-00000000000000000002" "$d.log" ||
    { cat "$d.log" >&2; fail "SIGUSR1 took no savepoint"; }
out=$("$MARTFLOW" savepoint "$d.yaml" --listen "127.0.0.1:$PORT") || fail "savepoint without --stop failed"
assert_eq "$STORE/sp-00000000000000000003" "$out" "the next savepoint's URL"
kill -0 "$PID" || fail "the pipeline stopped after a savepoint without --stop"
curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null || fail "not healthy after a savepoint"
assert_eq 2 "$(metric "$PORT" martflow_savepoints_total)" "martflow_savepoints_total"
(($(metric "$PORT" martflow_savepoint_size_bytes) > 1000)) || fail "martflow_savepoint_size_bytes not set"
# a savepoint is no checkpoint: checkpoints go on in their own numbering
c0=$(metric "$PORT" martflow_checkpoints_total)
wait_for 30 metric_at_least "$PORT" martflow_checkpoints_total $((c0 + 2)) || fail "no checkpoints after savepoints"
kill -TERM "$PID"
wait "$PID" || { cat "$d.log" >&2; fail "the pipeline did not stop cleanly"; }
for i in 1 2 3; do
    [[ -f $TMP/store/sp-0000000000000000000$i/MANIFEST ]] || fail "savepoint $i was deleted"
done
# each savepoint starts a run
for i in 2 3; do
    sp_pipeline "$TMP/v$i.yaml" 1 "$TMP/v$i" false "$TMP/file/in.jsonl"
    MARTFLOW_DATA_DIR=$TMP/v$i/data "$MARTFLOW" run "$TMP/v$i.yaml" --from-savepoint "$STORE/sp-0000000000000000000$i" \
        >"$TMP/v$i.log" 2>&1 || { cat "$TMP/v$i.log" >&2; fail "savepoint $i does not start a run"; }
    assert_contains "$TMP/v$i.log" "restoring savepoint $STORE/sp-0000000000000000000$i " "run from savepoint $i"
done
