#!/usr/bin/env bash
# bench/e2e/run.sh [EVENTS] [RUNS] — the whole Info Mart path against parsing alone.
#
# 1. Generates EVENTS (1,000,000) voice events once with callgen (seed 1, the
#    20 agents of the sample configuration, 0.1 calls/s, key_member: true):
#    both ports into one file in event-time order, cut to EVENTS lines; not
#    measured, kept for the next run (BENCH_DIR).
# 2. Interleaved, RUNS times (3): the jansson parse-only baseline of bench/gsp
#    (bench/gsp/parse_only.c, built here) over the file, then
#    pipelines/local.yaml with EVENTS_FILE set (file source -> fields route ->
#    callthread + agentstate, the sample configuration -> gspconfig, the gim
#    loader) into a fresh database of the test PostgreSQL, timed from start to
#    exit (schema migration and the last cycle's COMMIT included). Prints the
#    medians: events/s, Info Mart rows/s (fact rows in the tables at the end,
#    and row writes: the cycles' row_count), the ratio to parse-only (target
#    >= 0.35), the CPU time (user + system) and peak RSS of the martflow process (PostgreSQL's not counted),
#    and the lag from an event to its row being queryable (bench/e2e/lag.py):
#    100 ms samples of the lines the source has read (/metrics) and of the
#    newest committed load cycle a query sees; per interaction, the time from
#    reading its call's first event to the cycle that created its row being
#    visible, and from its last event to the cycle that wrote its final
#    version (p50 / p99). With schema 004, infomart_check_references() must
#    find no orphan reference (not timed).
# BENCH_SCHEMA_DIR: the migrations to load with (default plugins/gim/sql), e.g.
# a directory of the older ones, to compare schemas with the same binary.
# PostgreSQL: tests/services.sh (MARTFLOW_SERVICES_DIR, default
# /tmp/martflow-bench-e2e/services), or PGHOST etc. if set.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
events=${1:-1000000}
runs=${2:-3}
source "$top/bench/lib.sh"
bench_build
work=${BENCH_DIR:-/tmp/martflow-bench-e2e}
mkdir -p "$work"
ev=$work/events.jsonl
export MARTFLOW_DATA_DIR=$work/data
if [[ -z ${PGHOST:-} ]]; then
    export MARTFLOW_SERVICES_DIR=${MARTFLOW_SERVICES_DIR:-$work/services}
    "$top/tests/services.sh" start postgres >&2
    eval "$("$top/tests/services.sh" env)"
fi
psql_() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }

# ---- 1. the events (not measured) ------------------------------------------------------
if [[ ! -f $ev || $(wc -l <"$ev") -ne $events ]]; then
    echo "generating $events events with callgen ..." >&2
    cat >"$work/gen.yaml" <<Y
pipeline: bench-e2e-gen
sources:
  gen: {plugin: callgen, seed: 1, calls: $((events / 8 + 1000)), agents: 20, rate: 0.1, key_member: true}
sinks:
  out: {plugin: file, inputs: [gen.callthread, gen.agentstate], path: "$work/all.jsonl", fsync: never}
Y
    rm -f "$work/all.jsonl"
    "$mf" run "$work/gen.yaml" --plugin-path "$plugins" >"$work/gen.log" 2>&1 || { tail -5 "$work/gen.log" >&2; exit 1; }
    head -n "$events" "$work/all.jsonl" >"$ev"
    rm -f "$work/all.jsonl"
fi
echo "events: $(wc -l <"$ev") ($(($(wc -c <"$ev") / events)) bytes each)" >&2
cc -O2 -o "$work/parse_only" "$top/bench/gsp/parse_only.c" $(pkg-config --cflags --libs jansson)

now() { date +%s.%N; }
declare -a base ours cpu rss facts writes lag_c50 lag_c99 lag_f50 lag_f99
for ((r = 0; r < runs; r++)); do
    t0=$(now)
    "$work/parse_only" "$ev" >/dev/null
    base+=("$(echo "$(now) - $t0" | bc -l)")

    db=bench_e2e_$r
    PGDATABASE=postgres psql_ -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
    rm -f "$work/run.log" "$work/dead.jsonl" "$work/samples"
    t0=$(now)
    (cd "$top" && PGDATABASE=$db EVENTS_FILE=$ev GENERATE=false GIM_SCHEMA_DIR=${BENCH_SCHEMA_DIR:-$top/plugins/gim/sql} \
        METRICS_LISTEN=127.0.0.1:0 DEAD_LETTER=$work/dead.jsonl \
        /usr/bin/time -f '%e %M %U %S' -o "$work/time" "$mf" run pipelines/local.yaml --plugin-path "$plugins" \
        >"$work/run.log" 2>&1) &
    pid=$!
    port=""
    for _ in $(seq 100); do
        port=$(grep -o 'metrics, health and readiness on[^"]*(port [0-9]*)' "$work/run.log" 2>/dev/null |
            grep -o 'port [0-9]*' | head -1) && [[ -n $port ]] && break
        sleep 0.05
    done
    PGDATABASE=$db python3 "$here/lag.py" poll "${port#port }" "$work/samples" &
    poller=$!
    wait "$pid" || { tail -5 "$work/run.log" >&2; exit 1; }
    ours+=("$(echo "$(now) - $t0" | bc -l)")
    wait "$poller"
    rss+=("$(awk '{print $2}' "$work/time")")
    cpu+=("$(awk '{print $3 + $4}' "$work/time")")
    [[ ! -s $work/dead.jsonl ]] || { head -3 "$work/dead.jsonl" >&2; echo "records were rejected" >&2; exit 1; }
    grep -q '"node":"events-file".*out='"$events"' ' "$work/run.log" || { echo "the pipeline did not take every event" >&2; exit 1; }
    facts+=("$(PGDATABASE=$db psql_ -At -c "SELECT (SELECT count(*) FROM interaction_fact) + (SELECT count(*) FROM interaction_resource_fact)
        + (SELECT count(*) FROM mediation_segment_fact) + (SELECT count(*) FROM sm_res_session_fact)
        + (SELECT count(*) FROM sm_res_state_fact) + (SELECT count(*) FROM sm_res_state_reason_fact)")")
    # schema 004 on: every fact's reference names its dimension row (not timed)
    if [[ $(PGDATABASE=$db psql_ -At -c "SELECT to_regproc('infomart_check_references') IS NOT NULL") == t ]]; then
        orphans=$(PGDATABASE=$db psql_ -At -c "SELECT sum(orphan_rows) FROM infomart_check_references()")
        [[ $orphans == 0 ]] || { echo "$orphans fact references name no dimension row" >&2; exit 1; }
    fi
    writes+=("$(PGDATABASE=$db psql_ -At -c "SELECT sum(row_count) FROM ctl_etl_history WHERE status = 'SUCCESS'")")
    PGDATABASE=$db psql_ -At -F ' ' -c "SELECT interaction_id, create_audit_key, update_audit_key FROM interaction_fact" >"$work/rows"
    lag=$(python3 "$here/lag.py" report "$ev" "$work/samples" "$work/rows")
    read -r c50 c99 f50 f99 <<<"$(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(d["created_p50_ms"], d["created_p99_ms"], d["final_p50_ms"], d["final_p99_ms"])' "$lag")"
    lag_c50+=("$c50") lag_c99+=("$c99") lag_f50+=("$f50") lag_f99+=("$f99")
    echo "run $((r + 1)): parse-only ${base[r]}s, local.yaml ${ours[r]}s (martflow CPU ${cpu[r]}s), peak RSS ${rss[r]} KiB, ${facts[r]} fact rows, ${writes[r]} row writes; lag $lag" >&2
    PGDATABASE=postgres psql_ -c "DROP DATABASE $db WITH (FORCE)"
done

rate() { echo "$1 / $2" | bc -l | xargs printf '%.0f'; }
mb=$(median "${base[@]}") mo=$(median "${ours[@]}")
echo "parse-only (jansson):         $(rate "$events" "$mb") events/s"
echo "local.yaml -> PostgreSQL:     $(rate "$events" "$mo") events/s, $(rate "$(median "${facts[@]}")" "$mo") Info Mart fact rows/s ($(rate "$(median "${writes[@]}")" "$mo") row writes/s)"
printf 'ratio: %.2f (target >= 0.35)\n' "$(echo "$mb / $mo" | bc -l)"
echo "martflow CPU (user + system): $(median "${cpu[@]}") s"
echo "peak RSS: $(($(median "${rss[@]}" | xargs printf '%.0f') / 1024)) MiB (martflow)"
echo "lag, first event -> row queryable:  p50 $(median "${lag_c50[@]}") ms, p99 $(median "${lag_c99[@]}") ms"
echo "lag, last event -> final row queryable: p50 $(median "${lag_f50[@]}") ms, p99 $(median "${lag_f99[@]}") ms"
