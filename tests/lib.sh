# tests/lib.sh — shared helpers for the shell tests (sourced, not run).
#
# The test environment (set by `make check`, see tests/Makefile.inc):
#   MARTFLOW              the martflow binary of this build
#   MARTFLOW_PLUGIN_PATH  the in-tree plugins (build/plugins)
#   top_srcdir, top_builddir
# A test that needs a server starts it with need_kafka, need_postgres or need_s3
# (idempotent); it never skips because a server is missing: it fails.
# Sourced once per test (one $TMP) even when two helper libraries source it
# (tests/gim/gim_kafka.sh: gim_lib.sh and kafka_lib.sh).
[[ -z ${MF_LIB_SOURCED:-} ]] || return 0
MF_LIB_SOURCED=1
set -euo pipefail

: "${MARTFLOW:?run the tests with make check}"
: "${top_srcdir:?run the tests with make check}"

TEST_NAME=$(basename "${0%.sh}")
TMP=$(mktemp -d "${TMPDIR:-/tmp}/mf-${TEST_NAME}.XXXXXX")
cleanup_tmp() { if [[ ${KEEP_TMP:-0} == 0 ]]; then rm -rf "$TMP"; fi; }
trap cleanup_tmp EXIT
# Nodes' state (the file source's read positions) stays inside the test: not
# in ~/.local/state, and not shared with another test or an earlier run.
export MARTFLOW_DATA_DIR=$TMP/data

fail() { printf 'FAIL %s: %s\n' "$TEST_NAME" "$*" >&2; exit 1; }
note() { printf '# %s\n' "$*" >&2; }

assert_eq() { # expected actual message
    [[ "$1" == "$2" ]] || fail "$3: expected '$1', got '$2'"
}
assert_contains() { # file-or-text pattern message
    if [[ -f "$1" ]]; then grep -qE -- "$2" "$1" || { cat "$1" >&2; fail "$3: no match for /$2/"; }
    else grep -qE -- "$2" <<<"$1" || fail "$3: no match for /$2/ in: $1"; fi
}
assert_lines() { # expected-count file message
    local n; n=$(wc -l <"$2"); assert_eq "$1" "$((n))" "$3"
}

# Wait up to $1 seconds for the command in "$@" to succeed.
wait_for() {
    local secs=$1; shift
    local end=$((SECONDS + secs))
    until "$@"; do
        ((SECONDS < end)) || return 1
        sleep 0.2
    done
}

# Start the test Kafka broker (no-op when it runs) and export KAFKA_BOOTSTRAP.
need_kafka() {
    "$top_srcdir/tests/services.sh" start kafka >&2 || fail "cannot start the Kafka test broker"
    eval "$("$top_srcdir/tests/services.sh" env)"
    [[ -n ${KAFKA_BOOTSTRAP:-} ]] || fail "KAFKA_BOOTSTRAP not set after starting Kafka"
}

# Start the test PostgreSQL (no-op when it runs) and export libpq's PGHOST,
# PGPORT, PGUSER (the trusted superuser) and PGDATABASE=postgres.
need_postgres() {
    "$top_srcdir/tests/services.sh" start postgres >&2 || fail "cannot start the PostgreSQL test server"
    eval "$("$top_srcdir/tests/services.sh" env)"
    [[ -n ${PGPORT:-} ]] || fail "PGPORT not set after starting PostgreSQL"
}

# Start the test S3 server (versitygw; no-op when it runs) and export
# S3_ENDPOINT, S3_REGION, S3_BUCKET, S3_ACCESS_KEY, S3_SECRET_KEY.
need_s3() {
    "$top_srcdir/tests/services.sh" start s3 >&2 || fail "cannot start the S3 test server"
    eval "$("$top_srcdir/tests/services.sh" env)"
    [[ -n ${S3_ENDPOINT:-} ]] || fail "S3_ENDPOINT not set after starting S3"
}

# metrics_port LOG: the port the engine reported for metrics_listen 127.0.0.1:0
metrics_port() {
    local port=""
    wait_for 20 grep -q 'metrics, health and readiness on' "$1" || fail "no metrics listener in $1"
    port=$(grep -o 'metrics, health and readiness on[^"]*(port [0-9]*)' "$1" | grep -o 'port [0-9]*' | head -1)
    echo "${port#port }"
}

# metric PORT NAME: the sum of a metric's samples (0 if absent)
metric() {
    curl -fsS "http://127.0.0.1:$1/metrics" 2>/dev/null |
        awk -v n="$2" '$1 ~ "^"n"({|$)" {s += $2} END {printf "%d\n", s}'
}

# metric_at_least PORT NAME MIN: for wait_for
metric_at_least() { (($(metric "$1" "$2") >= $3)); }
