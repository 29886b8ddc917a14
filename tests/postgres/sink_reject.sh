#!/usr/bin/env bash
# Rows the table cannot hold: each is rejected alone to the errors port with
# its SQLSTATE (and column when the server names it), the rest of its batch
# commits. Four kinds, in batches of 500 rows: text into a bigint (22P02) and
# a too-long varchar (22001) fail in the COPY, which names the line; a
# duplicate of an existing key (23505) and a check constraint (23514) fail in
# the INSERT, where the batch is bisected. Mode copy finds the same rows.
# Then one batch of 60,000 rows, whose COPY goes out while the rows are
# added (streamed): the same four kinds of bad rows, in insert, copy and
# upsert.
source "$top_srcdir/tests/postgres/sink_lib.sh"

for t in ins cpy; do
    pg_sql -c "CREATE TABLE $t (id bigint PRIMARY KEY, name varchar(12), n bigint CHECK (n >= 0))"
    pg_sql -c "INSERT INTO $t VALUES (1234, 'before', 0)"
done
awk 'BEGIN { for (i = 1; i <= 2000; i++) {
    n = i; name = "r" i
    if (i == 17) n = "\"abc\""
    if (i == 500) name = "much-too-long-for-twelve"
    if (i == 1800) n = -1
    printf "{\"id\":%d,\"name\":\"%s\",\"n\":%s}\n", i, name, n } }' >"$TMP/in.jsonl"

for mode in insert copy; do
    t=${mode:0:3}
    [[ $t == cop ]] && t=cpy
    rm -f "$TMP/errors.jsonl"
    cat >"$TMP/p.yaml" <<Y
pipeline: reject
sources:
  in: {plugin: file, path: "$TMP/in.jsonl", positions: false}
sinks:
  db:
    plugin: postgres
    inputs: [in]
    table: public.$t
    mode: $mode
    batch_records: 500
    columns: {id: id, name: name, n: {field: n, type: bigint}}
  errors: {plugin: file, inputs: [db.errors], path: "$TMP/errors.jsonl", format: envelope}
Y
    run_pipeline "$TMP/p.yaml" "$TMP/log"
    assert_eq 1997 "$(value "SELECT count(*) FROM $t")" "$mode: rows (1996 loaded + the one there before)"
    assert_eq "before" "$(value "SELECT name FROM $t WHERE id = 1234")" "$mode: the existing row is untouched"
    assert_eq 0 "$(value "SELECT count(*) FROM $t WHERE id IN (17, 500, 1800)")" "$mode: the bad rows are not in"
    assert_lines 4 "$TMP/errors.jsonl" "$mode: rejected records"
    python3 - "$TMP/errors.jsonl" >"$TMP/rejects" <<'P'
import json, sys
for line in open(sys.argv[1]):
    e = json.loads(line)
    print(e["value"]["id"], e["headers"]["mf.error"])
P
    sort -n "$TMP/rejects" >"$TMP/rejects.sorted"
    assert_contains "$TMP/rejects.sorted" '^17 PostgreSQL refused the row: SQLSTATE 22P02: invalid input syntax for type bigint: "abc" \(column n\)$' "$mode: text into bigint"
    assert_contains "$TMP/rejects.sorted" '^500 .*SQLSTATE 22001: value too long for type character varying\(12\) \(column name\)$' "$mode: too long"
    assert_contains "$TMP/rejects.sorted" '^1234 .*SQLSTATE 23505: duplicate key value violates unique constraint' "$mode: duplicate key"
    assert_contains "$TMP/rejects.sorted" '^1800 .*SQLSTATE 23514: new row for relation .* violates check constraint' "$mode: check"
    assert_contains "$TMP/log" "\"table public.$t: 1996 rows written, 4 rejected" "$mode: the summary"
done

# One large batch, streamed: the COPY text goes out while rows are added; the
# bad rows are still rejected alone and the rest committed.
awk 'BEGIN { for (i = 1; i <= 60000; i++) {
    n = i; name = "r" i
    if (i == 17) n = "\"abc\""
    if (i == 30000) name = "much-too-long-for-twelve"
    if (i == 45000) n = -1
    printf "{\"id\":%d,\"name\":\"%s\",\"n\":%s}\n", i, name, n } }' >"$TMP/big.jsonl"
for mode in insert copy upsert; do
    t=s_${mode:0:3}
    pg_sql -c "CREATE TABLE $t (id bigint PRIMARY KEY, name varchar(12), n bigint CHECK (n >= 0))"
    [[ $mode == upsert ]] || pg_sql -c "INSERT INTO $t VALUES (1234, 'before', 0)"
    rm -f "$TMP/errors.jsonl"
    cat >"$TMP/p.yaml" <<Y
pipeline: reject-streamed
sources:
  in: {plugin: file, path: "$TMP/big.jsonl", positions: false}
sinks:
  db:
    plugin: postgres
    inputs: [in]
    table: $t
    mode: $mode
    $([[ $mode == upsert ]] && echo "key: [id]")
    batch_records: 100000
    batch_time: 60s
    columns: {id: id, name: name, n: {field: n, type: bigint}}
  errors: {plugin: file, inputs: [db.errors], path: "$TMP/errors.jsonl", format: envelope}
Y
    run_pipeline "$TMP/p.yaml" "$TMP/log" --log-level debug
    assert_contains "$TMP/log" "60000 rows: the COPY went out while they were added \\(data\\)" "$mode: the batch was streamed"
    bad=4
    [[ $mode == upsert ]] && bad=3 # 1234 is new here: nothing conflicts
    assert_eq $((60000 - bad + (bad == 4))) "$(value "SELECT count(*) FROM $t")" "$mode: rows"
    assert_eq 0 "$(value "SELECT count(*) FROM $t WHERE id IN (17, 30000, 45000)")" "$mode: the bad rows are not in"
    assert_lines $bad "$TMP/errors.jsonl" "$mode: rejected records"
    assert_contains "$TMP/errors.jsonl" 'SQLSTATE 22P02' "$mode: text into bigint"
    assert_contains "$TMP/errors.jsonl" 'SQLSTATE 22001' "$mode: too long"
    assert_contains "$TMP/errors.jsonl" 'SQLSTATE 23514' "$mode: check"
    [[ $mode == upsert ]] || assert_contains "$TMP/errors.jsonl" 'SQLSTATE 23505' "$mode: duplicate key"
done
