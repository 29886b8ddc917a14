#!/usr/bin/env bash
# bench/kafka-mirror/run.sh — mirror and consume throughput of the Kafka
# plugins against kcat (same librdkafka), on the test broker.
#
#   bench/kafka-mirror/run.sh [RUNS]      (default 5; medians are reported)
#
# Input: 1,000,000 call events of ~412 bytes of JSON (bench/gen_events.py),
# keyed by CallThreadID, in a 4-partition topic.
#   mirror   kcat -C ... | kcat -P ...        vs  martflow: kafka source -> kafka sink
#   consume  kcat -C -o beginning -e >/dev/null  vs  martflow: kafka source -> null sink
# References (not targets): kcat -P with our sink's enable.idempotence, kcat -P
# with our sink's lz4 compression, and our sink with compression off.
# Every martflow run is a whole `martflow run` (start, group join, read to the
# end with stop_at_end, commit, exit), timed like the kcat commands. Runs are
# interleaved so that noise from other work on the machine hits both sides,
# after one untimed warm-up of each. Each mirror run writes to a new topic
# (deleted afterwards). The broker runs with its production JVM settings
# (MARTFLOW_KAFKA_JVM=production: restarted so if the test broker is up).
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

status=$(tests/services.sh status)
if [[ $status != *"kafka: running"*" jvm production"* ]]; then
    tests/services.sh stop kafka >&2
    MARTFLOW_KAFKA_JVM=production tests/services.sh start kafka >&2
fi
eval "$(tests/services.sh env)"
B=$KAFKA_BOOTSTRAP
ID=$$
SRC=bench-src-$ID
TOPICS=("$SRC")
cleanup() { for t in "${TOPICS[@]}"; do tests/services.sh kafka-topic-delete "$t" >/dev/null 2>&1 || true; done; }
trap cleanup EXIT

now() { date +%s.%N; }
since() { python3 -c "import sys; print('%.3f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$1" "$(now)"; }

echo "# preparing $N call events in $SRC (4 partitions)" >&2
tests/services.sh kafka-topic "$SRC" 4 2>/dev/null
python3 bench/gen_events.py "$N" "$OUT/events.jsonl"
sed -E 's/^(.*"CallThreadID":"([^"]*)".*)$/\2\t\1/' "$OUT/events.jsonl" >"$OUT/input.tsv"
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

new_topic() { DST=bench-$1-$ID-$2; tests/services.sh kafka-topic "$DST" 4 2>/dev/null; TOPICS+=("$DST"); }
done_topic() { check_count "$DST"; tests/services.sh kafka-topic-delete "$DST" 2>/dev/null; }

mirror_kcat() { # TAG RUN [kcat -P options...]; sets T (seconds)
    local t0
    new_topic "$1" "$2"; shift 2
    t0=$(now)
    kcat -b "$B" -C -t "$SRC" -o beginning -e -q -K '\t' -f '%k\t%s\n' | kcat -b "$B" -P -t "$DST" -K '\t' "$@"
    T=$(since "$t0")
    done_topic
}

mirror_ours() { # TAG RUN [", sink option: value"...]; sets T
    new_topic "$1" "$2"
    pipeline "$OUT/mirror.yaml" "{plugin: kafka, inputs: [in], brokers: \"$B\", topic: $DST${3:-}}"
    T=$(run_ours "$OUT/mirror.yaml")
    done_topic
}

echo "# warm-up (untimed): one mirror each" >&2
mirror_kcat warm 0
mirror_ours warm 0

declare -a KM KMI KMZ OM OM0 KC OC KC10
for ((r = 1; r <= RUNS; r++)); do
    echo "# run $r/$RUNS (load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
    mirror_kcat kcat "$r"; KM+=("$T")
    # references: kcat -P with what our sink does by default
    mirror_kcat kcati "$r" -X enable.idempotence=true; KMI+=("$T")
    mirror_kcat kcatz "$r" -z lz4; KMZ+=("$T")
    mirror_ours ours "$r"; OM+=("$T")
    mirror_ours ours0 "$r" ", rdkafka.compression.codec: none"; OM0+=("$T")
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
    echo "#   mirror: kcat ${KM[-1]} s, kcat idempotent ${KMI[-1]} s, kcat lz4 ${KMZ[-1]} s, ours ${OM[-1]} s, ours uncompressed ${OM0[-1]} s;" \
        "consume: kcat ${KC[-1]} s, ours ${OC[-1]} s, kcat(fetch.wait.max.ms=10) ${KC10[-1]} s" >&2
done

python3 - "$N" "$bytes" "${KM[*]}" "${OM[*]}" "${KC[*]}" "${OC[*]}" "${KC10[*]}" "${KMI[*]}" "${KMZ[*]}" "${OM0[*]}" <<'P'
import statistics, sys
n, size = int(sys.argv[1]), int(sys.argv[2])
km, om, kc, oc, kc10, kmi, kmz, om0 = ([float(x) for x in a.split()] for a in sys.argv[3:11])
med = statistics.median
def rate(t): return n / t
def row(test, k, o, target):
    print("| %s | %.0f msg/s (%.2f s) | %s | %s%.2fx%s | %s |" % (
        test, rate(med(k)), med(k),
        "%.0f msg/s (%.2f s)" % (rate(med(o)), med(o)) if o is not None else "(as above)",
        "**" if target != "(reference)" else "", med(k) / med(o if o is not None else om),
        "**" if target != "(reference)" else "", target))
print("messages: %d of ~%d bytes, 4 partitions; %d runs each, medians" % (n, size, len(km)))
print()
print("| test | kcat | martflow | ratio (martflow / kcat rate) | target |")
print("|---|---|---|---|---|")
row("mirror (kafka -> kafka)", km, om, ">= 1.5x")
row("mirror, kcat -P with enable.idempotence=true", kmi, None, "(reference)")
row("mirror, kcat -P with -z lz4", kmz, None, "(reference)")
row("mirror, martflow sink with compression none", km, om0, "(reference)")
row("consume only", kc, oc, ">= 0.8x")
row("consume only, kcat with fetch.wait.max.ms=10", kc10, oc, "(reference)")
print()
print("all runs (s): mirror kcat %s | mirror martflow %s | mirror martflow uncompressed %s | mirror kcat idempotent %s | "
      "mirror kcat lz4 %s | consume kcat %s | consume martflow %s | kcat fetch.wait.max.ms=10 %s"
      % tuple(" ".join("%.2f" % x for x in a) for a in (km, om, om0, kmi, kmz, kc, oc, kc10)))
P
