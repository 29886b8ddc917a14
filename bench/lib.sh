# bench/lib.sh — shared by the benchmark scripts (sourced).
#   bench_build       sets build, mf (the binary) and plugins from BUILD_DIR, else
#                     this tree if built in place, else _build/
#   bench_events N F  writes N generated events to F unless F already has N lines
#   median V...       the median of the values
#   bench_postgres DB the test PostgreSQL started (tests/services.sh; MARTFLOW_SERVICES_DIR),
#                     its libpq variables exported with PGDATABASE=DB, and psql_
#                     (psql stopping at the first error)
#   bench_fresh_db    $PGDATABASE dropped and made again, empty
bench_top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

bench_build() {
    build=${BUILD_DIR:-}
    if [[ -z $build ]]; then
        if [[ -x $bench_top/martflow ]]; then build=$bench_top; else build=$bench_top/_build; fi
    fi
    mf=$build/martflow
    plugins=$build/build/plugins
    [[ -x $mf ]] || { echo "build martflow first (no $mf)" >&2; exit 1; }
}

bench_events() {
    local n=$1 file=$2
    if [[ ! -f $file || $(wc -l <"$file") -ne $n ]]; then
        echo "generating $n records ..." >&2
        python3 "$bench_top/bench/gen_events.py" "$n" "$file"
    fi
}

median() {
    printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'
}

psql_() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }

bench_postgres() {
    "$bench_top/tests/services.sh" start postgres >&2
    eval "$("$bench_top/tests/services.sh" env)"
    export PGDATABASE=$1
}

bench_fresh_db() {
    PGDATABASE=postgres psql_ -c "DROP DATABASE IF EXISTS $PGDATABASE WITH (FORCE)" -c "CREATE DATABASE $PGDATABASE"
}
