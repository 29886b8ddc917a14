#!/usr/bin/env bash
# martflow report's option errors: exit 2, the reason and the usage on stderr,
# nothing on stdout; the ones only the server can judge (a time zone, a 30
# February, --from after --to) too; a database without the reporting views
# exits 1 saying so.
source "$top_srcdir/tests/gim/report_lib.sh"
expect_usage() { # MESSAGE ARGS...
    local msg=$1 rc=0
    shift
    "$MARTFLOW" report "$@" >"$TMP/out" 2>"$TMP/err" || rc=$?
    assert_eq 2 "$rc" "exit status of martflow report $*"
    assert_contains "$TMP/err" "$msg" "message of martflow report $*"
    [[ ! -s $TMP/out ]] || fail "martflow report $* wrote to stdout"
}
expect_usage "unknown option '--bogus'" --bogus
expect_usage "unexpected argument 'extra'" extra
expect_usage "--from needs a value" --from
expect_usage "--from needs a value" --from= --to 2024-01-01
expect_usage "--queue needs a value" --queue --agent a1
expect_usage "--from '2024-3-1': not a date" --from 2024-3-1
expect_usage "--to '2024-03-01T25:00': not a date" --to 2024-03-01T25:00
expect_usage "--from 'yesterday': not a date" --from yesterday
expect_usage "--interval '2h': must be 15m, 30m, 1h or 1d" --interval 2h
expect_usage "--format 'xml': must be table, csv, json or html" --format xml
expect_usage "--threshold '20x': not a duration" --threshold 20x
expect_usage "--threshold '2d': not a duration" --threshold 2d
expect_usage "--threshold '90000s': not a duration of at most 1 day" --threshold 90000s
assert_contains "$TMP/err" "^usage: martflow report" "the usage follows the message"
# judged by the server
expect_usage "--tz 'Mars/Olympus': not a time zone" --tz Mars/Olympus
expect_usage "--from/--to: .*out of range" --from 2024-02-30
expect_usage "--from \(2024-03-31T00:00:00\+00:00\) must be before --to \(2024-03-30T00:00:00\+00:00\)" --from 2024-03-31 --to 2024-03-29
# --help: the usage on stdout
"$MARTFLOW" report --help >"$TMP/help" || fail "--help failed"
assert_contains "$TMP/help" "^usage: martflow report" "--help"

# a database without the views: exit 1, what is missing
pg_sql -c "CREATE DATABASE ${PGDATABASE}_empty" >/dev/null
rc=0
PGDATABASE=${PGDATABASE}_empty "$MARTFLOW" report >"$TMP/out" 2>"$TMP/err" || rc=$?
pg_sql -c "DROP DATABASE ${PGDATABASE}_empty" >/dev/null
assert_eq 1 "$rc" "exit status without the views"
assert_contains "$TMP/err" "has no reporting views: an Info Mart of schema version 3 or newer is needed" "message without the views"
# no server: exit 1, the connection's error once
rc=0
PGHOST=127.0.0.1 PGPORT=9 "$MARTFLOW" report >"$TMP/out" 2>"$TMP/err" || rc=$?
assert_eq 1 "$rc" "exit status without a server"
assert_eq 1 "$(grep -c 'cannot connect' "$TMP/err")" "the connection error, once"
