#!/usr/bin/env bash
# `martflow plugins` lists every plugin with its options (text and JSON);
# `martflow check --print` shows the resolved pipeline with secrets redacted.
source "$top_srcdir/tests/lib.sh"
"$MARTFLOW" plugins >"$TMP/text"
for p in "source file" "sink file" "sink stdout" "sink null" "transform fields"; do
    assert_contains "$TMP/text" "^$p [0-9.]+: " "listed: $p"
done
assert_contains "$TMP/text" '^    path +string +\(required\)' "option lines"
"$MARTFLOW" plugins --json >"$TMP/json"
python3 - "$TMP/json" <<'PY' || fail "plugins --json content"
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc["abi"] == "1.5"
names = {(p["kind"], p["name"]) for p in doc["plugins"]}
assert ("source", "file") in names and ("transform", "fields") in names, names
src = next(p for p in doc["plugins"] if p["kind"] == "source" and p["name"] == "file")
opts = {o["name"]: o for o in src["options"]}
assert opts["path"]["required"] is True and opts["path"]["type"] == "string"
assert opts["follow"]["default"] == "false"
assert any(o["name"] == "queue_records" for o in doc["settings"])
assert any(o["name"] == "parallelism" for o in doc["node_keys"])
PY
printf 'hunter2-secret\n' >"$TMP/pw"
printf '{"username":"u1","password":"pw-from-json"}' >"$TMP/k.json"
cat >"$TMP/p.yaml" <<Y
sources:
  in: {plugin: file, path: /dev/null}
transforms:
  t: {plugin: fields, inputs: [in], set: {token: "\${file:$TMP/pw}", user: "\${json:$TMP/k.json#username}", pw: "\${json:$TMP/k.json#password}"}}
sinks:
  out: {plugin: stdout, inputs: [t]}
Y
"$MARTFLOW" check "$TMP/p.yaml" --print >"$TMP/print"
if grep -q 'hunter2-secret\|pw-from-json\|u1' "$TMP/print"; then cat "$TMP/print" >&2; fail "a secret was printed"; fi
assert_contains "$TMP/print" '"token": "\*\*\*"' "file secret redacted"
assert_contains "$TMP/print" '"plugin": "fields"' "the rest is printed"
