#!/usr/bin/env bash
# Digital interactions end to end against the real server: the digital golden
# scenarios' events (chat, SMS, WhatsApp, e-mail through a workbin over two
# days, a transfer, a conference) and two bad events in a file -> digital ->
# gim -> PostgreSQL. Each fact row is the last upsert of its id in the
# scenarios' expected files, column by column (ids, media types, resources
# with their types Agent / Queue / Workbin, technical descriptors, times,
# counts and durations); the descriptors are seeded ones (migration 008: no
# row added by the load), the queues and workbins placeholder resource_ rows;
# the bad events are on the errors port with their reasons; a second run of
# the same file changes nothing (deterministic ids).
source "$top_srcdir/tests/gim/gim_lib.sh"

scenarios="digital_chat_completed digital_chat_timeout digital_email_workbin digital_chat_transfer digital_chat_conference"
python3 - "$top_srcdir/tests/scenarios" $scenarios >"$TMP/in.jsonl" <<'PY'
import datetime, json, os, sys
# merged in event-time order (each scenario's own order kept), so that no
# scenario's events fall behind the watermark another's have moved
events = []
for name in sys.argv[2:]:
    for line in open(os.path.join(sys.argv[1], name + ".events.jsonl")):
        e = json.loads(line)
        d = datetime.datetime.strptime(e["time"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
        events.append((d, len(events), line.rstrip("\n")))
for _, _, line in sorted(events):
    print(line)
bad = {"key": "t1:BAD-1", "id": "EventInteractionCreated", "time": 1711879200000, "seq": 1, "InteractionID": "BAD-1",
       "MediaType": "PIGEON"}
print(json.dumps(bad))
del bad["InteractionID"]
print(json.dumps(bad))
PY

# the expected rows: the last upsert of each id, with the ids resolved
python3 - "$top_srcdir/tests/scenarios" $scenarios >"$TMP/expected" <<'PY'
import hashlib, json, os, sys
def mf_id(kind, *keys):
    s = "\x1f".join(["mf1", kind, "t1"] + [str(k) for k in keys]).encode()
    return int.from_bytes(hashlib.sha256(s).digest()[:8], "big") & 0x7FFFFFFFFFFFFFFF or 1
def ids(v):
    if isinstance(v, dict):
        return mf_id(*v["$id"]) if "$id" in v else {k: ids(x) for k, x in v.items()}
    return v
last = {}
for name in sys.argv[2:]:
    exp = json.load(open(os.path.join(sys.argv[1], name + ".expected.json")))
    for port, idcol in (("interactions", "interaction_id"), ("segments", "mediation_segment_id"),
                        ("resources", "interaction_resource_id")):
        for rec in exp[port]:
            row = ids(rec["row"])
            last[(port, row[idcol])] = row
def td(r):
    t = r["technical_descriptor"]
    return "/".join([t["resource_role"], t["role_reason"], t["technical_result"], t["result_reason"]])
def res(r):
    return "" if r is None else r["type"] + "/" + r["name"]
def n(v):
    return "" if v is None else str(v)
order = {"interactions": 0, "segments": 1, "resources": 2}
for (port, _), r in sorted(last.items(), key=lambda kv: (order[kv[0][0]], kv[0][1])):
    if port == "interactions":
        f = ["I", r["interaction_id"], r["media_server_ixn_guid"], r["media_type"], r["interaction_type"],
             r["source_address"], r["target_address"], r["start_ts"], r["end_ts"], r["active_flag"]]
    elif port == "segments":
        f = ["M", r["mediation_segment_id"], r["interaction_id"], r["media_type"], res(r["resource"]), td(r),
             r["target_ixn_resource_id"], r["start_ts"], r["end_ts"], r["active_flag"], r["mediation_duration"]]
    else:
        f = ["R", r["interaction_resource_id"], r["interaction_id"], r["media_type"], res(r["resource"]), r["place"],
             td(r), r["interaction_resource_ordinal"], r["mediation_segment_id"], res(r["last_queue_resource"]),
             r["received_from_ixn_resource_id"], r["start_ts"], r["end_ts"], r["active_flag"], r["ring_count"],
             r["ring_duration"], r["talk_count"], r["talk_duration"]]
    print("|".join(n(x) for x in f))
PY

cat >"$TMP/p.yaml" <<Y
pipeline: $TEST_NAME
settings: {metrics_listen: "127.0.0.1:0", retry_cap: 1s}
sources:
  in: {plugin: file, path: "$TMP/in.jsonl", key_field: key, positions: false}
transforms:
  dx: {plugin: digital, inputs: [in]}
sinks:
  im:
    plugin: gim
    inputs: [dx.interactions, dx.segments, dx.resources]
    cycle: 200ms
    schema_dir: $top_srcdir/plugins/gim/sql
    pg.dbname: $PGDATABASE
  errors: {plugin: file, inputs: [im.errors, in.errors, dx.errors], path: "$TMP/errors.jsonl", format: envelope}
Y
run_pipeline "$TMP/p.yaml" "$TMP/log"

rows() {
    value "SELECT line FROM (
      SELECT 1 AS o, concat_ws('|', 'I', f.interaction_id, f.media_server_ixn_guid, m.media_name_code, it.interaction_type,
             f.source_address, f.target_address, f.start_ts, f.end_ts, f.active_flag) AS line, f.interaction_id AS id
        FROM interaction_fact f JOIN media_type m USING (media_type_key) JOIN interaction_type it USING (interaction_type_key)
      UNION ALL
      SELECT 2, concat_ws('|', 'M', s.mediation_segment_id, s.interaction_id, m.media_name_code,
             r.resource_type || '/' || r.resource_name,
             concat_ws('/', d.resource_role, d.role_reason, d.technical_result, d.result_reason),
             coalesce(s.target_ixn_resource_id::text, ''), s.start_ts, s.end_ts, s.active_flag, s.mediation_duration),
             s.mediation_segment_id
        FROM mediation_segment_fact s JOIN media_type m USING (media_type_key) JOIN resource_ r USING (resource_key)
             JOIN technical_descriptor d USING (technical_descriptor_key)
      UNION ALL
      SELECT 3, concat_ws('|', 'R', f.interaction_resource_id, f.interaction_id, m.media_name_code,
             r.resource_type || '/' || r.resource_name, coalesce(p.place_name, ''),
             concat_ws('/', d.resource_role, d.role_reason, d.technical_result, d.result_reason),
             f.interaction_resource_ordinal, coalesce(f.mediation_segment_id::text, ''),
             coalesce(q.resource_type || '/' || q.resource_name, ''), coalesce(f.received_from_ixn_resource_id::text, ''),
             f.start_ts, f.end_ts, f.active_flag, f.ring_count, f.ring_duration, f.talk_count, f.talk_duration),
             f.interaction_resource_id
        FROM interaction_resource_fact f JOIN media_type m USING (media_type_key) JOIN resource_ r USING (resource_key)
             JOIN technical_descriptor d USING (technical_descriptor_key)
             LEFT JOIN place p ON p.place_key = f.place_key
             LEFT JOIN resource_ q ON q.resource_key = f.last_queue_resource_key) x
      ORDER BY o, id"
}
rows | sed 's/|$//' >"$TMP/rows"
sed 's/|$//' "$TMP/expected" >"$TMP/expected.trim"
# concat_ws skips NULLs where the expected has '': compare with the empty fields dropped
norm() { sed -E 's/\|+/|/g; s/\|$//' "$1"; }
diff <(norm "$TMP/expected.trim") <(norm "$TMP/rows") >&2 || fail "the facts differ from the scenarios' last upserts (expected < > loaded)"

assert_eq 9 "$(value "SELECT count(*) FROM interaction_fact")" "one row per interaction"
assert_eq 15 "$(value "SELECT count(*) FROM interaction_resource_fact")" "one row per agent involvement"
assert_eq 12 "$(value "SELECT count(*) FROM mediation_segment_fact")" "one row per queue or workbin stay"
assert_eq 0 "$(value "SELECT count(*) FROM interaction_fact WHERE active_flag = 1 OR end_ts IS NULL")" "every interaction ended"
assert_eq "CHAT|5 EMAIL|2 SMS|1 WHATSAPP|1" "$(value "SELECT string_agg(c, ' ' ORDER BY c) FROM (
    SELECT m.media_name_code || '|' || count(*) AS c FROM interaction_fact JOIN media_type m USING (media_type_key)
    GROUP BY m.media_name_code) x")" "media types"
assert_eq "Queue|ChatSales|1 Queue|ChatSupport|1 Queue|EmailQueue|1 Queue|SmsQueue|1 Workbin|Backlog|1 Workbin|Drafts_a2002|1" \
    "$(value "SELECT string_agg(resource_type || '|' || resource_name || '|' || placeholder_flag, ' '
              ORDER BY resource_type, resource_name) FROM resource_ WHERE resource_type <> 'Agent'")" \
    "queues and workbins: placeholder resource_ rows of their types"
assert_eq "Backlog|172800 Drafts_a2002|100" "$(value "SELECT string_agg(r.resource_name || '|' || s.mediation_duration, ' '
    ORDER BY r.resource_name) FROM mediation_segment_fact s JOIN resource_ r USING (resource_key)
    WHERE r.resource_type = 'Workbin'")" "the workbin stays (two days in Backlog)"
assert_eq "Received/ConferenceJoined/Completed/Unspecified|2 Received/Unspecified/Abandoned/AbandonedWhileQueued|1 Received/Unspecified/Completed/Unspecified|7 Received/Unspecified/Diverted/AnsweredByAgent|7 Received/Unspecified/Diverted/Unspecified|4 Received/Unspecified/Redirected/RouteOnNoAnswer|1 Received/Unspecified/Redirected/Unspecified|1 Received/Unspecified/Revoked/Unspecified|1 Received/Unspecified/Transferred/Unspecified|2 ReceivedTransfer/Unspecified/Transferred/Unspecified|1" \
    "$(value "SELECT string_agg(d || '|' || n, ' ' ORDER BY d) FROM (
        SELECT concat_ws('/', d.resource_role, d.role_reason, d.technical_result, d.result_reason) AS d, count(*) AS n
          FROM (SELECT technical_descriptor_key FROM interaction_resource_fact
                UNION ALL SELECT technical_descriptor_key FROM mediation_segment_fact) f
          JOIN technical_descriptor d USING (technical_descriptor_key) GROUP BY 1) x")" "technical descriptors used"
assert_eq 0 "$(value "SELECT count(*) FROM technical_descriptor WHERE create_audit_key <> 0")" \
    "every descriptor used is seeded (001, 008): none added by the load"
assert_eq t1 "$(value "SELECT DISTINCT tenant_name FROM interaction_fact JOIN tenant USING (tenant_key)")" "tenant"

# the bad events: rejected with their reasons, nothing else
assert_eq 2 "$(wc -l <"$TMP/errors.jsonl")" "rejected events"
assert_contains "$TMP/errors.jsonl" "field 'MediaType' is 'PIGEON', not one of" "a bad media type rejected"
assert_contains "$TMP/errors.jsonl" "missing mandatory field 'InteractionID'" "a missing InteractionID rejected"

# the same file again: the same rows, none added
rm -f "$TMP/errors.jsonl"
run_pipeline "$TMP/p.yaml" "$TMP/log2"
rows | sed 's/|$//' >"$TMP/rows2"
diff "$TMP/rows" "$TMP/rows2" >&2 || fail "a second load changed the rows"
assert_references
