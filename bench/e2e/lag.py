#!/usr/bin/env python3
"""bench/e2e/lag.py — the lag from an event to its Info Mart row being
queryable, for bench/e2e/run.sh.

  lag.py poll PORT OUT      every 100 ms until the pipeline's /metrics stops
                            answering: one line "wall_ms lines max_audit_key"
                            (lines: lines the events file source has read;
                            max_audit_key: the newest committed load cycle a
                            query sees, through one psql session kept open)
  lag.py report EVENTS SAMPLES ROWS
                            ROWS: "interaction_id create_audit_key
                            update_audit_key" per interaction_fact row. For
                            each interaction: read_at(first and last event of
                            its call thread) from the lines-read curve, and
                            seen_at(audit key) = the first sample whose query
                            saw that cycle committed. Prints p50 / p99 of
                            created = seen_at(create) - read_at(first event) and
                            final   = seen_at(update) - read_at(last event), ms.
"""
import bisect
import hashlib
import json
import re
import subprocess
import sys
import time
import urllib.request


def poll(port, out):
    psql = subprocess.Popen(["psql", "-X", "-At", "-q"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, bufsize=1)
    q = "SELECT coalesce(max(audit_key), 0) FROM ctl_audit_log WHERE job_name = 'etl';\n"
    pat = re.compile(r'^martflow_file_lines_total\{[^}]*node="events-file"[^}]*\} (\S+)', re.M)
    with open(out, "w") as f:
        seen_up, lines = False, 0
        while True:
            t0 = time.time()
            try:
                m = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2).read().decode()
                seen_up = True
            except OSError:
                if seen_up:
                    break
                time.sleep(0.05)
                continue
            lines = int(float(pat.search(m).group(1))) if pat.search(m) else 0
            psql.stdin.write("SELECT 0 WHERE to_regclass('ctl_audit_log') IS NULL UNION ALL "
                             "SELECT 1 WHERE to_regclass('ctl_audit_log') IS NOT NULL;\n")
            if psql.stdout.readline().strip() == "1":
                psql.stdin.write(q)
                audit = int(psql.stdout.readline().strip() or 0)
            else:
                audit = 0
            t1 = time.time()
            # the middle of the two reads stands for both
            f.write(f"{int((t0 + t1) * 500)} {lines} {audit}\n")
            time.sleep(max(0.0, 0.1 - (time.time() - t0)))
        # the pipeline is gone: its last cycle committed before it stopped
        t0 = time.time()
        psql.stdin.write(q)
        audit = int(psql.stdout.readline().strip() or 0)
        f.write(f"{int((t0 + time.time()) * 500)} {lines} {audit}\n")
    psql.stdin.close()
    psql.wait()


def mf_id(kind, tenant, *keys):
    s = "\x1f".join(["mf1", kind, tenant] + [str(k) for k in keys]).encode()
    return int.from_bytes(hashlib.sha256(s).digest()[:8], "big") & 0x7FFFFFFFFFFFFFFF or 1


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p / 100 * len(xs)))]


def report(events, samples, rows):
    first, last = {}, {}
    ct = re.compile(r'"CallThreadID":"([^"]+)"')
    with open(events) as f:
        for n, line in enumerate(f, 1):
            m = ct.search(line)
            if m:
                first.setdefault(m.group(1), n)
                last[m.group(1)] = n
    tenant = "t1"
    by_id = {mf_id("ixn", tenant, "voice", t): t for t in first}
    s = [tuple(map(int, l.split())) for l in open(samples)]
    t_s, lines_s = [x[0] for x in s], [x[1] for x in s]

    def read_at(line):  # the first sample at which the source had read the line (interpolated)
        i = bisect.bisect_left(lines_s, line)
        if i == 0:
            return t_s[0]
        if i >= len(s):
            return t_s[-1]
        l0, l1 = lines_s[i - 1], lines_s[i]
        return t_s[i - 1] + (t_s[i] - t_s[i - 1]) * (line - l0) / max(1, l1 - l0)

    seen = {}
    for t, _, a in s:
        for k in range(max(seen) + 1 if seen else 1, a + 1):
            seen[k] = t
    created, final, missing = [], [], 0
    for l in open(rows):
        iid, ca, ua = map(int, l.split())
        t = by_id.get(iid)
        if t is None or ca not in seen or ua not in seen:
            missing += 1  # committed after the last sample (the final cycle at the end): not timed
            continue
        created.append(seen[ca] - read_at(first[t]))
        final.append(seen[ua] - read_at(last[t]))
    print(json.dumps({"interactions": len(created), "untimed": missing,
                      "created_p50_ms": round(pct(created, 50)), "created_p99_ms": round(pct(created, 99)),
                      "final_p50_ms": round(pct(final, 50)), "final_p99_ms": round(pct(final, 99)),
                      "samples": len(s)}))


if __name__ == "__main__":
    if sys.argv[1] == "poll":
        poll(int(sys.argv[2]), sys.argv[3])
    else:
        report(sys.argv[2], sys.argv[3], sys.argv[4])
