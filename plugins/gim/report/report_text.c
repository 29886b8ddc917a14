/*
 * report_text.c — the table and CSV writers (report.h): the grids of
 * report_grid.c, aligned for a terminal or as CSV sections.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <martflow/alloc.h>

#include "report.h"

/* The first four columns (interval, tenant, name, alias/reason) are text,
 * the rest numbers. */
#define TEXT_COLS 4

static void header_line(const rpt_data *d, FILE *out)
{
    const rpt_opts *o = d->opts;
    fprintf(out, "martflow report: %s .. %s, zone %s, interval %s, service level ",
            d->from_label ? d->from_label : "(no data)", d->to_label ? d->to_label : "(no data)", o->tz, o->interval);
    if (o->threshold_s >= 0)
        fprintf(out, "within %d s\n", o->threshold_s);
    else
        fputs("within GSP's answer_threshold\n", out);
}

static void print_grid(const rpt_grid *g, FILE *out)
{
    size_t *w = mf_xcalloc(g->ncols, sizeof *w);
    for (size_t c = 0; c < g->ncols; c++) {
        w[c] = strlen(g->header[c]);
        for (size_t r = 0; r < g->nrows; r++) {
            size_t n = strlen(g->cells[r * g->ncols + c]);
            w[c] = n > w[c] ? n : w[c];
        }
    }
    fprintf(out, "\n%s\n", g->title);
    for (size_t r = 0; r <= g->nrows; r++) {
        const char *const *row = r == 0 ? g->header : (const char *const *)&g->cells[(r - 1) * g->ncols];
        for (size_t c = 0; c < g->ncols; c++) {
            int width = (int)w[c];
            bool last = c + 1 == g->ncols;
            if (c < TEXT_COLS && last)
                fputs(row[c], out);
            else if (c < TEXT_COLS)
                fprintf(out, "%-*s  ", width, row[c]);
            else
                fprintf(out, last ? "%*s" : "%*s  ", width, row[c]);
        }
        fputc('\n', out);
    }
    if (!g->nrows)
        fputs("(nothing in this range)\n", out);
    free(w);
}

int rpt_write_table(const rpt_data *d, FILE *out)
{
    rpt_grid g[3];
    rpt_grids(d, true, g);
    header_line(d, out);
    for (int i = 0; i < 3; i++) {
        print_grid(&g[i], out);
        rpt_grid_free(&g[i]);
    }
    return ferror(out) ? -1 : 0;
}

static void csv_field(FILE *out, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, out);
        return;
    }
    fputc('"', out);
    for (const char *p = s; *p; p++) {
        if (*p == '"')
            fputc('"', out);
        fputc(*p, out);
    }
    fputc('"', out);
}

/* Each section: a header line, then its rows, every line starting with the
 * section's name (queues, agents, reasons); sections apart by an empty line. */
int rpt_write_csv(const rpt_data *d, FILE *out)
{
    rpt_grid g[3];
    rpt_grids(d, false, g);
    for (int i = 0; i < 3; i++) {
        if (i)
            fputc('\n', out);
        fputs("section", out);
        for (size_t c = 0; c < g[i].ncols; c++) {
            fputc(',', out);
            csv_field(out, g[i].header[c]);
        }
        fputc('\n', out);
        for (size_t r = 0; r < g[i].nrows; r++) {
            fputs(g[i].id, out);
            for (size_t c = 0; c < g[i].ncols; c++) {
                fputc(',', out);
                csv_field(out, g[i].cells[r * g[i].ncols + c]);
            }
            fputc('\n', out);
        }
        rpt_grid_free(&g[i]);
    }
    return ferror(out) ? -1 : 0;
}
