#!/usr/bin/env bash
# The Kafka sink's key_field is a field path (martflow/fieldpath.h): nested
# names, '\.' for a dot inside a name; a string keys by its bytes, any other
# value by its JSON text (objects with sorted members), null or missing: no
# key (a NULL key, not an empty one). A bad path fails `check` (and `run`).
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
assert_lines 6 "$TMP/out" "every record produced"
assert_contains "$TMP/out" '^6\|nested\|\{"n":1,' "a string key: its bytes"
assert_contains "$TMP/out" '^2\|42\|\{"n":2,' "a number key: its JSON text"
assert_contains "$TMP/out" '^23\|\{"y":\[true,null\],"z":1\}\|\{"n":3,' "an object key: compact, sorted"
assert_contains "$TMP/out" '^-1\|\|\{"n":4,' "null: no key"
assert_contains "$TMP/out" '^-1\|\|\{"n":5,' "missing: no key"
assert_contains "$TMP/out" '^0\|\|\{"n":6,' "an empty string is an empty key"

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

# a bad path fails check, and run before anything starts, at its place
sed 's/key_field: a.b/key_field: "a..b"/' "$TMP/p.yaml" >"$TMP/bad.yaml"
for cmd in check run; do
    rc=0
    timeout 60 "$MARTFLOW" $cmd "$TMP/bad.yaml" >"$TMP/bad.log" 2>&1 || rc=$?
    assert_eq 2 "$rc" "bad path: exit status of $cmd"
    assert_contains "$TMP/bad.log" "^$TMP/bad.yaml:4:[0-9]+: .*option 'key_field': field path 'a\.\.b': empty name" \
        "bad path: message of $cmd"
done
