#!/usr/bin/env bash
# tests/fuzz/run.sh [SECONDS] [TARGET] — fuzz with libFuzzer (clang-14,
# ASan+UBSan) for SECONDS (default 60), starting from the target's corpus;
# new interesting inputs are added to $FUZZ_DIR/new-TARGET. TARGET:
#   pipeline  the pipeline loader (corpus tests/fuzz/corpus), the default
#   json      the fast JSON path against jansson (corpus tests/fuzz/corpus_json)
# Needs clang-14 and libclang-rt-14-dev (Debian).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
secs=${1:-60}
target=${2:-pipeline}
case $target in
pipeline) corpus=$here/corpus ;;
json) corpus=$here/corpus_json ;;
*) echo "usage: $0 [SECONDS] [pipeline|json]" >&2; exit 2 ;;
esac
out=${FUZZ_DIR:-/tmp/martflow-fuzz}
mkdir -p "$out/new-$target"
san=(-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined)
# Objects: instrumented for the fuzzer; libFuzzer's main comes with the link.
san_obj=(-g -O1 -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined)
inc=(-I"$top/engine/include" -I"$top/engine/src" -I"$top/tests/unit" -DMF_PLUGINDIR='"/nonexistent"')
objs=$out/obj-$target
rm -rf "$objs" && mkdir -p "$objs"
# shellcheck disable=SC2046
clang++-14 -std=c++17 "${san_obj[@]}" "${inc[@]}" $(pkg-config --cflags jansson simdjson) \
    -c "$top/engine/src/json_fast.cc" -o "$objs/json_fast.o"
src=$(ls "$top"/engine/src/*.c | grep -v '/main.c$')
# shellcheck disable=SC2086
(cd "$objs" && clang-14 "${san_obj[@]}" "${inc[@]}" \
    $(pkg-config --cflags jansson yaml-0.1 libmicrohttpd libcrypto) \
    -c "$here/fuzz_$target.c" "$top/tests/unit/testplugins.c" $src)
# shellcheck disable=SC2086
clang++-14 "${san[@]}" "$objs"/*.o \
    $(pkg-config --libs jansson yaml-0.1 libmicrohttpd libcrypto simdjson) -ldl -lpthread -lm -o "$out/fuzz_$target"
"$out/fuzz_$target" -max_total_time="$secs" -max_len=4096 -timeout=5 "$out/new-$target" "$corpus"
echo "new corpus entries are in $out/new-$target; copy the interesting ones to $corpus"
