#!/usr/bin/env python3
"""bench/gen_events.py N FILE — write N JSON lines of about 400 bytes each, shaped
like voice call events (the input of bench/engine and bench/lua)."""
import json
import random
import sys

n = int(sys.argv[1])
out = sys.argv[2]
rnd = random.Random(42)
events = ["EventRinging", "EventEstablished", "EventHeld", "EventRetrieved", "EventReleased"]
with open(out, "w") as f:
    for i in range(n):
        rec = {
            "id": events[i % 5],
            "time": "2026-11-30T09:%02d:%02d.%03dZ" % (i // 60000 % 60, i // 1000 % 60, i % 1000),
            "seq": i,
            "CallThreadID": "ct-%08d" % (i // 7),
            "CallID": "c-%08x-%04x" % (rnd.getrandbits(32), i % 65536),
            "ConnID": "%016x" % rnd.getrandbits(64),
            "CallType": "Inbound",
            "ThisDN": str(5000 + i % 300),
            "ThisQueue": "8001",
            "AgentID": "a%04d" % (i % 900),
            "ANI": "+4412345%05d" % (i % 100000),
            "DNIS": "+448000%06d" % (i % 1000),
            "UserData": {"Segment": "gold", "Lang": "en", "CaseID": i * 3},
        }
        line = json.dumps(rec, separators=(",", ":"))
        pad = 400 - len(line) - 11
        if pad > 0:
            rec["Extensions"] = {"p": "x" * pad}
            line = json.dumps(rec, separators=(",", ":"))
        f.write(line + "\n")
