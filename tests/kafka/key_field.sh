#!/usr/bin/env bash
# The Kafka sink's key_field is a field path (martflow/fieldpath.h): nested
# names, '\.' for a dot inside a name; a string keys by its bytes, any other
# value by its JSON text (objects with sorted members), null or missing: no
# key (a NULL key, not an empty one). The sink reads the field without a
# tree (mf_json_view_key: the same bytes). A bad path fails `check` (and `run`).
source "$top_srcdir/tests/kafka/kafka_lib.sh"
T=$(name t)
topic "$T" 1
cat >"$TMP/in.jsonl" <<'J'
{"n":1,"a":{"b":"nested"}}
{"n":2,"a":{"b":42}}
{"n":3,"a":{"b":{"z":1,"y":[true,null]}}}
{"n":4,"a":{"b":null}}
{"n":5,"a":{}}
{"n":6,"a":{"b":""}}
{"n":7,"a":{"b":"caf\u00e9"}}
{"n":8,"a":{"b":1.50}}
J
cat >"$TMP/p.yaml" <<Y
sources:
  in: {plugin: file, path: $TMP/in.jsonl}
sinks:
  out: {plugin: kafka, inputs: [in], brokers: "$B", topic: $T, key_field: a.b}
Y
timeout 60 "$MARTFLOW" run "$TMP/p.yaml" >"$TMP/log" 2>&1 || { cat "$TMP/log"; fail "run"; }
# %K: the key's length, -1 for a NULL key
kcat -b "$B" -C -t "$T" -o beginning -e -q -f '%K|%k|%s\n' >"$TMP/out" || fail "kcat"
assert_lines 8 "$TMP/out" "every record produced"
assert_contains "$TMP/out" '^6\|nested\|\{"n":1,' "a string key: its bytes"
assert_contains "$TMP/out" '^2\|42\|\{"n":2,' "a number key: its JSON text"
assert_contains "$TMP/out" '^23\|\{"y":\[true,null\],"z":1\}\|\{"n":3,' "an object key: compact, sorted"
assert_contains "$TMP/out" '^-1\|\|\{"n":4,' "null: no key"
assert_contains "$TMP/out" '^-1\|\|\{"n":5,' "missing: no key"
assert_contains "$TMP/out" '^0\|\|\{"n":6,' "an empty string is an empty key"
assert_contains "$TMP/out" $'^5\\|caf\xc3\xa9\\|\\{"n":7,' "an escaped string: its unescaped UTF-8 bytes"
assert_contains "$TMP/out" '^3\|1\.5\|\{"n":8,' "a double: jansson's text"

# a top-level name with a dot in it
T2=$(name t2)
topic "$T2" 1
printf '{"a.b":"top","a":{"b":"deep"}}\n' >"$TMP/dot.jsonl"
cat >"$TMP/dot.yaml" <<Y
sources:
  in: {plugin: file, path: $TMP/dot.jsonl}
sinks:
  out: {plugin: kafka, inputs: [in], brokers: "$B", topic: $T2, key_field: 'a\\.b'}
Y
timeout 60 "$MARTFLOW" run "$TMP/dot.yaml" >"$TMP/dot.log" 2>&1 || { cat "$TMP/dot.log"; fail "run (dot)"; }
assert_eq "top" "$(kcat -b "$B" -C -t "$T2" -o beginning -e -q -f '%k\n')" "'a\\.b' is the top-level field a.b"

# a value that is not JSON (from a raw source) gives no key: rejected, with the reason
T3=$(name raw) T4=$(name rawout) G3=$(name g3)
topic "$T3" 1
topic "$T4" 1
printf 'k1\tnot json\nk2\t{"a":{"b":"ok"}}\n' >"$TMP/raw.tsv"
produce "$T3" "$TMP/raw.tsv"
cat >"$TMP/raw.yaml" <<Y
sources:
  in: {plugin: kafka, brokers: "$B", topics: [$T3], group: $G3, format: raw, stop_at_end: true}
sinks:
  out: {plugin: kafka, inputs: [in], brokers: "$B", topic: $T4, key_field: a.b}
  rejects: {plugin: file, inputs: [out.errors], path: $TMP/raw_rejects.jsonl, format: envelope}
Y
timeout 60 "$MARTFLOW" run "$TMP/raw.yaml" >"$TMP/raw.log" 2>&1 || { cat "$TMP/raw.log"; fail "run (raw)"; }
assert_lines 1 "$TMP/raw_rejects.jsonl" "the value that is not JSON is rejected"
assert_contains "$TMP/raw_rejects.jsonl" '"mf.error":"key_field .a\.b.: the value is not JSON \(invalid JSON at byte [0-9]+: ' \
    "reject reason with the position"
assert_eq "ok" "$(kcat -b "$B" -C -t "$T4" -o beginning -e -q -f '%k\n')" "the JSON value keyed and produced"

# a bad path fails check, and run before anything starts, at its place
sed 's/key_field: a.b/key_field: "a..b"/' "$TMP/p.yaml" >"$TMP/bad.yaml"
for cmd in check run; do
    rc=0
    timeout 60 "$MARTFLOW" $cmd "$TMP/bad.yaml" >"$TMP/bad.log" 2>&1 || rc=$?
    assert_eq 2 "$rc" "bad path: exit status of $cmd"
    assert_contains "$TMP/bad.log" "^$TMP/bad.yaml:4:[0-9]+: .*option 'key_field': field path 'a\.\.b': empty name" \
        "bad path: message of $cmd"
done
