#!/usr/bin/env python3
"""Regenerate the option tables of docs/pipeline-reference.md from
`martflow plugins --json` (read on stdin). Everything between the markers
<!-- BEGIN GENERATED --> and <!-- END GENERATED --> is replaced; with --check,
exit 1 if the file would change (the test suite runs that)."""
import json
import sys

BEGIN, END = "<!-- BEGIN GENERATED -->", "<!-- END GENERATED -->"


def cell(text):
    return str(text).replace("|", "\\|").replace("\n", " ")


def human(kind, v):
    v = float(v)
    if kind == "duration":
        for unit, ms in (("d", 86400000), ("h", 3600000), ("m", 60000), ("s", 1000)):
            if v >= ms and v % ms == 0:
                return "%d%s" % (v // ms, unit)
        return "%dms" % v
    if kind == "size":
        for unit, b in (("GiB", 1 << 30), ("MiB", 1 << 20), ("TB", 10**12), ("GB", 10**9), ("MB", 10**6), ("KiB", 1 << 10)):
            if v >= b and v % b == 0:
                return "%d%s" % (v // b, unit)
    if v == int(v):
        return "%d" % v
    return "%g" % v


def table(options):
    rows = ["| option | type | default | doc |", "|---|---|---|---|"]
    for o in options:
        default = "**required**" if o["required"] else ("`%s`" % o["default"] if o.get("default") not in (None, "") else "")
        kind = o["type"]
        if o.get("choices"):
            kind += ": " + ", ".join("`%s`" % c for c in o["choices"])
        if "min" in o:
            kind += " [%s, %s]" % (human(o["type"], o["min"]), human(o["type"], o["max"]))
        rows.append("| `%s` | %s | %s | %s |" % (o["name"], cell(kind), default, cell(o["doc"])))
    return "\n".join(rows)


def render(doc):
    out = ["### Pipeline settings (`settings:`)", "", table(doc["settings"]), "",
           "### Engine keys of every node", "", table(doc["node_keys"]), ""]
    for p in doc["plugins"]:
        ports = ", ".join("`%s`" % x for x in p["ports"]) + (" (plus `ports:`)" if p["dynamic_ports"] else "")
        out += ["### %s `%s`" % (p["kind"], p["name"]), "", "%s (version %s). Output ports: %s." %
                (p["description"], p["version"], ports), ""]
        out += [table(p["options"]) if p["options"] else "No options.", ""]
    return "\n".join(out)


def main():
    path = sys.argv[1]
    check = "--check" in sys.argv
    doc = json.load(sys.stdin)
    text = open(path).read()
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    new = head + BEGIN + "\n" + render(doc) + END + tail
    if check:
        if new != text:
            sys.stderr.write("%s is out of date: run docs/gen-reference.py (see its header)\n" % path)
            sys.exit(1)
        return
    open(path, "w").write(new)


main()
