#!/usr/bin/env python3
"""Keep docs/info-mart-schema.md in step with the Info Mart migrations.

Reads the catalog of a freshly migrated database as JSON (docs/gen-schema-doc.sql,
run by tests/gim/schema_doc.sh) and
  - rewrites the parts between <!-- BEGIN GENERATED: tables --> / <!-- END GENERATED: tables -->
    (every table, view and column, with the COMMENT ON texts of the migrations) and
    <!-- BEGIN GENERATED: seeds --> / <!-- END GENERATED: seeds --> (the seeded static rows);
  - checks that the hand-written table between <!-- BEGIN CHECKED: technical_descriptor -->
    and <!-- END CHECKED: technical_descriptor --> lists exactly the seeded descriptors.

  gen-schema-doc.py DOC [--check] < catalog.json
With --check nothing is written; the exit status says whether DOC is current.
"""
import json
import re
import sys


def kind(t):
    name = t["name"]
    if t.get("relkind") == "v":
        return 3
    if name.startswith("ctl_"):
        return 2
    if name.endswith("_fact"):
        return 0
    return 1


KIND_TITLES = ["Facts", "Dimensions", "Control tables", "Views (reporting)"]


def cell(text):
    return (text or "").replace("|", "\\|").replace("\n", " ")


def key_lines(t, refs):
    lines = []
    if t.get("relkind") == "p":
        lines.append("- Partitioned by month of `start_ts` (UTC): partitions `%s_YYYYMM`, made by the loader "
                     "and the maintenance job (`infomart_ensure_partitions`)." % t["name"])
    for k in t.get("constraints") or []:
        d = k["def"]
        if k["type"] == "p":
            lines.append("- Primary key: `%s`." % re.sub(r"^PRIMARY KEY ", "", d))
    uniques = [re.sub(r"^UNIQUE ", "", k["def"]) for k in t.get("constraints") or [] if k["type"] == "u"]
    if uniques:
        lines.append("- Unique (natural key): %s." % ", ".join("`%s`" % u for u in uniques))
    fks = []
    for k in t.get("constraints") or []:
        if k["type"] == "f":
            m = re.match(r"FOREIGN KEY \((.*)\) REFERENCES (\w+)\((.*)\)", k["def"])
            fks.append("`%s` → `%s`" % (m.group(1), m.group(2)) if m else "`%s`" % k["def"])
    if fks:
        lines.append("- Foreign keys: %s." % ", ".join(fks))
    mine = ["`%s` → `%s`" % (r["column"], r["dimension"]) for r in refs if r["fact"] == t["name"]]
    if mine:
        lines.append("- References, resolved by the loader and checked by `infomart_check_references()` "
                     "(no foreign key): %s." % ", ".join(mine))
    if t.get("indexes"):
        lines.append("- Indexes: %s." % ", ".join("`%s`" % i for i in t["indexes"]))
    return lines


def tables_md(cat):
    out = []
    tables = sorted(cat["tables"], key=lambda t: (kind(t), t["oid"]))
    current = None
    for t in tables:
        k = kind(t)
        if k != current:
            current = k
            out.append("### %s\n" % KIND_TITLES[k])
        out.append("#### `%s`\n" % t["name"])
        out.append("%s\n" % (t["comment"] or "(no description)"))
        keys = key_lines(t, cat.get("references") or [])
        out.extend(keys)
        if keys:
            out.append("")
        view = k == 3
        out.append("| column | type | meaning |" if view else "| column | type | null | meaning |")
        out.append("|---|---|---|" if view else "|---|---|---|---|")
        for c in t["columns"]:
            if view:  # a view's columns have no defaults, and nullability is the query's
                out.append("| `%s` | %s | %s |" % (c["name"], c["type"], cell(c["comment"] or "(no description)")))
                continue
            typ = c["type"]
            if c["identity"]:
                typ += " identity"
            extra = ""
            if c["default"] is not None:
                extra = " Default `%s`." % c["default"]
            out.append("| `%s` | %s | %s | %s%s |" % (c["name"], typ, "" if c["not_null"] else "yes",
                                                     cell(c["comment"] or "(no description)"), cell(extra)))
        out.append("")
    out.append("### Functions\n")
    for f in cat.get("functions") or []:
        out.append("- `%s`: %s" % (f["signature"], f["comment"] or "(no description)"))
    out.append("")
    return "\n".join(out)


def seeds_md(cat):
    s = cat["seeds"]
    out = ["Schema version %s seeds (tenant_key 0, audit key 0):\n" % cat["version"]]
    out.append("- `media_type` (`media_name_code`, `media_name`, `is_online`): "
               + ", ".join("%s (%s, %s)" % (c, n, o) for c, n, o in s["media_type"]) + ".")
    out.append("- `interaction_type` (`interaction_type`, `interaction_type_code`): "
               + ", ".join("%s (%s)" % (t, c) for t, c in s["interaction_type"]) + ".")
    out.append("- `resource_state` (`state_name_code`, `state_name`): "
               + ", ".join("%s (%s)" % (c, n) for c, n in s["resource_state"]) + ".")
    out.append("- `technical_descriptor`: the %d combinations listed below." % len(s["technical_descriptor"]))
    out.append("")
    return "\n".join(out)


def replace_between(doc, name, body):
    begin, end = "<!-- BEGIN GENERATED: %s -->" % name, "<!-- END GENERATED: %s -->" % name
    i, j = doc.find(begin), doc.find(end)
    if i < 0 or j < i:
        sys.exit("docs: markers for %s missing" % name)
    return doc[: i + len(begin)] + "\n" + body + doc[j:]


def check_descriptors(doc, cat):
    begin, end = "<!-- BEGIN CHECKED: technical_descriptor -->", "<!-- END CHECKED: technical_descriptor -->"
    i, j = doc.find(begin), doc.find(end)
    if i < 0 or j < i:
        return ["markers for the technical descriptors missing"]
    listed = []
    for line in doc[i:j].splitlines():
        cells = [c.strip().strip("`") for c in line.strip().strip("|").split("|")]
        if len(cells) >= 5 and cells[0] and not cells[0].startswith("-") and cells[0] != "resource_role":
            listed.append(tuple(cells[:4]))
    seeded = [tuple(t) for t in cat["seeds"]["technical_descriptor"]]
    problems = []
    for t in seeded:
        if t not in listed:
            problems.append("seeded descriptor %s is not in the documentation" % "/".join(t))
    for t in listed:
        if t not in seeded:
            problems.append("documented descriptor %s is not seeded" % "/".join(t))
    if len(set(listed)) != len(listed):
        problems.append("a descriptor is listed twice")
    return problems


def main():
    args = sys.argv[1:]
    check = "--check" in args
    args = [a for a in args if a != "--check"]
    if len(args) != 1:
        sys.exit(__doc__)
    path = args[0]
    cat = json.load(sys.stdin)
    with open(path, encoding="utf-8") as f:
        doc = f.read()
    new = replace_between(doc, "tables", tables_md(cat))
    new = replace_between(new, "seeds", seeds_md(cat))
    problems = check_descriptors(new, cat)
    if problems:
        for p in problems:
            print("%s: %s" % (path, p), file=sys.stderr)
        return 1
    if check:
        if new != doc:
            print("%s: the generated parts are out of date" % path, file=sys.stderr)
            return 1
        return 0
    if new != doc:
        with open(path, "w", encoding="utf-8") as f:
            f.write(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
