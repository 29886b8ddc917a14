#!/usr/bin/env python3
"""Check Data Export folders against the database (tests/gim/export.sh).

export_check.py EXPORTS DB [FOLDER...]: EXPORTS holds the downloaded folders
export_<hwm>_<time>/ (FOLDER...: the ones of successful runs, in run order),
DB holds TABLE.csv, each table as PostgreSQL exports it (COPY ... CSV HEADER).
Checks, failing with a message on the first problem:
  - each folder has a manifest whose files exist, with its SHA-256, sizes and
    row counts; the runs' key ranges follow each other, (from, hwm];
  - every file is gzip, UTF-8, RFC 4180: records end in CRLF (outside
    quotes), and Python's csv module reads it with the header first;
  - each database row with create_audit_key > 0 is *new* (create_audit_key in
    the run's range) in exactly one run, and its current version
    (update_audit_key) is in the run whose range holds that key, equal to the
    database's row, column for column.
Prints "rows N new M runs K" on success.
"""
import csv
import gzip
import hashlib
import io
import json
import os
import sys


def die(msg):
    sys.exit("export_check: " + msg)


def crlf_only(raw, name):
    quoted = False
    prev = 0
    for b in raw:
        if b == 0x22:
            quoted = not quoted
        elif b == 0x0A and not quoted and prev != 0x0D:
            die("%s: a record ends in LF, not CRLF" % name)
        prev = b
    if quoted:
        die("%s: ends inside quotes" % name)


def read_csv(text):
    rows = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    return rows[0], rows[1:]


def main():
    exports, db = sys.argv[1], sys.argv[2]
    folders = sys.argv[3:]
    if not folders:
        die("no folder")
    new = {}      # (table, key) -> runs it is new in
    current = {}  # (table, key) -> [(hwm range, row dict)]
    prev_hwm = None
    for f in folders:
        path = os.path.join(exports, f)
        with open(os.path.join(path, "manifest.json"), encoding="utf-8") as fh:
            m = json.load(fh)
        if m["folder"] != f or not f.startswith("export_%d_" % m["audit_key_hwm"]):
            die("%s: the manifest names folder %s, hwm %d" % (f, m["folder"], m["audit_key_hwm"]))
        lo, hi = m["audit_key_from"], m["audit_key_hwm"]
        if prev_hwm is not None and lo != prev_hwm:
            die("%s: starts at %d, the previous run ended at %d" % (f, lo, prev_hwm))
        prev_hwm = hi
        total = 0
        for t in m["tables"]:
            fp = os.path.join(path, t["file"])
            blob = open(fp, "rb").read()
            if hashlib.sha256(blob).hexdigest() != t["sha256"] or len(blob) != t["bytes"]:
                die("%s/%s: SHA-256 or size differs from the manifest" % (f, t["file"]))
            raw = gzip.decompress(blob)
            if len(raw) != t["csv_bytes"]:
                die("%s/%s: %d CSV bytes, manifest %d" % (f, t["file"], len(raw), t["csv_bytes"]))
            crlf_only(raw, t["file"])
            header, rows = read_csv(raw.decode("utf-8"))
            if len(rows) != t["rows"]:
                die("%s/%s: %d rows, manifest %d" % (f, t["file"], len(rows), t["rows"]))
            total += len(rows)
            ci, ui = header.index("create_audit_key"), header.index("update_audit_key")
            for r in rows:
                if not lo < int(r[ui]) <= hi:
                    die("%s/%s: update_audit_key %s outside (%d, %d]" % (f, t["file"], r[ui], lo, hi))
                k = (t["table"], r[0])
                if lo < int(r[ci]) <= hi:
                    new.setdefault(k, []).append(f)
                current.setdefault(k, []).append((lo, hi, dict(zip(header, r))))
        if total != m["rows"]:
            die("%s: %d rows, manifest total %d" % (f, total, m["rows"]))
    n_rows = 0
    for name in sorted(os.listdir(db)):
        table = name[:-4]
        with open(os.path.join(db, name), encoding="utf-8", newline="") as fh:
            header, rows = read_csv(fh.read())
        ci, ui = header.index("create_audit_key"), header.index("update_audit_key")
        for r in rows:
            if int(r[ci]) == 0:
                continue  # seeded with the schema: never exported
            n_rows += 1
            k = (table, r[0])
            if len(new.get(k, [])) != 1:
                die("%s %s is new in %d runs: %s" % (table, r[0], len(new.get(k, [])), new.get(k)))
            u = int(r[ui])
            hits = [row for lo, hi, row in current.get(k, []) if lo < u <= hi]
            if len(hits) != 1 or hits[0] != dict(zip(header, r)):
                die("%s %s: its current version is not exported as it is: %s vs %s" % (table, r[0], hits,
                                                                                     dict(zip(header, r))))
    if n_rows != len(new):
        die("%d exported rows are new, the database has %d" % (len(new), n_rows))
    print("rows %d new %d runs %d" % (n_rows, len(new), len(folders)))


main()
