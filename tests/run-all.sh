#!/usr/bin/env bash
# tests/run-all.sh — run every test: install what is missing (Debian), build
# with warnings as errors, `make check` (unit, plugin, CLI and integration
# tests; the integration tests start their own servers on 127.0.0.1 through
# tests/services.sh), then stop the servers.
#
#   tests/run-all.sh                 build in _build/ (or in the source tree if
#                                    it is configured there) and test
#   tests/run-all.sh --sanitizers    the same under ASan+UBSan, in _build-asan/,
#                                    except the slow fault and end-to-end tests
#                                    (tests/Makefile.inc: slow_tests)
#   tests/run-all.sh --tsan          the unit and pipeline tests (no servers)
#                                    under ThreadSanitizer, in _build-tsan/
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top"
san=no
case ${1:-} in
--sanitizers) san=yes ;;
--tsan) san=tsan ;;
"") ;;
*) echo "usage: tests/run-all.sh [--sanitizers | --tsan]" >&2; exit 2 ;;
esac
tests/install-deps.sh test
[[ -x configure ]] || autoreconf -fi >/dev/null

if [[ $san == yes ]]; then
    build=$top/_build-asan
    flags=(--enable-werror --enable-sanitizers)
elif [[ $san == tsan ]]; then
    build=$top/_build-tsan
    flags=(--enable-werror --enable-tsan)
elif [[ -f Makefile && -f config.status ]]; then
    build=$top
    flags=()
else
    build=$top/_build
    flags=(--enable-werror)
fi
if [[ $build != "$top" && -f $top/config.status ]]; then
    echo "run-all: the source tree is configured in place; run 'make distclean' there first" >&2
    exit 2
fi
mkdir -p "$build"
[[ -f $build/Makefile ]] || (cd "$build" && "$top/configure" -q "${flags[@]}")

trap '"$top/tests/services.sh" stop >/dev/null 2>&1 || true' EXIT
make -C "$build" -j"$(nproc)"
status=0
if [[ $san == tsan ]]; then
    # Kernels that randomise mmap with more bits than gcc 12's TSan expects
    # make it fail with "unexpected memory mapping": run without ASLR there.
    noaslr=()
    if (($(cat /proc/sys/vm/mmap_rnd_bits 2>/dev/null || echo 0) > 28)) && setarch "$(uname -m)" -R true 2>/dev/null; then
        noaslr=(setarch "$(uname -m)" -R)
    fi
    "${noaslr[@]}" make -C "$build" -j2 check-unit-pipeline || status=$?
elif [[ $san == yes ]]; then
    make -C "$build" -j2 check-sanitizers || status=$?
else
    make -C "$build" -j2 check || status=$?
fi
# `make install` (after the suite: it relinks the plugins in the build tree)
# puts the binary, the plugins, the headers and martflow.pc in place.
stage=$(mktemp -d)
if make -s -C "$build" install DESTDIR="$stage" >"$stage.log" 2>&1; then
    prefix=$(sed -n 's/^prefix=//p' "$build/martflow.pc")
    for f in bin/martflow lib/martflow/source_file.so lib/martflow/sink_kafka.so lib/martflow/transform_lua.so \
        include/martflow/martflow.h lib/pkgconfig/martflow.pc; do
        [[ -e $stage$prefix/$f ]] || { echo "run-all: make install did not install $f" >&2; status=1; }
    done
    listed=$(LD_LIBRARY_PATH=$stage$prefix/lib "$stage$prefix/bin/martflow" plugins --plugin-path "$stage$prefix/lib/martflow")
    grep -q '^source kafka ' <<<"$listed" || { echo "run-all: the installed martflow does not list its plugins" >&2; status=1; }
else
    cat "$stage.log" >&2; echo "run-all: make install failed" >&2; status=1
fi
rm -rf "$stage" "$stage.log"
# A summary that cannot be mistaken for success on zero tests.
total=$(cat "$build"/tests/*/*.trs "$build"/plugins/*/*.trs 2>/dev/null | grep -c '^:test-result:' || true)
failed=$(cat "$build"/tests/*/*.trs "$build"/plugins/*/*.trs 2>/dev/null | grep -cE '^:test-result: (FAIL|ERROR|XPASS)' || true)
echo "run-all: $total test programs, $failed failed (sanitizers: $san)"
if ((total == 0)); then
    echo "run-all: no test ran: failing" >&2
    exit 1
fi
if ((status != 0)); then
    for log in $(grep -lE '^:test-result: (FAIL|ERROR)' "$build"/tests/*/*.trs 2>/dev/null | sed 's/\.trs$/.log/'); do
        echo "===== $log"; tail -n 60 "$log"
    done
fi
exit $status
