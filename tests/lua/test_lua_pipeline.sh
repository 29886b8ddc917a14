#!/usr/bin/env bash
# The shipped filters (lua/) through real pipelines: file source -> lua ->
# file sinks (one per port, errors included), over the fixtures of
# tests/lua/fixtures (see test_lua_filters.c for the layout). Every output
# file must equal its expected file; a port without one must stay empty.
source "$top_srcdir/tests/lib.sh"

fixtures=$top_srcdir/tests/lua/fixtures
ran=0
for dir in "$fixtures"/*/; do
    name=$(basename "$dir")
    [[ -f $dir/node.yaml && -f $dir/input.jsonl ]] || continue
    out=$TMP/$name
    mkdir -p "$out"
    ports=$(sed -n 's/^ports: *\[\(.*\)\]/\1/p' "$dir/node.yaml" | tr -d ' ' | tr ',' ' ')
    {
        echo "pipeline: lua-$name"
        echo "sources:"
        echo "  in: {plugin: file, path: '$dir/input.jsonl'}"
        echo "transforms:"
        echo "  f:"
        echo "    plugin: lua"
        echo "    inputs: [in]"
        echo "    api: 1"
        sed -e "s|@SRCDIR@|$top_srcdir|g" -e 's/^/    /' "$dir/node.yaml"
        echo "sinks:"
        echo "  out: {plugin: file, inputs: [f], path: '$out/default.jsonl'}"
        echo "  errors: {plugin: file, inputs: [f.errors], path: '$out/errors.jsonl'}"
        for p in $ports; do
            echo "  port_$p: {plugin: file, inputs: [f.$p], path: '$out/$p.jsonl'}"
        done
    } >"$out/pipeline.yaml"
    "$MARTFLOW" run "$out/pipeline.yaml" >"$out/log" 2>&1 || { cat "$out/log" >&2; fail "$name: martflow run failed"; }
    for p in default errors $ports; do
        if [[ $p == default ]]; then want=$dir/expected.jsonl; else want=$dir/expected.$p.jsonl; fi
        got=$out/$p.jsonl
        touch "$got"
        if [[ -f $want ]]; then
            diff -u "$want" "$got" >&2 || fail "$name: port $p differs from $(basename "$want")"
        else
            [[ ! -s $got ]] || { cat "$got" >&2; fail "$name: port $p should be empty"; }
        fi
    done
    if [[ -f $dir/expected.log.txt ]]; then
        while IFS= read -r line; do
            assert_contains "$out/log" "$(printf '%s' "$line" | sed 's/[][().*^$+?{}|\\]/\\&/g')" "$name: log"
        done <"$dir/expected.log.txt"
    fi
    note "$name: ok"
    ran=$((ran + 1))
done
((ran >= 6)) || fail "only $ran fixtures ran"
