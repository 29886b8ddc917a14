#!/usr/bin/env python3
"""gen_irf.py N JSONL CSV — N records shaped like Info Mart interaction
resource facts (IRF: ids, keys, timestamps, counts, durations; 20 fields),
as JSON lines for the pipeline and as CSV (the same rows, columns in table
order, times as ISO 8601 UTC) for the psql \\copy baseline."""
import datetime
import json
import random
import sys

COLUMNS = ["irf_id", "interaction_id", "tenant_key", "media_type_key", "interaction_type_key",
           "resource_key", "queue_key", "technical_descriptor_key", "start_ts", "end_ts",
           "talk_duration", "hold_duration", "wrap_duration", "ring_duration", "hold_count",
           "transfer_count", "conference_count", "active_flag", "reason_code", "user_data"]


def main():
    n, jpath, cpath = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    rnd = random.Random(42)
    epoch = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
    with open(jpath, "w") as jf, open(cpath, "w") as cf:
        base = 1767225600000  # 2026-01-01
        for i in range(1, n + 1):
            start = base + i * 937 + rnd.randrange(1000)
            talk, hold, wrap, ring = rnd.randrange(600), rnd.randrange(120), rnd.randrange(90), rnd.randrange(30)
            end = start + (talk + hold + wrap + ring) * 1000
            rec = {
                "irf_id": i,
                "interaction_id": "0%015X-ixn-%d" % (rnd.getrandbits(60), i // 3),
                "tenant_key": 1 + i % 4,
                "media_type_key": 1 + rnd.randrange(6),
                "interaction_type_key": 1 + rnd.randrange(4),
                "resource_key": 1000 + rnd.randrange(5000),
                "queue_key": 100 + rnd.randrange(300),
                "technical_descriptor_key": 1 + rnd.randrange(60),
                "start_ts": start,
                "end_ts": end,
                "talk_duration": talk,
                "hold_duration": hold,
                "wrap_duration": wrap,
                "ring_duration": ring,
                "hold_count": rnd.randrange(4),
                "transfer_count": rnd.randrange(3),
                "conference_count": rnd.randrange(2),
                "active_flag": rnd.random() < 0.1,
                "reason_code": rnd.choice(["", "Break", "Lunch", "Training", "Meeting"]),
                "user_data": "case-%d" % rnd.randrange(100000),
            }
            jf.write(json.dumps(rec, separators=(",", ":")) + "\n")
            row = []
            for c in COLUMNS:
                v = rec[c]
                if c in ("start_ts", "end_ts"):
                    t = epoch + datetime.timedelta(milliseconds=v)
                    v = t.strftime("%Y-%m-%d %H:%M:%S.") + "%06d+00" % t.microsecond
                elif isinstance(v, bool):
                    v = "true" if v else "false"
                elif v == "":
                    v = '""'  # CSV: a quoted empty string, not NULL (the sink writes "" as "")
                row.append(str(v))  # no value holds a comma, quote or newline
            cf.write(",".join(row) + "\n")


if __name__ == "__main__":
    main()
