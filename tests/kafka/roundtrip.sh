#!/usr/bin/env bash
# 100,000 keyed messages produced with kcat -> kafka source -> kafka sink ->
# consumed with kcat: the same multiset of (key, value), each key's values in
# their original order, headers and timestamps carried along, and on stop the
# group's committed offsets are the input's end offsets.
source "$top_srcdir/tests/kafka/kafka_lib.sh"
N=100000
IN=$(name in) OUT=$(name out) G=$(name g)
topic "$IN" 4
topic "$OUT" 3
keyed_input "$TMP/in.tsv" $N 500
produce "$IN" "$TMP/in.tsv"
# one more with headers and a fixed timestamp, to see both carried through
printf 'hk\t{"h":1}\n' | kcat -b "$B" -P -t "$IN" -K '\t' -H trace=abc -H empty= -p 0 || fail "kcat -H"
# and one without a key: the source reads "no headers" from the record bytes
# only where they are laid out as it expects (fetched_headers.h)
printf '{"h":2}\n' | kcat -b "$B" -P -t "$IN" -H nokey=yes -p 1 || fail "kcat -H, no key"

cat >"$TMP/p.yaml" <<Y
pipeline: roundtrip
sources:
  in: {plugin: kafka, brokers: "$B", topics: [$IN], group: $G, stop_at_end: true}
sinks:
  out: {plugin: kafka, inputs: [in], brokers: "$B", topic: $OUT}
Y
rc=0
timeout 120 "$MARTFLOW" run "$TMP/p.yaml" >"$TMP/log" 2>&1 || rc=$?
assert_eq 0 "$rc" "run exit status (log: $(tail -3 "$TMP/log"))"
assert_contains "$TMP/log" 'every assigned partition is read to its end' "stop_at_end ended the run"
assert_contains "$TMP/log" 'producer flushed: every record has its delivery report' "sink flushed"

consume "$OUT" >"$TMP/out.tsv"
grep -v -e '^hk	' -e '^	{"h":2}$' "$TMP/out.tsv" | sort >"$TMP/out.sorted"
sort "$TMP/in.tsv" >"$TMP/in.sorted"
assert_eq "$N" "$(wc -l <"$TMP/out.sorted")" "output message count"
cmp -s "$TMP/in.sorted" "$TMP/out.sorted" || { diff "$TMP/in.sorted" "$TMP/out.sorted" | head >&2; fail "the (key, value) multisets differ"; }

# per key, kcat shows one output partition in order: seq must be 1, 2, 3, ...
bad=$(grep -v -e '^hk	' -e '^	{"h":2}$' "$TMP/out.tsv" | sed -E 's/^([^\t]*)\t.*"seq":([0-9]+).*/\1 \2/' |
    awk '{ if ($2 != last[$1] + 1) { bad++ } last[$1] = $2 } END { print bad + 0 }')
assert_eq 0 "$bad" "values out of order within a key"

# headers and the timestamp travel with the record
kcat -b "$B" -C -t "$OUT" -o beginning -e -q -f '%k %h %T\n' | grep '^hk ' >"$TMP/h.txt" || fail "header message missing"
assert_contains "$TMP/h.txt" '^hk trace=abc,empty= [0-9]+$' "headers carried (and an empty header value)"
kcat -b "$B" -C -t "$OUT" -o beginning -e -q -f '%k|%h|%s\n' | grep -F '{"h":2}' >"$TMP/h2.txt" ||
    fail "keyless header message missing"
assert_eq '|nokey=yes|{"h":2}' "$(cat "$TMP/h2.txt")" "headers of a keyless message carried"
# and none where there were none
kcat -b "$B" -C -t "$OUT" -o beginning -e -q -f '%h\n' | sort | uniq -c | sort -rn | head -3 >"$TMP/hcount"
assert_contains "$TMP/hcount" "^ *$N $" "the $N messages without headers have none"
in_ts=$(kcat -b "$B" -C -t "$IN" -p 0 -o beginning -e -q -f '%k %T\n' | awk '$1 == "hk" {print $2}')
out_ts=$(awk '{print $3}' "$TMP/h.txt")
assert_eq "$in_ts" "$out_ts" "timestamp carried"

# everything was acknowledged, so stop committed the end offsets
"$OFFSETS" end "$B" "$IN" 4 >"$TMP/end" || fail "end offsets"
"$OFFSETS" committed "$B" "$G" "$IN" 4 >"$TMP/committed" || fail "committed offsets"
cmp -s "$TMP/end" "$TMP/committed" || { paste "$TMP/end" "$TMP/committed" >&2; fail "committed offsets are not the end offsets"; }
