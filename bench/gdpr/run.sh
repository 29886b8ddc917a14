#!/usr/bin/env bash
# bench/gdpr/run.sh [RECORDS] [RUNS] — what the GDPR forget list costs the
# loader: the same RECORDS GSP records (default 200,000, tests/gim/gen_gsp.py
# --outbound) loaded by the gim sink into a fresh database, with an empty
# forget list and with one of FORGOTTEN (default 10,000) customers and 1,000
# employees (hashes inserted before the load; every 50th of the customer
# hashes is a loaded ANI, so the loader masks), interleaved, medians of RUNS
# (default 3). Prints the wall time of `martflow run` (start and load) of
# each, the ratio, and from the cycles' debug timings the milliseconds spent
# in the steps forget-list (lock, counts, reading the lists when they
# changed) and forget-mask (hashing the personal fields) against all cycles. Starts the test PostgreSQL itself (tests/services.sh;
# MARTFLOW_SERVICES_DIR to choose where); databases of its own, dropped.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
records=${1:-200000}
runs=${2:-3}
forgotten=${FORGOTTEN:-10000}
source "$top/bench/lib.sh"
bench_build
work=${BENCH_DIR:-/tmp/martflow-bench-gdpr}
rm -rf "$work"
mkdir -p "$work"
bench_postgres mf_bench_gdpr
trap 'PGDATABASE=postgres psql_ -c "DROP DATABASE IF EXISTS $PGDATABASE WITH (FORCE)" >/dev/null 2>&1 || true' EXIT
python3 "$top/tests/gim/gen_gsp.py" "$records" --outbound >"$work/gsp.jsonl"
n_ixn=$(grep -c '"media_server_ixn_guid"' "$work/gsp.jsonl")
cat >"$work/p.yaml" <<Y
pipeline: bench_gdpr
sources:
  in: {plugin: file, path: "$work/gsp.jsonl", positions: false}
sinks:
  im:
    plugin: gim
    inputs: [in]
    cycle: 1s
    cycle_records: 20000
    schema_dir: $top/plugins/gim/sql
Y
fresh() {
    bench_fresh_db
    # the schema (the migrations runner of tests/gim/test_gim_schema, built by make check), then the forget list
    MF_TEST_SQLDIR=$top/plugins/gim/sql MF_TEST_SHA001=unused "$build/tests/gim/test_gim_schema" --migrate >/dev/null
    if [[ $1 == list ]]; then
        psql_ <<SQL
INSERT INTO gim_forget_list (subject_type, value_hash, mask, request_id, created_ts)
SELECT 'customer', encode(sha256(convert_to(CASE WHEN g % 50 = 0 AND g / 50 < $n_ixn THEN '+1555' || lpad((g / 50)::text, 4, '0')
                                             ELSE 'x' || g END, 'UTF8')), 'hex'), 'forgotten', 'bench', 0
  FROM generate_series(0, $forgotten - 1) g;
INSERT INTO gim_forget_list (subject_type, value_hash, mask, request_id, created_ts)
SELECT 'employee', encode(sha256(convert_to('y' || g, 'UTF8')), 'hex'), 'forgotten', 'bench', 0 FROM generate_series(1, 1000) g;
SQL
    fi
}
load() { # prints seconds
    local t0 t1
    t0=$(date +%s.%N)
    MARTFLOW_PLUGIN_PATH=$plugins MARTFLOW_DATA_DIR=$work/data "$mf" run "$work/p.yaml" --log-level debug >"$work/load.log" 2>&1
    t1=$(date +%s.%N)
    echo "$t1 - $t0" | bc
    python3 - "$work/load.log" >>"$work/steps.txt" <<'PY'
import json, re, sys
tot = fl = fm = 0.0; n = 0
for line in open(sys.argv[1]):
    m = json.loads(line).get("message", "")
    g = re.match(r"cycle of \d+ records, \d+ rows in ([0-9.]+) ms: (.*)", m)
    if not g:
        continue
    n += 1; tot += float(g.group(1))
    steps = dict((k, float(v)) for k, v in (s.rsplit(" ", 1) for s in g.group(2).split(", ")))
    fl += steps.get("forget-list", 0); fm += steps.get("forget-mask", 0)
print("%d cycles %.0f ms: forget-list %.1f ms, forget-mask %.1f ms" % (n, tot, fl, fm))
PY
}
empty=() list=()
for ((r = 1; r <= runs; r++)); do
    fresh none; empty+=("$(load)")
    fresh list; list+=("$(load)")
    masked=$(psql_ -At -c "SELECT count(*) FROM interaction_fact WHERE source_address = 'forgotten'")
    echo "run $r: empty list ${empty[-1]} s, $forgotten+1000 forgotten ${list[-1]} s ($masked ANIs masked)" >&2
    tail -n 2 "$work/steps.txt" | sed 's/^/    /' >&2
done
e=$(median "${empty[@]}") l=$(median "${list[@]}")
echo "records=$records interactions=$n_ixn forgotten=$forgotten+1000 empty=${e}s list=${l}s ratio(list/empty)=$(echo "scale=3; $l / $e" | bc) masked=$masked"
