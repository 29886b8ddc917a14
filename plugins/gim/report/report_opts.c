/*
 * report_opts.c — the command line of martflow report (report.h). Checks
 * everything it can without the database; the time zone and the calendar
 * (a 30 February) are the server's to judge (report_query.c).
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <martflow/alloc.h>

#include "report.h"

const char rpt_usage[] =
    "usage: martflow report [--from DATE|TS] [--to DATE|TS] [--tz ZONE] [--interval 15m|30m|1h|1d]\n"
    "                       [--queue NAME]... [--agent NAME]... [--format table|csv|json|html]\n"
    "                       [--threshold DURATION] [--output FILE]\n"
    "\n"
    "  Queues and agents per interval from the Info Mart (docs/report.md); the\n"
    "  connection from libpq's environment (PGHOST, PGPORT, PGDATABASE, PGUSER, ...).\n"
    "\n"
    "  --from, --to   range [from, to): YYYY-MM-DD (--to DATE includes that day) or\n"
    "                 YYYY-MM-DDTHH:MM[:SS] with an optional Z or +HH:MM; in --tz\n"
    "                 when no offset is given; default: the whole range of the data\n"
    "  --tz ZONE      time zone of the dates and the intervals (default UTC)\n"
    "  --interval     15m (default), 30m, 1h or 1d\n"
    "  --queue NAME   only this queue (DN number or configured name); repeatable\n"
    "  --agent NAME   only this agent (login code); repeatable\n"
    "  --format       table (default), csv, json or html (one self-contained page)\n"
    "  --threshold    service-level threshold, e.g. 20s or 1m; default: the one GSP\n"
    "                 applied (MET_THRESHOLD_FLAG, callthread's answer_threshold)\n"
    "  --output FILE  write there (replaced when complete) instead of stdout\n";

static int bad(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int bad(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

/* n digits at *p within [lo, hi]; advances *p. */
static bool digits(const char **p, int n, int lo, int hi)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return false;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    return v >= lo && v <= hi;
}

/* YYYY-MM-DD, optionally [T ]HH:MM[:SS] and then Z or +HH[:MM] / -HH[:MM].
 * *date_only: only the date was given. */
static bool valid_time(const char *s, bool *date_only)
{
    const char *p = s;
    if (!digits(&p, 4, 1, 9999) || *p++ != '-' || !digits(&p, 2, 1, 12) || *p++ != '-' || !digits(&p, 2, 1, 31))
        return false;
    *date_only = *p == '\0';
    if (*date_only)
        return true;
    if (*p != 'T' && *p != ' ')
        return false;
    p++;
    if (!digits(&p, 2, 0, 23) || *p++ != ':' || !digits(&p, 2, 0, 59))
        return false;
    if (*p == ':') {
        p++;
        if (!digits(&p, 2, 0, 59))
            return false;
    }
    if (*p == 'Z')
        return p[1] == '\0';
    if (*p == '+' || *p == '-') {
        p++;
        if (!digits(&p, 2, 0, 15))
            return false;
        if (*p == ':')
            p++;
        if (*p && !digits(&p, 2, 0, 59))
            return false;
    }
    return *p == '\0';
}

/* "20s", "1m", "90", "1m30s": whole seconds, or -1. */
static int parse_duration(const char *s)
{
    long total = 0;
    const char *p = s;
    if (!*p)
        return -1;
    while (*p) {
        if (!isdigit((unsigned char)*p))
            return -1;
        long n = 0;
        while (isdigit((unsigned char)*p)) {
            n = n * 10 + (*p++ - '0');
            if (n > 86400)
                return -1;
        }
        int unit = 1;
        if (*p == 'h')
            unit = 3600, p++;
        else if (*p == 'm')
            unit = 60, p++;
        else if (*p == 's')
            p++;
        else if (*p)
            return -1;
        total += n * unit;
        if (total > 86400)
            return -1;
    }
    return (int)total;
}

static const struct {
    const char *name;
    int seconds;
} intervals[] = {{"15m", 900}, {"30m", 1800}, {"1h", 3600}, {"1d", 86400}};

static const char *const formats[] = {"table", "csv", "json", "html"};

static const char *const valued[] = {"--from", "--to", "--tz", "--interval", "--queue", "--agent",
                                     "--format", "--threshold", "--output"};

int rpt_opts_parse(int argc, char **argv, rpt_opts *o, char *err, size_t errlen)
{
    *o = (rpt_opts){.tz = "UTC", .interval_s = 900, .interval = "15m", .threshold_s = -1};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            o->help = true;
            continue;
        }
        size_t k = 0, n = sizeof valued / sizeof *valued, len = 0;
        for (; k < n; k++) {
            len = strlen(valued[k]);
            if (!strncmp(a, valued[k], len) && (a[len] == '\0' || a[len] == '='))
                break;
        }
        if (k == n)
            return bad(err, errlen, a[0] == '-' ? "unknown option '%s'" : "unexpected argument '%s'", a);
        const char *v = a[len] == '=' ? a + len + 1 : (i + 1 < argc ? argv[++i] : NULL);
        if (!v || !*v || (a[len] != '=' && !strncmp(v, "--", 2)))
            return bad(err, errlen, "%s needs a value", valued[k]);
        const char *name = valued[k];
        if (!strcmp(name, "--from") || !strcmp(name, "--to")) {
            bool date_only;
            if (!valid_time(v, &date_only))
                return bad(err, errlen, "%s '%s': not a date (YYYY-MM-DD) or a timestamp (YYYY-MM-DDTHH:MM[:SS][Z|+HH:MM])",
                           name, v);
            if (name[2] == 'f')
                o->from = v, o->from_is_date = date_only;
            else
                o->to = v, o->to_is_date = date_only;
        } else if (!strcmp(name, "--tz")) {
            o->tz = v;
        } else if (!strcmp(name, "--interval")) {
            size_t j = 0;
            for (; j < sizeof intervals / sizeof *intervals && strcmp(v, intervals[j].name); j++)
                ;
            if (j == sizeof intervals / sizeof *intervals)
                return bad(err, errlen, "--interval '%s': must be 15m, 30m, 1h or 1d", v);
            o->interval = intervals[j].name;
            o->interval_s = intervals[j].seconds;
        } else if (!strcmp(name, "--queue")) {
            o->queues = mf_xrealloc(o->queues, (o->n_queues + 1) * sizeof *o->queues);
            o->queues[o->n_queues++] = v;
        } else if (!strcmp(name, "--agent")) {
            o->agents = mf_xrealloc(o->agents, (o->n_agents + 1) * sizeof *o->agents);
            o->agents[o->n_agents++] = v;
        } else if (!strcmp(name, "--format")) {
            size_t j = 0;
            for (; j < sizeof formats / sizeof *formats && strcmp(v, formats[j]); j++)
                ;
            if (j == sizeof formats / sizeof *formats)
                return bad(err, errlen, "--format '%s': must be table, csv, json or html", v);
            o->format = (rpt_format)j;
        } else if (!strcmp(name, "--threshold")) {
            o->threshold_s = parse_duration(v);
            if (o->threshold_s < 0)
                return bad(err, errlen, "--threshold '%s': not a duration of at most 1 day (e.g. 20s, 1m, 1m30s)", v);
        } else {
            o->output = v;
        }
    }
    return 0;
}

void rpt_opts_free(rpt_opts *o)
{
    free(o->queues);
    free(o->agents);
    o->queues = o->agents = NULL;
}
