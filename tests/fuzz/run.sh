#!/usr/bin/env bash
# tests/fuzz/run.sh [SECONDS] — fuzz the pipeline loader with libFuzzer
# (clang-14, ASan+UBSan) for SECONDS (default 60), starting from the corpus;
# new interesting inputs are added to tests/fuzz/corpus. Needs clang-14 and
# libclang-rt-14-dev (Debian).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
secs=${1:-60}
out=${FUZZ_DIR:-/tmp/martflow-fuzz}
mkdir -p "$out/new"
src=$(ls "$top"/engine/src/*.c | grep -v '/main.c$')
# shellcheck disable=SC2086
clang-14 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -I"$top/engine/include" -I"$top/engine/src" -I"$top/tests/unit" -DMF_PLUGINDIR='"/nonexistent"' \
    $(pkg-config --cflags jansson yaml-0.1 libmicrohttpd libcrypto) \
    "$here/fuzz_pipeline.c" "$top/tests/unit/testplugins.c" $src \
    $(pkg-config --libs jansson yaml-0.1 libmicrohttpd libcrypto) -ldl -lpthread -lm -o "$out/fuzz_pipeline"
"$out/fuzz_pipeline" -max_total_time="$secs" -max_len=4096 -timeout=5 "$out/new" "$here/corpus"
echo "new corpus entries are in $out/new; copy the interesting ones to $here/corpus"
