/*
 * report.h — `martflow report` (the program martflow-report): the Info Mart's
 * queues and agents per interval, read from the reporting views of
 * plugins/gim/sql/003_report_views.sql (docs/report.md).
 *
 * Modules: report_opts.c (the command line), report_query.c (the views ->
 * rpt_data), report_grid.c (rpt_data -> tables of text cells, the one place
 * that decides the columns and how a value is written), report_text.c (table
 * and CSV writers), report_json.c, report_html.c and report_chart.c (the page
 * and its SVG charts). Everything is single-threaded; every string a struct
 * holds is owned by it.
 */
#ifndef MF_GIM_REPORT_H
#define MF_GIM_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---- options (report_opts.c) ---- */

typedef enum rpt_format { RPT_TABLE, RPT_CSV, RPT_JSON, RPT_HTML } rpt_format;

typedef struct rpt_opts {
    const char *from, *to; /* as given (validated: a date or a timestamp), or NULL: the data's range */
    bool from_is_date, to_is_date; /* a date alone: --to DATE includes that day */
    const char *tz;        /* time zone name, default "UTC" (checked by the server) */
    int interval_s;        /* 900, 1800, 3600 or 86400 */
    const char *interval;  /* its name: 15m, 30m, 1h, 1d */
    const char **queues;   /* --queue, n_queues of them (borrowed from argv) */
    size_t n_queues;
    const char **agents;
    size_t n_agents;
    rpt_format format;
    int threshold_s;       /* --threshold in whole seconds, or -1: GSP's MET_THRESHOLD_FLAG */
    const char *output;    /* --output FILE, or NULL: stdout */
    bool help;
} rpt_opts;

/* Parse argv[1..argc) (argv[0] is the program). 0, or -1 with the reason in
 * err (one line, no newline). opts' lists are allocated: rpt_opts_free. */
int rpt_opts_parse(int argc, char **argv, rpt_opts *opts, char *err, size_t errlen);
void rpt_opts_free(rpt_opts *opts);
extern const char rpt_usage[];

/* ---- the data (report_query.c) ---- */

/* One row of a section. Interval rows have total false and t/label set;
 * totals over the whole range have total true (t 0, label ""). A row of all
 * queues / agents together has all true (tenant, name, alias NULL). */
typedef struct rpt_row {
    bool total, all;
    int64_t t;     /* the interval's start, epoch seconds */
    char *label;   /* the interval's start in the zone, ISO 8601 with its offset */
    char *tenant, *name, *alias; /* queue: DN number and configured name; agent: login code and full name; reason: agent and reason */
    int64_t v[12]; /* the section's counters, RPT_Q_* / RPT_A_* / RPT_R_* */
} rpt_row;

enum { RPT_Q_OFFERED, RPT_Q_ANSWERED, RPT_Q_ABANDONED_QUEUE, RPT_Q_ABANDONED_RINGING, RPT_Q_REDIRECTED,
       RPT_Q_WITHIN, RPT_Q_SOA_SUM, RPT_Q_SOA_COUNT, RPT_Q_N };
enum { RPT_A_HANDLED, RPT_A_TALK, RPT_A_HOLD, RPT_A_ACW, RPT_A_READY, RPT_A_NOT_READY, RPT_A_BUSY,
       RPT_A_STATE_ACW, RPT_A_N };
enum { RPT_R_SECONDS, RPT_R_N };

typedef struct rpt_section {
    rpt_row *rows;
    size_t n;
} rpt_section;

typedef struct rpt_data {
    int64_t from, to;          /* the range, epoch seconds, [from, to) */
    char *from_label, *to_label; /* ISO 8601 in the zone; NULL when there is no data and no range given */
    const rpt_opts *opts;      /* borrowed */
    rpt_section queues;        /* per interval and queue, then per queue, then all (ordered so) */
    rpt_section queues_all;    /* per interval, all queues together (charts) */
    rpt_section agents;        /* per interval and agent, then per agent, then all */
    rpt_section reasons;       /* NOT_READY reasons: per interval, agent and reason, then per agent and reason */
} rpt_data;

/* Exit statuses of martflow-report. */
enum { RPT_EXIT_OK = 0, RPT_EXIT_FAILED = 1, RPT_EXIT_USAGE = 2 };

/* Read the views through libpq's environment (PG*). RPT_EXIT_OK and *out
 * filled (rpt_data_free), or another status after printing the reason on
 * stderr: RPT_EXIT_USAGE for a value the server refuses (time zone, date),
 * RPT_EXIT_FAILED for the database (connection, no schema, too old). */
int rpt_query(const rpt_opts *opts, rpt_data *out);
void rpt_data_free(rpt_data *d);

/* ---- derived values and cells (report_grid.c) ---- */

/* Average speed of answer (s), service level (%), average handle time (s);
 * false when the denominator is 0 (shown as empty / null). */
bool rpt_asa(const rpt_row *q, double *out);
bool rpt_service_level(const rpt_row *q, double *out);
bool rpt_aht(const rpt_row *a, double *out);

/* A section as a table of text cells: header[ncols], cells[nrows][ncols]. */
typedef struct rpt_grid {
    const char *title;
    const char *id; /* queues, agents, reasons */
    size_t ncols, nrows;
    const char **header;
    char **cells;   /* nrows * ncols, row-major, each owned */
    bool *total;    /* per row: a total (styled apart in html) */
} rpt_grid;

/* human: durations as H:MM:SS and "%" after the service level (table,
 * html); else plain seconds (csv). */
void rpt_grids(const rpt_data *d, bool human, rpt_grid out[3]);
void rpt_grid_free(rpt_grid *g);
/* "H:MM:SS" of seconds into buf. */
void rpt_hms(int64_t s, char *buf, size_t len);

/* ---- writers: 0, or -1 on a write error (errno) ---- */
int rpt_write_table(const rpt_data *d, FILE *out);
int rpt_write_csv(const rpt_data *d, FILE *out);
int rpt_write_json(const rpt_data *d, FILE *out);
int rpt_write_html(const rpt_data *d, FILE *out);

/* The page's charts (report_chart.c), appended to out as inline <svg>. */
void rpt_chart_volume(const rpt_data *d, FILE *out);
void rpt_chart_service_level(const rpt_data *d, FILE *out);
void rpt_chart_agent_states(const rpt_data *d, FILE *out);
/* text with <, >, &, " escaped */
void rpt_html_escape(FILE *out, const char *text);

#endif
