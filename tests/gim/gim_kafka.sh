#!/usr/bin/env bash
# pipelines/gim.yaml over the real broker: GSP records (tests/gim/gen_gsp.py,
# with contact attempts and one record of a custom table) produced with kcat
# to the five GSP topics, each keyed as docs/events.md section 2.4 says; the
# loader run against a fresh database until every table holds what a file
# source run of the same records wrote (the table dumps equal). /readyz is
# 200 after the first cycle; gim_kafka_timestamp_millis{topic,partition} is
# the newest produced timestamp of each partition and
# gim_kafka_timestamp_behind grows while the loader is idle; the group's
# committed offsets are the end offsets; SIGTERM -> exit 0. Then
# TOPIC_GSP_CUSTOM="" with GIM_STOP_AT_END=true: the custom topic is logged as
# disabled and not read, and the run ends by itself.
source "$top_srcdir/tests/kafka/kafka_lib.sh"
source "$top_srcdir/tests/gim/gim_lib.sh" # second: its PGDATABASE is the test's database
CLEAN=${PGDATABASE}_clean
trap 'kafka_cleanup; pg_sql -c "DROP DATABASE IF EXISTS $CLEAN WITH (FORCE)" >/dev/null 2>&1 || true; sink_cleanup' EXIT

declare -A TOPIC=([ixn]=$(name ixn) [sm]=$(name sm) [outbound]=$(name outbound) [custom]=$(name custom)
    [cfg]=$(name cfg))
declare -A PARTS=([ixn]=3 [sm]=2 [outbound]=2 [custom]=1 [cfg]=1)
G=$(name g)
for d in "${!TOPIC[@]}"; do topic "${TOPIC[$d]}" "${PARTS[$d]}"; done

$GEN 3000 --keyed --outbound --custom >"$TMP/all.tsv"
for d in "${!TOPIC[@]}"; do
    awk -F'\t' -v d="$d" '$1 == d { print $2 "\t" $3 }' "$TMP/all.tsv" >"$TMP/$d.tsv"
    [[ -s $TMP/$d.tsv ]] || fail "no records for $d"
done

# the reference: the same records through the file source, into another database
pg_sql -c "CREATE DATABASE $CLEAN" || fail "cannot create $CLEAN"
cut -f3 "$TMP/all.tsv" >"$TMP/all.jsonl"
gim_yaml "$TMP/clean.yaml" "$TMP/all.jsonl" "" "" "$CLEAN"
run_pipeline "$TMP/clean.yaml" "$TMP/clean.log"
nat_dump "$CLEAN" >"$TMP/clean.dump"
(($(wc -l <"$TMP/clean.dump") > 2000)) || fail "the reference dump is too small"
assert_eq 1 "$(wc -l <"$TMP/errors.jsonl")" "the reference run rejects the custom record"

t0=$(($(date +%s%3N) - 1))
for d in "${!TOPIC[@]}"; do produce "${TOPIC[$d]}" "$TMP/$d.tsv"; done
t1=$(($(date +%s%3N) + 1))

gim_env=(KAFKA_BOOTSTRAP="$B" TENANT_ID=t1 GIM_CYCLE=300ms GIM_METRICS_LISTEN=127.0.0.1:0 GIM_KAFKA_GROUP="$G"
    GIM_SCHEMA_DIR="$top_srcdir/plugins/gim/sql" TOPIC_GSP_IXN="${TOPIC[ixn]}" TOPIC_GSP_SM="${TOPIC[sm]}"
    TOPIC_GSP_OUTBOUND="${TOPIC[outbound]}" TOPIC_GSP_CUSTOM="${TOPIC[custom]}" TOPIC_GSP_CFG="${TOPIC[cfg]}")
cp "$top_srcdir/pipelines/gim.yaml" "$TMP/gim.yaml"
env "${gim_env[@]}" "$MARTFLOW" run "$TMP/gim.yaml" >"$TMP/log" 2>&1 & # the log and the rejects (stdout)
ENGINE=$!
ENGINE_PIDS+=("$ENGINE")
port=$(metrics_port "$TMP/log")

# loaded when every table holds as many rows as the reference's
counts() {
    pg_sql -d "$1" -At -c "SELECT (SELECT count(*) FROM interaction_fact), (SELECT count(*) FROM interaction_resource_fact),
        (SELECT count(*) FROM mediation_segment_fact), (SELECT count(*) FROM sm_res_state_fact),
        (SELECT count(*) FROM sm_res_session_fact), (SELECT count(*) FROM contact_attempt_fact),
        (SELECT count(*) FROM resource_ WHERE placeholder_flag = 0), (SELECT count(*) FROM place WHERE placeholder_flag = 0),
        (SELECT count(*) FROM tenant WHERE tenant_cfg_dbid = 1), (SELECT count(*) FROM gim_pending_update)" 2>/dev/null
}
want=$(counts "$CLEAN")
loaded() { [[ $(counts "$PGDATABASE") == "$want" ]]; }
wait_for 60 loaded || { tail -5 "$TMP/log" >&2; fail "not loaded: $(counts "$PGDATABASE") instead of $want"; }
curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null || fail "/readyz is not 200 after the first cycle"
assert_contains "$TMP/log" '"node":"infomart".*first cycle committed: ready' "ready after the first cycle"

# committed offsets = end offsets, partition by partition
at_end() {
    local d
    for d in "${!TOPIC[@]}"; do
        [[ $("$OFFSETS" committed "$B" "$G" "${TOPIC[$d]}" "${PARTS[$d]}") == \
            "$("$OFFSETS" end "$B" "${TOPIC[$d]}" "${PARTS[$d]}")" ]] || return 1
    done
}
wait_for 30 at_end || fail "committed offsets are not the end offsets: $("$OFFSETS" committed "$B" "$G" "${TOPIC[ixn]}" 3 | tr '\n' ' ')"

# the Kafka gauges: one series per partition that had records; the newest
# timestamp of each lies in the produce window, and behind grows while idle
m1=$(curl -fsS "http://127.0.0.1:$port/metrics")
sleep 1.5
m2=$(curl -fsS "http://127.0.0.1:$port/metrics")
series() { # series METRICS NAME TOPIC PARTITION: the sample's value
    awk -v n="$2" -v t="topic=\"$3\"" -v p="partition=\"$4\"" \
        'index($1, n "{") == 1 && index($1, t) && index($1, p) { printf "%.0f\n", $2 }' <<<"$1"
}
nseries=0
for d in "${!TOPIC[@]}"; do
    for ((p = 0; p < PARTS[$d]; p++)); do
        end=$("$OFFSETS" end "$B" "${TOPIC[$d]}" "${PARTS[$d]}" | awk -v p=$p '$1 == p {print $2}')
        ms=$(series "$m2" gim_kafka_timestamp_millis "${TOPIC[$d]}" $p)
        if [[ $end == 0 ]]; then
            assert_eq "" "$ms" "no gim_kafka_timestamp_millis for the empty ${TOPIC[$d]}/$p"
            continue
        fi
        ((ms >= t0 && ms <= t1)) || fail "gim_kafka_timestamp_millis ${TOPIC[$d]}/$p = '$ms', not in [$t0, $t1]"
        b1=$(series "$m1" gim_kafka_timestamp_behind "${TOPIC[$d]}" $p)
        b2=$(series "$m2" gim_kafka_timestamp_behind "${TOPIC[$d]}" $p)
        now=$(date +%s%3N)
        ((b1 >= 0 && b2 <= now - ms + 1000)) || fail "gim_kafka_timestamp_behind ${TOPIC[$d]}/$p: $b1 then $b2 (now - ts: $((now - ms)))"
        ((b2 - b1 >= 1000)) || fail "gim_kafka_timestamp_behind ${TOPIC[$d]}/$p does not grow while idle: $b1 then $b2"
        nseries=$((nseries + 1))
    done
done
((nseries >= 7)) || fail "only $nseries partitions with gim_kafka_* series"
assert_contains "$m2" 'gim_server_state\{[^}]*\} 1' "gim_server_state 1"

stop_engine "$ENGINE"
assert_eq 0 "$RC" "exit status after SIGTERM"
nat_dump >"$TMP/dump"
diff -q "$TMP/clean.dump" "$TMP/dump" >/dev/null || { diff "$TMP/clean.dump" "$TMP/dump" | head -5 >&2; fail "the tables differ from the file source run's"; }
assert_references
# the custom record: rejected to stdout (gsp-custom tables are not configured yet)
assert_eq 1 "$(grep -c "unknown table 'CUSTOM_CALL_SURVEY'" "$TMP/log")" "the custom record rejected on stdout"

# the custom topic disabled: not subscribed (a new record there is not read), logged; the run ends by itself
printf 't1:custom:2\t{"table":"CUSTOM_CALL_SURVEY","op":"upsert","tenant":"t1","row":{"survey_id":2}}\n' >"$TMP/c2.tsv"
produce "${TOPIC[custom]}" "$TMP/c2.tsv"
env "${gim_env[@]}" TOPIC_GSP_CUSTOM="" GIM_STOP_AT_END=true timeout 60 "$MARTFLOW" run "$TMP/gim.yaml" \
    >"$TMP/log2" 2>&1 || fail "the second run (GIM_STOP_AT_END=true) exited $?: $(tail -3 "$TMP/log2")"
assert_contains "$TMP/log2" '"node":"gsp".*topics\[3\] is empty: that input is disabled' "the custom topic logged as disabled"
assert_eq 0 "$(grep -c 'CUSTOM_CALL_SURVEY' "$TMP/log2")" "nothing read from the disabled custom topic"
assert_eq "0 1" "$("$OFFSETS" committed "$B" "$G" "${TOPIC[custom]}" 1)" "the custom topic's committed offset: where the first run left it"
nat_dump >"$TMP/dump2"
diff -q "$TMP/clean.dump" "$TMP/dump2" >/dev/null || fail "the second run changed the tables"
