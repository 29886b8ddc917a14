# tests/kafka/kafka_lib.sh — helpers for the Kafka integration tests (sourced
# after nothing else: it sources tests/lib.sh and starts the broker).
#
# Every test uses its own topics and groups (names carry the pid and a random
# part), so tests can run concurrently. The outage test stops the broker:
# it takes an exclusive lock, the others a shared one, so `make -j check`
# never runs another Kafka test during the outage.
source "$top_srcdir/tests/lib.sh"

KAFKA_LOCK=${TMPDIR:-/tmp}/martflow-kafka-tests.lock
exec 7>"$KAFKA_LOCK"
if [[ ${KAFKA_EXCLUSIVE:-0} == 1 ]]; then flock -x 7; else flock -s 7; fi

need_kafka
B=$KAFKA_BOOTSTRAP
OFFSETS=${top_builddir:-.}/tests/kafka/kafka_offsets
[[ -x $OFFSETS ]] || fail "missing $OFFSETS (built by make check)"
RUN_ID="$$-$RANDOM"

ENGINE_PIDS=()
TOPICS=()
kafka_cleanup() {
    local p
    for p in "${ENGINE_PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    for p in "${ENGINE_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    if [[ ${KEEP_TOPICS:-0} == 0 ]]; then
        for p in "${TOPICS[@]}"; do "$top_srcdir/tests/services.sh" kafka-topic-delete "$p" >/dev/null 2>&1 || true; done
    fi
    cleanup_tmp
}
trap kafka_cleanup EXIT

# name PREFIX: a topic or group name unique to this run
name() { echo "mf-$TEST_NAME-$1-$RUN_ID"; }

# topic NAME PARTITIONS: create it (and delete it at the end)
topic() {
    "$top_srcdir/tests/services.sh" kafka-topic "$1" "$2" 2>/dev/null || fail "cannot create topic $1"
    TOPICS+=("$1")
}

# produce TOPIC FILE: "key<TAB>value" lines, keyed
produce() { kcat -b "$B" -P -t "$1" -K '\t' -l "$2" || fail "kcat could not produce to $1"; }

# consume TOPIC: every message as "key<TAB>value" (key "" when null), from the beginning to the end
consume() { kcat -b "$B" -C -t "$1" -o beginning -e -q -f '%k\t%s\n' || fail "kcat could not consume $1"; }

# count TOPIC: messages in it
count() { consume "$1" | wc -l; }

# engine YAML LOG: run martflow in the background; its pid in $ENGINE
engine() {
    "$MARTFLOW" run "$1" >"$2" 2>&1 &
    ENGINE=$!
    ENGINE_PIDS+=("$ENGINE")
}

# stop_engine PID: SIGTERM and wait; the exit status in $RC
stop_engine() {
    RC=0
    kill -TERM "$1" 2>/dev/null || true
    wait "$1" || RC=$?
}

# keyed_input FILE N KEYS: N lines "k<i%KEYS><TAB>{"k":..,"seq":<per-key seq>,"n":<i>}"
keyed_input() {
    awk -v n="$2" -v keys="$3" 'BEGIN { for (i = 1; i <= n; i++) { k = i % keys; s[k]++;
        printf "k%d\t{\"k\":\"k%d\",\"seq\":%d,\"n\":%d}\n", k, k, s[k], i } }' >"$1"
}
