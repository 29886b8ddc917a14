#!/usr/bin/env bash
# bench/pg-load/run.sh [RECORDS] [RUNS] — 1,000,000 IRF-shaped records (20
# fields: ids, keys, timestamps, counts, durations; gen_irf.py) through a
# pipeline file source -> postgres sink into an empty table, against
# `psql -c "\copy t FROM file CSV"` of the same rows into an identical empty
# table; interleaved, medians of RUNS. Then the sink upserting the same
# records into the full table. Prints rows/s and the ratios (targets: insert
# >= 0.8x \copy, upsert of existing rows >= 0.5x), and the peak RSS of
# martflow loading 200k and RECORDS rows (target: flat). Starts the test
# PostgreSQL itself (tests/services.sh; MARTFLOW_SERVICES_DIR to choose
# where) and uses a database of its own, dropped at the end.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
records=${1:-1000000}
runs=${2:-3}
small=$((records / 5))
source "$top/bench/lib.sh"
bench_build
work=${BENCH_DIR:-/tmp/martflow-bench-pg-load}
mkdir -p "$work"

bench_postgres mf_bench_pgload
bench_fresh_db
trap 'PGDATABASE=postgres psql_ -c "DROP DATABASE IF EXISTS $PGDATABASE WITH (FORCE)" >/dev/null 2>&1 || true' EXIT

in=$work/irf.jsonl csv=$work/irf.csv
if [[ ! -f $in || $(wc -l <"$in") -ne $records ]]; then
    echo "generating $records records ..." >&2
    python3 "$here/gen_irf.py" "$records" "$in" "$csv"
fi
head -n "$small" "$in" >"$work/small.jsonl"

ddl="(irf_id bigint PRIMARY KEY, interaction_id text NOT NULL, tenant_key integer, media_type_key integer,
  interaction_type_key integer, resource_key integer, queue_key integer, technical_descriptor_key integer,
  start_ts timestamptz, end_ts timestamptz, talk_duration integer, hold_duration integer,
  wrap_duration integer, ring_duration integer, hold_count integer, transfer_count integer,
  conference_count integer, active_flag boolean, reason_code text, user_data text)"
psql_ -c "CREATE TABLE t_copy $ddl" -c "CREATE TABLE t_sink $ddl"

pipeline() { # FILE INPUT MODE
    cat >"$1" <<Y
pipeline: bench-pg-load
sources:
  in: {plugin: file, path: "$2", positions: false}
sinks:
  db:
    plugin: postgres
    inputs: [in]
    table: t_sink
    mode: $3
    key: $([[ $3 == upsert ]] && echo "[irf_id]" || echo "[]")
    columns:
      irf_id: irf_id
      interaction_id: interaction_id
      tenant_key: tenant_key
      media_type_key: media_type_key
      interaction_type_key: interaction_type_key
      resource_key: resource_key
      queue_key: queue_key
      technical_descriptor_key: technical_descriptor_key
      start_ts: {field: start_ts, type: timestamptz}
      end_ts: {field: end_ts, type: timestamptz}
      talk_duration: talk_duration
      hold_duration: hold_duration
      wrap_duration: wrap_duration
      ring_duration: ring_duration
      hold_count: hold_count
      transfer_count: transfer_count
      conference_count: conference_count
      active_flag: active_flag
      reason_code: reason_code
      user_data: user_data
Y
}
pipeline "$work/insert.yaml" "$in" insert
pipeline "$work/upsert.yaml" "$in" upsert
pipeline "$work/small.yaml" "$work/small.jsonl" insert
# the input side alone (file source -> null sink): what the pipeline cannot exceed
cat >"$work/null.yaml" <<Y
pipeline: bench-pg-load-source
sources:
  in: {plugin: file, path: "$in", positions: false}
sinks:
  out: {plugin: "null", inputs: [in]}
Y

now() { date +%s.%N; }
rows_in() { psql_ -At -c "SELECT count(*) FROM $1"; }
# run_mf YAML: martflow run, timed; peak RSS (KiB) in $work/rss
run_mf() {
    local t0 t1
    t0=$(now)
    /usr/bin/time -f '%M' -o "$work/rss" "$mf" run "$1" --plugin-path "$plugins" >"$work/mf.log" 2>&1 ||
        { tail -5 "$work/mf.log" >&2; exit 1; }
    t1=$(now)
    echo "$t1 - $t0" | bc -l
}

declare -a base ours ups rss
for ((r = 0; r < runs; r++)); do
    psql_ -c "TRUNCATE t_copy, t_sink" -c "CHECKPOINT"
    t0=$(now); psql_ -c "\\copy t_copy FROM '$csv' CSV"; t1=$(now)
    base+=("$(echo "$t1 - $t0" | bc -l)")
    ours+=("$(run_mf "$work/insert.yaml")")
    rss+=("$(tail -n 1 "$work/rss")")
    [[ $(rows_in t_copy) == "$records" && $(rows_in t_sink) == "$records" ]] || { echo "row counts differ" >&2; exit 1; }
    psql_ -c "CHECKPOINT"
    ups+=("$(run_mf "$work/upsert.yaml")")
    echo "run $((r + 1)): \\copy ${base[r]}s, sink insert ${ours[r]}s, sink upsert of existing rows ${ups[r]}s" >&2
done
# the same table either way
a=$(psql_ -At -c "SELECT md5(string_agg(t::text, '|' ORDER BY irf_id)) FROM t_copy t")
b=$(psql_ -At -c "SELECT md5(string_agg(t::text, '|' ORDER BY irf_id)) FROM t_sink t")
[[ $a == "$b" ]] || { echo "the tables differ: \\copy $a, sink $b" >&2; exit 1; }

psql_ -c "TRUNCATE t_sink"
run_mf "$work/small.yaml" >/dev/null
rss_small=$(tail -n 1 "$work/rss")
nb=$(run_mf "$work/null.yaml")

bb=$(median "${base[@]}") mb=$(median "${ours[@]}") ub=$(median "${ups[@]}") rb=$(median "${rss[@]}")
bytes=$(stat -c %s "$in")
printf 'pg-load: %d IRF records (%d bytes of JSON avg, 20 columns), median of %d runs, PostgreSQL %s\n' \
    "$records" $((bytes / records)) "$runs" "$(psql_ -At -c 'SHOW server_version')"
printf '  psql \\copy CSV into an empty table:       %8.0f rows/s\n' "$(echo "$records / $bb" | bc -l)"
printf '  martflow file -> postgres (insert):        %8.0f rows/s  ratio %.2f (target >= 0.80)\n' \
    "$(echo "$records / $mb" | bc -l)" "$(echo "$bb / $mb" | bc -l)"
printf '  martflow file -> postgres (upsert, rows exist): %8.0f rows/s  ratio %.2f (target >= 0.50)\n' \
    "$(echo "$records / $ub" | bc -l)" "$(echo "$bb / $ub" | bc -l)"
printf '  (the input alone, file source -> null:   %8.0f rows/s, one run)\n' "$(echo "$records / $nb" | bc -l)"
printf '  peak RSS of martflow: %d rows %.1f MiB, %d rows %.1f MiB (target: flat)\n' \
    "$small" "$(echo "$rss_small / 1024" | bc -l)" "$records" "$(echo "$rb / 1024" | bc -l)"
