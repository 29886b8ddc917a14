#!/usr/bin/env bash
# bench/kafka-mirror/run.sh — mirror and consume throughput of the Kafka
# plugins against kcat (same librdkafka), on the test broker.
#
#   bench/kafka-mirror/run.sh [RUNS]      (default 5; medians are reported)
#
# Input: 1,000,000 messages of ~400 bytes (1,000 keys) in a 4-partition topic.
#   mirror   kcat -C ... | kcat -P ...        vs  martflow: kafka source -> kafka sink
#   consume  kcat -C -o beginning -e >/dev/null  vs  martflow: kafka source -> null sink
# Every martflow run is a whole `martflow run` (start, group join, read to the
# end with stop_at_end, commit, exit), timed like the kcat commands. Runs are
# interleaved so that noise from other work on the machine hits both sides.
# Each mirror run writes to a new topic (deleted afterwards).
#
# Environment: MARTFLOW (binary; default ./martflow), MARTFLOW_PLUGIN_PATH
# (default ./build/plugins), BENCH_MESSAGES (default 1000000), BENCH_OUT
# (work files; default bench/out/kafka-mirror). Needs kcat, python3.
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${1:-5}
N=${BENCH_MESSAGES:-1000000}
MARTFLOW=${MARTFLOW:-$PWD/martflow}
export MARTFLOW_PLUGIN_PATH=${MARTFLOW_PLUGIN_PATH:-$PWD/build/plugins}
OUT=${BENCH_OUT:-$PWD/bench/out/kafka-mirror}
mkdir -p "$OUT"
[[ -x $MARTFLOW ]] || { echo "build first: no $MARTFLOW" >&2; exit 1; }

tests/services.sh start kafka >&2
eval "$(tests/services.sh env)"
B=$KAFKA_BOOTSTRAP
ID=$$
SRC=bench-src-$ID
TOPICS=("$SRC")
cleanup() { for t in "${TOPICS[@]}"; do tests/services.sh kafka-topic-delete "$t" >/dev/null 2>&1 || true; done; }
trap cleanup EXIT

now() { date +%s.%N; }
since() { python3 -c "import sys; print('%.3f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$1" "$(now)"; }

echo "# preparing $N messages of ~400 bytes in $SRC (4 partitions)" >&2
tests/services.sh kafka-topic "$SRC" 4 2>/dev/null
python3 - "$N" >"$OUT/input.tsv" <<'P'
import random, string, sys
n = int(sys.argv[1]); r = random.Random(42); letters = string.ascii_letters + string.digits
for i in range(n):
    pad = ''.join(r.choice(letters) for _ in range(24)) * 20
    sys.stdout.write('key-%04d\t{"id":%d,"pad":"%s"}\n' % (i % 1000, i, pad[:378]))
P
kcat -b "$B" -P -t "$SRC" -K '\t' -l "$OUT/input.tsv"
have=$(kcat -b "$B" -C -t "$SRC" -o beginning -e -q -f 'x\n' | wc -l)
[[ $have == "$N" ]] || { echo "input topic has $have messages, not $N" >&2; exit 1; }
bytes=$(cut -f2 "$OUT/input.tsv" | awk '{ s += length($0) } END { printf "%d", s / NR }')

pipeline() { # $1 yaml, $2 sink yaml
    cat >"$1" <<Y
pipeline: bench
sources:
  in: {plugin: kafka, brokers: "$B", topics: [$SRC], group: "\${env:BENCH_GROUP}", format: raw, stop_at_end: true}
sinks:
  out: $2
Y
}

run_ours() { # yaml -> seconds
    local t0 rc=0
    t0=$(now)
    BENCH_GROUP=bench-g-$ID-$RANDOM$RANDOM "$MARTFLOW" run "$1" >"$OUT/last.log" 2>&1 || rc=$?
    [[ $rc == 0 ]] || { tail -5 "$OUT/last.log" >&2; echo "martflow failed ($rc)" >&2; exit 1; }
    grep -q '"in=0 out='"$N"' ' "$OUT/last.log" || { echo "martflow did not read $N messages" >&2; exit 1; }
    since "$t0"
}

check_count() { # topic
    local n
    n=$(kcat -b "$B" -C -t "$1" -o beginning -e -q -f 'x\n' | wc -l)
    [[ $n == "$N" ]] || { echo "mirror $1 has $n messages, not $N" >&2; exit 1; }
}

declare -a KM KMI OM KC OC KC10
for ((r = 1; r <= RUNS; r++)); do
    echo "# run $r/$RUNS (load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
    # mirror: kcat pipe
    dst=bench-kcat-$ID-$r; tests/services.sh kafka-topic "$dst" 4 2>/dev/null; TOPICS+=("$dst")
    t0=$(now)
    kcat -b "$B" -C -t "$SRC" -o beginning -e -q -K '\t' -f '%k\t%s\n' | kcat -b "$B" -P -t "$dst" -K '\t'
    KM+=("$(since "$t0")")
    check_count "$dst"; tests/services.sh kafka-topic-delete "$dst" 2>/dev/null
    # mirror: kcat pipe with the idempotent producer our sink always uses (reference)
    dst=bench-kcati-$ID-$r; tests/services.sh kafka-topic "$dst" 4 2>/dev/null; TOPICS+=("$dst")
    t0=$(now)
    kcat -b "$B" -C -t "$SRC" -o beginning -e -q -K '\t' -f '%k\t%s\n' |
        kcat -b "$B" -P -t "$dst" -K '\t' -X enable.idempotence=true
    KMI+=("$(since "$t0")")
    check_count "$dst"; tests/services.sh kafka-topic-delete "$dst" 2>/dev/null
    # mirror: martflow
    dst=bench-ours-$ID-$r; tests/services.sh kafka-topic "$dst" 4 2>/dev/null; TOPICS+=("$dst")
    pipeline "$OUT/mirror.yaml" "{plugin: kafka, inputs: [in], brokers: \"$B\", topic: $dst}"
    OM+=("$(run_ours "$OUT/mirror.yaml")")
    check_count "$dst"; tests/services.sh kafka-topic-delete "$dst" 2>/dev/null
    # consume only
    t0=$(now)
    kcat -b "$B" -C -t "$SRC" -o beginning -e -q >/dev/null
    KC+=("$(since "$t0")")
    pipeline "$OUT/consume.yaml" "{plugin: null, inputs: [in]}"
    OC+=("$(run_ours "$OUT/consume.yaml")")
    # kcat again without the wait for an empty fetch at the end (fetch.wait.max.ms)
    t0=$(now)
    kcat -b "$B" -C -t "$SRC" -o beginning -e -q -X fetch.wait.max.ms=10 >/dev/null
    KC10+=("$(since "$t0")")
    echo "#   mirror kcat ${KM[-1]} s, kcat idempotent ${KMI[-1]} s, ours ${OM[-1]} s; consume kcat ${KC[-1]} s, ours ${OC[-1]} s, kcat(fetch.wait.max.ms=10) ${KC10[-1]} s" >&2
done

python3 - "$N" "$bytes" "${KM[*]}" "${OM[*]}" "${KC[*]}" "${OC[*]}" "${KC10[*]}" "${KMI[*]}" <<'P'
import statistics, sys
n, size = int(sys.argv[1]), int(sys.argv[2])
km, om, kc, oc, kc10, kmi = ([float(x) for x in a.split()] for a in sys.argv[3:9])
med = statistics.median
def rate(t): return n / t
print("messages: %d of ~%d bytes, 4 partitions; %d runs each, medians" % (n, size, len(km)))
print()
print("| test | kcat | martflow | ratio (martflow / kcat rate) | target |")
print("|---|---|---|---|---|")
print("| mirror (kafka -> kafka) | %.0f msg/s (%.2f s) | %.0f msg/s (%.2f s) | **%.2fx** | >= 1.5x |" % (rate(med(km)), med(km), rate(med(om)), med(om), med(km) / med(om)))
print("| mirror, kcat -P with enable.idempotence=true | %.0f msg/s (%.2f s) | (as above) | %.2fx | (reference) |" % (rate(med(kmi)), med(kmi), med(kmi) / med(om)))
print("| consume only | %.0f msg/s (%.2f s) | %.0f msg/s (%.2f s) | **%.2fx** | >= 0.8x |" % (rate(med(kc)), med(kc), rate(med(oc)), med(oc), med(kc) / med(oc)))
print("| consume only, kcat with fetch.wait.max.ms=10 | %.0f msg/s (%.2f s) | (as above) | %.2fx | (reference) |" % (rate(med(kc10)), med(kc10), med(kc10) / med(oc)))
print()
print("all runs (s): mirror kcat %s | mirror martflow %s | consume kcat %s | consume martflow %s | kcat fetch.wait.max.ms=10 %s | mirror kcat idempotent %s"
      % tuple(" ".join("%.2f" % x for x in a) for a in (km, om, kc, oc, kc10, kmi)))
P
