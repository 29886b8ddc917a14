#!/usr/bin/env bash
# docs/examples/run-demo.sh — the toy file demo: install what is missing (Debian),
# build martflow in _build/, and run the demo pipeline end to end. Output goes
# to $DEMO_OUT (default /tmp/martflow-demo): events.jsonl and rejects.jsonl.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$top"
tests/install-deps.sh build
if [[ -f Makefile && -f config.status ]]; then
    build=$top                        # configured in the source tree: use it
else
    build=$top/_build
    [[ -x configure ]] || autoreconf -fi >/dev/null
    mkdir -p "$build"
    [[ -f $build/Makefile ]] || (cd "$build" && "$top/configure" -q)
fi
make -C "$build" -j"$(nproc)" >/dev/null
export DEMO_OUT=${DEMO_OUT:-/tmp/martflow-demo}
rm -f "$DEMO_OUT/events.jsonl" "$DEMO_OUT/rejects.jsonl"
# The file source remembers how far it read; the demo reads its input afresh
# on every run, so its state lives next to the output and starts empty.
export MARTFLOW_DATA_DIR=$DEMO_OUT/state
rm -rf "$MARTFLOW_DATA_DIR"
status=0
"$build/martflow" run docs/examples/demo.yaml --plugin-path "$build/build/plugins" || status=$?
echo "--- $DEMO_OUT/events.jsonl ($(wc -l <"$DEMO_OUT/events.jsonl") records)"
cat "$DEMO_OUT/events.jsonl"
echo "--- $DEMO_OUT/rejects.jsonl ($(wc -l <"$DEMO_OUT/rejects.jsonl") records, with the reason in headers)"
cat "$DEMO_OUT/rejects.jsonl"
exit $status
