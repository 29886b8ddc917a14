#!/usr/bin/env bash
# pipelines/local.yaml end to end, in a fresh database of the test PostgreSQL:
# callgen (1,000 calls, 20 agents, with its plan) -> callthread + agentstate,
# the sample configuration -> gspconfig -> the gim loader, one process. The
# run ends by itself (the bounded callgen's end -> the loader's last cycle);
# then the Info Mart holds what the plan says: interactions by type, IRFs by
# technical result, MSFs by result, the after-call work attributed to IRFs,
# agent sessions and their seconds, state seconds per state, reason seconds
# per reason; every agent, DN and place callgen names is a configured row
# (no placeholder left), with the person's name. Then the same events from a
# file (EVENTS_FILE, callgen with key_member) into a second database: the two
# Info Marts' table dumps are equal. In both, every fact's reference names its
# dimension row (infomart_check_references).
source "$top_srcdir/tests/gim/gim_lib.sh"
source "$top_srcdir/tests/e2e/im_lib.sh" # im_dump, im_check_plan, im_check_config

DB2=${PGDATABASE}_file
PGDATABASE=postgres pg_sql -c "CREATE DATABASE $DB2" || fail "cannot create database $DB2"
trap 'PGDATABASE=postgres pg_sql -c "DROP DATABASE IF EXISTS $DB2 WITH (FORCE)" >/dev/null 2>&1 || true; sink_cleanup' EXIT
cd "$top_srcdir" # local.yaml's default paths are relative to the repository root

# local DB LOG [VAR=value...]: run pipelines/local.yaml into DB to its end
local_run() {
    local db=$1 log=$2
    shift 2
    env PGDATABASE="$db" GIM_SCHEMA_DIR="$top_srcdir/plugins/gim/sql" METRICS_LISTEN=127.0.0.1:0 \
        DEAD_LETTER="$TMP/dead-$db.jsonl" "$@" \
        "$MARTFLOW" run pipelines/local.yaml >"$log" 2>&1 || { tail -n 20 "$log" >&2; fail "local.yaml into $db exited $?"; }
    [[ ! -s $TMP/dead-$db.jsonl ]] || { head -3 "$TMP/dead-$db.jsonl" >&2; fail "records rejected (dead letter of $db)"; }
}

SECONDS=0
local_run "$PGDATABASE" "$TMP/run1.log" SEED=7 CALLS=1000 AGENTS=20 RATE=0.1 PLAN_FILE="$TMP/plan.json"
[[ -f $TMP/plan.json ]] || fail "callgen wrote no plan"
note "callgen -> Info Mart: ${SECONDS}s"
assert_contains "$TMP/run1.log" "pipeline 'local' finished" "the run ended by itself"

im_check_plan "$TMP/plan.json"
im_check_config 20
assert_references # no fact row without its dimension row

# the same events from a file: the same Info Mart
cat >"$TMP/gen.yaml" <<Y
pipeline: local-events
sources:
  gen: {plugin: callgen, seed: 7, calls: 1000, agents: 20, rate: 0.1, key_member: true}
sinks:
  out: {plugin: file, inputs: [gen.callthread, gen.agentstate], path: "$TMP/events.jsonl", fsync: never}
Y
"$MARTFLOW" run "$TMP/gen.yaml" >"$TMP/gen.log" 2>&1 || { tail -5 "$TMP/gen.log" >&2; fail "generating the events file"; }
local_run "$DB2" "$TMP/run2.log" EVENTS_FILE="$TMP/events.jsonl" GENERATE=false
note "events file -> Info Mart: ${SECONDS}s"
im_dump >"$TMP/dump1"
im_dump "$DB2" >"$TMP/dump2"
diff -q "$TMP/dump1" "$TMP/dump2" >/dev/null || { diff "$TMP/dump1" "$TMP/dump2" | head -5 >&2; fail "EVENTS_FILE gave another Info Mart"; }
assert_references "$DB2"
(($(wc -l <"$TMP/dump1") > 6000)) || fail "the dump is too small: $(wc -l <"$TMP/dump1") rows"
note "plan matched; EVENTS_FILE gave the same $(wc -l <"$TMP/dump1") rows (${SECONDS}s)"
