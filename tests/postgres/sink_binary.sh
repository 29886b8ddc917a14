#!/usr/bin/env bash
# copy_format: the same records loaded with COPY text and with binary COPY
# (auto, the default) give identical tables (SELECT ... EXCEPT both ways),
# in modes insert and upsert, for every type with a binary form (integers of
# each width at their bounds, boolean, text and varchar with escapes, real,
# double, timestamp and timestamptz from epoch ms at the years 1 and 9999,
# json, jsonb; NULL and missing); batches holding a value binary cannot
# store exactly (a string "12" in an integer, a value out of int4 range, a
# non-integral number in an integer column, a float4 that is not exact) and
# rows the server refuses (too long for varchar: 22001; a duplicate key:
# 23505) give the same rejects with the same SQLSTATE and messages; so does a
# 30,000-row batch whose binary COPY is streamed and refused at its end. A table
# with a numeric column is written as text; copy_format binary with a
# declared type without a binary form is a configuration error at its line.
source "$top_srcdir/tests/postgres/sink_lib.sh"

DDL="(id bigint PRIMARY KEY, i2 smallint, i4 integer, i8 bigint, b boolean, t text, v varchar(12),
  r real, d double precision, ts timestamptz, tl timestamp, j json, jb jsonb)"
for t in txt_ins bin_ins txt_ups bin_ups; do
    pg_sql -c "CREATE TABLE $t $DDL"
done
for t in txt_ups bin_ups; do pg_sql -c "INSERT INTO $t (id, t) VALUES (5, 'old'), (7, 'old')"; done

python3 - "$TMP/in.jsonl" <<'P'
import json, sys
rows = []
for i in range(1, 2401):
    r = {"id": i, "i2": (i % 65536) - 32768, "i4": i * 1000003 - 2**31 if i < 2100 else 2**31 - i,
         "i8": i * 3843040001230 * (-1) ** i, "b": i % 3 == 0, "t": "t%d\ttab\nnl\\bs\"q€" % i,
         "v": "v%d" % i, "r": [0.5, 1.25, -3.0, 1024][i % 4], "d": i / 7.0,
         "ts": 1700000000000 + i * 1234567, "tl": -2208988800000 + i * 86400123,
         "j": {"a": i, "s": "x\"y\\z", "l": [1, 2.5, None]}, "jb": [i, "k\tk", {"z": True}]}
    if i % 11 == 0:
        for k in ("i2", "t", "ts", "jb"): r[k] = None
    if i % 13 == 0:
        for k in ("i4", "v", "d", "j"): r.pop(k)
    rows.append(r)
# bounds and forms binary takes as the text does
rows[100].update(i2=32767, i4=2147483647, i8=9223372036854775807, ts=-62135596800000, tl=253402300799999)
rows[101].update(i2=-32768, i4=-2147483648, i8=-9223372036854775808, ts=253402300799999, tl=-62135596800000)
rows[102].update(i4=7.0, i8=-0.0, d=-0.0, r=3, ts=1700000000123.5, tl=0, t=12, v=True, j="str", jb=1.5)
rows[103].update(t={"o": [1, "\u0001"]}, j=None, jb={"nested": {"deep": ["a\\b"]}}, d=1e300, r=-0.0)
# batch 2 (rows 501..1000): a string in an integer column (text reads it: 12), so the batch goes as text
rows[600]["i4"] = "12"
# batch 3: out of int4's range (refused by the server in text: 22003)
rows[1200]["i4"] = 2147483648
# batch 4: a non-integral number in a bigint (22P02), a float4 that is not exact (0.1)
rows[1700]["i8"] = 2.5
rows[1750]["r"] = 0.1
# batch 5: too long for varchar(12) (22001), refused by the server in binary too; the duplicate of
# a row in the batch's own rows is no error in upsert (the last wins)
rows[2100]["v"] = "much-too-long-for-twelve"
rows[2200]["t"] = "dup first"
rows.append(dict(rows[2200], t="dup second"))
with open(sys.argv[1], "w") as f:
    for r in rows:
        f.write(json.dumps(r) + "\n")
P

load() { # TABLE MODE FORMAT [INPUT BATCH]
    rm -f "$TMP/errors.jsonl"
    cat >"$TMP/p.yaml" <<Y
pipeline: binary
sources:
  in: {plugin: file, path: "${4:-$TMP/in.jsonl}", positions: false}
sinks:
  db:
    plugin: postgres
    inputs: [in]
    table: $1
    mode: $2
    key: $([[ $2 == upsert ]] && echo "[id]" || echo "[]")
    copy_format: $3
    batch_records: ${5:-500}
    batch_time: 1h
    columns:
      id: id
      i2: i2
      i4: i4
      i8: {field: i8, type: bigint}
      b: b
      t: t
      v: v
      r: r
      d: d
      ts: {field: ts, type: timestamptz}
      tl: {field: tl, type: timestamp}
      j: {field: j, type: json}
      jb: {field: jb, type: jsonb}
  errors: {plugin: file, inputs: [db.errors], path: "$TMP/errors.jsonl", format: envelope}
Y
    run_pipeline "$TMP/p.yaml" "$TMP/log.$1" --log-level debug
    python3 - "$TMP/errors.jsonl" >"$TMP/rejects.$1" <<'P'
import json, sys
for line in open(sys.argv[1]):
    e = json.loads(line)
    print(e["value"]["id"], e["headers"]["mf.error"])
P
    sed -i -E 's/(txt|bin)_(ins|ups)_pkey/T_pkey/' "$TMP/rejects.$1" # the constraint's name is the table's
    sort -n -o "$TMP/rejects.$1" "$TMP/rejects.$1"
}

same() { # A B WHAT
    local cols="id, i2, i4, i8, b, t, v, r, d, ts, tl, j::text, jb"
    assert_eq 0 "$(value "SELECT count(*) FROM (SELECT $cols FROM $1 EXCEPT ALL SELECT $cols FROM $2) x")" "$3: $1 has no row $2 lacks"
    assert_eq 0 "$(value "SELECT count(*) FROM (SELECT $cols FROM $2 EXCEPT ALL SELECT $cols FROM $1) x")" "$3: $2 has no row $1 lacks"
    cmp "$TMP/rejects.$1" "$TMP/rejects.$2" || fail "$3: the rejects differ"
}

for mode in insert upsert; do
    a=txt_${mode:0:3} b=bin_${mode:0:3}
    load "$a" "$mode" text
    load "$b" "$mode" auto
    same "$a" "$b" "$mode"
    ! grep -q "rows go as binary COPY" "$TMP/log.$a" || fail "$mode: copy_format text went binary"
    assert_contains "$TMP/log.$b" "rows go as binary COPY" "$mode: auto goes binary"
    assert_contains "$TMP/log.$b" "written as COPY text \(the server refused" "$mode: a refused binary batch went again as text"
    assert_contains "$TMP/log.$b" "a value without an exact binary form: the batch goes as COPY text" "$mode: a value binary cannot encode"
    # five batches, four of them with a fallback: the first (the bounds in it) committed in binary
    assert_eq 4 "$(grep -c 'written as COPY text\|a value without an exact binary form' "$TMP/log.$b")" "$mode: fallbacks"
    assert_contains "$TMP/rejects.$b" '^1201 PostgreSQL refused the row: SQLSTATE 22003: value "2147483648" is out of range for type integer \(column i4\)$' "$mode: out of range"
    assert_contains "$TMP/rejects.$b" '^1701 .*SQLSTATE 22P02: invalid input syntax for type bigint: "2.5" \(column i8\)$' "$mode: non-integral"
    assert_contains "$TMP/rejects.$b" '^2101 .*SQLSTATE 22001: value too long for type character varying\(12\) \(column v\)$' "$mode: too long"
done
assert_eq 2397 "$(value "SELECT count(*) FROM bin_ins")" "insert: the rows (2401 less 4 rejects)"
assert_lines 4 "$TMP/rejects.bin_ins" "insert: rejects (and the duplicate key)"
assert_lines 3 "$TMP/rejects.bin_ups" "upsert: rejects"
assert_eq 12 "$(value "SELECT i4 FROM bin_ins WHERE id = 601")" "the string \"12\" read by the server"
assert_eq 2147483647 "$(value "SELECT i4 FROM bin_ins WHERE id = 101")" "int4 max"
assert_eq "0001-01-01 00:00:00+00" "$(value "SET timezone = UTC; SELECT ts FROM bin_ins WHERE id = 101")" "the year 1"
assert_eq "dup second" "$(value "SELECT t FROM bin_ups WHERE id = 2201")" "upsert: the last row of a key wins"
assert_eq 0.1 "$(value "SELECT r FROM bin_ins WHERE id = 1751")" "a float4 as text rounds it"

# one batch of 30,000 rows, whose binary COPY goes out while the rows are added
# (streamed; no value in it without an exact binary form), refused at its end by the server (too long for varchar: 22001):
# written again as text, the same reject and table
head -n 2400 "$TMP/in.jsonl" | grep -v '"v": "much-too-long' >"$TMP/base.jsonl"
python3 - "$TMP/base.jsonl" "$TMP/big.jsonl" <<'P'
import json, sys
base = [json.loads(l) for l in open(sys.argv[1])]
base = [r for r in base if r.get("i4") not in ("12", 2147483648) and r.get("i8") != 2.5 and r.get("r") != 0.1]
with open(sys.argv[2], "w") as f:
    for i in range(30000):
        r = dict(base[i % len(base)], id=i + 1)
        if i == 29000:
            r["v"] = "much-too-long-for-twelve"
        f.write(json.dumps(r) + "\n")
P
for t in txt_big bin_big; do pg_sql -c "CREATE TABLE $t $DDL"; done
load txt_big insert text "$TMP/big.jsonl" 100000
load bin_big insert auto "$TMP/big.jsonl" 100000
same txt_big bin_big "streamed"
assert_contains "$TMP/log.bin_big" "the COPY went out while they were added" "streamed: the batch was streamed"
assert_contains "$TMP/log.bin_big" "30000 rows: written as COPY text \(the server refused the binary COPY\)" "streamed: refused, then text"
assert_eq "29001 PostgreSQL refused the row: SQLSTATE 22001: value too long for type character varying(12) (column v)" "$(cat "$TMP/rejects.bin_big")" "streamed: the reject"
assert_eq 29999 "$(value "SELECT count(*) FROM bin_big")" "streamed: the rows"

# a numeric column: written as text
pg_sql -c "CREATE TABLE num (id bigint PRIMARY KEY, x numeric)"
cat >"$TMP/num.yaml" <<Y
pipeline: numeric
sources:
  in: {plugin: file, path: "$TMP/num.jsonl", positions: false}
sinks:
  db: {plugin: postgres, inputs: [in], table: num, columns: {id: id, x: x}}
Y
printf '{"id":1,"x":1.5}\n{"id":2,"x":"2.25"}\n' >"$TMP/num.jsonl"
run_pipeline "$TMP/num.yaml" "$TMP/log.num" --log-level debug
assert_contains "$TMP/log.num" "rows go as COPY text \(a column type without a binary form\)" "numeric: text"
assert_eq 3.75 "$(value "SELECT sum(x) FROM num")" "numeric: the rows"

# copy_format binary with a declared type without a binary form
cat >"$TMP/bad.yaml" <<'Y'
sources:
  in: {plugin: file, path: /dev/null}
sinks:
  db:
    plugin: postgres
    inputs: [in]
    table: t
    copy_format: binary
    columns:
      id: id
      u: {field: u, type: uuid}
Y
rc=0; "$MARTFLOW" check "$TMP/bad.yaml" 2>"$TMP/err" || rc=$?
assert_eq 2 "$rc" "check: binary with a uuid column"
assert_contains "$TMP/err" "^$TMP/bad.yaml:11:27: node 'db' \(sink postgres\): option 'columns': column 'u': type 'uuid' has no binary COPY form" "the uuid's line"
sed -i 's/copy_format: binary/copy_format: auto/' "$TMP/bad.yaml"
"$MARTFLOW" check "$TMP/bad.yaml" 2>"$TMP/err" || fail "auto takes a uuid column: $(cat "$TMP/err")"
true
