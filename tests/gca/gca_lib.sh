# tests/gca/gca_lib.sh — helpers for the GCA tests (sourced first): a database
# of the test's own (pg_lib.sh) holding schema.sql + sample.sql, the Kafka
# broker, a gca-cfg topic of the test's own, and pipelines/gca.yaml run with
# the deployment variables pointing at them.
source "$top_srcdir/tests/postgres/pg_lib.sh"
# The broker is shared with the Kafka tests: the lock of tests/kafka/kafka_lib.sh
# (shared; exclusive with KAFKA_EXCLUSIVE=1 for a test that stops it), on a
# descriptor of its own (pg_lib.sh holds 6, s3_lib.sh 7).
exec 5>"${TMPDIR:-/tmp}/martflow-kafka-tests.lock"
if [[ ${KAFKA_EXCLUSIVE:-0} == 1 ]]; then flock -x 5; else flock -s 5; fi
need_kafka
export PGDATABASE=$PG_TEST_DB # need_kafka's `services.sh env` set it back to postgres
B=$KAFKA_BOOTSTRAP
CHECK="$top_srcdir/tests/gca/gca_check.py"
TOPIC_CONFIG=${top_builddir:-.}/tests/gca/topic_config
[[ -x $TOPIC_CONFIG ]] || fail "missing $TOPIC_CONFIG (built by make check)"

# the DDL and the sample as installed (share/martflow/cfgdb/)
make -s -C "$top_builddir" install-dist_cfgdbDATA DESTDIR="$TMP/stage" >"$TMP/install.log" 2>&1 ||
    { cat "$TMP/install.log" >&2; fail "make install of share/martflow/cfgdb"; }
CFGDB_SQL=$(find "$TMP/stage" -path '*/share/martflow/cfgdb' -type d)
[[ -f $CFGDB_SQL/schema.sql && -f $CFGDB_SQL/sample.sql ]] || fail "schema.sql and sample.sql not installed"
pg_sql -f "$CFGDB_SQL/schema.sql" -f "$CFGDB_SQL/sample.sql" || fail "cannot load schema.sql and sample.sql"

export TENANT_ID=t1
export CFGDB_HOST=$PGHOST CFGDB_PORT=$PGPORT CFGDB_USER=$PGUSER CFGDB_DATABASE=$PGDATABASE
export TOPIC_GCA_CFG="mf-$TEST_NAME-gca-cfg-$$-$RANDOM"
export GCA_SNAPSHOTS="file://$TMP/snapshots"
export GCA_METRICS_LISTEN=127.0.0.1:0
export GCA_DEAD_LETTER=$TMP/dead-letter.jsonl
# snap: the path of the current snapshot document (the one the pointer
# gca-snapshot-t1/LATEST names: docs/cfgdb.md §3); fails while there is none
snap() {
    local k
    k=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["key"])' \
        "$TMP/snapshots/gca-snapshot-t1/LATEST" 2>/dev/null) || return 1
    echo "$TMP/snapshots/$k"
}
# snap_has REGEX: the current snapshot document holds it
snap_has() {
    local f
    f=$(snap) && grep -q "$1" "$f"
}

ENGINE_PIDS=()
gca_cleanup() {
    local p
    for p in "${ENGINE_PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    for p in "${ENGINE_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    "$top_srcdir/tests/services.sh" kafka-topic-delete "$TOPIC_GCA_CFG" >/dev/null 2>&1 || true
    pg_cleanup
}
trap gca_cleanup EXIT

# gca_once LOG: run pipelines/gca.yaml once (GCA_ONCE) to its end
gca_once() {
    GCA_ONCE=true "$MARTFLOW" run "$top_srcdir/pipelines/gca.yaml" >"$1" 2>&1 ||
        { tail -n 20 "$1" >&2; fail "gca.yaml exited $?"; }
}

# gca_engine LOG: run pipelines/gca.yaml in the background; its pid in $ENGINE
gca_engine() {
    "$MARTFLOW" run "$top_srcdir/pipelines/gca.yaml" >"$1" 2>&1 &
    ENGINE=$!
    ENGINE_PIDS+=("$ENGINE")
}

# topic_dump FILE: every record of the topic, "key<TAB>value", in order
topic_dump() {
    kcat -b "$B" -C -t "$TOPIC_GCA_CFG" -o beginning -e -q -f '%k\t%s\n' >"$1" || fail "kcat could not read the topic"
}
