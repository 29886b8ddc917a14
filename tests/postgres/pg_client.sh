#!/usr/bin/env bash
# The shared PostgreSQL client (plugins/postgres/pg_client.c) against the real
# server: tests/postgres/test_pg_client does the work (connections, password
# and secrets, classification, outage and reconnect, COPY, advisory locks);
# this script gives it a database and a password role of its own. It stops
# the server mid-run: exclusive.
PG_EXCLUSIVE=1
source "$top_srcdir/tests/postgres/pg_lib.sh"
PROG=${top_builddir:-.}/tests/postgres/test_pg_client
[[ -x $PROG ]] || fail "missing $PROG (built by make check)"

export MF_TEST_ROLE=mf_role_$$
export MF_TEST_PASSWORD="Pw-$$-$RANDOM-s3cret"
pg_role "$MF_TEST_ROLE" "$MF_TEST_PASSWORD"
# no password may come from anywhere but the test's own options
unset PGPASSWORD
export PGPASSFILE=$TMP/no-pgpass

"$PROG" >"$TMP/out" 2>&1 || { cat "$TMP/out" >&2; fail "test_pg_client failed"; }
cat "$TMP/out"
! grep -q -- "$MF_TEST_PASSWORD" "$TMP/out" || fail "the password is in the test's output"
