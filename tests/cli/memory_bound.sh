#!/usr/bin/env bash
# Backpressure bounds memory: a source ten times faster than its sink (here a
# file of 60,000 ~400-byte records into a sink throttled to 20,000 records/s)
# keeps the peak RSS under 64 MiB, while the input alone would be ~25 MB of
# text and several times that as parsed JSON if it were all buffered.
source "$top_srcdir/tests/lib.sh"
python3 - "$TMP/in.jsonl" <<'PY'
import json, sys
with open(sys.argv[1], "w") as f:
    for i in range(60000):
        f.write(json.dumps({"id": "EventEstablished", "seq": i, "CallThreadID": "ct-%08d" % i,
                            "UserData": {"k%d" % j: "v" * 20 for j in range(10)}, "pad": "x" * 60}) + "\n")
PY
cat >"$TMP/p.yaml" <<Y
settings: {queue_records: 1024}
sources:
  in: {plugin: file, path: $TMP/in.jsonl}
sinks:
  out: {plugin: null, inputs: [in], rate: 20000}
Y
limit_kib=$((64 * 1024))
if [[ ${MF_SANITIZERS:-no} == yes ]]; then
    # ASan keeps freed memory in a quarantine (256 MiB by default) and adds
    # shadow memory: shrink the quarantine and allow for the shadow.
    export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=8
    limit_kib=$((128 * 1024))
elif [[ ${MF_TSAN:-no} == yes ]]; then
    # ThreadSanitizer's shadow memory is several times the application's.
    limit_kib=$((512 * 1024))
fi
/usr/bin/time -f '%M' -o "$TMP/rss" "$MARTFLOW" run "$TMP/p.yaml" >"$TMP/log"
peak_kib=$(tail -n 1 "$TMP/rss")
note "peak RSS ${peak_kib} KiB (limit ${limit_kib} KiB, input $(($(stat -c %s "$TMP/in.jsonl") / 1024)) KiB)"
((peak_kib < limit_kib)) || fail "peak RSS ${peak_kib} KiB >= ${limit_kib} KiB"
assert_contains "$TMP/log" 'node":"out".*in=60000 ' "every record reached the sink"
