#!/usr/bin/env bash
# tests/valgrind.sh BUILD_DIR — run the engine's CUnit programs under valgrind
# (memcheck, full leak check); any error or definite/indirect leak fails.
set -euo pipefail
build=${1:?usage: tests/valgrind.sh BUILD_DIR}
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export MARTFLOW_PLUGIN_PATH=$build/build/plugins top_srcdir=$top top_builddir=$build
# Time bounds in the tests stretch by this much under valgrind.
export MARTFLOW_TEST_TIME_SCALE=20
status=0
ran=0
# Every CUnit program of tests/unit (one per test_*.c), so a new one is
# covered without editing this list.
for src in "$top"/tests/unit/test_*.c; do
    t=$(basename "$src" .c)
    prog=$build/tests/unit/$t
    [[ -x $prog ]] || { echo "valgrind: $prog not built" >&2; exit 1; }
    log=$build/tests/unit/$t.valgrind.log
    if "$build/libtool" --mode=execute valgrind --quiet --error-exitcode=99 --suppressions="$top/tests/valgrind.supp" --leak-check=full \
        --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect \
        "$prog" >"$log" 2>&1; then
        echo "valgrind: PASS $t"
    else
        echo "valgrind: FAIL $t (see $log)"; tail -n 40 "$log"; status=1
    fi
    ran=$((ran + 1))
done
((ran > 0)) || { echo "valgrind: nothing ran" >&2; exit 1; }
exit $status
