#!/usr/bin/env python3
"""Regenerate the generated tables of docs/operations.md:

  gen-operations.py alerts  docs/operations.md RULES.yaml...    the alerts of the
      charts' PrometheusRules (their spec: {groups: [...]}, as tests/deploy/rules.sh
      extracts them), between <!-- BEGIN GENERATED ALERTS --> and <!-- END GENERATED ALERTS -->
  gen-operations.py metrics docs/operations.md SERVICE=METRICS...  every metric a
      running service exposed (its /metrics: names, types and the code's HELP
      texts, as tests/deploy/prometheus.sh captures them), between
      <!-- BEGIN GENERATED METRICS --> and <!-- END GENERATED METRICS -->

--check (first argument): exit 1 if the file would change (the tests run that)."""
import sys

import yaml


def cell(text):
    return str(text).replace("|", "\\|").replace("\n", " ").strip()


def alerts(files):
    rows = ["| alert | severity | for | expression | description |", "|---|---|---|---|---|"]
    for f in files:
        for g in yaml.safe_load(open(f))["groups"]:
            for r in g["rules"]:
                if "alert" not in r:
                    continue
                rows.append("| %s | %s | %s | `%s` | %s |" % (
                    r["alert"], r.get("labels", {}).get("severity", ""), r.get("for", ""),
                    cell(r["expr"]).replace("`", "'"), cell(r.get("annotations", {}).get("description", ""))))
    return rows


def metrics(pairs):
    seen = {}
    for pair in pairs:
        service, path = pair.split("=", 1)
        helps, types = {}, {}
        for line in open(path):
            if line.startswith("# HELP "):
                name, _, text = line[7:].rstrip("\n").partition(" ")
                helps[name] = text.replace("\\\\", "\\").replace("\\n", " ")
            elif line.startswith("# TYPE "):
                name, _, kind = line[7:].rstrip("\n").partition(" ")
                types[name] = kind
        for name in types:
            m = seen.setdefault(name, {"type": types[name], "help": helps.get(name, ""), "services": []})
            m["services"].append(service)
    rows = ["| metric | type | services | help (from the code) |", "|---|---|---|---|"]
    for name in sorted(seen):
        m = seen[name]
        rows.append("| `%s` | %s | %s | %s |" % (name, m["type"], ", ".join(m["services"]), cell(m["help"])))
    return rows


def main(argv):
    check = argv[:1] == ["--check"]
    if check:
        argv = argv[1:]
    what, doc, inputs = argv[0], argv[1], argv[2:]
    begin, end = "<!-- BEGIN GENERATED %s -->" % what.upper(), "<!-- END GENERATED %s -->" % what.upper()
    rows = alerts(inputs) if what == "alerts" else metrics(inputs)
    text = open(doc).read()
    if begin not in text or end not in text:
        sys.exit("%s: no %s ... %s markers" % (doc, begin, end))
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    new = head + begin + "\n" + "\n".join(rows) + "\n" + end + tail
    if check:
        if new != text:
            sys.exit("%s: the generated %s table is not current: run docs/gen-operations.py %s %s ..." % (doc, what, what, doc))
        return
    open(doc, "w").write(new)


if __name__ == "__main__":
    main(sys.argv[1:])
