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
"$top/tests/services.sh" start postgres >&2
eval "$("$top/tests/services.sh" env)"
export PGDATABASE=mf_bench_purge
psql_() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }
LOADER="" FEEDER=""
cleanup() {
    [[ -n $FEEDER ]] && kill "$FEEDER" 2>/dev/null || true
    [[ -n $LOADER ]] && kill "$LOADER" 2>/dev/null || true
    wait 2>/dev/null || true
    PGDATABASE=postgres psql_ -c "DROP DATABASE IF EXISTS $PGDATABASE WITH (FORCE)" >/dev/null 2>&1 || true
}
trap cleanup EXIT
PGDATABASE=postgres psql_ -c "DROP DATABASE IF EXISTS $PGDATABASE" -c "CREATE DATABASE $PGDATABASE"

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
sleep 6
t0=$(date +%s.%N)
MARTFLOW_PLUGIN_PATH=$plugins MARTFLOW_DATA_DIR=$work/data "$mf" job "$work/job.yaml" purge >"$work/purge.log" 2>&1 ||
    { tail -3 "$work/purge.log" >&2; exit 1; }
t1=$(date +%s.%N)
sleep 3
kill "$FEEDER" 2>/dev/null || true
kill -TERM "$LOADER"
wait "$LOADER" || true
LOADER="" FEEDER=""
left=$(psql_ -At -c "SELECT count(*) FROM interaction_resource_fact WHERE end_ts < 1600000000")
purged=$(psql_ -At -c "SELECT coalesce(sum(row_count), 0) FROM ctl_purge_history WHERE table_name = 'interaction_resource_fact'")
python3 - "$work/loader.log" "$t0" "$t1" "$rows" "$purged" "$left" "$rate" <<'PY'
import json, re, sys
from datetime import datetime, timezone
log, t0, t1 = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
cycles = []  # (end time, duration ms, records)
for line in open(log):
    try:
        j = json.loads(line)
    except ValueError:
        continue
    m = re.match(r"cycle of (\d+) records, \d+ rows in ([0-9.]+) ms", j.get("message", ""))
    if m:
        end = datetime.strptime(j["time"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc).timestamp()
        cycles.append((end, float(m.group(2)), int(m.group(1))))
def window(a, b):
    sel = [c for c in cycles if a <= c[0] <= b]
    gaps = [y[0] - x[0] for x, y in zip(cycles, cycles[1:]) if a <= y[0] <= b]
    recs = sum(c[2] for c in sel)
    return len(sel), max([c[1] for c in sel] or [0]), max(gaps or [0]) * 1000, recs / max(b - a, 1e-9)
before = window(t0 - 5, t0)
during = window(t0, t1)
print("purge of %s rows: %.2f s (%s purged, %s old rows left); loader fed %s records/s" % (
    sys.argv[4], t1 - t0, sys.argv[5], sys.argv[6], sys.argv[7]))
for name, w in (("before (5 s)", before), ("during the purge", during)):
    print("  %-17s %4d cycles, longest cycle %7.1f ms, longest gap between commits %7.1f ms, %8.0f records/s loaded" % ((name,) + w))
PY
