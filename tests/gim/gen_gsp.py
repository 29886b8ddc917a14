#!/usr/bin/env python3
"""GSP records (docs/events.md section 2) for the loader's tests, one JSON object a line.

gen_gsp.py N [--bad] [--cfg-only]: about N records of tenant t1, deterministic:
  - interactions: an INTERACTION_FACT upserted twice (active, then ended), a
    MEDIATION_SEGMENT_FACT in a queue, IRFs of the queue and of an agent (the
    agent's upserted twice, growing), and an after-call-work `update` of the
    agent's IRF: for every third interaction it comes before the IRF's first
    upsert (kept, applied later), else after;
  - agent sessions: SM_RES_SESSION_FACT, SM_RES_STATE_FACT (READY, then
    NOT_READY) and SM_RES_STATE_REASON_FACT;
  - the configuration (RESOURCE_ agents and queues, PLACE) only at the end, so
    the facts' agents are placeholders first; agent 1099 is named with switch
    "" by the facts and configured on SIP_Switch (completed in place).
--first=K starts at interaction K (and session K/2): a later load of other
  interactions (the configuration is the same).
--bad adds: a talk_count the column cannot hold (integer out of range), an
  active_flag its CHECK refuses, an unknown table, a missing id, a string for
  an integer, and a line that is not JSON.
--outbound adds a CONTACT_ATTEMPT_FACT for every tenth interaction (two
  attempts of one chain, the second upserted twice).
--keyed prints "TOPIC<TAB>KEY<TAB>RECORD" lines: the GSP topic the record goes
  to (ixn, sm, outbound, cfg or custom) and its message key (docs/events.md
  section 2.4); --custom adds one record of a table no configuration names,
  on the custom topic.
"""
import hashlib
import json
import sys

T = "t1"
SW = "SIP_Switch"


def mf_id(kind, *keys):
    s = "\x1f".join(["mf1", kind, T] + [str(k) for k in keys]).encode()
    return int.from_bytes(hashlib.sha256(s).digest()[:8], "big") & 0x7FFFFFFFFFFFFFFF or 1


def rec(topic, key, table, row, op="upsert"):
    """One record: (its topic, its message key, its JSON line)."""
    line = json.dumps({"table": table, "op": op, "tenant": T, "row": row}, separators=(",", ":"))
    return (topic, "%s:%s" % (T, key), line)


TD_AGENT = {"resource_role": "Received", "role_reason": "Unspecified", "technical_result": "Completed",
            "result_reason": "Unspecified"}
TD_QUEUE = {"resource_role": "Received", "role_reason": "Unspecified", "technical_result": "Diverted",
            "result_reason": "AnsweredByAgent"}
TD_NEW = {"resource_role": "Received", "role_reason": "Unspecified", "technical_result": "Completed",
          "result_reason": "TestOnlyReason"}


def agent(n):
    return {"type": "Agent", "name": str(n), "switch": "" if n == 1099 else SW}


def queue(q):
    return {"type": "Queue", "name": "70%02d" % q, "switch": SW, "subtype": "ACDQueue"}


def interaction(i, out):
    ct = "CT%06d" % i

    def r(table, row, op="upsert"):
        return rec("ixn", ct, table, row, op)

    ixn = mf_id("ixn", "voice", ct)
    start = 1711848600 + i * 7
    a = 1000 + i % 100
    q = i % 5
    msf = mf_id("msf", ct, "C%d" % i, "70%02d" % q, i * 10)
    irf_q = mf_id("irf", ct, "C%d" % i, "70%02d" % q, i * 10)
    irf_a = mf_id("irf", ct, "C%d" % i, str(a), i * 10 + 1)
    base = {"media_type": "VOICE", "interaction_type": "Inbound"}
    acw = r("INTERACTION_RESOURCE_FACT", {"interaction_resource_id": irf_a, "after_call_work_count": 1,
                                          "after_call_work_duration": 5 + i % 40}, "update")
    if i % 3 == 0:
        out.append(acw)
    out.append(r("INTERACTION_FACT", dict(base, interaction_id=ixn, media_server_ixn_guid="G%d" % i,
                                          source_address="+1555%04d" % i, start_ts=start, active_flag=1)))
    out.append(r("MEDIATION_SEGMENT_FACT", {"mediation_segment_id": msf, "interaction_id": ixn,
                                            "media_type": "VOICE", "resource": queue(q),
                                            "technical_descriptor": TD_QUEUE, "start_ts": start,
                                            "end_ts": start + 10, "mediation_duration": 10}))
    out.append(r("INTERACTION_RESOURCE_FACT", dict(base, interaction_resource_id=irf_q, interaction_id=ixn,
                                                   resource=queue(q), technical_descriptor=TD_QUEUE,
                                                   interaction_resource_ordinal=1, start_ts=start,
                                                   end_ts=start + 10, queue_duration=10)))
    irf = dict(base, interaction_resource_id=irf_a, interaction_id=ixn, resource=agent(a),
               place="Place_%d" % a, technical_descriptor=TD_NEW if i == 7 else TD_AGENT,
               interaction_resource_ordinal=2, mediation_segment_id=msf, last_queue_resource=queue(q),
               start_ts=start + 10, active_flag=1, ring_count=1, ring_duration=3)
    out.append(r("INTERACTION_RESOURCE_FACT", irf))
    irf2 = dict(irf, end_ts=start + 100 + i % 50, active_flag=0, talk_count=1, talk_duration=87 + i % 50)
    del irf2["ring_count"]  # absent: keeps the stored value
    out.append(r("INTERACTION_RESOURCE_FACT", irf2))
    if i % 3 != 0:
        out.append(acw)
    out.append(r("INTERACTION_FACT", dict(base, interaction_id=ixn, start_ts=start, end_ts=start + 150,
                                          active_flag=0, target_address=None)))
    if OUTBOUND and i % 10 == 0:
        contact_attempts(i, ixn, irf_a, a, start, out)


def contact_attempts(i, ixn, irf, a, start, out):
    chain = i // 10 + 1

    def r(row):
        return rec("outbound", "Camp1:%d" % chain, "CONTACT_ATTEMPT_FACT", row)

    first = {"contact_attempt_fact_key": mf_id("ca", "Camp1", chain, 1), "media_type": "VOICE",
             "campaign_name": "Camp1", "calling_list_name": "List1", "record_id": chain, "chain_id": chain,
             "chain_n": 1, "attempt_ordinal": 1, "contact_info": "+1666%04d" % chain, "call_result": "Busy",
             "start_ts": start - 120, "end_ts": start - 110, "dial_duration": 10}
    out.append(r(first))
    second = dict(first, contact_attempt_fact_key=mf_id("ca", "Camp1", chain, 2), attempt_ordinal=2,
                  call_result="Answered", resource=agent(a), interaction_id=ixn, start_ts=start - 5,
                  connect_ts=start, end_ts=start + 150, dial_duration=5)
    out.append(r(second))
    out.append(r(dict(second, interaction_resource_id=irf, record_disposition="Done")))


def session(s, out):
    a = 1000 + s % 100

    def r(table, row):
        return rec("sm", a, table, row)

    login = 1711848000000 + s * 60000
    sess = mf_id("sm_session", a, "VOICE", login)
    st = login // 1000
    out.append(r("SM_RES_SESSION_FACT", {"sm_res_session_fact_key": sess, "media_type": "VOICE",
                                         "resource": agent(a), "place": "Place_%d" % a, "start_ts": st,
                                         "end_ts": st + 50, "total_duration": 50}))
    out.append(r("SM_RES_STATE_FACT", {"sm_res_state_fact_key": mf_id("sm_state", a, "VOICE", "READY", login),
                                       "sm_res_session_fact_key": sess, "media_type": "VOICE",
                                       "resource": agent(a), "resource_state": "READY", "start_ts": st,
                                       "end_ts": st + 20, "total_duration": 20}))
    out.append(r("SM_RES_STATE_FACT", {"sm_res_state_fact_key": mf_id("sm_state", a, "VOICE", "NOT_READY", login),
                                       "sm_res_session_fact_key": sess, "media_type": "VOICE",
                                       "resource": agent(a), "resource_state": "NOT_READY",
                                       "start_ts": st + 20, "end_ts": st + 50, "total_duration": 30}))
    out.append(r("SM_RES_STATE_REASON_FACT", {
        "sm_res_state_reason_fact_key": mf_id("sm_reason", a, "VOICE", "NOT_READY", "ReasonCode", s % 4, "", login),
        "sm_res_session_fact_key": sess, "media_type": "VOICE", "resource": agent(a),
        "resource_state": "NOT_READY",
        "resource_state_reason": {"software_reason_key": "ReasonCode", "software_reason_value": str(s % 4)},
        "start_ts": st + 20, "end_ts": st + 50, "total_duration": 30}))


def config(out):
    """The configuration on gsp-cfg, keyed "{tenant}:{table}:{natural key}"."""
    for a in range(1000, 1100):
        out.append(rec("cfg", "RESOURCE_:Agent:%s:%d" % (SW, a), "RESOURCE_", {
            "resource_type": "Agent", "switch_name": SW, "resource_name": str(a), "agent_first_name": "First%d" % a,
            "agent_last_name": "Last%d" % a, "employee_id": "E%d" % a, "user_name": "u%d" % a,
            "resource_cfg_dbid": a, "resource_cfg_type": "CfgAgentLogin"}))
        out.append(rec("cfg", "PLACE:Place_%d" % a, "PLACE", {"place_name": "Place_%d" % a,
                                                               "place_cfg_dbid": 5000 + a}))
    for q in range(5):
        out.append(rec("cfg", "RESOURCE_:Queue:%s:70%02d" % (SW, q), "RESOURCE_", {
            "resource_type": "Queue", "switch_name": SW, "resource_name": "70%02d" % q,
            "resource_subtype": "ACDQueue", "resource_alias": "Queue %d" % q, "resource_cfg_dbid": 300 + q,
            "resource_cfg_type": "CfgDN"}))
    out.append(rec("cfg", "TENANT:" + T, "TENANT", {"tenant_cfg_dbid": 1}))


def bad(out):
    irf = mf_id("irf", "BAD", 1)
    row = {"interaction_resource_id": irf, "interaction_id": 1, "media_type": "VOICE",
           "interaction_type": "Inbound", "resource": agent(1001), "technical_descriptor": TD_AGENT,
           "interaction_resource_ordinal": 1, "start_ts": 1711848600}

    def r(table, row):
        return rec("ixn", "BAD", table, row)

    out.append(r("INTERACTION_RESOURCE_FACT", dict(row, talk_count=99999999999)))
    out.append(r("INTERACTION_RESOURCE_FACT", dict(row, interaction_resource_id=irf + 1, active_flag=5)))
    out.append(r("NO_SUCH_TABLE", {"x": 1}))
    out.append(r("INTERACTION_FACT", {"media_type": "VOICE", "interaction_type": "Inbound", "start_ts": 1}))
    out.append(r("INTERACTION_FACT", {"interaction_id": 5, "media_type": "VOICE", "interaction_type": "Inbound",
                                      "start_ts": "yesterday"}))
    out.append(("ixn", T + ":BAD", "this is not JSON"))


OUTBOUND = "--outbound" in sys.argv


def main():
    n = int(sys.argv[1])
    out = []
    if "--cfg-only" in sys.argv:
        config(out)
    else:
        # --first=K: interactions from K and sessions from K/2, so loads of
        # different --first values add rows rather than repeat them
        i = next((int(a.split("=", 1)[1]) for a in sys.argv if a.startswith("--first=")), 0)
        s = i // 2
        while len(out) < n - 210:
            interaction(i, out)
            i += 1
            if i % 2 == 0:
                session(s, out)
                s += 1
        if "--bad" in sys.argv:
            mid = len(out) // 2
            b = []
            bad(b)
            out[mid:mid] = b
        config(out)
    if "--custom" in sys.argv:
        out.append(rec("custom", "custom:1", "CUSTOM_CALL_SURVEY", {"survey_id": 1, "score": 5}))
    if "--keyed" in sys.argv:
        sys.stdout.write("".join("%s\t%s\t%s\n" % r for r in out))
    else:
        sys.stdout.write("".join(r[2] + "\n" for r in out))


main()
