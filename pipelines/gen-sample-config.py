#!/usr/bin/env python3
"""pipelines/gen-sample-config.py — writes pipelines/sample-config.jsonl, the
sample contact centre as gca-cfg records (docs/events.md §1 "gca-cfg"): what
pipelines/local.yaml reads instead of a configuration database.

The same centre as the configuration-database sample (share/martflow/cfgdb/
sample.sql): tenant t1 (DBID 1), switch SIP_Switch (101); 20 agent persons
1001..1020 (user names first.last, employee ids E10001..) each with one agent
login a10001..a10020 (2001..2020, wrap-up time 30 s for the first ten, 60 s
for the others) and a supervisor 1021 who is not an agent; extensions
10001..10020 (3001..3020), ACD queues 7001 Sales, 7002 Support, 7003 Billing,
routing points 5000, 8001, 8002, an IVR 9001; places Place_10001..
(4001..4020); agent groups Sales (agents 1-10), Support (11-20), Seniors
(1, 2, 11, 12); skills English, Spanish, Billing; the action codes of
callgen's reasons (Break, Lunch, Meeting, Training, RONA: Not Ready; Wrapup,
Callback, Notes: after-call work). Those are exactly what the callgen source
generates with its default 20 agents (docs/plugins/callgen.md): every agent,
DN, queue, routing point and place it names is configured here.

Run it again after a change:  python3 pipelines/gen-sample-config.py
"""
import json
import os

TENANT = "t1"
FIRST = ["Ada", "Alan", "Grace", "Edsger", "Barbara", "Donald", "Margaret", "Dennis", "Frances", "Ken",
         "Radia", "Niklaus", "Hedy", "John", "Sophie", "Tony", "Katherine", "Leslie", "Shafi", "Butler"]
LAST = ["Lovelace", "Turing", "Hopper", "Dijkstra", "Liskov", "Knuth", "Hamilton", "Ritchie", "Allen",
        "Thompson", "Perlman", "Wirth", "Lamarr", "Backus", "Wilson", "Hoare", "Johnson", "Lamport",
        "Goldwasser", "Lampson"]
AGENTS = len(FIRST)
SWITCH = 101

records = []


def obj(kind, dbid, **data):
    data = {"dbid": dbid, "state": 1, "annex": ANNEX.get((kind, dbid), {}), **data}
    records.append({"op": "upsert", "type": kind, "dbid": dbid, "tenant": TENANT, "version": 1, "data": data})


# annex (flex properties): {section: {key: value}}
ANNEX = {
    ("CfgPerson", 1001): {"htcc": {"roles": "agent,supervisor"}, "interaction-workspace": {"language": "en"}},
    ("CfgPerson", 1011): {"interaction-workspace": {"language": "es"}},
    ("CfgDN", 3101): {"routing": {"service_level_s": "20"}},
    ("CfgTenant", 1): {"gim-etl": {"timezone": "UTC"}},
    ("CfgAgentGroup", 5003): {"reporting": {"tier": "senior"}},
}

obj("CfgTenant", 1, name=TENANT)
obj("CfgSwitch", SWITCH, name="SIP_Switch")
for i in range(1, AGENTS + 1):
    obj("CfgAgentLogin", 2000 + i, login_code=f"a{10000 + i}", switch_dbid=SWITCH)
for i in range(1, AGENTS + 1):
    skills = [{"skill_dbid": 6001, "level": 1 + i % 5}]
    if i % 3 == 1:
        skills.append({"skill_dbid": 6002, "level": 3})
    if i >= 11:
        skills.append({"skill_dbid": 6003, "level": 2})
    f, l = FIRST[i - 1], LAST[i - 1]
    obj("CfgPerson", 1000 + i, user_name=f"{f.lower()}.{l.lower()}", first_name=f, last_name=l,
        employee_id=f"E{10000 + i}", is_agent=2,
        agent_logins=[{"agent_login_dbid": 2000 + i, "wrapup_time": 30 if i <= 10 else 60}], skills=skills)
obj("CfgPerson", 1021, user_name="sam.supervisor", first_name="Sam", last_name="Supervisor",
    employee_id="E20001", is_agent=1, agent_logins=[], skills=[])
for i in range(1, AGENTS + 1):
    obj("CfgDN", 3000 + i, number=str(10000 + i), switch_dbid=SWITCH, type="Extension", name=f"Ext {10000 + i}")
for dbid, number, kind, name in [(3101, "7001", "ACDQueue", "Sales"), (3102, "7002", "ACDQueue", "Support"),
                                 (3103, "7003", "ACDQueue", "Billing"),
                                 (3201, "5000", "RoutingPoint", "Main entry"),
                                 (3202, "8001", "RoutingPoint", "Sales entry"),
                                 (3203, "8002", "RoutingPoint", "Support entry"),
                                 (3301, "9001", "IVR", "Main IVR")]:
    obj("CfgDN", dbid, number=number, switch_dbid=SWITCH, type=kind, name=name)
for i in range(1, AGENTS + 1):
    obj("CfgPlace", 4000 + i, name=f"Place_{10000 + i}")
obj("CfgAgentGroup", 5001, name="Sales", members=[1000 + i for i in range(1, 11)])
obj("CfgAgentGroup", 5002, name="Support", members=[1000 + i for i in range(11, 21)])
obj("CfgAgentGroup", 5003, name="Seniors", members=[1001, 1002, 1011, 1012])
for dbid, name in [(6001, "English"), (6002, "Spanish"), (6003, "Billing")]:
    obj("CfgSkill", dbid, name=name)
for dbid, name, code, kind in [(7101, "Break", "Break", "NotReady"), (7102, "Lunch", "Lunch", "NotReady"),
                               (7103, "Meeting", "Meeting", "NotReady"), (7104, "Training", "Training", "NotReady"),
                               (7105, "Ring no answer", "RONA", "NotReady"),
                               (7111, "Wrap-up", "Wrapup", "AfterCallWork"),
                               (7112, "Callback", "Callback", "AfterCallWork"),
                               (7113, "Notes", "Notes", "AfterCallWork")]:
    obj("CfgActionCode", dbid, name=name, code=code, type=kind)

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sample-config.jsonl")
with open(out, "w") as f:
    for r in records:
        f.write(json.dumps(r, separators=(",", ":")) + "\n")
print(f"{out}: {len(records)} records")
