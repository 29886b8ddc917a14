#!/usr/bin/env bash
# A change set emitted but never delivered (the broker is down) is not
# snapshotted; GCA killed (-9) then and started again once the broker is
# back publishes that change set: nothing is lost.
KAFKA_EXCLUSIVE=1 # it stops the broker: no other Kafka test may run meanwhile
source "$top_srcdir/tests/gca/gca_lib.sh"

gca_once "$TMP/run1.log"
topic_dump "$TMP/t1"
assert_lines 104 "$TMP/t1" "the sample, published"
first=$(grep -o '"change_set":[0-9]*' "$(snap)")

note "the broker stops; a change is read and emitted but cannot be delivered"
"$top_srcdir/tests/services.sh" stop kafka >/dev/null 2>&1 || fail "cannot stop Kafka"
pg_sql -c "UPDATE cfg_person SET last_name = 'King' WHERE dbid = 1001; DELETE FROM cfg_dn WHERE dbid = 3019" ||
    fail "cannot change the configuration"
# gca.yaml less the end offsets (which cannot be read with the broker down
# either): only the acknowledgements hold the snapshot back here
sed -e '0,/^    topic: .*TOPIC_GCA_CFG.*/s//    topic: ""/' "$top_srcdir/pipelines/gca.yaml" >"$TMP/gca-no-offsets.yaml"
assert_eq 1 "$(grep -c '^    topic: ""' "$TMP/gca-no-offsets.yaml")" "the source's topic, and only it, emptied"
GCA_POLL=1s "$MARTFLOW" run "$TMP/gca-no-offsets.yaml" >"$TMP/run2.log" 2>&1 &
ENGINE=$!
ENGINE_PIDS+=("$ENGINE")
wait_for 30 grep -qs 'change set [0-9]*: 1 upserts, 1 deletes' "$TMP/run2.log" ||
    { tail "$TMP/run2.log" >&2; fail "the change set was not read"; }
sleep 3
assert_eq "$first" "$(grep -o '"change_set":[0-9]*' "$(snap)")" "no snapshot of an undelivered change set"
kill -9 "$ENGINE"
wait "$ENGINE" 2>/dev/null || true

note "the broker is back; GCA starts again"
"$top_srcdir/tests/services.sh" start kafka >/dev/null 2>&1 || fail "cannot start Kafka again"
gca_once "$TMP/run3.log"
assert_contains "$TMP/run3.log" 'change set [0-9]+: 1 upserts, 1 deletes' "the change set is emitted again"
topic_dump "$TMP/t3"
assert_eq "upsert t1:CfgPerson:1001
delete t1:CfgDN:3019" "$(python3 "$CHECK" tail "$TMP/t3" 104 | cut -d' ' -f1,2)" "the change set, delivered"
assert_eq ok "$(python3 "$CHECK" records "$TMP/t3" t1)" "versions increase"
assert_eq ok "$(python3 "$CHECK" snapshot "$(snap)" "$TMP/t3")" "the snapshot is the topic's state"
assert_contains "$(snap)" '"last_name":"King"' "the snapshot has the change"
