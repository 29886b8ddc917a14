#!/usr/bin/env bash
# bench/gca/run.sh [OBJECTS] [CHANGED_PERCENT] [RUNS] — GCA's change detection
# on a generated configuration of OBJECTS (100,000) objects with
# CHANGED_PERCENT (1) changed: the in-process driver gca_diff_bench.c (built
# by `make check`, or here) times making a read canonical, the diff, the
# snapshot written and read back, and prints the peak RSS; RUNS (3) runs.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
source "$top/bench/lib.sh"
bench_build
make -s -C "$build" bench/gca/gca_diff_bench >/dev/null
for ((r = 1; r <= ${3:-3}; r++)); do
    echo "run $r:"
    "$build/bench/gca/gca_diff_bench" "${1:-100000}" "${2:-1}"
done
