#!/usr/bin/env python3
"""Checks of tests/gim/report_html.sh on what headless Chromium made of the page.

  report_dom.py dom DOM.html      the tables' cells (as the browser parsed them)
                                  and the charts' elements
  report_dom.py png SHOT.png      the screenshot: the charts' colours are drawn
"""
import struct
import sys
import zlib
from html.parser import HTMLParser


class Tables(HTMLParser):
    """Rows of every <table id=...> as lists of cell texts; counts of SVG elements per chart."""

    def __init__(self):
        super().__init__()
        self.tables, self.svg, self.table, self.row, self.cell, self.chart = {}, {}, None, None, None, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table":
            self.table = self.tables.setdefault(a.get("id"), [])
        elif tag == "tr" and self.table is not None:
            self.row = []
        elif tag in ("td", "th") and self.row is not None:
            self.cell = ""
        elif tag == "svg":
            self.chart = a.get("id")
            self.svg[self.chart] = {}
        elif self.chart and tag in ("rect", "circle", "polyline"):
            k = tag + "." + a.get("class", "")
            self.svg[self.chart][k] = self.svg[self.chart].get(k, 0) + 1

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None:
            self.row.append(self.cell.strip())
            self.cell = None
        elif tag == "tr" and self.row is not None:
            self.table.append(self.row)
            self.row = None
        elif tag == "table":
            self.table = None
        elif tag == "svg":
            self.chart = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell += data


def dom(path):
    p = Tables()
    p.feed(open(path, encoding="utf-8").read())
    q, a, r = p.tables["queues"], p.tables["agents"], p.tables["reasons"]
    assert q[0][:5] == ["interval", "tenant", "queue", "name", "offered"], q[0]
    want_q = [
        ["2024-03-30 23:00", "t1", "7001", "Sales", "5", "2", "1", "1", "1", "1", "20.0", "25.0%"],
        ["2024-03-30 23:15", "t1", "7002", "", "2", "0", "1", "0", "0", "0", "", "0.0%"],
        ["total", "", "(all)", "", "10", "5", "2", "1", "1", "3", "16.8", "37.5%"]]
    for w in want_q:
        assert w in q, "queues: %s not in %s" % (w, q)
    assert len(q) == 9, q
    want_a = [["2024-03-30 23:15", "t1", "a1001", "Ada Lovelace", "1", "210.0", "0:03:20", "0:00:00", "0:00:10",
               "0:01:40", "0:09:10", "0:03:20", "0:00:50"],
              ["total", "", "(all)", "", "3", "140.0", "0:06:00", "0:00:20", "0:00:40", "0:22:50", "0:13:00",
               "0:03:20", "0:00:50"]]
    for w in want_a:
        assert w in a, "agents: %s not in %s" % (w, a)
    assert ["total", "t1", "a1001", "Break", "0:10:50"] in r, r
    v, s, st = p.svg["chart-volume"], p.svg["chart-service-level"], p.svg["chart-agent-states"]
    assert v.get("rect.bar") == 9, v          # 3 intervals x offered/answered/abandoned
    assert s.get("circle.point") == 3 and s.get("polyline.") == 1, s
    assert st.get("rect.share") == 8, st      # 2 agents x 4 states
    print("dom: ok")


def pixels(path):
    """(width, height, rows of RGB tuples) of an 8-bit RGB/RGBA PNG."""
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, w = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and ctype in (2, 6), (depth, ctype)
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw, stride, rows, prev = zlib.decompress(idat), w * bpp, [], bytearray(w * bpp)
    for y in range(h):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if f == 1: line[i] = (line[i] + a) & 255
            elif f == 2: line[i] = (line[i] + b) & 255
            elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append([tuple(line[x * bpp:x * bpp + 3]) for x in range(w)])
        prev = line
    return w, h, rows


def png(path):
    w, h, rows = pixels(path)
    colours = {"offered": (0x4e, 0x79, 0xa7), "answered": (0x59, 0xa1, 0x4f), "abandoned": (0xe1, 0x57, 0x59),
               "not ready": (0xf2, 0x8e, 0x2b), "acw": (0xb0, 0x7a, 0xa1)}
    count = {k: 0 for k in colours}
    white = 0
    for row in rows:
        for p in row:
            if p == (255, 255, 255):
                white += 1
            for k, c in colours.items():
                if all(abs(p[i] - c[i]) <= 3 for i in range(3)):
                    count[k] += 1
    total = w * h
    assert white < total, "the screenshot is blank"
    for k, n in count.items():
        assert n >= 50, "the charts' %s colour is (almost) not drawn: %d pixels (%s)" % (k, n, count)
    print("png: ok %dx%d, non-white %d, %s" % (w, h, total - white, count))


if __name__ == "__main__":
    {"dom": dom, "png": png}[sys.argv[1]](sys.argv[2])
