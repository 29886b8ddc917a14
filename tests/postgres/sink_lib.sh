# tests/postgres/sink_lib.sh — helpers for the postgres sink's tests (sourced
# first: it sources pg_lib.sh, which gives the test a database of its own).
source "$top_srcdir/tests/postgres/pg_lib.sh"

# run_pipeline YAML LOG [ARG...]: martflow run to its end; fails unless it exits 0
run_pipeline() {
    "$MARTFLOW" run "$1" "${@:3}" >"$2" 2>&1 || { tail -n 20 "$2" >&2; fail "martflow run $1 exited $?"; }
}

# dump TABLE: every row, ordered by the first column, in COPY text
dump() { pg_sql -c "COPY (SELECT * FROM $1 ORDER BY 1) TO STDOUT"; }

# count SQL: the single value of a query
value() { pg_sql -At -c "$1"; }

# records FILE N [SUFFIX]: N JSON lines {"id":i,"name":"n<i><SUFFIX>","n":i*2,...}
records() {
    awk -v n="$2" -v s="${3:-}" 'BEGIN { for (i = 1; i <= n; i++)
        printf "{\"id\":%d,\"name\":\"n%d%s\",\"n\":%d,\"at\":%d,\"tags\":[\"t%d\",%d],\"ok\":%s}\n",
            i, i, s, i * 2, 1700000000000 + i * 1000, i % 7, i % 3, (i % 2) ? "true" : "false" }' >"$1"
}

# sink_yaml FILE INPUT TABLE MODE [EXTRA]: a file source -> postgres sink
# pipeline (errors to $TMP/errors.jsonl) with the test's columns
sink_yaml() {
    cat >"$1" <<Y
pipeline: $TEST_NAME
sources:
  in: {plugin: file, path: "$2", positions: false}
sinks:
  db:
    plugin: postgres
    inputs: [in]
    table: $3
    mode: $4
    columns:
      id: id
      name: name
      n: {field: n, type: bigint}
      at: {field: at, type: timestamptz}
      tags: {field: tags, type: jsonb}
      ok: ok
${5:-}
  errors: {plugin: file, inputs: [db.errors], path: "$TMP/errors.jsonl", format: envelope}
Y
}

TABLE_DDL="(id bigint PRIMARY KEY, name text, n bigint, at timestamptz, tags jsonb, ok boolean)"

# engine YAML LOG: martflow run in the background (killed at the end); pid in $ENGINE
ENGINE_PIDS=()
engine() {
    "$MARTFLOW" run "$1" >"$2" 2>&1 &
    ENGINE=$!
    ENGINE_PIDS+=("$ENGINE")
}
sink_cleanup() {
    local p
    for p in "${ENGINE_PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    for p in "${ENGINE_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    pg_cleanup
}
trap sink_cleanup EXIT
