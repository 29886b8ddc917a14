#!/usr/bin/env bash
# bench/export/run.sh [ROWS] [RUNS] — the gim sink's Data Export (`martflow job
# FILE export`, tables: [interaction_resource_fact], file:// target) of ROWS
# (default 1,000,000) IRF rows, against `psql -c "\copy (SELECT ... same range)
# TO STDOUT CSV HEADER" | gzip` of the same rows; interleaved, medians of RUNS
# (default 3). Between runs ctl_export_history is emptied, so every run exports
# the whole range again. Prints rows/s and the ratio (target >= 0.8x), and the
# peak RSS of the export (bounded: not the table's size). Starts the test
# PostgreSQL itself (tests/services.sh; MARTFLOW_SERVICES_DIR to choose where)
# and uses a database of its own, dropped at the end.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
rows=${1:-1000000}
runs=${2:-3}
source "$top/bench/lib.sh"
bench_build
work=${BENCH_DIR:-/tmp/martflow-bench-export}
rm -rf "$work"
mkdir -p "$work"

bench_postgres mf_bench_export
bench_fresh_db
trap 'PGDATABASE=postgres psql_ -c "DROP DATABASE IF EXISTS $PGDATABASE WITH (FORCE)" >/dev/null 2>&1 || true' EXIT

# the schema and its dimensions through the loader (a small GSP load), then ROWS IRFs
# made from one loaded row in SQL (the loader's own speed is bench/e2e's business)
python3 "$top/tests/gim/gen_gsp.py" 1000 >"$work/gsp.jsonl"
cat >"$work/p.yaml" <<Y
pipeline: bench_export
sources:
  in: {plugin: file, path: "$work/gsp.jsonl", positions: false}
sinks:
  im:
    plugin: gim
    inputs: [in]
    cycle: 200ms
    schema_dir: $top/plugins/gim/sql
    jobs:
      export: {kind: export, every: 1d, target: "file://$work/out", tables: [interaction_resource_fact]}
Y
MARTFLOW_PLUGIN_PATH=$plugins MARTFLOW_DATA_DIR=$work/data "$mf" run "$work/p.yaml" >"$work/load.log" 2>&1
echo "inserting $rows IRF rows ..." >&2
psql_ <<SQL
-- their months' partitions first (schema 7: the loader makes them for what it writes, not for this)
SELECT infomart_ensure_partitions('interaction_resource_fact', ARRAY(SELECT DISTINCT infomart_month_start(1711848600 + g)
    FROM generate_series(1, $rows, 3600) g UNION SELECT infomart_month_start(1711848600 + $rows)));
WITH a AS (INSERT INTO ctl_audit_log (job_name, created_ts) VALUES ('bench', 0) RETURNING audit_key),
     x AS MATERIALIZED (SELECT * FROM interaction_resource_fact ORDER BY interaction_resource_id LIMIT 1)
INSERT INTO interaction_resource_fact
SELECT r.* FROM x, a, generate_series(1, $rows) g, LATERAL jsonb_populate_record(NULL::interaction_resource_fact, to_jsonb(x) || jsonb_build_object(
    'interaction_resource_id', 1000000000000 + g, 'interaction_id', 2000000000000 + g,
    'start_ts', 1711848600 + g, 'end_ts', 1711848700 + g % 3600,
    'talk_duration', g % 600, 'hold_duration', g % 37, 'ring_duration', g % 20,
    'create_audit_key', a.audit_key, 'update_audit_key', a.audit_key)) r; -- LATERAL: once a row, not once a column
VACUUM ANALYZE interaction_resource_fact;
SQL
total=$(psql_ -At -c "SELECT count(*) FROM interaction_resource_fact")
hwm=$(psql_ -At -c "SELECT max(audit_key) FROM ctl_audit_log")
echo "exporting $total rows (audit keys 0..$hwm)" >&2

baseline() {
    psql_ -c "\\copy (SELECT * FROM interaction_resource_fact WHERE update_audit_key > 0 AND update_audit_key <= $hwm) TO STDOUT CSV HEADER" |
        gzip >"$work/baseline.csv.gz"
}
ours() {
    psql_ -c "DELETE FROM ctl_export_history; DELETE FROM ctl_etl_history WHERE job_name = 'export'"
    rm -rf "$work/out"
    MARTFLOW_PLUGIN_PATH=$plugins MARTFLOW_DATA_DIR=$work/data /usr/bin/time -f "%M" -o "$work/rss" \
        "$mf" job "$work/p.yaml" export >"$work/job.log" 2>&1 || { tail -3 "$work/job.log" >&2; exit 1; }
}
secs() { local t0 t1; t0=$(date +%s.%N); "$@"; t1=$(date +%s.%N); echo "$t1 - $t0" | bc -l; }

b=() o=() rss=()
for ((i = 0; i < runs; i++)); do
    b+=("$(secs baseline)")
    o+=("$(secs ours)")
    rss+=("$(cat "$work/rss")")
    echo "run $((i + 1)): psql+gzip ${b[-1]} s, martflow job ${o[-1]} s, peak RSS ${rss[-1]} KiB" >&2
done
bm=$(median "${b[@]}") om=$(median "${o[@]}")
gz=$(ls "$work"/out/export_*/interaction_resource_fact.csv.gz)
rows_ours=$(zcat "$gz" | python3 -c 'import csv, sys; print(sum(1 for _ in csv.reader(sys.stdin)) - 1)')
rows_base=$(zcat "$work/baseline.csv.gz" | python3 -c 'import csv, sys; print(sum(1 for _ in csv.reader(sys.stdin)) - 1)')
[[ $rows_ours == "$rows_base" && $rows_ours == "$total" ]] || { echo "row counts differ: $rows_ours vs $rows_base vs $total" >&2; exit 1; }
printf 'rows %s\npsql+gzip   median %.2f s  %.0f rows/s  %s bytes\nmartflow    median %.2f s  %.0f rows/s  %s bytes  peak RSS %s KiB\nratio %.2f (target >= 0.80)\n' \
    "$total" "$bm" "$(echo "$total / $bm" | bc -l)" "$(stat -c %s "$work/baseline.csv.gz")" \
    "$om" "$(echo "$total / $om" | bc -l)" "$(stat -c %s "$gz")" "$(median "${rss[@]}")" "$(echo "$bm / $om" | bc -l)"
