#!/usr/bin/env bash
# Cron-like job schedules (`at:`, plugins/gim/gim_cron.h; docs/plugins/gim.md
# "Jobs") in the loader, against the real PostgreSQL:
#   - `martflow check` refuses bad expressions, each at its file:line:col, and
#     `every` with `at`;
#   - a job whose last start (ctl_etl_history) is before its latest fire time
#     is due at once and runs, its next run computed from that start; a job
#     never run waits for its next fire time (the 1st of January: it does not
#     run now). (The next-fire arithmetic itself: tests/gim/test_gim_cron.)
source "$top_srcdir/tests/gim/gim_lib.sh"

# 1. check
gim_yaml "$TMP/bad.yaml" /dev/null "positions: false" "jobs:
      a1: {kind: maintenance, at: \"60 * * * *\"}
      a2: {kind: maintenance, at: \"0 0 30 2 *\"}
      a3: {kind: maintenance, at: \"* * * *\"}
      a4: {kind: maintenance, at: \"0 2 * * *\", every: 1d}
      a5: {kind: maintenance, at: 5}
      a6: {kind: maintenance}"
rc=0; "$MARTFLOW" check "$TMP/bad.yaml" >"$TMP/out" 2>&1 || rc=$?
assert_eq 2 "$rc" "bad schedules fail the check"
assert_contains "$TMP/out" "bad.yaml:[0-9]+:[0-9]+: .*job 'a1': at \"60 \* \* \* \*\": minute: '60' is not" "a1: minute out of range"
assert_contains "$TMP/out" "bad.yaml:[0-9]+:[0-9]+: .*job 'a2': .*never fires" "a2: never fires"
assert_contains "$TMP/out" "bad.yaml:[0-9]+:[0-9]+: .*job 'a3': .*five fields are needed" "a3: four fields"
assert_contains "$TMP/out" "job 'a4': every or at, not both" "a4: both"
assert_contains "$TMP/out" "job 'a5': at is a string" "a5: not a string"
assert_contains "$TMP/out" "job 'a6': every \(an interval, e.g. 1h\) or at" "a6: no schedule"
line=$(grep -n 'a1:' "$TMP/bad.yaml" | cut -d: -f1)
assert_contains "$TMP/out" "bad.yaml:$line:[0-9]+: .*job 'a1'" "a1 at its line"

# 2. the loader: daily was last run two days ago (due now), yearly never (due on the 1st of January)
PROG=${top_builddir:-.}/tests/gim/test_gim_schema
MF_TEST_SQLDIR=$top_srcdir/plugins/gim/sql MF_TEST_SHA001=unused "$PROG" --migrate >/dev/null || fail "cannot migrate"
now=$(date -u +%s)
[[ $(date -u +%m%d) != 0101 ]] || fail "run on another day than the 1st of January (yearly would be due)"
value "INSERT INTO ctl_etl_history (job_name, status, start_ts, end_ts) VALUES ('daily', 'SUCCESS', $((now - 2 * 86400)), $((now - 2 * 86400)))" >/dev/null
$GEN 100 >"$TMP/in.jsonl"
gim_yaml "$TMP/p.yaml" "$TMP/in.jsonl" "follow: true, positions: false" "jobs:
      daily: {kind: maintenance, at: \"0 0 * * *\", keep_days_default: 0}
      yearly: {kind: maintenance, at: \"0 0 1 1 *\", keep_days_default: 0}"
"$MARTFLOW" check "$TMP/p.yaml" >/dev/null || fail "the schedules do not check"
engine "$TMP/p.yaml" "$TMP/log"
ran() { [[ $(value "SELECT count(*) FROM ctl_etl_history WHERE job_name = 'daily' AND status = 'SUCCESS'") == 2 ]]; }
wait_for 30 ran || { tail -5 "$TMP/log" >&2; fail "the loader did not run the job due since the last midnight"; }
sleep 1 # a few more ticks: nothing else is due
kill -TERM "$ENGINE"; wait "$ENGINE" || fail "the loader exited $?"
assert_eq 2 "$(value "SELECT count(*) FROM ctl_etl_history WHERE job_name = 'daily'")" "daily ran once (its next fire is the next midnight UTC)"
assert_eq 0 "$(value "SELECT count(*) FROM ctl_etl_history WHERE job_name = 'yearly'")" "yearly, never run, waits for the 1st of January"
assert_contains "$TMP/log" "job 'daily' succeeded" "the run logged"
