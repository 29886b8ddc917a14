#!/usr/bin/env bash
# sink kafka exactly_once: kafka -> lua -> kafka with checkpoints every 200 ms.
# The engine is killed (-9) three times at random points and restarted; a last
# run reads to the end. A read_committed consumer of the output then sees every
# input record exactly once (the lua script derives two records from every
# tenth input: both exactly once too); a read_uncommitted one may see more (the
# aborted transactions' records). Also: the transactional.id is the same on
# every start; exactly_once without checkpoints is refused; a second instance
# with the same transactional.id fences the first, which fails saying so.
source "$top_srcdir/tests/kafka/kafka_lib.sh"
IN=$(name in) OUT=$(name out) G=$(name g)
topic "$IN" 4
topic "$OUT" 4
N=400000
# The input goes in four chunks, one before each run: every killed run has
# records of its own to deliver (on a fast machine two runs used to finish the
# whole input, and the third had nothing to deliver).
produce_chunk() { # $1: chunk 0..3; a quarter of every partition's offsets
    local c=$1 q=$((N / 16)) p
    for p in 0 1 2 3; do
        awk -v p=$p -v from=$((c * q)) -v to=$(((c + 1) * q)) \
            'BEGIN { for (o = from; o < to; o++) printf "k%d\t{\"id\":\"%d:%d\"}\n", o % 97, p, o }' |
            tee -a "$TMP/in.tsv" | kcat -b "$B" -P -t "$IN" -p $p -K '\t' || fail "kcat could not produce"
    done
}

pipeline() { # $1: pipeline name, $2: extra source options, $3: extra sink options, $4: checkpoint interval
    cat >"$TMP/p.yaml" <<Y
pipeline: $1
settings: {metrics_listen: "127.0.0.1:0", checkpoint_interval: ${4:-200ms}}
sources:
  in:
    plugin: kafka
    brokers: "$B"
    topics: [$IN]
    group: $G
    rdkafka.session.timeout.ms: 6000
    rdkafka.heartbeat.interval.ms: 1000
    rdkafka.auto.commit.interval.ms: 1000
    ${2:-}
transforms:
  tag:
    plugin: lua
    inputs: [in]
    api: 1
    code: |
      -- the input record is edited and emitted (twice for every tenth): the
      -- outputs keep its input position, which the sink tracks
      function process(r, emit)
        local id = r.value.id
        if tonumber(string.match(id, ":(%d+)")) % 10 == 0 then
          r.value = {id = id, part = 1}
          emit(r)
          r.value = {id = id, part = 2}
        end
        emit(r)
      end
sinks:
  out: {plugin: kafka, inputs: [tag], brokers: "$B", topic: $OUT, exactly_once: true ${3:-}}
Y
}

# read_committed view of the output: one line per record, "id part"
committed_out() {
    kcat -b "$B" -C -t "$OUT" -o beginning -e -q -X isolation.level=read_committed -f '%s\n' |
        sed -E 's/.*"id":"([0-9:]+)"(,"part":([0-9]))?.*/\1 \3/'
}

POSITIONS=martflow-positions-eos-out-0
TOPICS+=("$POSITIONS")
for round in 1 2 3; do
    produce_chunk $((round - 1))
    pipeline eos
    engine "$TMP/p.yaml" "$TMP/log$round"
    port=$(metrics_port "$TMP/log$round")
    wait_for 60 metric_at_least "$port" martflow_kafka_delivered_total 1 || fail "round $round: nothing delivered"
    sleep "0.$((RANDOM % 10))$((RANDOM % 10))"
    kill -9 "$ENGINE"
    wait "$ENGINE" 2>/dev/null || true
    note "round $round: killed with $(committed_out | wc -l) records committed"
done

produce_chunk 3
pipeline eos "stop_at_end: true"
rc=0
timeout 180 "$MARTFLOW" run "$TMP/p.yaml" >"$TMP/log4" 2>&1 || rc=$?
assert_eq 0 "$rc" "last run exit status ($(tail -3 "$TMP/log4"))"

# the same transactional.id on every start, and the restarts resumed
for round in 1 2 3 4; do
    assert_contains "$(cat "$TMP/log$round")" "transactional.id eos-out-0, positions in $POSITIONS" \
        "round $round: transactional.id"
done
assert_contains "$(cat "$TMP/log4")" "resuming after the last committed transaction" "the last run resumed"

# expected: every input once, every tenth twice (part 1 and 2)
cut -f2 "$TMP/in.tsv" | sed -E 's/.*"id":"([0-9:]+)".*/\1/' |
    awk -F: '{ if ($2 % 10 == 0) { print $0 " 1"; print $0 " 2" } else print $0 " " }' | sort >"$TMP/want"
committed_out | sort >"$TMP/got"
assert_eq "$(wc -l <"$TMP/want")" "$(wc -l <"$TMP/got")" "records read_committed"
assert_eq 0 "$(comm -3 "$TMP/want" "$TMP/got" | wc -l)" "read_committed output differs from the input (missing or doubled: $(comm -3 "$TMP/want" "$TMP/got" | head -3 | tr '\n' ' '))"
uncommitted=$(kcat -b "$B" -C -t "$OUT" -o beginning -e -q -X isolation.level=read_uncommitted -f '%s\n' | wc -l)
note "read_committed: $(wc -l <"$TMP/got") records, exactly the input; read_uncommitted: $uncommitted (aborted transactions included)"
(( uncommitted >= $(wc -l <"$TMP/got") )) || fail "read_uncommitted sees fewer records than read_committed"

# exactly_once without checkpoints is refused before anything runs
pipeline eos "stop_at_end: true" "" 0
rc=0
timeout 60 "$MARTFLOW" run "$TMP/p.yaml" >"$TMP/log-nocp" 2>&1 || rc=$?
[[ $rc != 0 ]] || fail "exactly_once without checkpoints ran"
assert_contains "$(cat "$TMP/log-nocp")" "exactly_once needs checkpoints" "no-checkpoint refusal"
assert_contains "$(cat "$TMP/log-nocp")" "settings.checkpoint_interval" "no-checkpoint refusal names the setting"

# fencing: a second instance with the same transactional.id stops the first
IN2=$(name in2) OUT2=$(name out2)
topic "$IN2" 1
topic "$OUT2" 1
TOPICS+=(martflow-positions-fence-0)
(for ((i = 0; i < 600; i++)); do
    [[ -e $TMP/stop ]] && break
    echo "k$i"$'\t'"{\"id\":\"0:$i\"}"
    sleep 0.05
done | kcat -b "$B" -P -t "$IN2" -K '\t') &
FEEDER=$!
cat >"$TMP/f.yaml" <<Y
pipeline: fence-a
settings: {metrics_listen: "127.0.0.1:0", checkpoint_interval: 200ms}
sources:
  in: {plugin: kafka, brokers: "$B", topics: [$IN2], group: $(name ga)}
sinks:
  out: {plugin: kafka, inputs: [in], brokers: "$B", topic: $OUT2, exactly_once: true, transactional_id_prefix: fence}
Y
sed -e "s/fence-a/fence-b/" -e "s/$(name ga)/$(name gb)/" -e "s/topics: \[$IN2\]/topics: [$IN2], stop_at_end: true/" \
    "$TMP/f.yaml" >"$TMP/f2.yaml"
engine "$TMP/f.yaml" "$TMP/log-a"
A=$ENGINE
port=$(metrics_port "$TMP/log-a")
wait_for 60 metric_at_least "$port" martflow_kafka_transactions_committed_total 2 || fail "instance a commits nothing"
rc=0
timeout 120 "$MARTFLOW" run "$TMP/f2.yaml" >"$TMP/log-b" 2>&1 || rc=$?
assert_eq 0 "$rc" "instance b exit status ($(tail -2 "$TMP/log-b"))"
rc=0
for ((i = 0; i < 300; i++)); do kill -0 "$A" 2>/dev/null || break; sleep 0.1; done
kill -0 "$A" 2>/dev/null && fail "instance a still runs after being fenced"
wait "$A" || rc=$?
touch "$TMP/stop"
wait "$FEEDER" || true
[[ $rc != 0 ]] || fail "the fenced instance exited 0"
assert_contains "$(cat "$TMP/log-a")" "fenced: another producer with transactional.id fence-0 has started" \
    "the fenced instance says why"
