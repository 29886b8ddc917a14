#!/usr/bin/env bash
# `enabled: false` on a source: checked like any other, then left out of the
# run; an input naming it carries nothing (the others still flow), an
# `after:` naming it waits for nothing. Misuse is a check error with its
# place: on a transform, a bad value, every input of a node disabled, every
# source disabled.
source "$top_srcdir/tests/lib.sh"

for ((i = 0; i < 500; i++)); do printf '{"s":"a","i":%d}\n' "$i"; done >"$TMP/a.jsonl"
for ((i = 0; i < 700; i++)); do printf '{"s":"b","i":%d}\n' "$i"; done >"$TMP/b.jsonl"

pipeline() { # FILE B-ENABLED [EXTRA-ON-A] [TRANSFORM-INPUTS]
    cat >"$1" <<Y
pipeline: enabled
sources:
  a:
    plugin: file
    path: '$TMP/a.jsonl'
    positions: false
${3:-}
  b: {plugin: file, path: '$TMP/b.jsonl', positions: false, enabled: $2}
transforms:
  pass: {plugin: fields, inputs: [${4:-a, b}]}
sinks:
  out: {plugin: file, inputs: [pass], path: '$TMP/out.jsonl'}
Y
}
count() { grep -c "\"s\":\"$1\"" "$TMP/out.jsonl" || true; }

pipeline "$TMP/on.yaml" true
"$MARTFLOW" run "$TMP/on.yaml" >"$TMP/on.log" 2>&1 || { cat "$TMP/on.log" >&2; fail "the run with both sources failed"; }
assert_eq 500 "$(count a)" "both enabled: a's records"
assert_eq 700 "$(count b)" "both enabled: b's records"

rm -f "$TMP/out.jsonl"
pipeline "$TMP/off.yaml" '"${env:B_ON:-false}"' "    after: [b]"
"$MARTFLOW" check "$TMP/off.yaml" >"$TMP/check.out" 2>&1 || { cat "$TMP/check.out" >&2; fail "check of a disabled source"; }
assert_contains "$TMP/check.out" "OK \(pipeline 'enabled', 3 nodes\)" "check counts the nodes that run"
"$MARTFLOW" run "$TMP/off.yaml" >"$TMP/off.log" 2>&1 || { cat "$TMP/off.log" >&2; fail "the run with b disabled failed"; }
assert_eq 500 "$(count a)" "b disabled: a's records all there (after: [b] waits for nothing)"
assert_eq 0 "$(count b)" "b disabled: none of b's"
! grep -q '"node":"b"' "$TMP/off.log" || fail "b logged: it was started"
B_ON=true "$MARTFLOW" check "$TMP/off.yaml" | grep -q "4 nodes" || fail "B_ON=true puts b back"

# a disabled source's options are still checked
sed 's/positions: false, enabled/positions: maybe, enabled/' "$TMP/off.yaml" >"$TMP/badopt.yaml"
rc=0; "$MARTFLOW" check "$TMP/badopt.yaml" 2>"$TMP/badopt.err" || rc=$?
assert_eq 2 "$rc" "a bad option of a disabled source is an error"
assert_contains "$TMP/badopt.err" "badopt.yaml:[0-9]+:[0-9]+: .*positions" "with its place"

check_error() { # FILE PATTERN WHAT
    local rc=0
    "$MARTFLOW" check "$1" 2>"$1.err" || rc=$?
    assert_eq 2 "$rc" "$3: a configuration error"
    assert_contains "$1.err" "$2" "$3: the message and its place"
}
pipeline "$TMP/v.yaml" nope
check_error "$TMP/v.yaml" "v.yaml:[0-9]+:[0-9]+: node 'b': option 'enabled': expected true or false" "enabled: nope"
pipeline "$TMP/t.yaml" true
sed -i 's/pass: {plugin: fields, inputs: \[a, b\]}/pass: {plugin: fields, inputs: [a, b], enabled: false}/' "$TMP/t.yaml"
check_error "$TMP/t.yaml" "t.yaml:[0-9]+:[0-9]+: .*only a source takes 'enabled'" "enabled on a transform"
pipeline "$TMP/i.yaml" false "" b
check_error "$TMP/i.yaml" "i.yaml:[0-9]+:[0-9]+: .*every one of its inputs comes from a disabled source" "a transform fed only by b"
pipeline "$TMP/all.yaml" false "    enabled: false"
check_error "$TMP/all.yaml" "all.yaml:[0-9]+:[0-9]+: every source of the pipeline is disabled" "every source disabled"

# a disabled source's secret options are redacted in check --print like any other's
# (a 3-byte one: too short for the redaction of every output, only the
# option's own type hides it)
cat >"$TMP/sec.yaml" <<Y
pipeline: enabled-secret
sources:
  a: {plugin: file, path: '$TMP/a.jsonl', positions: false}
  cfg: {plugin: configdb, enabled: false, password: pw9}
sinks:
  out: {plugin: file, inputs: [a, cfg], path: '$TMP/out.jsonl'}
Y
"$MARTFLOW" check --print "$TMP/sec.yaml" >"$TMP/sec.out" 2>&1 || { cat "$TMP/sec.out" >&2; fail "check --print of a disabled configdb"; }
assert_contains "$TMP/sec.out" '"password": "\*\*\*"' "the disabled source's password is shown redacted"
! grep -q "\"pw9\"" "$TMP/sec.out" || fail "check --print showed a disabled source's password"
