/*
 * report_grid.c — the report's columns: the derived values (ASA, service
 * level, AHT) and each section as a table of text cells, which the table,
 * CSV and HTML writers print as they are (report.h). JSON writes the same
 * values typed (report_json.c).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <martflow/alloc.h>

#include "report.h"

bool rpt_asa(const rpt_row *q, double *out)
{
    if (q->v[RPT_Q_SOA_COUNT] <= 0)
        return false;
    *out = (double)q->v[RPT_Q_SOA_SUM] / (double)q->v[RPT_Q_SOA_COUNT];
    return true;
}

/* Of the stays with a final outcome for the caller (answered or abandoned),
 * the share answered within the threshold. */
bool rpt_service_level(const rpt_row *q, double *out)
{
    int64_t n = q->v[RPT_Q_ANSWERED] + q->v[RPT_Q_ABANDONED_QUEUE] + q->v[RPT_Q_ABANDONED_RINGING];
    if (n <= 0)
        return false;
    *out = 100.0 * (double)q->v[RPT_Q_WITHIN] / (double)n;
    return true;
}

bool rpt_aht(const rpt_row *a, double *out)
{
    if (a->v[RPT_A_HANDLED] <= 0)
        return false;
    *out = (double)(a->v[RPT_A_TALK] + a->v[RPT_A_HOLD] + a->v[RPT_A_ACW]) / (double)a->v[RPT_A_HANDLED];
    return true;
}

void rpt_hms(int64_t s, char *buf, size_t len)
{
    snprintf(buf, len, "%" PRId64 ":%02d:%02d", s / 3600, (int)(s / 60 % 60), (int)(s % 60));
}

/* ---- building a grid ---- */

typedef struct builder {
    rpt_grid *g;
    size_t cap;
    size_t col;
    bool human;
} builder;

static void start_row(builder *b, const rpt_row *r)
{
    rpt_grid *g = b->g;
    if (g->nrows == b->cap) {
        b->cap = b->cap ? 2 * b->cap : 16;
        g->cells = mf_xrealloc(g->cells, b->cap * g->ncols * sizeof *g->cells);
        g->total = mf_xrealloc(g->total, b->cap * sizeof *g->total);
    }
    g->total[g->nrows] = r->total;
    g->nrows++;
    b->col = 0;
}

static void cell(builder *b, char *owned)
{
    b->g->cells[(b->g->nrows - 1) * b->g->ncols + b->col++] = owned;
}

static void text(builder *b, const char *s)
{
    cell(b, mf_xstrdup(s ? s : ""));
}

static void count(builder *b, int64_t v)
{
    cell(b, mf_xasprintf("%" PRId64, v));
}

static void seconds(builder *b, int64_t v)
{
    char buf[32];
    if (b->human)
        rpt_hms(v, buf, sizeof buf);
    else
        snprintf(buf, sizeof buf, "%" PRId64, v);
    text(b, buf);
}

static void ratio(builder *b, bool ok, double v, const char *suffix)
{
    cell(b, ok ? mf_xasprintf("%.1f%s", v, b->human ? suffix : "") : mf_xstrdup(""));
}

/* The interval cell: "total" for totals; else the ISO label, or for people
 * "YYYY-MM-DD HH:MM" (with the offset when the zone is not UTC). */
static void interval(builder *b, const rpt_row *r, const rpt_data *d)
{
    if (r->total) {
        text(b, "total");
    } else if (!b->human || strlen(r->label) < 19) {
        text(b, r->label);
    } else {
        bool utc = !strcmp(d->opts->tz, "UTC");
        cell(b, mf_xasprintf("%.10s %.5s%s", r->label, r->label + 11, utc ? "" : r->label + 19));
    }
}

static void grid_init(rpt_grid *g, const char *title, const char *id, const char *const *header, size_t ncols)
{
    *g = (rpt_grid){.title = title, .id = id, .ncols = ncols};
    g->header = mf_xcalloc(ncols, sizeof *g->header);
    memcpy(g->header, header, ncols * sizeof *header);
}

static const char *const queue_cols[] = {"interval", "tenant", "queue", "name", "offered", "answered",
                                         "abandoned_in_queue", "abandoned_ringing", "redirected_no_answer",
                                         "answered_in_threshold", "asa_s", "service_level_pct"};
static const char *const agent_cols_csv[] = {"interval", "tenant", "agent", "name", "handled", "aht_s", "talk_s",
                                             "hold_s", "acw_s", "ready_s", "not_ready_s", "busy_s", "state_acw_s"};
static const char *const agent_cols_human[] = {"interval", "tenant", "agent", "name", "handled", "aht_s", "talk",
                                               "hold", "acw", "ready", "not_ready", "busy", "state_acw"};
static const char *const reason_cols_csv[] = {"interval", "tenant", "agent", "reason", "not_ready_s"};
static const char *const reason_cols_human[] = {"interval", "tenant", "agent", "reason", "not_ready"};

void rpt_grids(const rpt_data *d, bool human, rpt_grid out[3])
{
    builder b = {.g = &out[0], .human = human};
    grid_init(&out[0], "Queues", "queues", queue_cols, 12);
    for (size_t i = 0; i < d->queues.n; i++) {
        const rpt_row *r = &d->queues.rows[i];
        double v = 0;
        start_row(&b, r);
        interval(&b, r, d);
        text(&b, r->tenant);
        text(&b, r->all ? "(all)" : r->name);
        text(&b, r->alias);
        for (int k = RPT_Q_OFFERED; k <= RPT_Q_WITHIN; k++)
            count(&b, r->v[k]);
        bool ok = rpt_asa(r, &v);
        ratio(&b, ok, v, "");
        ok = rpt_service_level(r, &v);
        ratio(&b, ok, v, "%");
    }

    b = (builder){.g = &out[1], .human = human};
    grid_init(&out[1], "Agents", "agents", human ? agent_cols_human : agent_cols_csv, 13);
    for (size_t i = 0; i < d->agents.n; i++) {
        const rpt_row *r = &d->agents.rows[i];
        double v = 0;
        start_row(&b, r);
        interval(&b, r, d);
        text(&b, r->tenant);
        text(&b, r->all ? "(all)" : r->name);
        text(&b, r->alias);
        count(&b, r->v[RPT_A_HANDLED]);
        bool ok = rpt_aht(r, &v);
        ratio(&b, ok, v, "");
        for (int k = RPT_A_TALK; k <= RPT_A_STATE_ACW; k++)
            seconds(&b, r->v[k]);
    }

    b = (builder){.g = &out[2], .human = human};
    grid_init(&out[2], "Not ready by reason", "reasons", human ? reason_cols_human : reason_cols_csv, 5);
    for (size_t i = 0; i < d->reasons.n; i++) {
        const rpt_row *r = &d->reasons.rows[i];
        start_row(&b, r);
        interval(&b, r, d);
        text(&b, r->tenant);
        text(&b, r->name);
        text(&b, r->alias && *r->alias ? r->alias : "(none)");
        seconds(&b, r->v[RPT_R_SECONDS]);
    }
}

void rpt_grid_free(rpt_grid *g)
{
    for (size_t i = 0; i < g->nrows * g->ncols; i++)
        free(g->cells[i]);
    free(g->cells);
    free(g->total);
    free(g->header);
    *g = (rpt_grid){0};
}
