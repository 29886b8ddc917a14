#!/usr/bin/env bash
# `martflow check` reports each kind of error as file:line:col: message and
# exits 2; a valid file exits 0.
source "$top_srcdir/tests/lib.sh"

# expect_check FILE LINE PATTERN: check fails, names FILE:LINE: and matches PATTERN
expect_check() {
    local file=$1 line=$2 pattern=$3 rc=0
    "$MARTFLOW" check "$file" >"$TMP/out" 2>"$TMP/err" || rc=$?
    assert_eq 2 "$rc" "exit status of check $file"
    assert_contains "$TMP/err" "^$file:$line:[0-9]+: .*$pattern" "check $file"
}

ok=$TMP/ok.yaml
cat >"$ok" <<'Y'
pipeline: ok
sources:
  in: {plugin: file, path: /dev/null}
sinks:
  out: {plugin: stdout, inputs: [in]}
Y
"$MARTFLOW" check "$ok" >"$TMP/out"
assert_contains "$TMP/out" "OK \(pipeline 'ok', 2 nodes\)" "valid file"

f=$TMP/syntax.yaml
printf 'pipeline: x\nsources:\n  in: {plugin: file, path: a\n  b: 1\n' >"$f"
expect_check "$f" 4 "YAML syntax error"

f=$TMP/syntax.json
printf '{\n "pipeline": "x",\n "sources": {,}\n}\n' >"$f"
expect_check "$f" 3 "JSON syntax error"

f=$TMP/plugin.yaml
printf 'sources:\n  in: {plugin: file, path: /dev/null}\nsinks:\n  out: {plugin: nosuch, inputs: [in]}\n' >"$f"
expect_check "$f" 4 "unknown sink plugin 'nosuch' \(searched: .*build/plugins"

f=$TMP/option.yaml
printf 'sources:\n  in: {plugin: file, path: /dev/null}\nsinks:\n  out:\n    plugin: stdout\n    inputs: [in]\n    formt: value\n' >"$f"
expect_check "$f" 7 "node 'out' \(sink stdout\): unknown option 'formt' \(did you mean 'format'\?\)"

f=$TMP/type.yaml
printf 'sources:\n  in:\n    plugin: file\n    path: /dev/null\n    follow: sometimes\nsinks:\n  out: {plugin: stdout, inputs: [in]}\n' >"$f"
expect_check "$f" 5 "option 'follow': expected true or false"

f=$TMP/range.yaml
printf 'sources:\n  in:\n    plugin: file\n    path: /dev/null\n    lines_per_poll: 0\nsinks:\n  out: {plugin: stdout, inputs: [in]}\n' >"$f"
expect_check "$f" 5 "option 'lines_per_poll': 0 is out of range"

f=$TMP/required.yaml
printf 'sources:\n  in: {plugin: file}\nsinks:\n  out: {plugin: stdout, inputs: [in]}\n' >"$f"
expect_check "$f" 2 "missing required option 'path'"

f=$TMP/dup.yaml
printf 'sources:\n  in: {plugin: file, path: /dev/null}\n  in: {plugin: file, path: /dev/null}\nsinks:\n  out: {plugin: stdout, inputs: [in]}\n' >"$f"
expect_check "$f" 3 "duplicate key 'in'"

f=$TMP/dangling.yaml
printf 'sources:\n  in: {plugin: file, path: /dev/null}\nsinks:\n  out:\n    plugin: stdout\n    inputs: [in, missing]\n' >"$f"
expect_check "$f" 6 "input 'missing' names no node"

f=$TMP/cycle.yaml
cat >"$f" <<'Y'
sources:
  in: {plugin: file, path: /dev/null}
transforms:
  a: {plugin: fields, inputs: [in, b]}
  b: {plugin: fields, inputs: [a]}
sinks:
  out: {plugin: stdout, inputs: [b]}
Y
expect_check "$f" 4 "cycle: a -> b -> a"

f=$TMP/nopath.yaml
cat >"$f" <<'Y'
sources:
  in: {plugin: file, path: /dev/null}
transforms:
  orphan: {plugin: fields, inputs: [in]}
sinks:
  out: {plugin: stdout, inputs: [in]}
Y
expect_check "$f" 4 "node 'orphan' \(transform fields\) has no path to a sink"

f=$TMP/env.yaml
printf 'sources:\n  in: {plugin: file, path: /dev/null}\nsinks:\n  out: {plugin: file, inputs: [in], path: "${env:MF_TEST_SURELY_UNSET}"}\n' >"$f"
unset MF_TEST_SURELY_UNSET
expect_check "$f" 4 "environment variable MF_TEST_SURELY_UNSET is not set"

# several errors are reported in one go
f=$TMP/many.yaml
printf 'sources:\n  in: {plugin: file, path: /dev/null, x: 1}\nsinks:\n  out: {plugin: stdout, inputs: [in], y: 2}\n' >"$f"
rc=0; "$MARTFLOW" check "$f" 2>"$TMP/err" || rc=$?
assert_eq 2 "$rc" "exit of many errors"
assert_eq 2 "$(grep -c "unknown option" "$TMP/err")" "both errors reported"
echo "check_errors: all cases pass"
