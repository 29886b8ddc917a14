#!/usr/bin/env bash
# Data Export (the gim sink's jobs:, kind export; docs/plugins/gim.md) against
# the real PostgreSQL and versitygw:
#   - the loader runs the job by itself after its first cycle (ctl_etl_history,
#     gim_job_runs_total), then `martflow job` runs it after each of two more
#     loads (new interactions, and text with commas, quotes, newlines and
#     non-ASCII): curl (--aws-sigv4) downloads every folder, and
#     export_check.py finds each row new in exactly one run, its current
#     version equal to the database's, the checksums and counts of the
#     manifests right, the CSVs RFC 4180 (CRLF) that Python's csv reads;
#   - S3 stops in the middle of an export (held on a table lock after the
#     first files were stored): the run fails (exit 1, FAILED rows), leaves no
#     manifest, and the next run exports the same range again;
#   - `martflow job` with an unknown name lists the jobs with file:line.
S3_EXCLUSIVE=1 # stops the S3 server: no other S3 test meanwhile
source "$top_srcdir/tests/s3/s3_lib.sh" # first: its server's environment names the default database
source "$top_srcdir/tests/gim/gim_lib.sh" # then the test's own database
LOCKER=""
export_cleanup() {
    [[ -n $LOCKER ]] && { kill "$LOCKER" 2>/dev/null || true; wait "$LOCKER" 2>/dev/null || true; }
    "$top_srcdir/tests/services.sh" start s3 >/dev/null 2>&1 || true
    sink_cleanup
}
trap export_cleanup EXIT

TARGET="s3://$S3_BUCKET/$S3_PREFIX"
JOBS="s3_endpoint: $S3_ENDPOINT
    s3_access_key: $S3_ACCESS_KEY
    s3_secret_key: $S3_SECRET_KEY
    jobs:
      export:
        kind: export
        every: 1h
        retry: 1s
        target: $TARGET
      nightly_file: {kind: export, every: 1d, target: \"file://$TMP/files\"}"

# load N FIRST: N GSP records from interaction FIRST on, through the loader (to its end)
load() {
    $GEN "$1" --first="$2" >"$TMP/in.jsonl"
    gim_yaml "$TMP/p.yaml" "$TMP/in.jsonl" "positions: false" "$JOBS"
    run_pipeline "$TMP/p.yaml" "$TMP/load.log"
}
export_now() { "$MARTFLOW" job "$TMP/p.yaml" export >"$TMP/job.log" 2>&1; }
runs() { value "SELECT count(*) FROM ctl_export_history WHERE status = '$1' AND target = '$TARGET'"; }

# 1. the loader runs the job itself, once its first cycle committed
$GEN 3000 >"$TMP/in.jsonl"
gim_yaml "$TMP/p.yaml" "$TMP/in.jsonl" "follow: true, positions: false" "$JOBS"
"$MARTFLOW" check "$TMP/p.yaml" >/dev/null || fail "the pipeline with jobs does not check"
engine "$TMP/p.yaml" "$TMP/log"
port=$(metrics_port "$TMP/log")
job_ok() { curl -fsS "http://127.0.0.1:$port/metrics" | grep -Eq 'gim_job_runs_total\{[^}]*job="'"$1"'"[^}]*status="success"[^}]*\} [1-9]'; }
wait_for 30 job_ok export || { tail -5 "$TMP/log" >&2; fail "the loader did not run the export job"; }
wait_for 30 job_ok nightly_file || fail "the loader did not run the second job"
m=$(curl -fsS "http://127.0.0.1:$port/metrics")
assert_contains "$m" 'gim_job_duration_seconds\{[^}]*job="export"' "job duration metric"
assert_contains "$m" 'gim_job_last_success_seconds\{[^}]*job="export"[^}]*\} [1-9]' "last success metric"
kill -TERM "$ENGINE"; wait "$ENGINE" || fail "the loader exited $?"
assert_eq 1 "$(value "SELECT count(*) FROM ctl_etl_history WHERE job_name = 'export' AND status = 'SUCCESS' AND end_ts >= start_ts AND duration_ms >= 0")" "the loader's run in ctl_etl_history"
assert_eq 1 "$(runs SUCCESS)" "the loader's run in ctl_export_history"

# 2. two more loads of new interactions, each followed by `martflow job`; the last with awkward text
export_now || { cat "$TMP/job.log" >&2; fail "martflow job export failed"; }
load 2000 1000
export_now || { cat "$TMP/job.log" >&2; fail "martflow job export failed (2)"; }
python3 - >"$TMP/odd.jsonl" <<'PY'
import json
odd = ['comma, "quoted" and\nnew line', 'crlf\r\ninside', 'non-ASCII: é ß 日本 🙂', '"', ',', '']
for i, s in enumerate(odd):
    print(json.dumps({"table": "INTERACTION_FACT", "op": "upsert", "tenant": "t1", "row": {
        "interaction_id": 900000 + i, "media_type": "VOICE", "interaction_type": "Inbound",
        "source_address": s, "target_address": s[::-1], "start_ts": 1711848600, "active_flag": 1}}))
PY
$GEN 1500 --first=2000 >>"$TMP/odd.jsonl"
gim_yaml "$TMP/p.yaml" "$TMP/odd.jsonl" "positions: false" "$JOBS"
run_pipeline "$TMP/p.yaml" "$TMP/load.log"
assert_eq 6 "$(value "SELECT count(*) FROM interaction_fact WHERE interaction_id BETWEEN 900000 AND 900005")" "the awkward rows are loaded"
export_now || { cat "$TMP/job.log" >&2; fail "martflow job export failed (3)"; }
(($(runs SUCCESS) >= 3)) || fail "only $(runs SUCCESS) successful runs" # the loader's may have taken all of the first load
assert_eq 0 "$(value "SELECT count(*) FROM ctl_export_history WHERE status <> 'SUCCESS'")" "runs not successful"
assert_eq 0 "$(value "SELECT count(*) FROM ctl_etl_history WHERE job_name = 'export' AND status <> 'SUCCESS'")" "job runs not successful"

# downloaded with curl: every folder of a successful run, in run order
check_all() {
    rm -rf "$TMP/dl" "$TMP/db"
    mkdir -p "$TMP/dl" "$TMP/db"
    s3curl_keys "$S3_PREFIX/" >"$TMP/keys" || fail "cannot list the exports"
    while read -r k; do
        mkdir -p "$TMP/dl/$(dirname "${k#"$S3_PREFIX"/}")"
        s3curl_get "$k" "$TMP/dl/${k#"$S3_PREFIX"/}" || fail "cannot download $k"
    done <"$TMP/keys"
    for t in $(value "SELECT c.relname FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'update_audit_key' WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p') AND NOT c.relispartition AND c.relname NOT LIKE 'ctl\_%' AND c.relname NOT LIKE 'gim\_%'"); do
        pg_sql -c "COPY (SELECT * FROM $t) TO STDOUT (FORMAT csv, HEADER)" >"$TMP/db/$t.csv"
    done
    python3 "$top_srcdir/tests/gim/export_check.py" "$TMP/dl" "$TMP/db" \
        $(value "SELECT folder_name FROM ctl_export_history WHERE status = 'SUCCESS' AND target = '$TARGET' ORDER BY export_history_key")
}
out=$(check_all) || fail "the S3 export does not match the database"
note "$out"
[[ $out =~ ^rows\ ([0-9]+)\ new ]] && ((BASH_REMATCH[1] > 3000)) || fail "too few rows checked: $out"
# the awkward text, as Python reads it
python3 - "$TMP/dl" <<'PY' || fail "the awkward values are not in the export as they are"
import csv, gzip, io, os, sys
want = {'comma, "quoted" and\nnew line', 'crlf\r\ninside', 'non-ASCII: é ß 日本 🙂', '"', ','}
got = set()
for f in os.listdir(sys.argv[1]):
    p = os.path.join(sys.argv[1], f, "interaction_fact.csv.gz")
    if os.path.exists(p):
        for r in csv.DictReader(io.StringIO(gzip.decompress(open(p, "rb").read()).decode("utf-8"), newline="")):
            got.add(r["source_address"])
sys.exit(0 if want <= got else "missing: %r" % (want - got))
PY
# the file:// job (run by the loader only) has a complete folder too
ls "$TMP"/files/export_*/manifest.json >/dev/null 2>&1 || fail "no file:// export"

# 3. S3 stops in the middle of an export
load 1000 3000
mkfifo "$TMP/lock.sql"
pg_sql <"$TMP/lock.sql" >/dev/null 2>&1 &
LOCKER=$!
exec 8>"$TMP/lock.sql"
echo "BEGIN; LOCK TABLE tenant IN ACCESS EXCLUSIVE MODE;" >&8 # the last table exported
locked() { (($(value "SELECT count(*) FROM pg_locks WHERE relation = 'tenant'::regclass AND mode = 'AccessExclusiveLock' AND granted") == 1)); }
wait_for 10 locked || fail "cannot lock tenant"
"$MARTFLOW" job "$TMP/p.yaml" export >"$TMP/fail.log" 2>&1 &
job=$!
folder_started() { (($(s3curl_keys "$S3_PREFIX/" | grep -c "interaction_fact.csv.gz") == 5)); }
wait_for 20 folder_started || fail "the export did not start storing files"
"$top_srcdir/tests/services.sh" stop s3 >/dev/null 2>&1 || fail "cannot stop S3"
echo "COMMIT;" >&8
exec 8>&-
wait "$LOCKER"; LOCKER=""
rc=0; wait "$job" || rc=$?
assert_eq 1 "$rc" "martflow job exits 1 when the export fails"
assert_contains "$TMP/fail.log" "job 'export' failed" "the failure is logged"
"$top_srcdir/tests/services.sh" start s3 >/dev/null 2>&1 || fail "cannot start S3 again"
assert_eq 1 "$(runs FAILED)" "the failed run in ctl_export_history"
assert_eq 1 "$(value "SELECT count(*) FROM ctl_etl_history WHERE job_name = 'export' AND status = 'FAILED' AND error_message LIKE 'tenant: %'")" "the failed run in ctl_etl_history, with its reason"
failed=$(value "SELECT folder_name FROM ctl_export_history WHERE status = 'FAILED'")
s3curl_keys "$S3_PREFIX/$failed/" >"$TMP/failed_keys"
(($(wc -l <"$TMP/failed_keys") >= 3)) || fail "the failed run stored no files before S3 stopped: $(cat "$TMP/failed_keys")"
! grep -q manifest.json "$TMP/failed_keys" || fail "the failed run left a manifest"
export_now || { cat "$TMP/job.log" >&2; fail "the run after the outage failed"; }
assert_eq "t" "$(value "SELECT (SELECT audit_key_from FROM ctl_export_history WHERE status = 'FAILED') = (SELECT audit_key_from FROM ctl_export_history WHERE status = 'SUCCESS' ORDER BY export_history_key DESC LIMIT 1)")" "the next run starts where the failed one did"
out=$(check_all) || fail "after the outage the S3 export does not match the database"
note "$out"

# 4. an unknown job
rc=0; "$MARTFLOW" job "$TMP/p.yaml" nosuch >"$TMP/out" 2>&1 || rc=$?
assert_eq 2 "$rc" "an unknown job is a usage error"
assert_contains "$TMP/out" "no job 'nosuch'; the jobs of this pipeline" "unknown job message"
assert_contains "$TMP/out" "export \($TMP/p.yaml:[0-9]+, node im\)" "the jobs listed with file:line"
assert_contains "$TMP/out" "nightly_file \($TMP/p.yaml:[0-9]+, node im\)" "every job listed"
rc=0; "$MARTFLOW" job "$TMP/p.yaml" >"$TMP/out" 2>&1 || rc=$?
assert_eq 2 "$rc" "no job name"
assert_contains "$TMP/out" "which job" "no job name message"

# 5. `martflow check` finds what is wrong in jobs:, each at its place
gim_yaml "$TMP/bad.yaml" /dev/null "positions: false" "jobs:
      a: {kind: purge, every: 1h}
      b: {kind: export, target: \"ftp://x\", every: soon}
      c: {kind: export, every: 1h, target: \"file:///tmp/x\", tabels: [x]}
      D: {kind: export, every: 1h, target: \"\"}"
rc=0; "$MARTFLOW" check "$TMP/bad.yaml" >"$TMP/out" 2>&1 || rc=$?
assert_eq 2 "$rc" "bad jobs fail the check"
assert_contains "$TMP/out" "bad.yaml:[0-9]+:[0-9]+: .*job 'a': kind must be one of: export" "unknown kind"
assert_contains "$TMP/out" "bad.yaml:[0-9]+:[0-9]+: .*every: a duration" "bad duration"
assert_contains "$TMP/out" "target must be s3://BUCKET/PREFIX or file:///DIR, not 'ftp://x'" "bad target"
assert_contains "$TMP/out" "job 'c': unknown option 'tabels'" "unknown option"
assert_contains "$TMP/out" "job 'D': a name is \[a-z0-9_\]\+" "bad name"
