# tests/postgres/pg_lib.sh — helpers for the PostgreSQL integration tests
# (sourced after nothing else: it sources tests/lib.sh and starts the server).
#
# Every test works in a database of its own, created here and dropped at the
# end: $PGDATABASE is that database. A test that stops the server (an outage)
# sets PG_EXCLUSIVE=1 first: it then takes the lock exclusively, the others a
# shared one, so `make -j check` never runs another PostgreSQL test meanwhile.
# Or it sets PG_PRIVATE=1: it gets a server of its own (tests/services.sh with
# the state dir $TMP/services, on another free port), stopped and removed at
# the end, and blocks no other test.
source "$top_srcdir/tests/lib.sh"

if [[ ${PG_PRIVATE:-0} == 1 ]]; then
    export MARTFLOW_SERVICES_DIR=$TMP/services
    chmod 711 "$TMP" # as root the server runs as user postgres: it must reach its state dir
else
    PG_LOCK=${TMPDIR:-/tmp}/martflow-postgres-tests.lock
    exec 6>"$PG_LOCK"
    if [[ ${PG_EXCLUSIVE:-0} == 1 ]]; then flock -x 6; else flock -s 6; fi
fi

need_postgres
# psql without ~/.psqlrc, stopping at the first error
pg_sql() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }

PG_TEST_DB=mf_test_$$
PG_ROLES=()
pg_cleanup() {
    local r
    if [[ ${PG_PRIVATE:-0} == 1 ]]; then
        "$top_srcdir/tests/services.sh" stop >/dev/null 2>&1 || true
        cleanup_tmp
        return
    fi
    # an outage test may have left the server stopped
    "$top_srcdir/tests/services.sh" start postgres >/dev/null 2>&1 || true
    PGDATABASE=postgres pg_sql -c "DROP DATABASE IF EXISTS $PG_TEST_DB WITH (FORCE)" >/dev/null 2>&1 || true
    for r in "${PG_ROLES[@]}"; do PGDATABASE=postgres pg_sql -c "DROP ROLE IF EXISTS $r" >/dev/null 2>&1 || true; done
    cleanup_tmp
}
trap pg_cleanup EXIT
PGDATABASE=postgres pg_sql -c "CREATE DATABASE $PG_TEST_DB" || fail "cannot create database $PG_TEST_DB"
export PGDATABASE=$PG_TEST_DB

# pg_role NAME PASSWORD: a login role with a (SCRAM) password, dropped at the end
pg_role() {
    PG_ROLES+=("$1")
    pg_sql -c "CREATE ROLE $1 LOGIN PASSWORD '$2'" || fail "cannot create role $1"
    pg_sql -c "GRANT ALL ON SCHEMA public TO $1" || fail "cannot grant public to $1"
}
