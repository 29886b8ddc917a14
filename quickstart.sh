#!/usr/bin/env bash
# quickstart.sh — the Info Mart from generated traffic, in one command, on a
# fresh Debian machine:
#
#   1. installs the Debian packages that are missing (tests/install-deps.sh
#      quickstart: the build tools and libraries, PostgreSQL, curl; apt-get,
#      with sudo when not root) and says which;
#   2. builds martflow out of tree in _build/ (autoreconf, configure, make);
#   3. starts a throwaway PostgreSQL on 127.0.0.1 (tests/services.sh, state in
#      $QUICKSTART_DIR) unless PGHOST points at a server, and creates the
#      database `infomart` (PGDATABASE to choose another; on the throwaway
#      server it is made afresh on every run);
#   4. runs pipelines/local.yaml (callgen -> GSP -> the Info Mart loader, one
#      process) on 1,000 generated calls of 20 agents, about 2 h 50 min of
#      event time ending now, played at 60x: about three minutes, with a live
#      progress line (events, calls, rows loaded, rate);
#   5. prints the report (`martflow report`, or a summary of the Info Mart in
#      SQL while there is none) and how to connect with psql.
#
# The database stays until `./quickstart.sh stop`.
#
#   ./quickstart.sh            run (again)
#   ./quickstart.sh stop       stop the throwaway PostgreSQL and delete its data
#
# Environment: SEED, CALLS, AGENTS, RATE (pipelines/local.yaml), SPEED (event-
# time seconds per second, default 60), FAST=1 (as fast as possible, no
# pacing), PGHOST/PGPORT/PGUSER/PGPASSWORD (your own server), QUICKSTART_DIR
# (state: ~/.cache/martflow/quickstart; as root /var/tmp/martflow-quickstart,
# which the postgres user can reach).
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$top"
say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'quickstart: %s\n' "$*" >&2; exit 1; }
if [[ $(id -u) == 0 ]]; then qs_default=/var/tmp/martflow-quickstart; else qs_default=${HOME:-/tmp}/.cache/martflow/quickstart; fi
QS=${QUICKSTART_DIR:-$qs_default}
export MARTFLOW_SERVICES_DIR=$QS/services
own_server=1
[[ -n ${PGHOST:-} ]] && own_server=0

case ${1:-run} in
run) ;;
stop)
    if [[ -d $MARTFLOW_SERVICES_DIR ]]; then
        tests/services.sh stop
        say "stopped; the quick start's database is deleted"
    else
        say "nothing to stop ($MARTFLOW_SERVICES_DIR does not exist)"
    fi
    exit 0 ;;
-h | --help) sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "$0"; exit 0 ;;
*) echo "usage: $0 [run|stop]" >&2; exit 2 ;;
esac

# ---- 1. packages, 2. build ---------------------------------------------------------------
say "checking the Debian packages"
if ((own_server)); then tests/install-deps.sh quickstart; else tests/install-deps.sh quickstart-client; fi
if [[ -f Makefile && -f config.status ]]; then
    build=$top # configured in the source tree: use it
else
    build=$top/_build
    if [[ ! -f $build/Makefile ]]; then
        say "configuring (out of tree, in _build/)"
        [[ -x configure ]] || autoreconf -fi >/dev/null 2>&1
        mkdir -p "$build"
        (cd "$build" && "$top/configure" -q)
    fi
fi
say "building martflow ($(nproc) jobs)"
make -C "$build" -j"$(nproc)" >"$build/quickstart-make.log" 2>&1 || { tail -20 "$build/quickstart-make.log" >&2; die "the build failed (log: $build/quickstart-make.log)"; }
mf=$build/martflow
plugins=$build/build/plugins

# ---- 3. the database ---------------------------------------------------------------------
mkdir -p "$QS"
if ((own_server)); then
    say "starting a throwaway PostgreSQL (state in $MARTFLOW_SERVICES_DIR)"
    tests/services.sh start postgres
    eval "$(tests/services.sh env)"
fi
export PGDATABASE=${QUICKSTART_DB:-infomart}
psql_() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }
exists=$(PGDATABASE=postgres psql_ -At -c "SELECT count(*) FROM pg_database WHERE datname = '$PGDATABASE'") ||
    die "cannot connect to PostgreSQL at ${PGHOST}:${PGPORT:-5432} as ${PGUSER:-$(id -un)}"
if ((own_server)) && ((exists)); then
    PGDATABASE=postgres psql_ -c "DROP DATABASE \"$PGDATABASE\" WITH (FORCE)"
    exists=0
fi
if ((exists)); then
    say "loading into the existing database $PGDATABASE (rows of an earlier run stay)"
else
    PGDATABASE=postgres psql_ -c "CREATE DATABASE \"$PGDATABASE\"" || die "cannot create database $PGDATABASE"
fi

# ---- 4. the run --------------------------------------------------------------------------
export CALLS=${CALLS:-1000} RATE=${RATE:-0.1} AGENTS=${AGENTS:-20} SEED=${SEED:-1}
# event time: the traffic ends about now (the first interval boundary before)
span=$(awk -v c="$CALLS" -v r="$RATE" 'BEGIN { printf "%d", c / r }')
now=$(date +%s)
export START=$(((now - span) / 900 * 900 * 1000))
if [[ ${FAST:-0} == 1 ]]; then export REALTIME=false; else export REALTIME=true SPEED=${SPEED:-60}; fi
export GIM_SCHEMA_DIR=$top/plugins/gim/sql METRICS_LISTEN=127.0.0.1:0 DEAD_LETTER=$QS/dead-letter.jsonl
export MARTFLOW_DATA_DIR=$QS/state
rm -f "$DEAD_LETTER"
log=$QS/local.log
if [[ $REALTIME == true ]]; then pace="played at ${SPEED}x (about $(awk -v s="$span" -v x="$SPEED" 'BEGIN { printf "%d", s / x + 0.5 }') s; FAST=1: no pacing)"; else pace="as fast as possible"; fi
say "running pipelines/local.yaml: $CALLS calls, $AGENTS agents, seed $SEED, $((span / 60)) min of event time from $(date -u -d @$((START / 1000)) '+%F %H:%M') UTC, $pace"
"$mf" run pipelines/local.yaml --plugin-path "$plugins" >"$log" 2>&1 &
pid=$!
trap 'kill -TERM "$pid" 2>/dev/null || true' INT TERM

port=""
for _ in $(seq 100); do
    port=$(grep -o 'metrics, health and readiness on[^"]*(port [0-9]*)' "$log" 2>/dev/null | grep -o 'port [0-9]*' | head -1) || true
    port=${port#port }
    [[ -n $port ]] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
done

# progress: /metrics once a second; rows loaded from the loader's cycles
rows_loaded() { psql -X -At -c "SELECT coalesce(sum(row_count), 0) FROM ctl_etl_history WHERE status = 'SUCCESS'" 2>/dev/null || echo 0; }
t0=$SECONDS last_events=0 last_t=$SECONDS tty=0 printed=-5
[[ -t 1 ]] && tty=1
while kill -0 "$pid" 2>/dev/null; do
    sleep 1
    [[ -n $port ]] || continue
    m=$(curl -fsS "http://127.0.0.1:$port/metrics" 2>/dev/null) || continue # ending: keep the last line
    read -r events calls wm <<<"$(awk '
        $1 ~ /^martflow_node_records_out_total\{.*node="(gen|events-file)"/ { e += $2 }
        $1 ~ /^martflow_callthread_calls_created_total/ { c += $2 }
        $1 ~ /^martflow_callthread_input_watermark_ms/ { w = $2 }
        END { printf "%.0f %.0f %.0f\n", e, c, w }' <<<"$m")"
    rows=$(rows_loaded)
    dt=$((SECONDS - last_t))
    ((dt > 0)) || dt=1
    rate=$(((events - last_events) / dt))
    last_events=$events last_t=$SECONDS
    clock=""
    ((wm > 0)) && clock=" | event time $(date -u -d @$((wm / 1000)) '+%H:%M')"
    line=$(printf '[%4ds] %d events (%d/s) | %d calls | %d Info Mart rows loaded%s' \
        $((SECONDS - t0)) "$events" "$rate" "$calls" "$rows" "$clock")
    if ((tty)); then
        printf '\r\033[K%s' "$line"
    elif ((SECONDS - printed >= 5)); then
        printf '%s\n' "$line"
        printed=$SECONDS
    fi
done
((tty)) && printf '\n'
status=0
wait "$pid" || status=$?
trap - INT TERM
if ((status != 0)); then
    tail -n 20 "$log" >&2
    die "the pipeline exited $status (log: $log)"
fi
rows=$(rows_loaded)
say "done in $((SECONDS - t0)) s: $rows Info Mart rows loaded (log: $log)"
if [[ -s $DEAD_LETTER ]]; then
    say "$(wc -l <"$DEAD_LETTER") records were rejected: $DEAD_LETTER (each with its reason)"
fi

# ---- 5. the report -----------------------------------------------------------------------
from=$(date -u -d @$((START / 1000)) '+%FT%H:%M:%SZ')
to=$(date -u -d @$(((START / 1000) + span + 3600)) '+%FT%H:%M:%SZ')
if "$mf" report --help >/dev/null 2>&1; then
    say "the report (martflow report --from $from --to $to --interval 1h)"
    "$mf" report --from "$from" --to "$to" --interval 1h || say "martflow report failed; the tables are there to query"
else
    say "the Info Mart (a summary in SQL)"
    psql -X -P footer=off <<'SQL'
\echo 'Interactions by type'
SELECT t.interaction_type AS type, count(*) AS interactions
  FROM interaction_fact f JOIN interaction_type t USING (interaction_type_key) GROUP BY 1 ORDER BY 2 DESC;
\echo 'Queues: offered, answered, abandoned, average speed of answer, service level (answered within 20 s)'
SELECT r.resource_name || ' ' || coalesce(r.resource_alias, '') AS queue, count(*) AS offered,
       count(*) FILTER (WHERE d.result_reason = 'AnsweredByAgent') AS answered,
       count(*) FILTER (WHERE d.technical_result = 'Abandoned' OR d.result_reason LIKE 'Abandoned%') AS abandoned,
       round(avg(f.mediation_duration) FILTER (WHERE d.result_reason = 'AnsweredByAgent'), 1) AS asa_s,
       round(100.0 * count(*) FILTER (WHERE f.met_threshold_flag = 1) / count(*), 1) AS sl_pct
  FROM mediation_segment_fact f JOIN resource_ r USING (resource_key)
  JOIN technical_descriptor d USING (technical_descriptor_key)
 WHERE r.resource_type = 'Queue' GROUP BY 1 ORDER BY 1;
\echo 'Agents: handled calls, average handle time (talk + hold + after-call work), time per state (h:mm:ss)'
WITH h AS (
  SELECT resource_key, count(*) FILTER (WHERE talk_count > 0) AS handled,
         round(avg(talk_duration + hold_duration + after_call_work_duration) FILTER (WHERE talk_count > 0)) AS aht_s
    FROM interaction_resource_fact GROUP BY 1),
s AS (
  SELECT f.resource_key, sum(f.total_duration) FILTER (WHERE st.state_name_code = 'READY') AS ready,
         sum(f.total_duration) FILTER (WHERE st.state_name_code = 'NOT_READY') AS not_ready,
         sum(f.total_duration) FILTER (WHERE st.state_name_code = 'BUSY') AS busy,
         sum(f.total_duration) FILTER (WHERE st.state_name_code = 'ACW') AS acw
    FROM sm_res_state_fact f JOIN resource_state st USING (resource_state_key) GROUP BY 1)
SELECT r.resource_name AS agent, r.agent_first_name || ' ' || r.agent_last_name AS name, h.handled, h.aht_s,
       make_interval(secs => s.ready) AS ready, make_interval(secs => s.not_ready) AS not_ready,
       make_interval(secs => s.busy) AS busy, make_interval(secs => s.acw) AS acw
  FROM s JOIN resource_ r USING (resource_key) LEFT JOIN h USING (resource_key) ORDER BY 1;
SQL
fi
cat >&2 <<EOF

The Info Mart is in PostgreSQL; connect with
    psql "host=$PGHOST port=${PGPORT:-5432} user=${PGUSER:-$(id -un)} dbname=$PGDATABASE"
and try e.g.  SELECT * FROM interaction_resource_fact LIMIT 5;
EOF
if ((own_server)); then
    echo "It stays until ./quickstart.sh stop." >&2
fi
