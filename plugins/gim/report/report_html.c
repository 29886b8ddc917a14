/*
 * report_html.c — the HTML writer (report.h): one self-contained page, CSS
 * inline, the charts inline SVG (report_chart.c), the three tables with the
 * cells of the table format. No script, no external asset.
 */
#include <stdio.h>

#include "report.h"

static const char css[] =
    "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:24px;color:#222;background:#fff}"
    "h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}"
    "p.range{color:#555;margin:0 0 16px}"
    "svg.chart{display:block;margin:8px 0 16px;border:1px solid #e5e5e5}"
    "svg .title{font-size:14px;font-weight:600;fill:#222}svg .axis,svg .legend{font-size:11px;fill:#444}"
    "table{border-collapse:collapse;font-size:13px;margin-bottom:8px}"
    "th,td{border:1px solid #ddd;padding:3px 8px;white-space:nowrap}th{background:#f3f3f3;text-align:left}"
    "td.n{text-align:right;font-variant-numeric:tabular-nums}tr.total td{font-weight:600;background:#fafafa}";

static void table(const rpt_grid *g, FILE *out)
{
    fputs("<h2>", out);
    rpt_html_escape(out, g->title);
    fprintf(out, "</h2>\n<table id=\"%s\">\n<thead><tr>", g->id);
    for (size_t c = 0; c < g->ncols; c++) {
        fputs("<th>", out);
        rpt_html_escape(out, g->header[c]);
        fputs("</th>", out);
    }
    fputs("</tr></thead>\n<tbody>\n", out);
    for (size_t r = 0; r < g->nrows; r++) {
        fputs(g->total[r] ? "<tr class=\"total\">" : "<tr>", out);
        for (size_t c = 0; c < g->ncols; c++) {
            fputs(c < 4 ? "<td>" : "<td class=\"n\">", out);
            rpt_html_escape(out, g->cells[r * g->ncols + c]);
            fputs("</td>", out);
        }
        fputs("</tr>\n", out);
    }
    fputs("</tbody>\n</table>\n", out);
    if (!g->nrows)
        fputs("<p>Nothing in this range.</p>\n", out);
}

int rpt_write_html(const rpt_data *d, FILE *out)
{
    const rpt_opts *o = d->opts;
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<title>martflow report</title>\n<style>", out);
    fputs(css, out);
    fputs("</style>\n</head>\n<body>\n<h1>martflow report</h1>\n<p class=\"range\">", out);
    rpt_html_escape(out, d->from_label ? d->from_label : "(no data)");
    fputs(" .. ", out);
    rpt_html_escape(out, d->to_label ? d->to_label : "(no data)");
    fputs(", zone ", out);
    rpt_html_escape(out, o->tz);
    fprintf(out, ", interval %s, service level ", o->interval);
    if (o->threshold_s >= 0)
        fprintf(out, "within %d s", o->threshold_s);
    else
        fputs("within GSP's answer_threshold", out);
    fputs("</p>\n", out);
    rpt_chart_volume(d, out);
    rpt_chart_service_level(d, out);
    rpt_chart_agent_states(d, out);
    rpt_grid g[3];
    rpt_grids(d, true, g);
    for (int i = 0; i < 3; i++) {
        table(&g[i], out);
        rpt_grid_free(&g[i]);
    }
    fputs("</body>\n</html>\n", out);
    return ferror(out) ? -1 : 0;
}
