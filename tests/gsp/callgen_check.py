#!/usr/bin/env python3
"""Check a callgen run against its plan (used by tests/gsp/callgen_property.sh).

  callgen_check.py facts DIR PLAN
      DIR holds ixn.jsonl, irf.jsonl, msf.jsonl (GSP output records, one per
      line, as the callthread transform wrote them). The facts, each id counted
      once (its last upsert), must match the plan exactly: interactions by
      type, IRFs by descriptor, technical result, role and resource type, MSFs
      by result and resource type; none active; no id upserted twice.
  callgen_check.py agents CALLTHREAD_EVENTS AGENTSTATE_EVENTS PLAN
      Recompute every agent's session and summarised state durations from the
      events themselves (the agentstate rules the plan states: priority
      ACW > NOT_READY > BUSY > READY, NOT_READY from login to the first Ready,
      BUSY while a call leg at the agent's DN is open, whole seconds from
      truncated epoch seconds) and compare with the plan; each session's
      states must add up to it.
  callgen_check.py outbound DIR PLAN
      DIR holds attempts.jsonl (the outbound transform's CONTACT_ATTEMPT_FACT
      records) and irf.jsonl, ixn.jsonl (callthread's): the attempts, each id
      once, match the plan's outbound member by call result and chains; every
      Answered attempt names an interaction and an agent IRF callthread
      emitted, of the agent it names, and is the only attempt naming it.
Files of events may hold the events themselves or file-sink envelopes.
Exit status 1 with the differences on stderr.
"""
import collections
import datetime
import json
import os
import sys


def fail(msg):
    print(msg, file=sys.stderr)
    sys.exit(1)


def facts(d, plan_path):
    plan = json.load(open(plan_path))["callthread"]
    ids = {"ixn": "interaction_id", "irf": "interaction_resource_id", "msf": "mediation_segment_id"}
    rows, twice = {}, []
    for name, idf in ids.items():
        rows[name] = {}
        for line in open(f"{d}/{name}.jsonl"):
            r = json.loads(line)
            r = r.get("value", r)
            if r["row"][idf] in rows[name]:
                twice.append((name, r["row"][idf]))
            rows[name][r["row"][idf]] = r["row"]
    td = lambda r, keys: "/".join(r["technical_descriptor"][k] for k in keys)
    irf, msf = rows["irf"].values(), rows["msf"].values()
    got = {
        "interactions.by_type": collections.Counter(r["interaction_type"] for r in rows["ixn"].values()),
        "resources.by_descriptor": collections.Counter(
            td(r, ("resource_role", "role_reason", "technical_result", "result_reason")) for r in irf),
        "resources.by_technical_result": collections.Counter(td(r, ("technical_result",)) for r in irf),
        "resources.by_resource_role": collections.Counter(td(r, ("resource_role",)) for r in irf),
        "resources.by_resource_type": collections.Counter(r["resource"]["type"] for r in irf),
        "segments.by_result": collections.Counter(td(r, ("technical_result", "result_reason")) for r in msf),
        "segments.by_resource_type": collections.Counter(r["resource"]["type"] for r in msf),
    }
    bad = []
    for key, counts in got.items():
        table, by = key.split(".")
        if dict(counts) != plan[table][by]:
            bad.append(f"{key}: facts {dict(sorted(counts.items()))}\n   plan  {plan[table][by]}")
    active = sum(r.get("active_flag", 0) for t in rows.values() for r in t.values())
    if active:
        bad.append(f"{active} facts still active")
    if twice:
        bad.append(f"ids upserted twice: {twice[:5]}")
    if bad:
        fail("facts differ from the plan:\n" + "\n".join(bad))
    n = sum(len(t) for t in rows.values())
    print(f"facts match the plan: {n} facts ({len(rows['ixn'])} IF, {len(rows['irf'])} IRF, {len(rows['msf'])} MSF)")


def load_events(path):
    out = []
    for line in open(path):
        e = json.loads(line)
        out.append(e.get("value", e) if "value" in e and "id" not in e else e)
    return out


def ms(t):
    if isinstance(t, int):
        return t
    d = datetime.datetime.strptime(t, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
    return round(d.timestamp() * 1000)


def agents(ct_path, as_path, plan_path):
    plan = json.load(open(plan_path))["agentstate"]
    evs = {}
    for e in load_events(ct_path) + load_events(as_path):
        evs[(e["id"], e["time"], e["seq"])] = e  # duplicates once
    evs = sorted(evs.values(), key=lambda e: (ms(e["time"]), e["seq"]))
    sec = lambda t: t // 1000
    agent_of_dn = {}
    st = {}  # agent -> dict

    def summary(a):
        if not a["in"]:
            return None
        if a["mode"] == "ACW":
            return "ACW"
        if a["mode"] in ("NR0", "NR"):
            return "NOT_READY"
        return "BUSY" if a["legs"] else "READY"

    def sync(a, t):
        s = summary(a)
        if s != a["state"]:
            if a["state"]:
                a["dur"][a["state"]] += sec(t) - sec(a["since"])
            a["state"], a["since"] = s, t

    def end_reason(a, t):
        if a["reason"]:
            key = ("ACW" if a["mode"] == "ACW" else "NOT_READY", a["reason"])
            a["reasons"][key] += sec(t) - sec(a["reason_since"])
            a["reason"] = None

    for e in evs:
        t = ms(e["time"])
        if e["id"].startswith("EventAgent"):
            aid = e["AgentID"]
            a = st.setdefault(aid, {"in": False, "mode": None, "legs": set(), "state": None, "since": 0,
                                    "dur": collections.Counter(), "reasons": collections.Counter(), "reason": None})
            agent_of_dn[e["ThisDN"]] = aid
            if e["id"] == "EventAgentLogin":
                a["in"], a["mode"], a["login"] = True, "NR0", t
            elif e["id"] == "EventAgentReady":
                end_reason(a, t)
                a["mode"] = "READY"
            elif e["id"] == "EventAgentNotReady":
                end_reason(a, t)
                a["mode"] = "ACW" if e.get("AgentWorkMode") == "AfterCallWork" else "NR"
                a["reason"], a["reason_since"] = e["Reasons"]["ReasonCode"], t
            elif e["id"] == "EventAgentLogout":
                end_reason(a, t)
                a["in"], a["logout"] = False, t
            sync(a, t)
            continue
        aid = e.get("AgentID")
        if not aid:
            continue
        a = st[aid]
        leg = (e["ConnID"], e["ThisDN"])
        if e["id"] in ("EventRinging", "EventDialing"):
            a["legs"].add(leg)
        elif e["id"] in ("EventReleased", "EventAbandoned"):
            a["legs"].discard(leg)
        elif e["id"] in ("EventPartyChanged", "EventPartyAdded") and e.get("PreviousConnID"):
            a["legs"].discard((e["PreviousConnID"], e["ThisDN"]))
            a["legs"].add(leg)
        sync(a, t)

    bad = []
    total = 0
    for aid, a in sorted(st.items()):
        p = plan["agents"].get(aid)
        dur = sec(a["logout"]) - sec(a["login"])
        total += dur
        states = {k: a["dur"][k] for k in ("READY", "NOT_READY", "BUSY", "ACW")}
        if sum(states.values()) != dur:
            bad.append(f"{aid}: states {states} do not add up to the session's {dur} s")
        reasons = {}
        for (s, r), n in a["reasons"].items():
            reasons.setdefault(s, {})[r] = n
        want_reasons = {s: {r: v["duration"] for r, v in rs.items()} for s, rs in (p or {}).get("reasons", {}).items()}
        if not p or p["session_duration"] != dur or p["states"] != states or want_reasons != reasons:
            bad.append(f"{aid}: events give session {dur} s, states {states}, reasons {reasons}; plan {p}")
    if len(st) != plan["sessions"]["total"] or total != plan["sessions"]["total_duration"]:
        bad.append(f"sessions: events {len(st)} / {total} s, plan {plan['sessions']}")
    if bad:
        fail("agent states differ from the plan:\n" + "\n".join(bad[:10]))
    print(f"agent sessions and states match the plan: {len(st)} agents, {total} s")


def smfacts(d, plan_path):
    """The agentstate transform's facts (d/sessions.jsonl, states.jsonl,
    reasons.jsonl, acw.jsonl; the last record of an id wins) against the
    plan: per agent the session's duration, the seconds of each state and of
    each reason; the states tile each session; one ACW update per IRF the
    plan attributes after-call work to."""
    plan = json.load(open(plan_path))["agentstate"]
    def last(name, key):
        rows = {}
        for line in open(os.path.join(d, name)):
            r = json.loads(line)
            rows[r["row"][key]] = r["row"]
        return rows.values()
    bad = []
    sessions, states, reasons = collections.Counter(), {}, {}
    for r in last("sessions.jsonl", "sm_res_session_fact_key"):
        if r.get("active_flag"):
            bad.append(f"session still active: {r}")
        sessions[r["resource"]["name"]] += r["total_duration"]
    for r in last("states.jsonl", "sm_res_state_fact_key"):
        a = states.setdefault(r["resource"]["name"], collections.Counter())
        a[r["resource_state"]] += r["total_duration"]
    for r in last("reasons.jsonl", "sm_res_state_reason_fact_key"):
        a = reasons.setdefault(r["resource"]["name"], {}).setdefault(r["resource_state"], collections.Counter())
        a[r["resource_state_reason"]["software_reason_value"]] += r["total_duration"]
    for aid, p in sorted(plan["agents"].items()):
        got_states = {k: states.get(aid, {}).get(k, 0) for k in ("READY", "NOT_READY", "BUSY", "ACW")}
        if sessions[aid] != p["session_duration"]:
            bad.append(f"{aid}: session {sessions[aid]} s, plan {p['session_duration']} s")
        if got_states != p["states"]:
            bad.append(f"{aid}: states {got_states}, plan {p['states']}")
        if sum(got_states.values()) != sessions[aid]:
            bad.append(f"{aid}: states {got_states} do not add up to the session's {sessions[aid]} s")
        want_r = {s: {r: v["duration"] for r, v in rs.items() if v["duration"]} for s, rs in p.get("reasons", {}).items()}
        got_r = {s: {r: n for r, n in rs.items() if n} for s, rs in reasons.get(aid, {}).items()}
        if {k: v for k, v in want_r.items() if v} != {k: v for k, v in got_r.items() if v}:
            bad.append(f"{aid}: reasons {got_r}, plan {want_r}")
    if set(sessions) != set(plan["agents"]):
        bad.append(f"agents with sessions {len(sessions)}, plan {len(plan['agents'])}")
    acw = {json.loads(l)["row"]["interaction_resource_id"] for l in open(os.path.join(d, "acw.jsonl"))}
    want_acw = plan.get("acw_after_call")
    want_acw = want_acw.get("total", want_acw) if isinstance(want_acw, dict) else want_acw
    if want_acw is not None and len(acw) != want_acw:
        bad.append(f"IRFs with after-call work: {len(acw)}, plan {want_acw}")
    if bad:
        fail("the agentstate facts differ from the plan:\n" + "\n".join(bad[:10]))
    print(f"agentstate facts match the plan: {len(sessions)} agents, {sum(sessions.values())} s, {len(acw)} ACW IRFs")


def outbound(d, plan_path):
    plan = json.load(open(plan_path))["outbound"]
    rows, bad = {}, []
    for line in open(os.path.join(d, "attempts.jsonl")):
        r = json.loads(line)
        r = r.get("value", r)
        k = r["row"]["contact_attempt_fact_key"]
        if k in rows:
            bad.append(f"attempt {k} emitted twice")
        rows[k] = r["row"]
    by_result = collections.Counter(r["call_result"] for r in rows.values())
    if dict(by_result) != plan["attempts"]["by_call_result"] or len(rows) != plan["attempts"]["total"]:
        bad.append(f"attempts by call result {dict(by_result)}, plan {plan['attempts']['by_call_result']}")
    chains = {(r["campaign_name"], r["chain_id"]) for r in rows.values()}
    if len(chains) != plan["chains"]:
        bad.append(f"chains {len(chains)}, plan {plan['chains']}")
    load = lambda name, idf: {r["row"][idf]: r["row"] for r in
                              (json.loads(l).get("value", json.loads(l)) for l in open(os.path.join(d, name)))}
    irfs, ixns = load("irf.jsonl", "interaction_resource_id"), load("ixn.jsonl", "interaction_id")
    named = collections.Counter()
    for r in rows.values():
        if r["call_result"] != "Answered":
            if "interaction_resource_id" in r:
                bad.append(f"a {r['call_result']} attempt names an IRF")
            continue
        irf = irfs.get(r.get("interaction_resource_id"))
        if irf is None or r.get("interaction_id") not in ixns or irf["interaction_id"] != r["interaction_id"]:
            bad.append(f"attempt {r['contact_attempt_fact_key']} names no IRF / interaction callthread emitted")
        elif irf["resource"]["name"] != r["resource"]["name"]:
            bad.append(f"attempt {r['contact_attempt_fact_key']}: agent {r['resource']['name']}, IRF's {irf['resource']['name']}")
        named[r.get("interaction_resource_id")] += 1
    bad += [f"IRF {k} named by {n} attempts" for k, n in named.items() if n > 1]
    if not rows:
        bad.append("no attempts")
    if bad:
        fail("the outbound facts differ from the plan:\n" + "\n".join(bad[:10]))
    print(f"outbound facts match the plan: {len(rows)} attempts {dict(by_result)}, {len(chains)} chains")


if __name__ == "__main__":
    if sys.argv[1] == "facts":
        facts(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == "smfacts":
        smfacts(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == "outbound":
        outbound(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == "agents":
        agents(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        fail(__doc__)
