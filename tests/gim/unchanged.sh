#!/usr/bin/env bash
# A replayed cycle that changes nothing writes nothing: every upsert of an
# existing row whose values are the stored ones leaves the row alone (no new
# row version; its update_audit_key stays the one of its last change), while
# a record that does change a row still rewrites it with the new audit key.
source "$top_srcdir/tests/gim/gim_lib.sh"

$GEN 1000 >"$TMP/in.jsonl"
# one cycle per run: at the end of the input
yaml() {
    cat >"$1" <<Y
pipeline: $TEST_NAME
sources:
  in: {plugin: file, path: "$2", positions: false}
sinks:
  im: {plugin: gim, inputs: [in], cycle: 1h, cycle_records: 1000000, schema_dir: $top_srcdir/plugins/gim/sql,
       pg.dbname: $PGDATABASE}
Y
}
versions() { value "SELECT interaction_resource_id || ' ' || xmin || ' ' || update_audit_key FROM interaction_resource_fact ORDER BY 1"; }

yaml "$TMP/p.yaml" "$TMP/in.jsonl"
run_pipeline "$TMP/p.yaml" "$TMP/log"
versions >"$TMP/v1"
(($(wc -l <"$TMP/v1") > 100)) || fail "too few rows loaded: $(wc -l <"$TMP/v1")"

run_pipeline "$TMP/p.yaml" "$TMP/log2"
versions >"$TMP/v2"
diff -q "$TMP/v1" "$TMP/v2" >/dev/null || { diff "$TMP/v1" "$TMP/v2" | head -5 >&2 || true; fail "the replay rewrote unchanged rows"; }
assert_eq 2 "$(value "SELECT count(*) FROM ctl_etl_history WHERE status = 'SUCCESS'")" "two cycles committed"

# one changed value: that row alone is rewritten, with the new cycle's audit key
id=$(head -1 "$TMP/v1" | cut -d' ' -f1)
grep -m1 "\"interaction_resource_id\": *$id[,}]" "$TMP/in.jsonl" | python3 -c '
import json, sys
r = json.loads(sys.stdin.read())
r["row"]["ring_count"] = 77
print(json.dumps(r))' >"$TMP/change.jsonl"
assert_eq 1 "$(wc -l <"$TMP/change.jsonl")" "a record of row $id"
yaml "$TMP/p3.yaml" "$TMP/change.jsonl"
run_pipeline "$TMP/p3.yaml" "$TMP/log3"
assert_eq 77 "$(value "SELECT ring_count FROM interaction_resource_fact WHERE interaction_resource_id = $id")" "the change applied"
assert_eq "$(value "SELECT max(audit_key) FROM ctl_audit_log")" \
    "$(value "SELECT update_audit_key FROM interaction_resource_fact WHERE interaction_resource_id = $id")" \
    "the changed row carries the new audit key"
versions | grep -v "^$id " >"$TMP/v3"
grep -v "^$id " "$TMP/v1" | diff -q - "$TMP/v3" >/dev/null || fail "rows the change did not touch were rewritten"
