#!/usr/bin/env bash
# docs/events.md §2.3: the reference code of the id scheme gives the ids its
# examples state (GSP's implementation is tested against the same values).
source "$top_srcdir/tests/lib.sh"
doc=$top_srcdir/docs/events.md
sed -n '/^```python$/,/^```$/p' "$doc" | sed '1d;$d' >"$TMP/ids.py"
grep -q 'def mf_id' "$TMP/ids.py" || fail "no reference code in docs/events.md"
cat >>"$TMP/ids.py" <<'PY'
print(mf_id("ixn", "t1", "voice", "0001A2B3C4D5E6F7"))
print(mf_id("irf", "t1", "0001A2B3C4D5E6F7", "006502a1b2c3d4e5", "7001", 1234))
print(mf_id("msf", "t1", "0001A2B3C4D5E6F7", "006502a1b2c3d4e5", "7001", 1200))
PY
python3 "$TMP/ids.py" >"$TMP/ids" || fail "the reference code does not run"
for id in $(cat "$TMP/ids"); do
    (( id > 0 && id <= 9223372036854775807 )) || fail "id $id is not a positive 63-bit integer"
    grep -q "\`$id\`" "$doc" || fail "docs/events.md does not state the example id $id"
done
assert_eq 3 "$(sort -u "$TMP/ids" | wc -l)" "distinct example ids"
