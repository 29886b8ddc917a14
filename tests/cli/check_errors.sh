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
# the plugin's validate(): shapes of json options, each at its place
f=$TMP/fields_set.yaml
printf 'sources:\n  in: {plugin: file, path: /dev/null}\ntransforms:\n  f:\n    plugin: fields\n    inputs: [in]\n    set: [1, 2]\nsinks:\n  out: {plugin: stdout, inputs: [f]}\n' >"$f"
expect_check "$f" 7 "node 'f' \(transform fields\): option 'set': expected a map of field path -> value, not a list"
f=$TMP/fields_rename.yaml
printf 'sources:\n  in: {plugin: file, path: /dev/null}\ntransforms:\n  f: {plugin: fields, inputs: [in], rename: "x"}\nsinks:\n  out: {plugin: stdout, inputs: [f]}\n' >"$f"
expect_check "$f" 4 "option 'rename': expected a map of field path -> new field path, not a string"
# every problem of a node, at its line and column, bad paths in the words of
# martflow/fieldpath.h (the same for every plugin); `run` refuses the same way
f=$TMP/fields_many.yaml
cat >"$f" <<'Y'
sources:
  in: {plugin: file, path: /dev/null}
transforms:
  f:
    plugin: fields
    inputs: [in]
    set: {a..b: 1, 'ok\.dot': 2}
    rename:
      ok: fine
      n: 7
      t: true
      e: x..y
    remove: [a, b.]
    require: "a, , b"
    key_field: 'k\n'
sinks:
  out: {plugin: stdout, inputs: [f]}
Y
rc=0; "$MARTFLOW" check "$f" 2>"$TMP/err" || rc=$?
assert_eq 2 "$rc" "exit of check with bad fields options"
assert_eq 7 "$(wc -l <"$TMP/err")" "one line per problem"
EMPTY_NAME="empty name \(a path is name\.name\.\.\., '\\\\\.' for a dot\)"
assert_contains "$TMP/err" "^$f:7:17: node 'f' \(transform fields\): option 'set': field path 'a\.\.b': $EMPTY_NAME$" "set key"
assert_contains "$TMP/err" "^$f:10:10: .*option 'rename': 'n' must map to a field path, not a number$" "rename to a number"
assert_contains "$TMP/err" "^$f:11:10: .*option 'rename': 't' must map to a field path, not a boolean$" "rename to a boolean"
assert_contains "$TMP/err" "^$f:12:10: .*option 'rename': field path 'x\.\.y': $EMPTY_NAME$" "rename target"
assert_contains "$TMP/err" "^$f:13:17: .*option 'remove': field path 'b\.': $EMPTY_NAME$" "remove item"
assert_contains "$TMP/err" "^$f:14:14: .*option 'require': empty field path$" "require string"
assert_contains "$TMP/err" "^$f:15:16: .*option 'key_field': field path 'k\\\\n': '\\\\' must be followed by '\.' or '\\\\'$" "key_field"
rc=0; "$MARTFLOW" run "$f" >"$TMP/out" 2>"$TMP/err2" || rc=$?
assert_eq 2 "$rc" "exit of run with bad fields options"
cmp -s "$TMP/err" "$TMP/err2" || fail "run reports what check reports: $(cat "$TMP/err2")"

# key_field and time_field of the file source and the Kafka sink: the same
# rule, the same words
f=$TMP/keys.yaml
cat >"$f" <<'Y'
sources:
  in:
    plugin: file
    path: /dev/null
    key_field: a..b
    time_field: 'x\'
sinks:
  k: {plugin: kafka, inputs: [in], brokers: 127.0.0.1:1, topic: t, key_field: .a}
  t: {plugin: kafka, inputs: [in], brokers: 127.0.0.1:1, topic_field: 'd.'}
Y
rc=0; "$MARTFLOW" check "$f" 2>"$TMP/err" || rc=$?
assert_eq 2 "$rc" "exit of check with bad key paths"
assert_eq 4 "$(wc -l <"$TMP/err")" "one line per bad path"
assert_contains "$TMP/err" "^$f:5:16: node 'in' \(source file\): option 'key_field': field path 'a\.\.b': $EMPTY_NAME$" "file key_field"
assert_contains "$TMP/err" "^$f:6:17: node 'in' \(source file\): option 'time_field': field path 'x\\\\': '\\\\' must be followed by '\.' or '\\\\'$" "file time_field"
assert_contains "$TMP/err" "^$f:8:79: node 'k' \(sink kafka\): option 'key_field': field path '\.a': $EMPTY_NAME$" "kafka key_field"
assert_contains "$TMP/err" "^$f:9:71: node 't' \(sink kafka\): option 'topic_field': field path 'd\.': $EMPTY_NAME$" "kafka topic_field"

# a number no double holds is named as such
f=$TMP/huge.yaml
printf 'sources:\n  in: {plugin: file, path: /dev/null}\nsinks:\n  out: {plugin: null, inputs: [in], rate: 1e400}\n' >"$f"
expect_check "$f" 4 "number '1e400' is out of range for a double"

# limits: fail fast in check and run, in bounded memory, at the place
# expect_fast CMD FILE LINE PATTERN: exit 2 within a second, under 64 MiB
expect_fast() {
    local cmd=$1 file=$2 line=$3 pattern=$4 rc=0
    /usr/bin/time -f '%e %M' -o "$TMP/time" "$MARTFLOW" "$cmd" "$file" >"$TMP/out" 2>"$TMP/err" || rc=$?
    assert_eq 2 "$rc" "exit status of $cmd $file"
    assert_contains "$TMP/err" "^$file:$line:[0-9]+: .*$pattern" "$cmd $file"
    local secs kib
    read -r secs kib < <(tail -n 1 "$TMP/time")
    python3 -c "import sys; sys.exit(0 if $secs < 1.0 else 1)" || fail "$cmd $file took ${secs}s"
    ((kib < 64 * 1024)) || fail "$cmd $file peaked at ${kib} KiB"
}
f=$TMP/bomb.yaml
python3 - "$f" <<'PY'
import sys
lines = ["sources:", "  in: {plugin: file, path: /dev/null}", "transforms:", "  f:", "    plugin: fields",
         "    inputs: [in]", "    set:", '      a0: &a0 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"']
for i in range(1, 10):
    lines.append("      a%d: &a%d [%s]" % (i, i, ", ".join(["*a%d" % (i - 1)] * 9)))
lines += ["sinks:", "  out: {plugin: stdout, inputs: [f]}"]
open(sys.argv[1], "w").write("\n".join(lines) + "\n")
PY
(($(stat -c %s "$f") < 1024)) || fail "the bomb is small"
for cmd in check run; do
    expect_fast $cmd "$f" 15 "alias '\*a6' expands the document past 1000000 nodes \(the limit of a pipeline file"
done
f=$TMP/deep_flow.yaml
python3 -c "import sys; open(sys.argv[1], 'w').write('sources: ' + '[' * 100000 + ']' * 100000 + '\n')" "$f"
for cmd in check run; do
    expect_fast $cmd "$f" 1 "collections nest deeper than 64 levels \(the limit of a pipeline file\)"
done
f=$TMP/deep_block.yaml
python3 -c "import sys; open(sys.argv[1], 'w').write('sources:\n' + '  - ' * 100000 + 'x\n')" "$f"
expect_fast check "$f" 2 "collections nest deeper than 64 levels"
f=$TMP/broadcast_input.yaml
printf 'sources:\n  in: {plugin: file, path: /dev/null}\n  cfg: {plugin: file, path: /dev/null}\ntransforms:\n  t:\n    plugin: fields\n    inputs: [in, cfg]\n    parallelism: 2\n    broadcast: [cfg, other]\nsinks:\n  out: {plugin: stdout, inputs: [t]}\n' >"$f"
expect_check "$f" 9 "node 't' \(transform fields\): broadcast 'other' is not one of its inputs"

f=$TMP/broadcast_source.yaml
printf 'sources:\n  in:\n    plugin: file\n    path: /dev/null\n    broadcast: [x]\nsinks:\n  out: {plugin: stdout, inputs: [in]}\n' >"$f"
expect_check "$f" 5 "a source takes no 'broadcast'"
# fields route: to a port not in ports:, or to the node's own errors port
f=$TMP/route_port.yaml
printf 'sources:\n  in: {plugin: file, path: /dev/null}\ntransforms:\n  t:\n    plugin: fields\n    inputs: [in]\n    ports: [calls]\n    route: {agents: AgentID}\nsinks:\n  out: {plugin: stdout, inputs: [t]}\n' >"$f"
expect_check "$f" 8 "option 'route': port 'agents' is not listed in the node's 'ports:'"
sed -i 's/ports: \[calls\]/ports: [errors]/; s/route: {agents: AgentID}/route: {errors: AgentID}/' "$f"
expect_check "$f" 8 "option 'route': 'errors' is the node's own port"

# a disabled source's after: naming itself is an error like an enabled one's
f=$TMP/after_self.yaml
printf 'sources:\n  in: {plugin: file, path: /dev/null}\n  b:\n    plugin: file\n    path: /dev/null\n    enabled: false\n    after: [b]\nsinks:\n  out: {plugin: stdout, inputs: [in]}\n' >"$f"
expect_check "$f" 7 "after 'b' is not another source of the pipeline"
echo "check_errors: all cases pass"
