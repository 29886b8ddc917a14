/*
 * report_query.c — the reporting views into rpt_data (report.h). The
 * session's TimeZone is the report's zone, so PostgreSQL reads --from/--to
 * in it, cuts intervals in it and writes times with its offset. The views'
 * 15-minute rows are summed into the report's intervals: a row belongs to
 * the interval that holds its start in local wall-clock time, taken as an
 * instant (so the two 01:00 hours of a DST change stay apart).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <martflow/alloc.h>
#include <martflow/helpers.h>

#include "pg_client.h"
#include "report.h"

static void log_stderr(mf_node *node, mf_log_level level, const char *fmt, ...)
{
    (void)node;
    if (level > MF_LOG_ERROR) /* a failed connection is returned, and printed once, by rpt_query */
        return;
    va_list ap;
    va_start(ap, fmt);
    fputs("martflow report: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static const mf_host host = {.log = log_stderr};

/* The interval of a view row, its start as timestamptz: $4 = the interval's
 * seconds; a day is the zone's calendar day. */
#define BUCKET                                                                                                 \
    "CASE WHEN $4::int = 86400 THEN date_trunc('day', interval_start)"                                        \
    " ELSE interval_start - (extract(epoch FROM interval_start::timestamp)::bigint % $4::int) * interval '1 second' END"

/* $1, $2: the range (epoch seconds, [from, to)), $3: names ('{}': all),
 * $4: the interval in seconds; queues: $5 the threshold (NULL: GSP's). */
static const char queue_sql[] =
    "WITH v AS (SELECT " BUCKET " AS b, q.tenant_name, q.queue_name, coalesce(q.queue_alias, '') AS alias, q.offered,"
    "   q.answered, q.abandoned_in_queue, q.abandoned_ringing, q.redirected_no_answer, q.answered_within_threshold,"
    "   q.speed_of_answer_sum, q.speed_of_answer_count"
    "  FROM report_queue_interval($5::int) q"
    " WHERE q.date_time_key >= $1::bigint AND q.date_time_key < $2::bigint"
    "   AND (cardinality($3::text[]) = 0 OR q.queue_name = ANY($3::text[]) OR q.queue_alias = ANY($3::text[])))"
    " SELECT GROUPING(b), GROUPING(tenant_name), extract(epoch FROM b)::bigint, to_json(b) #>> '{}',"
    "   tenant_name, queue_name, alias, sum(offered), sum(answered), sum(abandoned_in_queue), sum(abandoned_ringing),"
    "   sum(redirected_no_answer), sum(answered_within_threshold), sum(speed_of_answer_sum), sum(speed_of_answer_count)"
    "  FROM v GROUP BY GROUPING SETS ((b, tenant_name, queue_name, alias), (tenant_name, queue_name, alias), (b), ())"
    " HAVING count(*) > 0" /* () over no rows is one row of NULLs */
    " ORDER BY GROUPING(b), GROUPING(tenant_name), b, tenant_name, queue_name, alias";

static const char agent_sql[] =
    "WITH v AS (SELECT " BUCKET " AS b, a.tenant_name, a.agent_name, coalesce(a.agent_full_name, '') AS full_name,"
    "   a.handled, a.talk_seconds, a.hold_seconds, a.acw_seconds, a.ready_seconds, a.not_ready_seconds,"
    "   a.busy_seconds, a.state_acw_seconds"
    "  FROM v_agent_interval a"
    " WHERE a.date_time_key >= $1::bigint AND a.date_time_key < $2::bigint"
    "   AND (cardinality($3::text[]) = 0 OR a.agent_name = ANY($3::text[])))"
    " SELECT GROUPING(b), GROUPING(tenant_name), extract(epoch FROM b)::bigint, to_json(b) #>> '{}',"
    "   tenant_name, agent_name, full_name, sum(handled), sum(talk_seconds), sum(hold_seconds), sum(acw_seconds),"
    "   sum(ready_seconds), sum(not_ready_seconds), sum(busy_seconds), sum(state_acw_seconds)"
    "  FROM v GROUP BY GROUPING SETS ((b, tenant_name, agent_name, full_name), (tenant_name, agent_name, full_name), ())"
    " HAVING count(*) > 0"
    " ORDER BY GROUPING(b), GROUPING(tenant_name), b, tenant_name, agent_name";

static const char reason_sql[] =
    "WITH v AS (SELECT " BUCKET " AS b, r.tenant_name, r.agent_name, r.reason_value, r.seconds"
    "  FROM v_agent_reason_interval r"
    " WHERE r.state_name_code = 'NOT_READY' AND r.date_time_key >= $1::bigint AND r.date_time_key < $2::bigint"
    "   AND (cardinality($3::text[]) = 0 OR r.agent_name = ANY($3::text[])))"
    " SELECT GROUPING(b), 0, extract(epoch FROM b)::bigint, to_json(b) #>> '{}',"
    "   tenant_name, agent_name, reason_value, sum(seconds)"
    "  FROM v GROUP BY GROUPING SETS ((b, tenant_name, agent_name, reason_value), (tenant_name, agent_name, reason_value))"
    " ORDER BY GROUPING(b), b, tenant_name, agent_name, reason_value";

/* The range: $1 from, $2 to (NULL: the data's), $3 / $4 whether each is a
 * date alone; the data's range from the facts' interval keys. $1 and $2 are
 * cast from text each time: an untyped parameter takes the type of its
 * first cast, and a timestamp read as a date loses its time. */
static const char range_sql[] =
    "WITH d AS (SELECT least((SELECT min(start_date_time_key) FROM mediation_segment_fact),"
    "                        (SELECT min(start_date_time_key) FROM interaction_resource_fact),"
    "                        (SELECT min(start_date_time_key) FROM sm_res_state_fact)) AS lo,"
    "                  greatest((SELECT max(start_date_time_key) FROM mediation_segment_fact),"
    "                           (SELECT max(start_date_time_key) FROM interaction_resource_fact),"
    "                           (SELECT max(coalesce(end_date_time_key, start_date_time_key)) FROM sm_res_state_fact)) + 900 AS hi),"
    " r AS (SELECT coalesce(CASE WHEN $3::bool THEN $1::text::date::timestamptz ELSE $1::text::timestamptz END, to_timestamp(d.lo)) AS f,"
    "              coalesce(CASE WHEN $4::bool THEN ($2::text::date + 1)::timestamptz ELSE $2::text::timestamptz END, to_timestamp(d.hi)) AS t"
    "         FROM d)"
    " SELECT extract(epoch FROM f)::bigint, extract(epoch FROM t)::bigint, to_json(f) #>> '{}', to_json(t) #>> '{}' FROM r";

/* names as a PostgreSQL array literal: {"a","b"} */
static char *array_literal(const char **names, size_t n)
{
    mf_buffer b = {0};
    mf_buffer_append(&b, "{", 1);
    for (size_t i = 0; i < n; i++) {
        mf_buffer_append(&b, i ? ",\"" : "\"", i ? 2 : 1);
        for (const char *p = names[i]; *p; p++) {
            if (*p == '"' || *p == '\\')
                mf_buffer_append(&b, "\\", 1);
            mf_buffer_append(&b, p, 1);
        }
        mf_buffer_append(&b, "\"", 1);
    }
    mf_buffer_append(&b, "}", 2); /* with the NUL */
    return (char *)b.data;
}

static char *dup_or_null(PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? NULL : mf_xstrdup(PQgetvalue(r, row, col));
}

static int64_t int_at(PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? 0 : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

/* Rows of a section query into sec (and the per-interval rows of all names
 * into all, when given). nvals counters from column 7 on. */
static void take_rows(PGresult *r, int nvals, rpt_section *sec, rpt_section *all)
{
    int n = PQntuples(r);
    sec->rows = mf_xcalloc((size_t)n + 1, sizeof *sec->rows);
    if (all)
        all->rows = mf_xcalloc((size_t)n + 1, sizeof *all->rows);
    for (int i = 0; i < n; i++) {
        bool total = int_at(r, i, 0) == 1, every = int_at(r, i, 1) == 1;
        rpt_section *to = every && !total && all ? all : sec;
        rpt_row *row = &to->rows[to->n++];
        row->total = total;
        row->all = every;
        row->t = total ? 0 : int_at(r, i, 2);
        row->label = mf_xstrdup(total ? "" : PQgetvalue(r, i, 3));
        row->tenant = dup_or_null(r, i, 4);
        row->name = dup_or_null(r, i, 5);
        row->alias = dup_or_null(r, i, 6);
        for (int k = 0; k < nvals; k++)
            row->v[k] = int_at(r, i, 7 + k);
    }
}

static int fail_db(pgc *c, const char *what)
{
    fprintf(stderr, "martflow report: %s: %s\n", what, pgc_last_error(c)->message);
    return RPT_EXIT_FAILED;
}

int rpt_query(const rpt_opts *o, rpt_data *d)
{
    *d = (rpt_data){.opts = o};
    pgc_error err;
    struct pgc_opts po = {0};
    pgc *c = pgc_new(&po, "martflow-report", &host, NULL, &err);
    PGresult *r = NULL;
    char *names = NULL;
    int rc = RPT_EXIT_FAILED;
    if (!c) {
        fprintf(stderr, "martflow report: %s\n", err.message);
        return RPT_EXIT_FAILED;
    }
    if (pgc_connect(c) != PGC_OK) {
        rc = fail_db(c, "cannot connect to the database (libpq's PG* variables)");
        goto done;
    }
    if (pgc_exec(c, "SELECT to_regclass('v_queue_interval') IS NOT NULL AND to_regclass('v_agent_interval') IS NOT NULL"
                    " AND to_regclass('v_agent_reason_interval') IS NOT NULL", 0, NULL, &r) != PGC_OK) {
        rc = fail_db(c, "cannot read the database");
        goto done;
    }
    if (strcmp(PQgetvalue(r, 0, 0), "t") != 0) {
        fprintf(stderr, "martflow report: database '%s' has no reporting views: an Info Mart of schema version 3 or "
                        "newer is needed (the gim loader creates and migrates it)\n", PQdb(pgc_conn(c)));
        goto done;
    }
    PQclear(r);
    r = NULL;
    const char *tz[] = {o->tz};
    pgc_class cls = pgc_exec(c, "SELECT set_config('TimeZone', $1, false)", 1, tz, NULL);
    if (cls == PGC_DATA) {
        fprintf(stderr, "martflow report: --tz '%s': not a time zone PostgreSQL knows (e.g. UTC, Europe/Paris)\n", o->tz);
        rc = RPT_EXIT_USAGE;
        goto done;
    } else if (cls != PGC_OK) {
        rc = fail_db(c, "cannot set the time zone");
        goto done;
    }
    const char *rp[] = {o->from, o->to, o->from_is_date ? "t" : "f", o->to_is_date ? "t" : "f"};
    cls = pgc_exec(c, range_sql, 4, rp, &r);
    if (cls == PGC_DATA) {
        fprintf(stderr, "martflow report: --from/--to: %s\n", pgc_last_error(c)->message);
        rc = RPT_EXIT_USAGE;
        goto done;
    } else if (cls != PGC_OK) {
        rc = fail_db(c, "cannot read the range");
        goto done;
    }
    if (PQgetisnull(r, 0, 0) || PQgetisnull(r, 0, 1)) { /* no data and no range: empty sections */
        rc = RPT_EXIT_OK;
        d->queues.rows = d->queues_all.rows = d->agents.rows = d->reasons.rows = NULL;
        goto done;
    }
    d->from = int_at(r, 0, 0);
    d->to = int_at(r, 0, 1);
    d->from_label = mf_xstrdup(PQgetvalue(r, 0, 2));
    d->to_label = mf_xstrdup(PQgetvalue(r, 0, 3));
    PQclear(r);
    r = NULL;
    if (d->from >= d->to && !(o->from && o->to)) { /* a bound from the data, before the other: nothing to report */
        d->to = d->from;
        free(d->to_label);
        d->to_label = mf_xstrdup(d->from_label);
    } else if (d->from >= d->to) {
        fprintf(stderr, "martflow report: --from (%s) must be before --to (%s)\n", d->from_label, d->to_label);
        rc = RPT_EXIT_USAGE;
        goto done;
    }
    char from[24], to[24], thr[16], iv[16];
    snprintf(from, sizeof from, "%" PRId64, d->from);
    snprintf(to, sizeof to, "%" PRId64, d->to);
    snprintf(thr, sizeof thr, "%d", o->threshold_s);
    snprintf(iv, sizeof iv, "%d", o->interval_s);
    names = array_literal(o->queues, o->n_queues);
    const char *qp[] = {from, to, names, iv, o->threshold_s >= 0 ? thr : NULL};
    if (pgc_exec(c, queue_sql, 5, qp, &r) != PGC_OK) {
        rc = fail_db(c, "cannot read v_queue_interval");
        goto done;
    }
    take_rows(r, RPT_Q_N, &d->queues, &d->queues_all);
    PQclear(r);
    r = NULL;
    free(names);
    names = array_literal(o->agents, o->n_agents);
    const char *ap[] = {from, to, names, iv};
    if (pgc_exec(c, agent_sql, 4, ap, &r) != PGC_OK) {
        rc = fail_db(c, "cannot read v_agent_interval");
        goto done;
    }
    take_rows(r, RPT_A_N, &d->agents, NULL);
    PQclear(r);
    r = NULL;
    if (pgc_exec(c, reason_sql, 4, ap, &r) != PGC_OK) {
        rc = fail_db(c, "cannot read v_agent_reason_interval");
        goto done;
    }
    take_rows(r, RPT_R_N, &d->reasons, NULL);
    rc = RPT_EXIT_OK;
done:
    PQclear(r);
    free(names);
    pgc_free(c);
    if (rc != RPT_EXIT_OK)
        rpt_data_free(d);
    return rc;
}

static void free_section(rpt_section *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->rows[i].label);
        free(s->rows[i].tenant);
        free(s->rows[i].name);
        free(s->rows[i].alias);
    }
    free(s->rows);
    *s = (rpt_section){0};
}

void rpt_data_free(rpt_data *d)
{
    free_section(&d->queues);
    free_section(&d->queues_all);
    free_section(&d->agents);
    free_section(&d->reasons);
    free(d->from_label);
    free(d->to_label);
    d->from_label = d->to_label = NULL;
}
