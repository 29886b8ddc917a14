#!/usr/bin/env bash
# Usage errors: every unknown option and every option without its value exits
# 2 with the usage text on stderr (no crash); `version` names the plugin ABI.
source "$top_srcdir/tests/lib.sh"
: >"$TMP/in.jsonl"
cat >"$TMP/p.yaml" <<Y
sources:
  in: {plugin: file, path: $TMP/in.jsonl}
sinks:
  out: {plugin: null, inputs: [in]}
Y
# expect_usage MESSAGE ARGS...: exit 2, MESSAGE and the usage text on stderr
expect_usage() {
    local msg=$1 rc=0
    shift
    "$MARTFLOW" "$@" >"$TMP/out" 2>"$TMP/err" || rc=$?
    assert_eq 2 "$rc" "exit status of martflow $*"
    assert_contains "$TMP/err" "$msg" "message of martflow $*"
    assert_contains "$TMP/err" "^usage: martflow run FILE" "usage text for martflow $*"
    [[ ! -s $TMP/out ]] || fail "martflow $* wrote to stdout"
}
for cmd in run check; do
    for opt in --settings --sets --plugin-pathx --log-levelx --foo --json=1 -x; do
        expect_usage "unknown option '$opt'" "$cmd" "$TMP/p.yaml" "$opt"
    done
    expect_usage "--set needs a value" "$cmd" "$TMP/p.yaml" --set
    expect_usage "--set needs a value" "$cmd" "$TMP/p.yaml" --set=
    expect_usage "--set needs a value" "$cmd" "$TMP/p.yaml" --set ""
    expect_usage "--set needs a value" "$cmd" "$TMP/p.yaml" --set --print
    expect_usage "--plugin-path needs a value" "$cmd" "$TMP/p.yaml" --plugin-path
    expect_usage "--log-level needs a value" "$cmd" "$TMP/p.yaml" --log-level=
    expect_usage "unexpected argument 'extra'" "$cmd" "$TMP/p.yaml" extra
done
expect_usage "unknown option '--settings'" plugins --settings

# the forms that are right still work
"$MARTFLOW" check "$TMP/p.yaml" --set=out.rate=0 --plugin-path="$MARTFLOW_PLUGIN_PATH" >"$TMP/out"
assert_contains "$TMP/out" "OK \(pipeline" "--name=VALUE forms"
"$MARTFLOW" run "$TMP/p.yaml" --log-level warn --set out.rate=0 >"$TMP/out"

abi=$(sed -nE 's/^#define MF_ABI_MAJOR +([0-9]+).*/\1/p' "$top_srcdir/engine/include/martflow/plugin.h").$(
    sed -nE 's/^#define MF_ABI_MINOR +([0-9]+).*/\1/p' "$top_srcdir/engine/include/martflow/plugin.h")
assert_eq 1.5 "$abi" "the ABI in plugin.h"
"$MARTFLOW" version >"$TMP/out"
assert_contains "$TMP/out" "^martflow [0-9]+\.[0-9]+\.[0-9]+ \(plugin ABI ${abi//./\\.}\)$" "version line"
