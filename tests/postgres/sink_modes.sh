#!/usr/bin/env bash
# The postgres sink's three modes against the real server: insert (COPY
# straight into a plain table; through the staging table + INSERT into a view
# or a table with rules, which COPY would bypass), upsert (a second load of the same ids with other values
# replaces the rows; 10,000 records loaded twice give the same table) and copy
# (straight into the table). Values keep their meaning: text with tabs,
# newlines and backslashes, bigint, epoch ms as timestamptz, arrays as jsonb,
# booleans, NULL for a missing field.
source "$top_srcdir/tests/postgres/sink_lib.sh"

for t in ins ups cpy; do pg_sql -c "CREATE TABLE $t $TABLE_DDL"; done

# insert: every kind of value
cat >"$TMP/odd.jsonl" <<'J'
{"id":1,"name":"tab\there, newline\nthere, backslash\\ and \"quotes\"","n":-9007199254740993,"at":0,"tags":{"a":[1,"x\ty"]},"ok":false}
{"id":2,"n":12.0,"at":"2024-02-29T12:00:00.5Z","tags":"just a string","ok":null}
{"id":3,"name":"ünïcødé ✓","n":7,"at":1700000000123.4}
J
sink_yaml "$TMP/p.yaml" "$TMP/odd.jsonl" ins insert
run_pipeline "$TMP/p.yaml" "$TMP/log" --log-level debug
assert_contains "$TMP/log" 'table ..ins..: rows are copied straight into it' "a plain table takes the COPY itself"
assert_eq 3 "$(value 'SELECT count(*) FROM ins')" "rows inserted"
assert_eq 'tab	here, newline
there, backslash\ and "quotes"' "$(value 'SELECT name FROM ins WHERE id = 1')" "text with tabs, newlines, backslashes"
assert_eq "-9007199254740993" "$(value 'SELECT n FROM ins WHERE id = 1')" "a bigint beyond 2^53"
assert_eq "1970-01-01 00:00:00+00" "$(value "SELECT at FROM ins WHERE id = 1")" "epoch ms 0"
assert_eq '{"a": [1, "x\ty"]}' "$(value 'SELECT tags FROM ins WHERE id = 1')" "an object into jsonb"
assert_eq "f" "$(value 'SELECT ok FROM ins WHERE id = 1')" "false"
assert_eq "12|2024-02-29 12:00:00.5+00|\"just a string\"|t" \
    "$(value "SELECT n, at, tags, ok IS NULL, name IS NULL FROM ins WHERE id = 2" | cut -d'|' -f1-4)" \
    "an integral double into bigint, an RFC 3339 time, a string into jsonb, null"
assert_eq "t" "$(value 'SELECT name IS NULL FROM ins WHERE id = 2')" "a missing field is NULL"
assert_eq "ünïcødé ✓|2023-11-14 22:13:20.1234+00" "$(value 'SELECT name, at FROM ins WHERE id = 3')" \
    "UTF-8 text; fractional epoch ms"
[[ ! -s $TMP/errors.jsonl ]] || { cat "$TMP/errors.jsonl" >&2; fail "nothing should be rejected"; }

# upsert: 10,000 records, then the same ids with other values, then the
# second load again: the second and third dumps are identical, and differ
# from the first
records "$TMP/a.jsonl" 10000
records "$TMP/b.jsonl" 10000 "-changed"
sink_yaml "$TMP/ua.yaml" "$TMP/a.jsonl" ups upsert "    key: [id]"
sink_yaml "$TMP/ub.yaml" "$TMP/b.jsonl" ups upsert "    key: [id]"
run_pipeline "$TMP/ua.yaml" "$TMP/log"
dump ups >"$TMP/d1"
assert_lines 10000 "$TMP/d1" "rows after the first load"
run_pipeline "$TMP/ub.yaml" "$TMP/log"
dump ups >"$TMP/d2"
xmin=$(value 'SELECT xmin FROM ups WHERE id = 77')
run_pipeline "$TMP/ub.yaml" "$TMP/log"
dump ups >"$TMP/d3"
assert_eq "$xmin" "$(value 'SELECT xmin FROM ups WHERE id = 77')" "an unchanged row is not rewritten"
assert_lines 10000 "$TMP/d2" "rows after the second load"
cmp -s "$TMP/d2" "$TMP/d3" || fail "loading the same records again changed the table"
! cmp -s "$TMP/d1" "$TMP/d2" || fail "the changed values did not replace the rows"
assert_eq "n77-changed" "$(value 'SELECT name FROM ups WHERE id = 77')" "an upserted row"
assert_contains "$TMP/log" '"table ups: 10000 rows written, 0 rejected' "the summary line"

# upsert, keys that differ as text but not as values in one batch ("07" and
# 7 into a bigint): the last one wins, as for equal keys
printf '%s\n' '{"id":"07","name":"first"}' '{"id":7,"name":"second"}' '{"id":8,"name":"other"}' >"$TMP/k.jsonl"
sink_yaml "$TMP/k.yaml" "$TMP/k.jsonl" ups upsert "    key: [id]"
run_pipeline "$TMP/k.yaml" "$TMP/log"
assert_eq "second|other" "$(value 'SELECT string_agg(name, $$|$$ ORDER BY id) FROM ups WHERE id IN (7, 8)')" \
    "the last of two equal keys wins"
[[ ! -s $TMP/errors.jsonl ]] || { cat "$TMP/errors.jsonl" >&2; fail "nothing should be rejected"; }
records "$TMP/a.jsonl" 10000 # rows 7 and 8 back as they were
run_pipeline "$TMP/ua.yaml" "$TMP/log"

# upsert into a table with a json column (a type without equality): the
# sink falls back to comparing rows by their binary image, once, and loses
# nothing; unchanged rows are still left alone, changed ones replaced
pg_sql -c "CREATE TABLE upj (id bigint PRIMARY KEY, name text, n bigint, at timestamptz, tags json, ok boolean)"
sink_yaml "$TMP/ja.yaml" "$TMP/a.jsonl" upj upsert "    key: [id]"
sink_yaml "$TMP/jb.yaml" "$TMP/b.jsonl" upj upsert "    key: [id]"
run_pipeline "$TMP/ja.yaml" "$TMP/log"
assert_contains "$TMP/log" 'compared by their binary image' "the fallback is logged"
assert_eq 10000 "$(value 'SELECT count(*) FROM upj')" "rows after the first load into the json table"
xmin=$(value 'SELECT xmin FROM upj WHERE id = 77')
run_pipeline "$TMP/ja.yaml" "$TMP/log"
assert_eq "$xmin" "$(value 'SELECT xmin FROM upj WHERE id = 77')" "an unchanged row of the json table is not rewritten"
run_pipeline "$TMP/jb.yaml" "$TMP/log"
assert_eq "n77-changed|10000" "$(value 'SELECT name, (SELECT count(*) FROM upj) FROM upj WHERE id = 77')" \
    "changed rows of the json table replaced, none added"
[[ ! -s $TMP/errors.jsonl ]] || { cat "$TMP/errors.jsonl" >&2; fail "nothing should be rejected"; }
# a table whose column types all have equality never falls back
run_pipeline "$TMP/ub.yaml" "$TMP/log"
! grep -q 'binary image' "$TMP/log" || fail "a table whose types all have equality fell back to the image comparison"

# copy: straight into the table, the same rows as insert gives
sink_yaml "$TMP/c.yaml" "$TMP/a.jsonl" cpy copy
run_pipeline "$TMP/c.yaml" "$TMP/log"
dump cpy >"$TMP/dc"
cmp -s "$TMP/d1" "$TMP/dc" || fail "copy mode wrote other rows than upsert's first load"
[[ ! -s $TMP/errors.jsonl ]] || { cat "$TMP/errors.jsonl" >&2; fail "nothing should be rejected"; }

# insert into a view, and into a table whose rule sends rows elsewhere: both
# through the staging table and a real INSERT (COPY knows neither views nor rules)
pg_sql -c "CREATE TABLE base $TABLE_DDL" -c "CREATE VIEW v AS SELECT * FROM base" \
    -c "CREATE TABLE ruled $TABLE_DDL" -c "CREATE TABLE elsewhere $TABLE_DDL" \
    -c "CREATE RULE redirect AS ON INSERT TO ruled DO INSTEAD INSERT INTO elsewhere SELECT NEW.*"
for t in v ruled; do
    sink_yaml "$TMP/r.yaml" "$TMP/a.jsonl" $t insert
    run_pipeline "$TMP/r.yaml" "$TMP/log" --log-level debug
    assert_contains "$TMP/log" "table ..$t..: rows go through the staging table" "$t: through the staging table"
done
dump base >"$TMP/dv"
dump elsewhere >"$TMP/de"
cmp -s "$TMP/d1" "$TMP/dv" || fail "insert into a view wrote other rows"
cmp -s "$TMP/d1" "$TMP/de" || fail "the rule did not redirect the rows"
assert_eq 0 "$(value 'SELECT count(*) FROM ruled')" "the rule's table itself stays empty"
