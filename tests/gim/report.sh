#!/usr/bin/env bash
# martflow report on a small hand-made Info Mart (tests/gim/report_input.py,
# loaded by the gim sink): every column of every section checked against
# values computed by hand from the records, in CSV, JSON and the table; then
# the options that change the numbers: --interval, --tz, --from/--to,
# --queue, --agent, --threshold, --output.
source "$top_srcdir/tests/gim/report_lib.sh"

# By hand (seconds from T0 = 23:00Z; report_input.py lists the facts):
# 7001 23:00: stays 1-5: offered 5, answered 1+2, abandoned 3 (queue) and 4
#   (ringing), 5 redirected; met: 1; ASA (10+30)/2 = 20.0; SL 1/(2+1+1) = 25.0
# 7001 23:15: stay 6 (15 s, met); 23:30: stay 7 (25 s, not met)
# 7002 23:00: stay 8 (4 s, met); 23:15: 9 abandoned, 11 active: SL 0/1
# totals 7001: 7 offered, 4 answered, within 2, ASA 80/4 = 20.0, SL 2/6 = 33.3;
#   7002: 3, 1, ASA 4.0, SL 1/2 = 50.0; all: 10, 5, within 3, ASA 84/5 = 16.8, SL 3/8 = 37.5
# a1001 23:00: IRF +70 (talk 100, hold 20, ACW 30) -> AHT 150.0; NOT_READY
#   0..30 = 30, READY 30..900 = 870. 23:15: IRF +950 (200, 0, 10) -> 210.0;
#   READY 900..1000 = 100, BUSY 200, ACW 50, NOT_READY 1250..1800 = 550.
#   23:30: NOT_READY 1800..2000 = 200. The rang-only and the internal IRF: not handled.
# a1002 23:00: outbound IRF talk 60; READY from +100, active, 400 s known.
# reasons: Break 1250..1900 -> 550 (23:15) + 100 (23:30); Lunch 1900..2000 -> 100.
cat >"$TMP/expected.csv" <<'CSV'
section,interval,tenant,queue,name,offered,answered,abandoned_in_queue,abandoned_ringing,redirected_no_answer,answered_in_threshold,asa_s,service_level_pct
queues,2024-03-30T23:00:00+00:00,t1,7001,Sales,5,2,1,1,1,1,20.0,25.0
queues,2024-03-30T23:00:00+00:00,t1,7002,,1,1,0,0,0,1,4.0,100.0
queues,2024-03-30T23:15:00+00:00,t1,7001,Sales,1,1,0,0,0,1,15.0,100.0
queues,2024-03-30T23:15:00+00:00,t1,7002,,2,0,1,0,0,0,,0.0
queues,2024-03-30T23:30:00+00:00,t1,7001,Sales,1,1,0,0,0,0,25.0,0.0
queues,total,t1,7001,Sales,7,4,1,1,1,2,20.0,33.3
queues,total,t1,7002,,3,1,1,0,0,1,4.0,50.0
queues,total,,(all),,10,5,2,1,1,3,16.8,37.5

section,interval,tenant,agent,name,handled,aht_s,talk_s,hold_s,acw_s,ready_s,not_ready_s,busy_s,state_acw_s
agents,2024-03-30T23:00:00+00:00,t1,a1001,Ada Lovelace,1,150.0,100,20,30,870,30,0,0
agents,2024-03-30T23:00:00+00:00,t1,a1002,,1,60.0,60,0,0,400,0,0,0
agents,2024-03-30T23:15:00+00:00,t1,a1001,Ada Lovelace,1,210.0,200,0,10,100,550,200,50
agents,2024-03-30T23:30:00+00:00,t1,a1001,Ada Lovelace,0,,0,0,0,0,200,0,0
agents,total,t1,a1001,Ada Lovelace,2,180.0,300,20,40,970,780,200,50
agents,total,t1,a1002,,1,60.0,60,0,0,400,0,0,0
agents,total,,(all),,3,140.0,360,20,40,1370,780,200,50

section,interval,tenant,agent,reason,not_ready_s
reasons,2024-03-30T23:15:00+00:00,t1,a1001,Break,550
reasons,2024-03-30T23:30:00+00:00,t1,a1001,Break,100
reasons,2024-03-30T23:30:00+00:00,t1,a1001,Lunch,100
reasons,total,t1,a1001,Break,650
reasons,total,t1,a1001,Lunch,100
CSV
report --format csv >"$TMP/out.csv" || { cat "$TMP/report.err" >&2; fail "report --format csv failed"; }
diff "$TMP/expected.csv" "$TMP/out.csv" >&2 || fail "CSV differs from the hand-computed values"

# JSON: the same values, typed; written back as the CSV's lines they must equal
report --format json >"$TMP/out.json" || fail "report --format json failed"
python3 - "$TMP/out.json" >"$TMP/json.csv" <<'PY' || fail "JSON not as expected"
import json, sys
d = json.load(open(sys.argv[1]))
assert (d["from"], d["to"], d["tz"], d["interval"], d["threshold_s"]) == \
    ("2024-03-30T23:00:00+00:00", "2024-03-30T23:45:00+00:00", "UTC", "15m", None), d
def v(x):
    if x is None: return ""
    if isinstance(x, float): return "%.1f" % x
    return str(x)
def name(r, k):
    return "(all)" if r[k] is None and r["tenant"] is None else v(r[k])
sections = [
    ("queues", d["queues"] + d["queue_totals"], "queue", "name",
     ["offered", "answered", "abandoned_in_queue", "abandoned_ringing", "redirected_no_answer",
      "answered_in_threshold", "asa_s", "service_level_pct"]),
    ("agents", d["agents"] + d["agent_totals"], "agent", "name",
     ["handled", "aht_s", "talk_s", "hold_s", "acw_s", "ready_s", "not_ready_s", "busy_s", "state_acw_s"]),
    ("reasons", d["not_ready_reasons"] + d["not_ready_reason_totals"], "agent", "reason", ["not_ready_s"])]
for i, (sec, rows, k1, k2, cols) in enumerate(sections):
    if i: print()
    print(",".join(["section", "interval", "tenant", k1, k2] + cols))
    for r in rows:
        assert isinstance(r[cols[0]], int), r
        print(",".join([sec, r["interval"] or "total", v(r["tenant"]), name(r, k1), v(r[k2])] + [v(r[c]) for c in cols]))
# the per-interval sums of all queues (the charts' rows)
assert [(r["interval"], r["offered"], r["answered"], r["service_level_pct"]) for r in d["all_queues"]] == [
    ("2024-03-30T23:00:00+00:00", 6, 3, 40.0), ("2024-03-30T23:15:00+00:00", 3, 1, 50.0),
    ("2024-03-30T23:30:00+00:00", 1, 1, 0.0)], d["all_queues"]
assert d["queues"][3]["asa_s"] is None and d["queues"][3]["speed_of_answer_count"] == 0
PY
sed -e 's/,Sales,/,"Sales",/' "$TMP/json.csv" | diff "$TMP/expected.csv" - >/dev/null ||
    diff "$TMP/expected.csv" "$TMP/json.csv" >&2 || fail "JSON values differ from the hand-computed ones"

# the table: the same numbers for people (durations H:MM:SS)
report >"$TMP/out.txt" || fail "report (table) failed"
assert_contains "$TMP/out.txt" "^martflow report: 2024-03-30T23:00:00\+00:00 \.\. 2024-03-30T23:45:00\+00:00, zone UTC, interval 15m" "table heading"
assert_contains "$TMP/out.txt" "^2024-03-30 23:00 +t1 +7001 +Sales +5 +2 +1 +1 +1 +1 +20\.0 +25\.0%$" "table: queue row"
assert_contains "$TMP/out.txt" "^2024-03-30 23:15 +t1 +7002 +2 +0 +1 +0 +0 +0 +0\.0%$" "table: no ASA without answers"
assert_contains "$TMP/out.txt" "^total +\(all\) +10 +5 +2 +1 +1 +3 +16\.8 +37\.5%$" "table: all queues"
assert_contains "$TMP/out.txt" "^2024-03-30 23:15 +t1 +a1001 +Ada Lovelace +1 +210\.0 +0:03:20 +0:00:00 +0:00:10 +0:01:40 +0:09:10 +0:03:20 +0:00:50$" "table: agent row"
assert_contains "$TMP/out.txt" "^total +t1 +a1001 +Break +0:10:50$" "table: reason total"

# 1h intervals in a zone 5:45 ahead of UTC: local hours 04:00 (22:15Z..23:15Z) and 05:00
report --format csv --interval 1h --tz Asia/Kathmandu --queue 7001 >"$TMP/tz.csv" || fail "--tz failed"
assert_contains "$TMP/tz.csv" "^queues,2024-03-31T04:00:00\+05:45,t1,7001,Sales,5,2,1,1,1,1,20.0,25.0$" "--tz/--interval: first hour"
assert_contains "$TMP/tz.csv" "^queues,2024-03-31T05:00:00\+05:45,t1,7001,Sales,2,2,0,0,0,1,20.0,50.0$" "--tz/--interval: second hour (stays 6 and 7)"
assert_contains "$TMP/tz.csv" "^agents,2024-03-31T05:00:00\+05:45,t1,a1001,Ada Lovelace,1,210.0,200,0,10,100,750,200,50$" "--tz/--interval: agent states summed over the hour"
! grep -q ',7002,' "$TMP/tz.csv" || fail "--queue 7001 printed queue 7002"
# 1d: the local day
report --format csv --interval 1d --tz Europe/Paris >"$TMP/day.csv"
assert_contains "$TMP/day.csv" "^queues,2024-03-31T00:00:00\+01:00,t1,7001,Sales,7,4,1,1,1,2,20.0,33.3$" "--interval 1d in Europe/Paris"
# --queue by configured name, --agent by login code
report --format csv --queue Sales --agent a1002 >"$TMP/f.csv"
assert_eq 4 "$(grep -c '^queues,.*,7001,' "$TMP/f.csv")" "--queue Sales: 7001's rows (3 intervals, total)"
assert_contains "$TMP/f.csv" "^queues,total,,\(all\),,7,4,1,1,1,2,20.0,33.3$" "--queue Sales: all = 7001"
! grep -q ',7002,' "$TMP/f.csv" || fail "--queue Sales printed 7002"
assert_contains "$TMP/f.csv" "^agents,total,,\(all\),,1,60.0,60,0,0,400,0,0,0$" "--agent a1002 alone"
! grep -q '^reasons,.*a1001' "$TMP/f.csv" || fail "--agent a1002 printed a1001's reasons"
# --from/--to: [23:15, 23:30) as timestamps, then one day as dates (--to DATE includes it)
report --format csv --from 2024-03-30T23:15Z --to 2024-03-31T00:30:00+01:00 >"$TMP/r.csv"
assert_contains "$TMP/r.csv" "^queues,total,,\(all\),,3,1,1,0,0,1,15.0,50.0$" "--from/--to: only 23:15"
assert_contains "$TMP/r.csv" "^agents,total,,\(all\),,1,210.0,200,0,10,100,550,200,50$" "--from/--to: agents at 23:15 only"
report --format json --from 2024-03-30 --to 2024-03-30 >"$TMP/d.json"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert (d["from"], d["to"]) == ("2024-03-30T00:00:00+00:00", "2024-03-31T00:00:00+00:00"), d; assert d["queue_totals"][-1]["offered"] == 10' "$TMP/d.json" ||
    fail "--from DATE --to DATE: that whole day"
report --format csv --from 2024-03-31 >"$TMP/e.csv" || fail "--from after the data failed"
assert_eq 5 "$(grep -c '' "$TMP/e.csv")" "--from after the data: the three headers alone"
assert_eq 0 "$(grep -c '^[qar][a-z]*s,' "$TMP/e.csv")" "--from after the data: no rows"
# --threshold: recomputed from the stays' mediation_duration (<= 30 s: 10, 30, 15, 25 for 7001)
report --format csv --threshold 30s --queue 7001 >"$TMP/t.csv"
assert_contains "$TMP/t.csv" "^queues,total,t1,7001,Sales,7,4,1,1,1,4,20.0,66.7$" "--threshold 30s"
report --format csv --threshold 9 --queue 7001 >"$TMP/t9.csv"
assert_contains "$TMP/t9.csv" "^queues,total,t1,7001,Sales,7,4,1,1,1,0,20.0,0.0$" "--threshold 9 (seconds)"
# --output: the file, nothing on stdout
report --format csv --output "$TMP/o.csv" >"$TMP/stdout"
[[ ! -s $TMP/stdout ]] || fail "--output wrote to stdout"
diff "$TMP/expected.csv" "$TMP/o.csv" >&2 || fail "--output: not the report"
ls "$TMP"/o.csv.tmp.* 2>/dev/null && fail "--output left its temporary file"
true
