#!/usr/bin/env python3
"""The small Info Mart of tests/gim/report*.sh, as GSP records for the gim sink.

Tenant t1, from T0 = 2024-03-30T23:00:00Z (intervals 23:00, 23:15, 23:30).
Every value the report prints is computed by hand from this in report.sh; the
comments say which stays, calls and periods fall where (seconds from T0).

Queue 7001 (configured, "Sales"):      Queue 7002 (not configured):
  1  +60   answered, 10 s, met          8  +200  answered, 4 s, met
  2  +120  answered, 30 s, not met      9  +1000 abandoned in queue, 3 s
  3  +300  abandoned in queue, 45 s     11 +1100 still active
  4  +400  abandoned while ringing, 5 s
  5  +500  route on no answer, 8 s      routing point 5000: 10 +50 (not a queue)
  6  +910  answered, 15 s, met
  7  +1805 answered, 25 s, not met
Agent a1001 (Ada Lovelace): IRF +70 inbound talk 100 hold 20, ACW 30 by an
  update record; +950 inbound talk 200, ACW 10; +410 rang only (talk_count 0);
  +600 internal talk 50 (not handled). States: NOT_READY 0..30, READY
  30..1000, BUSY 1000..1200, ACW 1200..1250, NOT_READY 1250..2000; reasons
  Break 1250..1900, Lunch 1900..2000 (NOT_READY), Wrapup 1200..1250 (ACW).
Agent a1002: outbound IRF +210 talk 60; READY from +100, still active, 400 s
  so far.
"""
import json

T0 = 1711839600  # 2024-03-30T23:00:00Z
SW = "SW"


def rec(table, row, op="upsert"):
    print(json.dumps({"table": table, "op": op, "tenant": "t1", "row": row}))


def td(role, result, reason, role_reason="Unspecified"):
    return {"resource_role": role, "role_reason": role_reason, "technical_result": result, "result_reason": reason}


def res(kind, name):
    return {"type": kind, "name": name, "switch": SW}


rec("RESOURCE_", {"resource_type": "Queue", "switch_name": SW, "resource_name": "7001", "resource_alias": "Sales",
                  "resource_subtype": "ACDQueue", "resource_cfg_dbid": 301, "resource_cfg_type": "CfgDN"})
rec("RESOURCE_", {"resource_type": "Agent", "switch_name": SW, "resource_name": "a1001", "agent_first_name": "Ada",
                  "agent_last_name": "Lovelace", "resource_cfg_dbid": 2001, "resource_cfg_type": "CfgAgentLogin"})

ANS = td("Received", "Diverted", "AnsweredByAgent")
stays = [  # id, queue, start, duration, descriptor, met, active
    (1, "7001", 60, 10, ANS, 1, 0),
    (2, "7001", 120, 30, ANS, 0, 0),
    (3, "7001", 300, 45, td("Received", "Abandoned", "AbandonedWhileQueued"), 0, 0),
    (4, "7001", 400, 5, td("Received", "Diverted", "AbandonedWhileRinging"), 0, 0),
    (5, "7001", 500, 8, td("Received", "Diverted", "RouteOnNoAnswer"), 0, 0),
    (6, "7001", 910, 15, ANS, 1, 0),
    (7, "7001", 1805, 25, ANS, 0, 0),
    (8, "7002", 200, 4, ANS, 1, 0),
    (9, "7002", 1000, 3, td("Received", "Abandoned", "AbandonedWhileQueued"), 0, 0),
    (11, "7002", 1100, None, td("Received", "Unspecified", "Unspecified"), 0, 1),
]
for i, q, start, dur, desc, met, active in stays:
    row = {"mediation_segment_id": 100 + i, "interaction_id": 1000 + i, "media_type": "VOICE",
           "resource": res("Queue", q), "technical_descriptor": desc, "start_ts": T0 + start,
           "met_threshold_flag": met, "active_flag": active}
    if dur is not None:
        row.update(end_ts=T0 + start + dur, mediation_duration=dur)
    rec("MEDIATION_SEGMENT_FACT", row)
rec("MEDIATION_SEGMENT_FACT", {"mediation_segment_id": 110, "interaction_id": 1010, "media_type": "VOICE",
                               "resource": {"type": "RoutingPoint", "name": "5000", "switch": SW},
                               "technical_descriptor": td("Received", "Diverted", "Unspecified"),
                               "start_ts": T0 + 50, "end_ts": T0 + 52, "mediation_duration": 2})

calls = [  # irf id, agent, type, start, talk_count, talk, hold, descriptor
    (201, "a1001", "Inbound", 70, 1, 100, 20, td("Received", "Completed", "Unspecified")),
    (202, "a1001", "Inbound", 950, 1, 200, 0, td("Received", "Completed", "Unspecified")),
    (203, "a1001", "Inbound", 410, 0, 0, 0, td("Received", "Abandoned", "AbandonedWhileRinging")),
    (204, "a1001", "Internal", 600, 1, 50, 0, td("Received", "Completed", "Unspecified")),
    (205, "a1002", "Outbound", 210, 1, 60, 0, td("Initiated", "Completed", "Unspecified")),
]
for i, agent, kind, start, tc, talk, hold, desc in calls:
    rec("INTERACTION_RESOURCE_FACT", {
        "interaction_resource_id": i, "interaction_id": 2000 + i, "media_type": "VOICE", "interaction_type": kind,
        "resource": res("Agent", agent), "technical_descriptor": desc, "interaction_resource_ordinal": 1,
        "start_ts": T0 + start, "end_ts": T0 + start + 5 + talk + hold, "talk_count": tc, "talk_duration": talk,
        "hold_count": 1 if hold else 0, "hold_duration": hold, "ring_count": 1, "ring_duration": 5})
# after-call work arrives as agentstate sends it: an update of the IRF
rec("INTERACTION_RESOURCE_FACT", {"interaction_resource_id": 201, "after_call_work_count": 1,
                                  "after_call_work_duration": 30}, op="update")
rec("INTERACTION_RESOURCE_FACT", {"interaction_resource_id": 202, "after_call_work_count": 1,
                                  "after_call_work_duration": 10}, op="update")

rec("SM_RES_SESSION_FACT", {"sm_res_session_fact_key": 301, "media_type": "VOICE", "resource": res("Agent", "a1001"),
                            "start_ts": T0, "end_ts": T0 + 2000, "total_duration": 2000})
rec("SM_RES_SESSION_FACT", {"sm_res_session_fact_key": 302, "media_type": "VOICE", "resource": res("Agent", "a1002"),
                            "start_ts": T0 + 100, "total_duration": 400, "active_flag": 1})
states = [  # id, agent, session, state, start, end (None: active), total
    (401, "a1001", 301, "NOT_READY", 0, 30, 30),
    (402, "a1001", 301, "READY", 30, 1000, 970),
    (403, "a1001", 301, "BUSY", 1000, 1200, 200),
    (404, "a1001", 301, "ACW", 1200, 1250, 50),
    (405, "a1001", 301, "NOT_READY", 1250, 2000, 750),
    (406, "a1002", 302, "READY", 100, None, 400),
]
for i, agent, session, state, start, end, total in states:
    row = {"sm_res_state_fact_key": i, "sm_res_session_fact_key": session, "media_type": "VOICE",
           "resource": res("Agent", agent), "resource_state": state, "start_ts": T0 + start,
           "total_duration": total, "active_flag": 1 if end is None else 0}
    if end is not None:
        row["end_ts"] = T0 + end
    rec("SM_RES_STATE_FACT", row)
reasons = [  # id, state, code, workmode, start, end
    (501, "NOT_READY", "Break", "AuxWork", 1250, 1900),
    (502, "NOT_READY", "Lunch", "AuxWork", 1900, 2000),
    (503, "ACW", "Wrapup", "AfterCallWork", 1200, 1250),
]
for i, state, code, mode, start, end in reasons:
    rec("SM_RES_STATE_REASON_FACT", {
        "sm_res_state_reason_fact_key": i, "sm_res_session_fact_key": 301, "media_type": "VOICE",
        "resource": res("Agent", "a1001"), "resource_state": state,
        "resource_state_reason": {"reason_type": "Software", "software_reason_key": "ReasonCode",
                                  "software_reason_value": code, "workmode": mode},
        "start_ts": T0 + start, "end_ts": T0 + end, "total_duration": end - start})
