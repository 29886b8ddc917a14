/*
 * report_chart.c — the HTML page's charts as inline SVG (report.h): calls
 * per interval (offered / answered / abandoned, all queues together), the
 * service level over time, and each agent's time by state. Times map onto
 * the x axis linearly over the report's range, so an interval without
 * calls is a gap, not a missing slot.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "report.h"

#define W 900.0
#define H 260.0
#define LEFT 56.0
#define RIGHT 16.0
#define TOP 28.0
#define BOTTOM 40.0
#define PLOT_W (W - LEFT - RIGHT)
#define PLOT_H (H - TOP - BOTTOM)

static const char *const C_OFFERED = "#4e79a7", *const C_ANSWERED = "#59a14f", *const C_ABANDONED = "#e15759";
static const char *const C_READY = "#59a14f", *const C_NOT_READY = "#f28e2b", *const C_BUSY = "#4e79a7",
                         *const C_ACW = "#b07aa1";

void rpt_html_escape(FILE *out, const char *text)
{
    for (const char *p = text ? text : ""; *p; p++) {
        switch (*p) {
        case '<': fputs("&lt;", out); break;
        case '>': fputs("&gt;", out); break;
        case '&': fputs("&amp;", out); break;
        case '"': fputs("&quot;", out); break;
        default: fputc(*p, out);
        }
    }
}

static double x_of(const rpt_data *d, int64_t t)
{
    double span = (double)(d->to - d->from);
    return LEFT + PLOT_W * (double)(t - d->from) / (span > 0 ? span : 1);
}

/* The width of one interval on the x axis. */
static double slot_w(const rpt_data *d)
{
    double span = (double)(d->to - d->from);
    return PLOT_W * d->opts->interval_s / (span > 0 ? span : 1);
}

/* A round axis maximum >= v (1, 2, 5 x 10^n). */
static double nice_max(double v)
{
    if (v <= 1)
        return 1;
    double p = pow(10, floor(log10(v)));
    for (double m = 1;; m = m == 1 ? 2 : m == 2 ? 5 : 10)
        if (m * p >= v)
            return m * p;
}

static void svg_open(FILE *out, const char *id, const char *title, double h)
{
    fprintf(out, "<svg id=\"%s\" class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\""
                 " viewBox=\"0 0 %.0f %.0f\" role=\"img\" aria-label=\"", id, W, h, W, h);
    rpt_html_escape(out, title);
    fputs("\">\n<rect x=\"0\" y=\"0\" width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n", out);
    fprintf(out, "<text x=\"%.0f\" y=\"18\" class=\"title\">", LEFT);
    rpt_html_escape(out, title);
    fputs("</text>\n", out);
}

static void legend(FILE *out, double x, const char *const *names, const char *const *colors, int n)
{
    for (int i = 0; i < n; i++, x += 120) {
        fprintf(out, "<rect x=\"%.0f\" y=\"8\" width=\"12\" height=\"12\" fill=\"%s\"/>", x, colors[i]);
        fprintf(out, "<text x=\"%.0f\" y=\"18\" class=\"legend\">%s</text>\n", x + 16, names[i]);
    }
}

/* Horizontal grid lines and their labels from 0 to max, and the range's
 * start and end under the x axis. */
static void axes(FILE *out, const rpt_data *d, double max, const char *unit)
{
    for (int i = 0; i <= 4; i++) {
        double y = TOP + PLOT_H * (1 - i / 4.0);
        fprintf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#dddddd\"/>", LEFT, y, W - RIGHT, y);
        fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" class=\"axis\" text-anchor=\"end\">%g%s</text>\n", LEFT - 6, y + 4,
                max * i / 4.0, unit);
    }
    fprintf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#888888\"/>\n", LEFT, TOP + PLOT_H,
            W - RIGHT, TOP + PLOT_H);
    const char *first = d->from_label ? d->from_label : "", *last = d->to_label ? d->to_label : "";
    fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" class=\"axis\">", LEFT, H - 12);
    rpt_html_escape(out, first);
    fprintf(out, "</text><text x=\"%.1f\" y=\"%.1f\" class=\"axis\" text-anchor=\"end\">", W - RIGHT, H - 12);
    rpt_html_escape(out, last);
    fputs("</text>\n", out);
}

static void bar(FILE *out, double x, double w, double v, double max, const char *color, const char *what,
                const rpt_row *r)
{
    double h = PLOT_H * v / max;
    fprintf(out, "<rect class=\"bar\" x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"%s\"><title>", x,
            TOP + PLOT_H - h, w, h, color);
    rpt_html_escape(out, r->label);
    fprintf(out, " %s: %.0f</title></rect>\n", what, v);
}

void rpt_chart_volume(const rpt_data *d, FILE *out)
{
    static const char *const names[] = {"offered", "answered", "abandoned"};
    static const char *colors[3];
    colors[0] = C_OFFERED, colors[1] = C_ANSWERED, colors[2] = C_ABANDONED;
    svg_open(out, "chart-volume", "Calls per interval, all queues", H);
    legend(out, W - RIGHT - 360, names, colors, 3);
    double max = 0;
    for (size_t i = 0; i < d->queues_all.n; i++)
        max = fmax(max, (double)d->queues_all.rows[i].v[RPT_Q_OFFERED]);
    max = nice_max(max);
    axes(out, d, max, "");
    double sw = slot_w(d), bw = fmax(sw / 4, 1);
    for (size_t i = 0; i < d->queues_all.n; i++) {
        const rpt_row *r = &d->queues_all.rows[i];
        double x = x_of(d, r->t) + sw / 8;
        bar(out, x, bw, (double)r->v[RPT_Q_OFFERED], max, C_OFFERED, "offered", r);
        bar(out, x + bw, bw, (double)r->v[RPT_Q_ANSWERED], max, C_ANSWERED, "answered", r);
        bar(out, x + 2 * bw, bw, (double)(r->v[RPT_Q_ABANDONED_QUEUE] + r->v[RPT_Q_ABANDONED_RINGING]), max,
            C_ABANDONED, "abandoned", r);
    }
    fputs("</svg>\n", out);
}

void rpt_chart_service_level(const rpt_data *d, FILE *out)
{
    svg_open(out, "chart-service-level", "Service level per interval, all queues (%)", H);
    axes(out, d, 100, "%");
    double sw = slot_w(d);
    fputs("<polyline fill=\"none\" stroke=\"#4e79a7\" stroke-width=\"2\" points=\"", out);
    for (size_t i = 0; i < d->queues_all.n; i++) {
        double v;
        if (rpt_service_level(&d->queues_all.rows[i], &v))
            fprintf(out, "%.2f,%.2f ", x_of(d, d->queues_all.rows[i].t) + sw / 2, TOP + PLOT_H * (1 - v / 100));
    }
    fputs("\"/>\n", out);
    for (size_t i = 0; i < d->queues_all.n; i++) {
        const rpt_row *r = &d->queues_all.rows[i];
        double v;
        if (!rpt_service_level(r, &v))
            continue;
        fprintf(out, "<circle class=\"point\" cx=\"%.2f\" cy=\"%.2f\" r=\"4\" fill=\"#4e79a7\"><title>",
                x_of(d, r->t) + sw / 2, TOP + PLOT_H * (1 - v / 100));
        rpt_html_escape(out, r->label);
        fprintf(out, " %.1f%%</title></circle>\n", v);
    }
    fputs("</svg>\n", out);
}

void rpt_chart_agent_states(const rpt_data *d, FILE *out)
{
    static const char *const names[] = {"Ready", "Not Ready", "Busy", "ACW"};
    static const char *colors[4];
    colors[0] = C_READY, colors[1] = C_NOT_READY, colors[2] = C_BUSY, colors[3] = C_ACW;
    size_t n = 0;
    for (size_t i = 0; i < d->agents.n; i++)
        n += d->agents.rows[i].total && !d->agents.rows[i].all;
    double row_h = 26, h = TOP + 16 + row_h * (double)(n ? n : 1) + 8, label_w = 130, bar_w = W - RIGHT - LEFT - label_w;
    svg_open(out, "chart-agent-states", "Agent time by state over the range", h);
    legend(out, W - RIGHT - 480, names, colors, 4);
    double y = TOP + 16;
    for (size_t i = 0; i < d->agents.n; i++) {
        const rpt_row *r = &d->agents.rows[i];
        if (!r->total || r->all)
            continue;
        int64_t s[4] = {r->v[RPT_A_READY], r->v[RPT_A_NOT_READY], r->v[RPT_A_BUSY], r->v[RPT_A_STATE_ACW]};
        int64_t sum = s[0] + s[1] + s[2] + s[3];
        fprintf(out, "<text x=\"%.0f\" y=\"%.1f\" class=\"axis\">", LEFT, y + 17);
        rpt_html_escape(out, r->name);
        fputs("</text>\n", out);
        double x = LEFT + label_w;
        for (int k = 0; k < 4 && sum > 0; k++) {
            double w = bar_w * (double)s[k] / (double)sum;
            fprintf(out, "<rect class=\"share\" x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%.0f\" fill=\"%s\"><title>", x,
                    y + 3, w, row_h - 6, colors[k]);
            rpt_html_escape(out, r->name);
            fprintf(out, " %s: %" PRId64 " s (%.1f%%)</title></rect>\n", names[k], s[k], 100.0 * (double)s[k] / (double)sum);
            x += w;
        }
        y += row_h;
    }
    if (!n)
        fprintf(out, "<text x=\"%.0f\" y=\"%.1f\" class=\"axis\">no agent time in this range</text>\n", LEFT, y + 17);
    fputs("</svg>\n", out);
}
