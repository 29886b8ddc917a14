#!/usr/bin/env bash
# The Info Mart migrations and their runner against the real server:
# tests/gim/test_gim_schema does the work (empty database, idempotence,
# upgrade, refusals, two runners at once, DATE_TIME), one database per test,
# created from the one this script gives it.
source "$top_srcdir/tests/postgres/pg_lib.sh"
PROG=${top_builddir:-.}/tests/gim/test_gim_schema
[[ -x $PROG ]] || fail "missing $PROG (built by make check)"
export MF_TEST_SQLDIR=$top_srcdir/plugins/gim/sql
MF_TEST_SHA001=$(sha256sum "$MF_TEST_SQLDIR/001_initial.sql" | cut -d' ' -f1)
export MF_TEST_SHA001
"$PROG" >"$TMP/out" 2>&1 || { cat "$TMP/out" >&2; fail "test_gim_schema failed"; }
cat "$TMP/out"
# the databases the program created are gone
left=$(pg_sql -At -c "SELECT count(*) FROM pg_database WHERE datname LIKE '${PGDATABASE}\\_%'")
assert_eq 0 "$left" "databases left behind"
