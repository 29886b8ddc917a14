#!/usr/bin/env bash
# Facts partitioned by month of start_ts (migration 007) against the real
# server: the loader makes the partitions of the months it writes (one per
# month, each row in its month's); a fact whose start moves across a month
# boundary between two loads stays one row, moved to the other partition;
# with partition_window the loader looks for a fact only near its start, and
# one moved by less than the window is still one row.
source "$top_srcdir/tests/gim/gim_lib.sh"

# ixn ID START_TS: an INTERACTION_FACT upsert
ixn() {
    printf '{"table":"INTERACTION_FACT","op":"upsert","tenant":"t1","row":{"interaction_id":%d,"media_type":"VOICE","interaction_type":"Inbound","start_ts":%d}}\n' "$1" "$2"
}
MAR31=1711929540 # 2024-03-31 23:59:00 UTC
APR01=1711929660 # 2024-04-01 00:01:00 UTC
FEB10=1707523200 # 2024-02-10 00:00:00 UTC
part_of() { value "SELECT tableoid::regclass FROM interaction_fact WHERE interaction_id = $1"; }
rows_of() { value "SELECT count(*) FROM interaction_fact WHERE interaction_id = $1"; }

{ ixn 1 $MAR31; ixn 2 $APR01; ixn 3 $FEB10; } >"$TMP/a.jsonl"
gim_yaml "$TMP/a.yaml" "$TMP/a.jsonl"
run_pipeline "$TMP/a.yaml" "$TMP/log"
assert_eq "interaction_fact_202402 interaction_fact_202403 interaction_fact_202404" \
    "$(value "SELECT string_agg(c.relname, ' ' ORDER BY c.relname) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
              WHERE i.inhparent = 'interaction_fact'::regclass")" "the loader made one partition per month written"
assert_eq "interaction_fact_202403 interaction_fact_202404 interaction_fact_202402" "$(part_of 1) $(part_of 2) $(part_of 3)" \
    "each row in its month's partition"

# id 1 starts two minutes later (in April), then earlier again: one row each time
ixn 1 $APR01 >"$TMP/b.jsonl"
gim_yaml "$TMP/b.yaml" "$TMP/b.jsonl"
run_pipeline "$TMP/b.yaml" "$TMP/log"
assert_eq "1 interaction_fact_202404 $APR01" "$(rows_of 1) $(part_of 1) $(value "SELECT start_ts FROM interaction_fact WHERE interaction_id = 1")" \
    "a start moved into the next month: the row moved, not copied"
# id 3 moves from February to March 31 (50 days): still found (no window)
ixn 3 $MAR31 >"$TMP/c.jsonl"
gim_yaml "$TMP/c.yaml" "$TMP/c.jsonl"
run_pipeline "$TMP/c.yaml" "$TMP/log"
assert_eq "1 interaction_fact_202403" "$(rows_of 3) $(part_of 3)" "a start moved by 50 days: one row (every partition searched)"

# partition_window: 1d, id 1 back to March 31 (2 minutes): found within the window
ixn 1 $MAR31 >"$TMP/d.jsonl"
gim_yaml "$TMP/d.yaml" "$TMP/d.jsonl" "positions: false" "partition_window: 1d"
run_pipeline "$TMP/d.yaml" "$TMP/log"
assert_eq "1 interaction_fact_202403" "$(rows_of 1) $(part_of 1)" "a start moved by 2 minutes with a 1-day window: one row"
assert_eq 3 "$(value "SELECT count(*) FROM interaction_fact")" "three facts, no copy"
[[ ! -s $TMP/errors.jsonl ]] || { cat "$TMP/errors.jsonl" >&2; fail "nothing should be rejected"; }
