#!/usr/bin/env python3
"""Checks of what GCA wrote (tests/gca/*.sh). The topic dump is kcat's
'key<TAB>value' lines, in topic order.

  gca_check.py records TOPIC_DUMP TENANT     every record well formed, keyed tenant:type:dbid
  gca_check.py snapshot SNAPSHOT TOPIC_DUMP  the snapshot is the topic's latest state
  gca_check.py tail TOPIC_DUMP N             'op key version' of the records after the first N
  gca_check.py types TOPIC_DUMP              'type count' of the objects the topic holds now
"""
import json
import sys

TYPES = {"CfgPerson", "CfgAgentLogin", "CfgDN", "CfgPlace", "CfgAgentGroup", "CfgSkill",
         "CfgSwitch", "CfgActionCode", "CfgTenant"}


def dump(path):
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            key, _, value = line.rstrip("\n").partition("\t")
            out.append((key, json.loads(value)))
    return out


def fail(msg):
    print("gca_check: " + msg, file=sys.stderr)
    sys.exit(1)


def latest(records):
    """The compacted view: key -> the last record, deleted keys left out."""
    cur = {}
    for key, v in records:
        if v["op"] == "delete":
            cur.pop(key, None)
        else:
            cur[key] = v
    return cur


def main():
    cmd = sys.argv[1]
    if cmd == "records":
        tenant = sys.argv[3]
        versions = {}
        for key, v in dump(sys.argv[2]):
            if v.get("op") not in ("upsert", "delete") or v.get("type") not in TYPES:
                fail("bad op or type: %r" % v)
            if not isinstance(v.get("dbid"), int) or v.get("tenant") != tenant:
                fail("bad dbid or tenant: %r" % v)
            if key != "%s:%s:%d" % (tenant, v["type"], v["dbid"]):
                fail("key %s does not name %r" % (key, v))
            if not isinstance(v.get("version"), int) or v["version"] <= versions.get(key, 0):
                fail("version of %s does not increase: %r after %r" % (key, v.get("version"), versions.get(key)))
            versions[key] = v["version"]
            if v["op"] == "upsert" and (not isinstance(v.get("data"), dict) or v["data"].get("dbid") != v["dbid"]):
                fail("upsert without its data: %r" % v)
            if v["op"] == "delete" and "data" in v:
                fail("a delete with data: %r" % v)
        print("ok")
    elif cmd == "snapshot":
        with open(sys.argv[2], encoding="utf-8") as f:
            snap = json.load(f)
        if snap["format"] != "martflow.gca.snapshot" or snap["version"] != 1:
            fail("not a version 1 snapshot")
        cur = latest(dump(sys.argv[3]))
        objs = {"%s:%s:%d" % (snap["tenant"], o["type"], o["dbid"]): o for o in snap["objects"]}
        if len(objs) != len(snap["objects"]) or snap["count"] != len(objs):
            fail("duplicate objects or a wrong count in the snapshot")
        if set(objs) != set(cur):
            fail("snapshot and topic differ: only in the snapshot %s, only in the topic %s"
                 % (sorted(set(objs) - set(cur))[:5], sorted(set(cur) - set(objs))[:5]))
        for k, o in objs.items():
            if o["version"] != cur[k]["version"] or o["data"] != cur[k]["data"]:
                fail("%s differs: snapshot %r, topic %r" % (k, o, cur[k]))
        print("ok")
    elif cmd == "tail":
        for key, v in dump(sys.argv[2])[int(sys.argv[3]):]:
            print(v["op"], key, v["version"])
    elif cmd == "types":
        counts = {}
        for v in latest(dump(sys.argv[2])).values():
            counts[v["type"]] = counts.get(v["type"], 0) + 1
        for t in sorted(counts):
            print(t, counts[t])
    else:
        fail("unknown command " + cmd)


if __name__ == "__main__":
    main()
