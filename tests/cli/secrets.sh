#!/usr/bin/env bash
# Secrets never reach the output: values from ${file:} and ${json:} used in
# every substitutable place (source and sink paths, a fields `set` value, a
# plugin option that fails check, a pipeline name, a value check rejects) do not
# appear anywhere in the stdout or stderr of `check`, `check --print` and `run`,
# even when the engine or a plugin prints the value in an error. ${file:} on a
# FIFO is refused with file:line:col instead of hanging.
source "$top_srcdir/tests/lib.sh"

S_FILE=fileSecret7Q2x
S_JSON=jsonSecretK9vb
printf '%s\n' "$S_FILE" >"$TMP/secret"
printf '{"password":"%s","user":"svc"}' "$S_JSON" >"$TMP/k.json"
# a whole multi-line file used as a value (think ${file:/etc/shadow})
printf 'root:shadowLine1hash:19000::::::\ndaemon:shadowLine2hash:19000::::::\n' >"$TMP/shadow"
SECRETS=("$S_FILE" "$S_JSON" shadowLine1hash shadowLine2hash)
F="\${file:$TMP/secret}"
J="\${json:$TMP/k.json#password}"
printf '{"a":1}\n{"a":2}\n' >"$TMP/in.jsonl"

# every output goes to one transcript, which must hold no secret
ALL=$TMP/all.txt
: >"$ALL"
# run_cli EXPECTED_RC ARGS...: run martflow, append its output to $ALL
run_cli() {
    local want=$1 rc=0
    shift
    timeout 30 "$MARTFLOW" "$@" >"$TMP/out" 2>"$TMP/err" || rc=$?
    cat "$TMP/out" "$TMP/err" >>"$ALL"
    [[ $want == "$rc" ]] || cat "$TMP/err" >&2
    assert_eq "$want" "$rc" "exit status of martflow $*"
}
no_secret_in() { # file what
    for s in "${SECRETS[@]}"; do
        if grep -qF -- "$s" "$1"; then cat "$1" >&2; fail "$2: a secret ('$s') was printed"; fi
    done
}

# 1. source path holding a secret: the source fails and names the path
cat >"$TMP/src.yaml" <<Y
pipeline: "name-$J"
sources:
  in: {plugin: file, path: "$TMP/dir-$F/in-$J.jsonl"}
sinks:
  out: {plugin: file, inputs: [in], path: "$TMP/out-$J.jsonl"}
Y
run_cli 0 check "$TMP/src.yaml"
assert_contains "$TMP/out" "OK \(pipeline 'name-\*\*\*', 2 nodes\)" "check names the pipeline, redacted"
run_cli 0 check --print "$TMP/src.yaml"
run_cli 1 run "$TMP/src.yaml" --log-level trace
assert_contains "$TMP/out" "no file matches '$TMP/dir-\*\*\*/in-\*\*\*\.jsonl'" "the source error names the path, redacted"

# 2. sink path holding a secret, unwritable: the sink fails and names it
cat >"$TMP/sink.yaml" <<Y
sources:
  in: {plugin: file, path: $TMP/in.jsonl}
sinks:
  out: {plugin: file, inputs: [in], path: "/proc/nope/$F/$J.jsonl", mkdir: false}
Y
run_cli 1 run "$TMP/sink.yaml" --log-level debug
assert_contains "$TMP/out" "cannot open /proc/nope/\*\*\*/\*\*\*\.jsonl" "the sink error names the path, redacted"

# 3. fields: a `set` value from a secret, and a key_field that check (and
# run, before any init) rejects, quoting the path
cat >"$TMP/fields.yaml" <<Y
sources:
  in: {plugin: file, path: $TMP/in.jsonl}
transforms:
  t: {plugin: fields, inputs: [in], set: {token: "$F", pw: "$J"}, key_field: "a..$J"}
sinks:
  out: {plugin: file, inputs: [t], path: $TMP/fields.jsonl}
Y
run_cli 2 check "$TMP/fields.yaml"
assert_contains "$TMP/err" "^$TMP/fields.yaml:4:[0-9]+: .*option 'key_field': field path 'a\.\.\*\*\*': empty name" \
    "the plugin's check error, redacted"
run_cli 2 run "$TMP/fields.yaml" --log-level trace
run_cli 0 check --print "$TMP/fields.yaml" --set t.key_field=
# without the bad option the records carry the secrets (data, not logs)
run_cli 0 run "$TMP/fields.yaml" --set t.key_field= --log-level trace
assert_contains "$TMP/fields.jsonl" "\"token\": ?\"$S_FILE\"" "set writes the secret into the records"

# 4. a value that check rejects, and a whole multi-line file as a path
cat >"$TMP/bad.yaml" <<Y
sources:
  in: {plugin: file, path: $TMP/in.jsonl, lines_per_poll: "$J"}
sinks:
  out: {plugin: file, inputs: [in], path: "/proc/nope/\${file:$TMP/shadow}"}
Y
run_cli 2 check "$TMP/bad.yaml"
assert_contains "$TMP/err" "^$TMP/bad.yaml:2:[0-9]+: .*lines_per_poll" "the rejected value is reported"
sed -i 's/lines_per_poll: .*}/}/' "$TMP/bad.yaml"
run_cli 0 check "$TMP/bad.yaml"
run_cli 1 run "$TMP/bad.yaml" --set out.mkdir=false
assert_contains "$TMP/out" "cannot open /proc/nope/\*\*\*" "a whole file as a value, redacted"

no_secret_in "$ALL" "check/run output"
grep -qF '***' "$ALL" || fail "nothing was redacted: the test did not exercise redaction"

# 5. ${file:} and ${json:} on a FIFO: refused at their location, no hang
mkfifo "$TMP/fifo"
cat >"$TMP/fifo.yaml" <<Y
sources:
  in: {plugin: file, path: "\${file:$TMP/fifo}"}
sinks:
  out: {plugin: file, inputs: [in], path: "\${json:$TMP/fifo#k}"}
Y
run_cli 2 check "$TMP/fifo.yaml"
assert_contains "$TMP/err" "^$TMP/fifo.yaml:2:[0-9]+: '$TMP/fifo' is not a regular file" "FIFO refused (file)"
assert_contains "$TMP/err" "^$TMP/fifo.yaml:4:[0-9]+: '$TMP/fifo' is not a regular file" "FIFO refused (json)"
