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
  callgen_check.py digital ITX_EVENTS DIGITAL_AGENTSTATE_EVENTS PLAN [TENANT]
      The digital traffic (digital: true) against the contract and the plan,
      from the events alone: every event has the fields docs/events.md §1
      makes mandatory (digital-itx, digital-agentstate; the key, when
      written as "key", is "{tenant}:{InteractionID}" / "{tenant}:{AgentID}");
      replaying docs/digital-rules.md over them (duplicates once, in (time,
      seq) order) gives the plan's digital member exactly (IFs by media,
      IRFs by descriptor / result / role / type / media, MSFs by result /
      type / media, handling starts and ends) and, with the handling events
      that replay makes, the plan's digitalagentstate member (per agent and
      media: session, READY / NOT_READY / BUSY seconds adding up to it,
      Not Ready reasons); no agent handles more than its capacity, and
      every offer goes to an agent logged in to the media, Ready, handling
      plus being offered fewer than its capacity.
  callgen_check.py dfacts DIR PLAN
      NEEDS the digital and digitalagentstate transforms: DIR holds
      dixn.jsonl, dirf.jsonl, dmsf.jsonl (digital's interactions, resources,
      segments), dhandling.jsonl (its agent_events) and dsessions.jsonl,
      dstates.jsonl, dreasons.jsonl (digitalagentstate's). The facts, each
      id once (its last upsert), none active, match the plan's digital
      member; the handling events its handling_events; per agent and media
      the session, state and reason seconds its digitalagentstate member.
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


DIGITAL_ITX = {"EventInteractionCreated", "EventInteractionQueued", "EventInteractionPlacedInWorkbin",
               "EventInteractionOffered", "EventInteractionAccepted", "EventInteractionRejected",
               "EventInteractionTimedOut", "EventInteractionRevoked", "EventInteractionTransferred",
               "EventInteractionConferenced", "EventInteractionCompleted"}
DIGITAL_AGENT_EVENTS = DIGITAL_ITX - {"EventInteractionCreated", "EventInteractionQueued",
                                      "EventInteractionPlacedInWorkbin", "EventInteractionCompleted"}
DIGITAL_AS = {"EventMediaLogin", "EventMediaLogout", "EventMediaReady", "EventMediaNotReady", "EventAgentCapacity"}
MEDIA = {"CHAT", "EMAIL", "SMS", "FACEBOOK", "TWITTER", "WHATSAPP", "WORKITEM"}


def contract(e, kind, tenant, bad):
    """The mandatory fields of docs/events.md §1 for a digital-itx / digital-agentstate event."""
    def need(cond, what):
        if not cond:
            bad.append(f"{kind} {e.get('id')} seq {e.get('seq')}: {what}")
    need(isinstance(e.get("id"), str), "id")
    need(isinstance(e.get("seq"), int), "seq")
    try:
        ms(e["time"])
    except Exception:
        need(False, "time")
    if kind == "itx":
        need(e["id"] in DIGITAL_ITX, "unknown event")
        need(isinstance(e.get("InteractionID"), str) and e["InteractionID"], "InteractionID")
        need("key" not in e or e["key"] == f"{tenant}:{e.get('InteractionID')}", "key")
        need(e.get("MediaType", "CHAT") in MEDIA, "MediaType")
        need(e["id"] != "EventInteractionCreated" or "MediaType" in e, "MediaType in Created")
        need(e["id"] != "EventInteractionQueued" or isinstance(e.get("Queue"), str), "Queue")
        need(e["id"] != "EventInteractionPlacedInWorkbin" or isinstance(e.get("Workbin"), str), "Workbin")
        need(e["id"] not in DIGITAL_AGENT_EVENTS or isinstance(e.get("AgentID"), str), "AgentID")
    else:
        need(e["id"] in DIGITAL_AS, "unknown event")
        need(isinstance(e.get("AgentID"), str), "AgentID")
        need("key" not in e or e["key"] == f"{tenant}:{e.get('AgentID')}", "key")
        need(e.get("MediaType") in MEDIA, "MediaType")
        need(e["id"] != "EventAgentCapacity" or (isinstance(e.get("Capacity"), int) and e["Capacity"] >= 0),
             "Capacity")
        need(e["id"] != "EventMediaNotReady" or isinstance(e.get("Reasons", {}).get("ReasonCode"), str),
             "Reasons.ReasonCode")


def replay_digital(evs):
    """docs/digital-rules.md over one run's digital-itx events, in order:
    the facts (by id) and the handling events."""
    ixns, irfs, msfs, handling, bad = {}, {}, {}, [], []
    live = {}

    def close_stay(x, result, reason, target=None):
        if x["stay"] is not None:
            msfs[x["stay"]] = (x["media"], x["stay_type"], result, reason)
            x["closed"], x["stay"] = x["stay"], None

    for e in evs:
        i, ev, aid = e["InteractionID"], e["id"], e.get("AgentID")
        x = live.get(i)
        if x is None:
            if i in ixns:
                bad.append(f"{i}: {ev} after the interaction ended")
            x = live[i] = {"media": e.get("MediaType"), "stay": None, "stay_type": None, "closed": None,
                           "inv": {}, "transfer_to": None}
            ixns[i] = x["media"]
        x["media"] = x["media"] or e.get("MediaType")
        ixns[i] = x["media"]
        inv = x["inv"]

        def end(agent, result, reason):
            v = inv.pop(agent)
            irfs[v["id"]] = (x["media"], v["role"], v["rr"], result, reason)
            if v["handling"]:
                handling.append((ms(e["time"]), e["seq"], agent, x["media"], i, -1))

        if ev in ("EventInteractionQueued", "EventInteractionPlacedInWorkbin"):
            if ev == "EventInteractionPlacedInWorkbin" and aid in inv and inv[aid]["handling"]:
                end(aid, "Transferred", "Unspecified")
            close_stay(x, "Diverted", "Unspecified")
            kind = "Queue" if ev == "EventInteractionQueued" else "Workbin"
            x["stay"], x["stay_type"] = (i, e[kind], e["seq"]), kind
            msfs[x["stay"]] = (x["media"], kind, None, None)
        elif ev == "EventInteractionOffered":
            closed = x["stay"]
            close_stay(x, "Diverted", "Unspecified")
            role = "ReceivedTransfer" if x["transfer_to"] == aid else "Received"
            x["transfer_to"] = None
            inv[aid] = {"id": (i, aid, e["seq"]), "role": role, "rr": "Unspecified", "handling": False,
                        "stay": closed}
            irfs[inv[aid]["id"]] = (x["media"], role, "Unspecified", None, None)
        elif ev == "EventInteractionAccepted":
            v = inv[aid]
            v["handling"] = True
            if v["stay"] is not None:
                m, t, _, _ = msfs[v["stay"]]
                msfs[v["stay"]] = (m, t, "Diverted", "AnsweredByAgent")
            handling.append((ms(e["time"]), e["seq"], aid, x["media"], i, +1))
        elif ev in ("EventInteractionRejected", "EventInteractionTimedOut", "EventInteractionRevoked"):
            end(aid, *{"EventInteractionRejected": ("Redirected", "Unspecified"),
                       "EventInteractionTimedOut": ("Redirected", "RouteOnNoAnswer"),
                       "EventInteractionRevoked": ("Revoked", "Unspecified")}[ev])
        elif ev == "EventInteractionConferenced":
            inv[aid] = {"id": (i, aid, e["seq"]), "role": "Received", "rr": "ConferenceJoined", "handling": True,
                        "stay": None}
            irfs[inv[aid]["id"]] = (x["media"], "Received", "ConferenceJoined", None, None)
            handling.append((ms(e["time"]), e["seq"], aid, x["media"], i, +1))
        elif ev == "EventInteractionTransferred":
            end(aid, "Transferred", "Unspecified")
            x["transfer_to"] = e.get("TargetAgentID")
        elif ev == "EventInteractionCompleted":
            if aid:
                end(aid, "Completed", "Unspecified")
            else:
                for agent in list(inv):
                    end(agent, "Completed" if inv[agent]["handling"] else "Redirected", "Unspecified")
                close_stay(x, "Abandoned", "AbandonedWhileQueued")
            if not inv and x["stay"] is None:
                del live[i]
    for i in live:
        bad.append(f"interaction {i} never ended")
    return ixns, irfs, msfs, handling, bad


def replay_agents(as_evs, handling, bad):
    """The digitalagentstate rules over the agents' events and the handling
    events: per (agent, media) session, state seconds, reasons. Also checks
    capacity (handled <= capacity)."""
    sec = lambda t: t // 1000
    merged = [(ms(e["time"]), e["seq"], 0, e) for e in as_evs] + [(h[0], h[1], 1, h) for h in handling]
    merged.sort(key=lambda r: (r[0], r[1], r[2]))
    st = {}

    def get(aid, media):
        return st.setdefault((aid, media), {"in": False, "nr": True, "cap": 1, "handled": set(), "state": None,
                                             "since": 0, "dur": collections.Counter(),
                                             "reasons": collections.Counter(), "reason": None, "login": None,
                                             "logout": None, "periods": collections.Counter()})

    def summary(a):
        if not a["in"]:
            return None
        if a["nr"]:
            return "NOT_READY"
        return "BUSY" if len(a["handled"]) >= a["cap"] else "READY"

    def sync(a, t):
        s = summary(a)
        if s != a["state"]:
            if a["state"]:
                a["dur"][a["state"]] += sec(t) - sec(a["since"])
            a["state"], a["since"] = s, t

    def end_reason(a, t):
        if a["reason"]:
            a["reasons"][a["reason"]] += sec(t) - sec(a["reason_since"])
            a["periods"][a["reason"]] += 1
            a["reason"] = None

    for t, _, kind, e in merged:
        if kind == 1:
            _, _, aid, media, i, delta = e
            a = get(aid, media)
            (a["handled"].add if delta > 0 else a["handled"].discard)(i)
            if len(a["handled"]) > a["cap"]:
                bad.append(f"{aid} {media}: handles {len(a['handled'])} > capacity {a['cap']} at {t}")
            sync(a, t)
            continue
        a = get(e["AgentID"], e["MediaType"])
        ev = e["id"]
        if ev == "EventMediaLogin":
            if a["login"] is not None:
                bad.append(f"{e['AgentID']} {e['MediaType']}: a second login")
            a["in"], a["nr"], a["login"] = True, True, t
        elif not a["in"]:
            bad.append(f"{e['AgentID']} {e['MediaType']}: {ev} outside the session")
        elif ev == "EventMediaLogout":
            end_reason(a, t)
            a["in"], a["logout"] = False, t
        elif ev == "EventMediaReady":
            end_reason(a, t)
            a["nr"] = False
        elif ev == "EventMediaNotReady":
            end_reason(a, t)
            a["nr"], a["reason"], a["reason_since"] = True, e["Reasons"]["ReasonCode"], t
        elif ev == "EventAgentCapacity":
            a["cap"] = e["Capacity"]
        sync(a, t)
    return st


def check_offers(itx, as_evs, bad):
    """Every offer goes to an agent logged in to the media, Ready, handling
    plus being offered fewer than its capacity (the generator's promise)."""
    merged = sorted([(ms(e["time"]), e["seq"], e) for e in itx + as_evs], key=lambda r: (r[0], r[1]))
    ag, media_of = {}, {}
    get = lambda aid, m: ag.setdefault((aid, m), {"in": False, "nr": True, "cap": 1, "load": 0})
    for t, _, e in merged:
        ev = e["id"]
        if ev in DIGITAL_AS:
            a = get(e["AgentID"], e["MediaType"])
            if ev == "EventMediaLogin":
                a["in"], a["nr"] = True, True
            elif ev == "EventMediaLogout":
                a["in"] = False
            elif ev == "EventMediaReady":
                a["nr"] = False
            elif ev == "EventMediaNotReady":
                a["nr"] = True
            elif ev == "EventAgentCapacity":
                a["cap"] = e["Capacity"]
            continue
        m = media_of.setdefault(e["InteractionID"], e.get("MediaType"))
        if ev == "EventInteractionOffered":
            a = get(e["AgentID"], m)
            if not a["in"] or a["nr"] or a["load"] >= a["cap"]:
                bad.append(f"offer of {e['InteractionID']} to {e['AgentID']} ({m}) at {t}: agent {a}")
            a["load"] += 1
        elif ev in ("EventInteractionRejected", "EventInteractionTimedOut", "EventInteractionRevoked",
                    "EventInteractionTransferred") or (ev == "EventInteractionCompleted" and "AgentID" in e):
            get(e["AgentID"], m)["load"] -= 1
        elif ev == "EventInteractionConferenced":
            a = get(e["AgentID"], m)
            if not a["in"] or a["nr"] or a["load"] >= a["cap"]:
                bad.append(f"conference of {e['InteractionID']} with {e['AgentID']} at {t}: agent {a}")
            a["load"] += 1


def digital_tables(ixns, irfs, msfs):
    """The plan's digital tables from facts given as tuples."""
    C = collections.Counter
    return {
        "interactions.by_media": C(ixns.values()),
        "resources.by_descriptor": C("/".join(r[1:5]) for r in irfs.values()),
        "resources.by_technical_result": C(r[3] for r in irfs.values()),
        "resources.by_resource_role": C(r[1] for r in irfs.values()),
        "resources.by_resource_type": C("Agent" for r in irfs.values()),
        "resources.by_media": C(r[0] for r in irfs.values()),
        "segments.by_result": C(f"{r[2]}/{r[3]}" for r in msfs.values()),
        "segments.by_resource_type": C(r[1] for r in msfs.values()),
        "segments.by_media": C(r[0] for r in msfs.values()),
    }


def compare_tables(got, plan, bad):
    for key, counts in got.items():
        table, by = key.split(".")
        if dict(counts) != plan[table][by]:
            bad.append(f"{key}: got {dict(sorted(counts.items()))}\n   plan {plan[table][by]}")


def compare_agents(st, plan, bad):
    """Per (agent, media) sessions, states, reasons against digitalagentstate."""
    want = plan["agents"]
    seen = set()
    for (aid, m), a in sorted(st.items()):
        p = want.get(aid, {}).get(m)
        seen.add((aid, m))
        if a["login"] is None or a["logout"] is None:
            bad.append(f"{aid} {m}: session not closed")
            continue
        dur = a["logout"] // 1000 - a["login"] // 1000
        states = {k: a["dur"][k] for k in ("READY", "NOT_READY", "BUSY")}
        reasons = {"NOT_READY": dict(a["reasons"])} if a["reasons"] or a["periods"] else {}
        if sum(states.values()) != dur:
            bad.append(f"{aid} {m}: states {states} do not add up to the session's {dur} s")
        got_p = {r: {"periods": a["periods"][r], "duration": a["reasons"][r]} for r in a["periods"]}
        if not p or p["session_duration"] != dur or p["states"] != states or \
                p["reasons"].get("NOT_READY", {}) != got_p:
            bad.append(f"{aid} {m}: events give session {dur} s, states {states}, reasons {reasons}; plan {p}")
    want_keys = {(aid, m) for aid, ms_ in want.items() for m in ms_}
    if want_keys != seen:
        bad.append(f"sessions: events {sorted(seen - want_keys)[:5]} not planned, {sorted(want_keys - seen)[:5]} missing")


def digital(itx_path, as_path, plan_path, tenant="t1"):
    plan = json.load(open(plan_path))
    bad = []
    raw_itx, raw_as = load_events(itx_path), load_events(as_path)
    for e in raw_itx:
        contract(e, "itx", tenant, bad)
    for e in raw_as:
        contract(e, "agentstate", tenant, bad)
    uniq = lambda evs: sorted({(e["id"], e["time"], e["seq"]): e for e in evs}.values(),
                              key=lambda e: (ms(e["time"]), e["seq"]))
    itx, as_evs = uniq(raw_itx), uniq(raw_as)
    inp = plan["input"]
    if len(itx) != inp.get("digital_itx_events") or len(as_evs) != inp.get("digital_agentstate_events"):
        bad.append(f"events: {len(itx)} itx, {len(as_evs)} agentstate; plan {inp}")
    ixns, irfs, msfs, handling, b = replay_digital(itx)
    bad += b
    compare_tables(digital_tables(ixns, irfs, msfs), plan["digital"], bad)
    h = plan["digital"]["handling_events"]
    starts = sum(1 for r in handling if r[5] > 0)
    if (starts, len(handling) - starts) != (h["started"], h["ended"]):
        bad.append(f"handling events: {starts} starts, {len(handling) - starts} ends; plan {h}")
    check_offers(itx, as_evs, bad)
    st = replay_agents(as_evs, handling, bad)
    compare_agents(st, plan["digitalagentstate"], bad)
    if bad:
        fail("the digital events differ from the contract or the plan:\n" + "\n".join(bad[:12]))
    print(f"digital events match the contract and the plan: {len(itx)} itx events ({len(ixns)} IF, {len(irfs)} IRF, "
          f"{len(msfs)} MSF, {len(handling)} handling events), {len(as_evs)} agentstate events, {len(st)} sessions")


def dfacts(d, plan_path):
    """The digital and digitalagentstate transforms' output against the plan."""
    plan = json.load(open(plan_path))
    bad = []

    def last(name, idf):
        rows = {}
        for line in open(os.path.join(d, name)):
            r = json.loads(line)
            r = r.get("value", r)
            rows[r["row"][idf]] = r["row"]
        return rows

    ixn = last("dixn.jsonl", "interaction_id")
    irf = last("dirf.jsonl", "interaction_resource_id")
    msf = last("dmsf.jsonl", "mediation_segment_id")
    td = lambda r: tuple(r["technical_descriptor"][k] for k in
                         ("resource_role", "role_reason", "technical_result", "result_reason"))
    got = digital_tables({k: r["media_type"] for k, r in ixn.items()},
                         {k: (r["media_type"],) + td(r) for k, r in irf.items()},
                         {k: (r["media_type"], r["resource"]["type"]) + td(r)[2:] for k, r in msf.items()})
    got["resources.by_resource_type"] = collections.Counter(r["resource"]["type"] for r in irf.values())
    compare_tables(got, plan["digital"], bad)
    active = sum(r.get("active_flag", 0) for t in (ixn, irf, msf) for r in t.values())
    if active:
        bad.append(f"{active} digital facts still active")
    hs = {}
    for line in open(os.path.join(d, "dhandling.jsonl")):
        e = json.loads(line)
        e = e.get("value", e) if "id" not in e else e
        hs[(e["id"], e["time"], e["seq"], e.get("AgentID"))] = e  # one source event may end several agents' parts
    starts = sum(1 for e in hs.values() if e["event"] == "EventInteractionHandlingStarted")
    h = plan["digital"]["handling_events"]
    if (starts, len(hs) - starts) != (h["started"], h["ended"]):
        bad.append(f"handling events: {starts} starts, {len(hs) - starts} ends; plan {h}")
    ses = last("dsessions.jsonl", "sm_res_session_fact_key")
    sts = last("dstates.jsonl", "sm_res_state_fact_key")
    rsn = last("dreasons.jsonl", "sm_res_state_reason_fact_key")
    sessions, states, reasons = collections.Counter(), {}, {}
    for r in ses.values():
        if r.get("active_flag"):
            bad.append(f"session still active: {r}")
        sessions[(r["resource"]["name"], r["media_type"])] += r["total_duration"]
    for r in sts.values():
        states.setdefault((r["resource"]["name"], r["media_type"]), collections.Counter())[r["resource_state"]] += \
            r["total_duration"]
    for r in rsn.values():
        reasons.setdefault((r["resource"]["name"], r["media_type"]), collections.Counter())[
            r["resource_state_reason"]["software_reason_value"]] += r["total_duration"]
    want = plan["digitalagentstate"]["agents"]
    for aid, media in sorted(want.items()):
        for m, p in media.items():
            k = (aid, m)
            got_s = {s: states.get(k, {}).get(s, 0) for s in ("READY", "NOT_READY", "BUSY")}
            if sessions[k] != p["session_duration"] or got_s != p["states"]:
                bad.append(f"{aid} {m}: session {sessions[k]} s, states {got_s}; plan {p['session_duration']} s, "
                           f"{p['states']}")
            want_r = {r: v["duration"] for r, v in p["reasons"].get("NOT_READY", {}).items() if v["duration"]}
            got_r = {r: n for r, n in reasons.get(k, {}).items() if n}
            if want_r != got_r:
                bad.append(f"{aid} {m}: reasons {got_r}, plan {want_r}")
    if set(sessions) != {(a, m) for a, ms_ in want.items() for m in ms_}:
        bad.append(f"sessions of {len(sessions)} agent-media, plan {sum(len(v) for v in want.values())}")
    if bad:
        fail("the digital facts differ from the plan:\n" + "\n".join(bad[:12]))
    print(f"digital facts match the plan: {len(ixn)} IF, {len(irf)} IRF, {len(msf)} MSF, {len(hs)} handling events, "
          f"{len(ses)} sessions")


if __name__ == "__main__":
    if sys.argv[1] == "facts":
        facts(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == "smfacts":
        smfacts(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == "outbound":
        outbound(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == "digital":
        digital(*sys.argv[2:])
    elif sys.argv[1] == "dfacts":
        dfacts(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == "agents":
        agents(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        fail(__doc__)
