#!/usr/bin/env bash
# bench/purge/run.sh [ROWS] — the maintenance job's purge (`martflow job FILE
# purge`, kind maintenance) of ROWS (default 1,000,000) old IRF rows, with a
# loader running beside it on the same Info Mart: a file source followed
# while a feeder appends GSP records at RATE records/s (default 10,000), gim
# sink `cycle: 200ms`, --log-level debug. Prints the purge's wall time and,
# from the loader's cycle lines, the longest cycle and the longest gap
# between two committed cycles during the purge, against the same before it
# (the ETL stall). Starts the test PostgreSQL itself (tests/services.sh;
# MARTFLOW_SERVICES_DIR to choose where); a database of its own, dropped.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
rows=${1:-1000000}
rate=${RATE:-10000}
source "$top/bench/lib.sh"
bench_build
work=${BENCH_DIR:-/tmp/martflow-bench-purge}
rm -rf "$work"
mkdir -p "$work"
bench_postgres mf_bench_purge
LOADER="" FEEDER="" OBSERVER=""
cleanup() {
    [[ -n $OBSERVER ]] && kill "$OBSERVER" 2>/dev/null || true
    [[ -n $FEEDER ]] && kill "$FEEDER" 2>/dev/null || true
    [[ -n $LOADER ]] && kill "$LOADER" 2>/dev/null || true
    wait 2>/dev/null || true
    PGDATABASE=postgres psql_ -c "DROP DATABASE IF EXISTS $PGDATABASE WITH (FORCE)" >/dev/null 2>&1 || true
}
trap cleanup EXIT
bench_fresh_db

# the schema and dimensions (a small GSP load), then ROWS IRFs ended in 2020 made from one loaded row
python3 "$top/tests/gim/gen_gsp.py" 1000 >"$work/seed.jsonl"
cat >"$work/seed.yaml" <<Y
pipeline: bench_purge_seed
sources:
  in: {plugin: file, path: "$work/seed.jsonl", positions: false}
sinks:
  im: {plugin: gim, inputs: [in], cycle: 200ms, schema_dir: $top/plugins/gim/sql}
Y
MARTFLOW_PLUGIN_PATH=$plugins MARTFLOW_DATA_DIR=$work/data "$mf" run "$work/seed.yaml" >"$work/seed.log" 2>&1
echo "inserting $rows old IRF rows ..." >&2
psql_ <<SQL
-- their months' partitions first (schema 7: the loader makes them for what it writes, not for this)
SELECT infomart_ensure_partitions('interaction_resource_fact', ARRAY(SELECT DISTINCT infomart_month_start(1577836800 + g)
    FROM generate_series(1, $rows, 3600) g UNION SELECT infomart_month_start(1577836800 + $rows)));
WITH a AS (INSERT INTO ctl_audit_log (job_name, created_ts) VALUES ('bench', 0) RETURNING audit_key),
     x AS MATERIALIZED (SELECT * FROM interaction_resource_fact ORDER BY interaction_resource_id LIMIT 1)
INSERT INTO interaction_resource_fact
SELECT r.* FROM x, a, generate_series(1, $rows) g, LATERAL jsonb_populate_record(NULL::interaction_resource_fact, to_jsonb(x) || jsonb_build_object(
    'interaction_resource_id', 1000000000000 + g, 'interaction_id', 2000000000000 + g,
    'start_ts', 1577836800 + g, 'end_ts', 1577836900 + g,
    'create_audit_key', a.audit_key, 'update_audit_key', a.audit_key)) r;
VACUUM ANALYZE interaction_resource_fact;
SQL

# the loader, following a file the feeder appends to (records of 2024: kept by the purge's 1500 days)
python3 "$top/tests/gim/gen_gsp.py" 400000 --first=100000 >"$work/gsp.jsonl"
: >"$work/feed.jsonl"
cat >"$work/p.yaml" <<Y
pipeline: bench_purge
sources:
  in: {plugin: file, path: "$work/feed.jsonl", follow: true, positions: false}
sinks:
  im:
    plugin: gim
    inputs: [in]
    cycle: 200ms
    schema_dir: $top/plugins/gim/sql
Y
# the job from a file of its own (the loader does not run it itself)
sed 's|    schema_dir:|    jobs:\n      purge: {kind: maintenance, every: 1d, keep_days: {interaction_resource_fact: 1500}, keep_days_default: 0}\n    schema_dir:|' \
    "$work/p.yaml" >"$work/job.yaml"
MARTFLOW_PLUGIN_PATH=$plugins MARTFLOW_DATA_DIR=$work/data "$mf" run "$work/p.yaml" --log-level debug >"$work/loader.log" 2>&1 &
LOADER=$!
python3 - "$work/gsp.jsonl" "$work/feed.jsonl" "$rate" <<'PY' &
import sys, time
src, dst, rate = open(sys.argv[1]), open(sys.argv[2], "a"), int(sys.argv[3])
per = max(1, rate // 20)
t = time.time()
for n, line in enumerate(src, 1):
    dst.write(line)
    if n % per == 0:
        dst.flush()
        t += 0.05
        time.sleep(max(0, t - time.time()))
dst.flush()
PY
FEEDER=$!
# the observer: the newest committed audit key every 20 ms (one psql session), to see the ETL's commits
python3 - "$work/commits.txt" <<'PY' &
import subprocess, sys, time
out = open(sys.argv[1], "w")
p = subprocess.Popen(["psql", "-X", "-At"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
while True:
    p.stdin.write("SELECT max(audit_key) FROM ctl_audit_log;\n")
    p.stdin.flush()
    k = p.stdout.readline().strip()
    out.write("%.3f %s\n" % (time.time(), k))
    out.flush()
    time.sleep(0.02)
PY
OBSERVER=$!
sleep 6
t0=$(date +%s.%N)
MARTFLOW_PLUGIN_PATH=$plugins MARTFLOW_DATA_DIR=$work/data "$mf" job "$work/job.yaml" purge >"$work/purge.log" 2>&1 ||
    { tail -3 "$work/purge.log" >&2; exit 1; }
t1=$(date +%s.%N)
sleep 4
kill "$FEEDER" "$OBSERVER" 2>/dev/null || true
kill -TERM "$LOADER"
wait "$LOADER" || true
LOADER="" FEEDER="" OBSERVER=""
left=$(psql_ -At -c "SELECT count(*) FROM interaction_resource_fact WHERE end_ts < 1600000000")
purged=$(psql_ -At -c "SELECT coalesce(sum(row_count), 0) FROM ctl_purge_history WHERE table_name = 'interaction_resource_fact'")
psql_ -At -F ' ' -c "SELECT start_ts, duration_ms FROM ctl_etl_history WHERE job_name = 'etl' AND status = 'SUCCESS' ORDER BY etl_history_key" >"$work/cycles.txt"
python3 - "$work/commits.txt" "$work/cycles.txt" "$t0" "$t1" "$rows" "$purged" "$left" "$rate" <<'PY'
import sys
t0, t1 = float(sys.argv[3]), float(sys.argv[4])
obs = []
for line in open(sys.argv[1]):
    parts = line.split()
    if len(parts) == 2:
        obs.append((float(parts[0]), int(parts[1])))
commits = [obs[i][0] for i in range(1, len(obs)) if obs[i][1] != obs[i - 1][1]]  # when a new key was first seen
cycles = [tuple(map(int, l.split())) for l in open(sys.argv[2]) if l.strip()]
def window(a, b):
    gaps = [y - x for x, y in zip(commits, commits[1:]) if y >= a and x <= b]
    n = sum(1 for c in commits if a <= c <= b)
    longest = max([d for s, d in cycles if a - 1 <= s <= b] or [0])
    return n, longest, max(gaps or [0]) * 1000
print("purge of %s rows: %.2f s (%s purged, %s old rows left); loader fed %s records/s, cycle 200ms" % (
    sys.argv[5], t1 - t0, sys.argv[6], sys.argv[7], sys.argv[8]))
for name, (a, b) in (("before (4.5 s)", (t0 - 5, t0 - 0.5)), ("during the purge", (t0, t1)), ("after (3 s)", (t1, t1 + 3))):
    print("  %-17s %4d commits seen, longest cycle %6d ms, longest time without a commit %7.0f ms" % ((name,) + window(a, b)))
PY
