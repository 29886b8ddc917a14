#!/usr/bin/env bash
# Record metadata between two lua nodes in a real pipeline: the first sets
# headers, key and time; the second reads them (with origin), edits one
# header and forwards the record. Headers are checked in the envelope the
# file sink writes.
source "$top_srcdir/tests/lib.sh"

printf '%s\n' '{"id":"a","time":"2026-11-30T09:00:00.250Z","n":1}' '{"id":"b","time":1764493200000,"n":2}' \
    >"$TMP/in.jsonl"
cat >"$TMP/pipeline.yaml" <<Y
pipeline: lua-headers
sources:
  in: {plugin: file, path: '$TMP/in.jsonl', key_field: id, time_field: time}
transforms:
  first:
    plugin: lua
    inputs: [in]
    api: 1
    code: |
      function process(r, emit)
        r.headers = {source = "first", n = r.value.n}
        r.key = r.key .. "-1"
        r.time = r.time + 1
        emit(r)
      end
  second:
    plugin: lua
    inputs: [first]
    api: 1
    code: |
      function process(r, emit)
        emit({key = r.key, time = r.time, value = {key = r.key, time = r.time, headers = r.headers,
              origin_source = r.origin.source}}, "seen")
        if r.value.n == 2 then
          r.headers.source = "second"   -- an edit of the read headers
          r.headers.extra = "x"
        end
        emit(r)
      end
    ports: [seen]
sinks:
  out: {plugin: file, inputs: [second], path: '$TMP/out.jsonl', format: envelope}
  seen: {plugin: file, inputs: [second.seen], path: '$TMP/seen.jsonl'}
Y
"$MARTFLOW" run "$TMP/pipeline.yaml" >"$TMP/log" 2>&1 || { cat "$TMP/log" >&2; fail "martflow run failed"; }

assert_eq '{"headers":{"n":"1","source":"first"},"key":"a-1","origin_source":"in","time":1796029200251}' \
    "$(sed -n 1p "$TMP/seen.jsonl")" "second sees what first set"
assert_eq '{"headers":{"n":"2","source":"first"},"key":"b-1","origin_source":"in","time":1764493200001}' \
    "$(sed -n 2p "$TMP/seen.jsonl")" "second sees what first set (epoch ms time)"
# record a: headers read, not edited: forwarded as it came
assert_eq '{"n":"1","source":"first"}' "$(sed -n 1p "$TMP/out.jsonl" | jq -c .headers)" "unedited headers"
assert_eq '"a-1"' "$(sed -n 1p "$TMP/out.jsonl" | jq -c .key)" "key"
# record b: the edit is applied, existing headers keep their places (first wrote them
# in sorted order), the new one follows
assert_eq '{"n":"2","source":"second","extra":"x"}' "$(sed -n 2p "$TMP/out.jsonl" | jq -c .headers)" "edited headers"
assert_eq '{"id":"b","time":1764493200000,"n":2}' "$(sed -n 2p "$TMP/out.jsonl" | jq -c .value)" "value untouched"
