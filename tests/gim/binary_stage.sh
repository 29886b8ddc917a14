#!/usr/bin/env bash
# The loader stages rows by binary COPY (pg_copybin.h, the postgres sink's):
# text with escapes arrives as it was sent; a cycle whose binary COPY the
# server refuses is staged again in text from a savepoint, so the refused
# record is rejected alone with the SQLSTATE and column of text, and the rest
# of its cycle commits. (The Info Mart's text columns have no length limit,
# and JSON strings are valid UTF-8: the test gives a column one, varchar(12),
# and a value too long for it: 22001.)
source "$top_srcdir/tests/gim/gim_lib.sh"

$GEN 2000 >"$TMP/in.jsonl"
python3 - >>"$TMP/in.jsonl" <<'P'
import json
def agent(name, first, last, user="u"):
    return {"table": "RESOURCE_", "op": "upsert", "tenant": "t1",
            "row": {"resource_type": "Agent", "switch_name": "SIP_Switch", "resource_name": name,
                    "agent_first_name": first, "agent_last_name": last, "user_name": user, "resource_cfg_dbid": 90000 + len(name),
                    "resource_cfg_type": "CfgAgentLogin"}}
print(json.dumps(agent("9001", "tab\there", "back\\slash\nnew line\r€")))
import sys
print(json.dumps(agent("9002", "x", "x", "much-too-long-for-twelve")))
print(json.dumps(agent("90003", "after", "the refused one")))
P
# the schema first, then the limit
MF_TEST_SQLDIR=$top_srcdir/plugins/gim/sql MF_TEST_SHA001=unused "${top_builddir:-.}/tests/gim/test_gim_schema" \
    --migrate >/dev/null || fail "cannot migrate"
pg_sql -c "ALTER TABLE resource_ ALTER COLUMN user_name TYPE varchar(12)"
gim_yaml "$TMP/p.yaml" "$TMP/in.jsonl"
"$MARTFLOW" run "$TMP/p.yaml" --log-level debug >"$TMP/log" 2>&1 || { tail -5 "$TMP/log" >&2; fail "the loader exited $?"; }

assert_contains "$TMP/log" "the binary COPY was refused: again as COPY text" "the refused binary COPY went again as text"
assert_lines 1 "$TMP/errors.jsonl" "rejected records"
assert_contains "$TMP/errors.jsonl" '"mf.error":"SQLSTATE 22001: value too long for type character varying\(12\) \(column user_name\)"' "too long: rejected with text's SQLSTATE and column"
assert_eq 1 "$(value "SELECT count(*) FROM resource_ WHERE resource_name = '9001' AND agent_first_name = E'tab\\there' AND agent_last_name = E'back\\\\slash\\nnew line\\r€'")" "escapes stored as sent"
assert_eq 0 "$(value "SELECT count(*) FROM resource_ WHERE resource_name = '9002'")" "the refused record is not in"
assert_eq 1 "$(value "SELECT count(*) FROM resource_ WHERE resource_name = '90003'")" "its cycle's other records are"
assert_eq 107 "$(value "SELECT count(*) FROM resource_")" "resources (105 generated with placeholders, and two)"
assert_references
