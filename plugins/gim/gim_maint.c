/* gim_maint.c — see gim_maint.h. */
#include "gim_maint.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <martflow/helpers.h>

#define DEFAULT_DAYS_AHEAD 366
#define DEFAULT_KEEP_DAYS 400
#define DEFAULT_BATCH_ROWS 10000
#define MAX_TABLES 64
/* A batch refused by a deadlock or a serialization failure is tried again
 * this many times, after a pause that grows (the loader's cycle ends). */
#define BATCH_TRIES 8
#define BATCH_PAUSE_MS 50

static const char *const keys[] = {"date_time_days_ahead", "keep_days", "keep_days_default", "batch_rows", NULL};

struct keep {
    char *table;
    int64_t days;
};

struct maint {
    int64_t days_ahead, keep_default, batch_rows;
    struct keep *keep; /* keep_days */
    size_t nkeep;
};

/* ---- options ------------------------------------------------------------------------ */

static bool table_name_ok(const char *s)
{
    if (!s || !*s || strlen(s) > 63)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
            return false;
    return true;
}

/* An integer option in [lo, hi]; *out unchanged when absent. */
static bool int_opt(const json_t *v, const char *key, int64_t lo, int64_t hi, int64_t *out, mf_check *chk)
{
    if (!v)
        return true;
    if (json_is_integer(v) && json_integer_value(v) >= lo && json_integer_value(v) <= hi) {
        *out = json_integer_value(v);
        return true;
    }
    if (chk)
        chk->problem(chk, v, "maintenance: %s is an integer %" PRId64 "..%" PRId64, key, lo, hi);
    return false;
}

static void check(const json_t *job, mf_check *chk)
{
    int64_t x;
    int_opt(json_object_get(job, "date_time_days_ahead"), "date_time_days_ahead", 0, 36600, &x, chk);
    int_opt(json_object_get(job, "keep_days_default"), "keep_days_default", 0, 36600, &x, chk);
    int_opt(json_object_get(job, "batch_rows"), "batch_rows", 100, 1000000, &x, chk);
    const json_t *k = json_object_get(job, "keep_days");
    if (k && !json_is_object(k)) {
        chk->problem(chk, k, "maintenance: keep_days is a map of fact table -> days to keep (0: never purged)");
        return;
    }
    const char *t;
    const json_t *v;
    json_object_foreach((json_t *)k, t, v)
    {
        if (!table_name_ok(t))
            chk->problem(chk, v, "maintenance: keep_days: '%s' is not a table name ([a-z0-9_]+)", t);
        int_opt(v, "keep_days", 0, 36600, &x, chk);
    }
}

static void close_maint(void *state)
{
    struct maint *m = state;
    if (!m)
        return;
    for (size_t i = 0; i < m->nkeep; i++)
        free(m->keep[i].table);
    free(m->keep);
    free(m);
}

static void *open_maint(const json_t *job, const gim_job_env *env, char *why, size_t why_size)
{
    (void)env;
    struct maint *m = mf_xcalloc(1, sizeof *m);
    m->days_ahead = DEFAULT_DAYS_AHEAD;
    m->keep_default = DEFAULT_KEEP_DAYS;
    m->batch_rows = DEFAULT_BATCH_ROWS;
    const json_t *k = json_object_get(job, "keep_days");
    bool ok = int_opt(json_object_get(job, "date_time_days_ahead"), "", 0, 36600, &m->days_ahead, NULL) &&
              int_opt(json_object_get(job, "keep_days_default"), "", 0, 36600, &m->keep_default, NULL) &&
              int_opt(json_object_get(job, "batch_rows"), "", 100, 1000000, &m->batch_rows, NULL) &&
              (!k || json_is_object(k));
    m->keep = mf_xcalloc(json_object_size(k) + 1, sizeof *m->keep);
    const char *t;
    const json_t *v;
    json_object_foreach((json_t *)k, t, v)
    {
        struct keep *e = &m->keep[m->nkeep++];
        e->table = mf_xstrdup(t);
        ok = ok && table_name_ok(t) && int_opt(v, "", 0, 36600, &e->days, NULL);
    }
    if (!ok) {
        snprintf(why, why_size, "maintenance: options not checked");
        close_maint(m);
        return NULL;
    }
    return m;
}

/* ---- a run -------------------------------------------------------------------------- */

struct table {
    char *name;
    bool partitioned;
    int64_t days, cutoff, rows, hist_key;
};

struct pass {
    struct maint *m;
    gim_job_run *run;
    struct table t[MAX_TABLES];
    size_t n;
};

static pgc_class pg_fail(struct pass *p, const char *what)
{
    const pgc_error *err = pgc_last_error(p->run->pg);
    if (err->sqlstate[0])
        snprintf(p->run->error, sizeof p->run->error, "%.60s: SQLSTATE %s: %.640s", what, err->sqlstate, err->message);
    else
        snprintf(p->run->error, sizeof p->run->error, "%.60s: %.640s", what, err->message);
    return err->cls == PGC_OK ? PGC_FATAL : err->cls;
}

static void log_info(struct pass *p, const char *fmt, ...) MF_PRINTF(2, 3);
static void log_info(struct pass *p, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    p->run->env->host->log(p->run->env->node, MF_LOG_INFO, "maintenance '%s': %s", p->run->name, msg);
}

static pgc_class date_time_ahead(struct pass *p)
{
    char days[24];
    snprintf(days, sizeof days, "%" PRId64, p->m->days_ahead);
    const char *q[1] = {days};
    PGresult *r = NULL;
    /* audit key 0, as the loader's own filling at its start */
    if (pgc_exec(p->run->pg, "SELECT infomart_populate_date_time(now(), now() + make_interval(days => $1::int))", 1,
                 q, &r) != PGC_OK)
        return pg_fail(p, "filling DATE_TIME");
    int64_t added = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    log_info(p, "DATE_TIME: %" PRId64 " rows added (%" PRId64 " days ahead)", added, p->m->days_ahead);
    p->run->rows += added;
    return PGC_OK;
}

/* The monthly partitions of every partitioned fact, up to the DATE_TIME
 * horizon: the loader then rarely has to make one (which takes a lock on the
 * fact that waits for readers, inside its cycle). */
static pgc_class partitions_ahead(struct pass *p)
{
    char days[24];
    snprintf(days, sizeof days, "%" PRId64, p->m->days_ahead);
    const char *q[1] = {days};
    PGresult *r = NULL;
    if (pgc_exec(p->run->pg,
                 "SELECT coalesce(sum(infomart_ensure_partitions(c.relname::text, ARRAY(SELECT"
                 " extract(epoch FROM g)::bigint FROM generate_series(date_trunc('month', now() AT TIME ZONE 'UTC'),"
                 " now() AT TIME ZONE 'UTC' + make_interval(days => $1::int), interval '1 month') g))), 0)"
                 " FROM pg_partitioned_table pt JOIN pg_class c ON c.oid = pt.partrelid"
                 " WHERE c.relnamespace = current_schema()::regnamespace AND c.relname LIKE '%\\_fact'",
                 1, q, &r) != PGC_OK)
        return pg_fail(p, "making partitions ahead");
    int64_t made = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    log_info(p, "partitions: %" PRId64 " made (%" PRId64 " days ahead)", made, p->m->days_ahead);
    return PGC_OK;
}

/* The fact tables (*_fact with end_ts) and their cutoffs; keep_days must name some. */
static pgc_class read_tables(struct pass *p)
{
    PGresult *r = NULL;
    if (pgc_exec(p->run->pg,
                 "SELECT c.relname, c.relkind = 'p' FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                 " WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND NOT c.relispartition"
                 " AND c.relname LIKE '%\\_fact'"
                 " AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid"
                 "             AND a.attname = 'end_ts' AND NOT a.attisdropped)"
                 " ORDER BY c.relname",
                 0, NULL, &r) != PGC_OK)
        return pg_fail(p, "reading the fact tables");
    int nt = PQntuples(r);
    int64_t now_s = p->run->start_ms / 1000;
    for (int i = 0; i < nt && p->n < MAX_TABLES; i++) {
        const char *name = PQgetvalue(r, i, 0);
        if (!table_name_ok(name))
            continue;
        struct table *t = &p->t[p->n++];
        t->name = mf_xstrdup(name);
        t->partitioned = PQgetvalue(r, i, 1)[0] == 't';
        t->days = p->m->keep_default;
        for (size_t k = 0; k < p->m->nkeep; k++)
            if (!strcmp(p->m->keep[k].table, name))
                t->days = p->m->keep[k].days;
        t->cutoff = now_s - t->days * 86400;
    }
    pgc_class cls = PGC_OK;
    for (size_t k = 0; k < p->m->nkeep && cls == PGC_OK; k++) {
        bool found = false;
        for (size_t i = 0; i < p->n && !found; i++)
            found = !strcmp(p->t[i].name, p->m->keep[k].table);
        if (!found) {
            snprintf(p->run->error, sizeof p->run->error, "keep_days: '%s' is not an Info Mart fact table with end_ts",
                     p->m->keep[k].table);
            cls = PGC_FATAL;
        }
    }
    PQclear(r);
    return cls;
}

static pgc_class history_start(struct pass *p, struct table *t)
{
    char cut[24], st[24];
    snprintf(cut, sizeof cut, "%" PRId64, t->cutoff);
    snprintf(st, sizeof st, "%" PRId64, p->run->start_ms / 1000);
    const char *q[3] = {t->name, cut, st};
    PGresult *r = NULL;
    if (pgc_exec(p->run->pg,
                 "INSERT INTO ctl_purge_history (table_name, cutoff_ts, start_ts, status)"
                 " VALUES ($1, $2, $3, 'RUNNING') RETURNING purge_history_key",
                 3, q, &r) != PGC_OK)
        return pg_fail(p, "writing ctl_purge_history");
    t->hist_key = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return PGC_OK;
}

static void history_end(struct pass *p, struct table *t, bool ok)
{
    char k[24], e[24], n[24];
    snprintf(k, sizeof k, "%" PRId64, t->hist_key);
    snprintf(e, sizeof e, "%" PRId64, p->run->env->host->now_ms() / 1000);
    snprintf(n, sizeof n, "%" PRId64, t->rows);
    const char *q[5] = {k, ok ? "SUCCESS" : "FAILED", e, n, ok ? NULL : p->run->error};
    /* best effort: the run's own outcome is in ctl_etl_history */
    pgc_exec(p->run->pg,
             "UPDATE ctl_purge_history SET status = $2, end_ts = $3, row_count = $4, error_message = $5"
             " WHERE purge_history_key = $1",
             5, q, NULL);
}

static void pause_ms(int64_t ms)
{
    struct timespec ts = {.tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* One table that is not partitioned (or one partition), `name`: batches
 * until one deletes fewer than batch_rows. */
static pgc_class purge_rows(struct pass *p, struct table *t, const char *name)
{
    char cut[24], lim[24];
    snprintf(cut, sizeof cut, "%" PRId64, t->cutoff);
    snprintf(lim, sizeof lim, "%" PRId64, p->m->batch_rows);
    const char *q[2] = {cut, lim};
    /* ctid, locked in the same statement: the row cannot move before it is
     * deleted; SKIP LOCKED: the rows of an open loader cycle are not waited
     * for. A ctid names a row of one table only: never of a partitioned one. */
    char *sql = mf_xasprintf("DELETE FROM %s WHERE ctid = ANY (ARRAY (SELECT ctid FROM %s WHERE end_ts < $1"
                             " LIMIT $2 FOR UPDATE SKIP LOCKED))",
                             name, name);
    pgc_class cls = PGC_OK;
    for (;;) {
        PGresult *r = NULL;
        int tries = 0;
        while ((cls = pgc_exec(p->run->pg, sql, 2, q, &r)) == PGC_TRANSIENT && ++tries < BATCH_TRIES) {
            const char *st = pgc_last_error(p->run->pg)->sqlstate;
            if (strcmp(st, "40P01") && strcmp(st, "40001"))
                break; /* the connection or the server: the run fails, the next one goes on */
            log_info(p, "%s: a batch refused (SQLSTATE %s), retried", t->name, st);
            pause_ms(BATCH_PAUSE_MS * tries);
        }
        if (cls != PGC_OK) {
            cls = pg_fail(p, name);
            break;
        }
        int64_t n = strtoll(PQcmdTuples(r), NULL, 10);
        PQclear(r);
        t->rows += n;
        p->run->rows += n;
        if (n < p->m->batch_rows)
            break;
    }
    free(sql);
    return cls;
}

/*
 * A partitioned fact, partition by partition: one whose every row ended
 * before the cutoff (none active) is dropped whole; one that started before
 * the cutoff but keeps some rows is purged in batches; younger ones cannot
 * hold a row to purge (a fact ends after it starts).
 */
static pgc_class purge_partitions(struct pass *p, struct table *t)
{
    char cut[24];
    snprintf(cut, sizeof cut, "%" PRId64, t->cutoff);
    const char *q[2] = {t->name, cut};
    PGresult *r = NULL;
    if (pgc_exec(p->run->pg,
                 "SELECT c.relname, substring(pg_get_expr(c.relpartbound, c.oid) FROM 'FROM \\(''?(-?[0-9]+)')::bigint,"
                 "       substring(pg_get_expr(c.relpartbound, c.oid) FROM 'TO \\(''?(-?[0-9]+)')::bigint"
                 "  FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
                 " WHERE i.inhparent = $1::regclass"
                 "   AND substring(pg_get_expr(c.relpartbound, c.oid) FROM 'FROM \\(''?(-?[0-9]+)')::bigint < $2::bigint"
                 " ORDER BY 2",
                 2, q, &r) != PGC_OK)
        return pg_fail(p, "reading the partitions");
    pgc_class cls = PGC_OK;
    int64_t dropped = 0;
    for (int i = 0; i < PQntuples(r) && cls == PGC_OK; i++) {
        const char *part = PQgetvalue(r, i, 0);
        if (!table_name_ok(part))
            continue;
        bool whole = !PQgetisnull(r, i, 2) && strtoll(PQgetvalue(r, i, 2), NULL, 10) <= t->cutoff;
        if (whole) {
            /* the count and the drop in one transaction: a row the loader
             * adds meanwhile waits for the drop's lock, then finds no partition */
            char *count = mf_xasprintf("SELECT count(*), count(*) FILTER (WHERE end_ts IS NULL OR end_ts >= $1)"
                                       " FROM %s", part);
            char *drop = mf_xasprintf("DROP TABLE %s", part);
            PGresult *c = NULL;
            const char *cq[1] = {cut};
            if ((cls = pgc_begin(p->run->pg)) == PGC_OK && (cls = pgc_exec(p->run->pg, count, 1, cq, &c)) == PGC_OK) {
                int64_t rows = strtoll(PQgetvalue(c, 0, 0), NULL, 10), keep = strtoll(PQgetvalue(c, 0, 1), NULL, 10);
                PQclear(c);
                if (keep == 0 && (cls = pgc_exec(p->run->pg, drop, 0, NULL, NULL)) == PGC_OK) {
                    t->rows += rows;
                    p->run->rows += rows;
                    dropped++;
                } else {
                    whole = false;
                }
            }
            if (cls == PGC_OK)
                cls = pgc_commit(p->run->pg);
            else
                pgc_rollback(p->run->pg);
            free(count);
            free(drop);
            if (cls != PGC_OK) {
                cls = pg_fail(p, part);
                break;
            }
        }
        if (!whole)
            cls = purge_rows(p, t, part);
    }
    PQclear(r);
    if (dropped)
        log_info(p, "%s: %" PRId64 " monthly partitions dropped whole", t->name, dropped);
    return cls;
}

static pgc_class purge_table(struct pass *p, struct table *t)
{
    return t->partitioned ? purge_partitions(p, t) : purge_rows(p, t, t->name);
}

static pgc_class purge_all(struct pass *p)
{
    pgc_class cls = PGC_OK;
    for (size_t i = 0; i < p->n && cls == PGC_OK; i++) {
        struct table *t = &p->t[i];
        if (!t->days)
            continue; /* kept for ever */
        if ((cls = history_start(p, t)) != PGC_OK)
            break;
        cls = purge_table(p, t);
        history_end(p, t, cls == PGC_OK);
        log_info(p, "%s: %" PRId64 " rows ended before %" PRId64 " purged (%" PRId64 " days kept)", t->name, t->rows,
                 t->cutoff, t->days);
    }
    return cls;
}

/* Statistics of the tables that lost rows (ANALYZE does not block the loader's writes). */
static pgc_class analyze(struct pass *p)
{
    for (size_t i = 0; i < p->n; i++) {
        if (!p->t[i].rows)
            continue;
        char *sql = mf_xasprintf("ANALYZE %s", p->t[i].name);
        pgc_class cls = pgc_exec(p->run->pg, sql, 0, NULL, NULL);
        free(sql);
        if (cls != PGC_OK)
            return pg_fail(p, "ANALYZE");
    }
    return PGC_OK;
}

static pgc_class run_maint(void *state, gim_job_run *run)
{
    struct pass *p = mf_xcalloc(1, sizeof *p);
    p->m = state;
    p->run = run;
    pgc_class cls = date_time_ahead(p);
    if (cls == PGC_OK)
        cls = partitions_ahead(p);
    if (cls == PGC_OK)
        cls = read_tables(p);
    if (cls == PGC_OK)
        cls = purge_all(p);
    if (cls == PGC_OK)
        cls = analyze(p);
    for (size_t i = 0; i < p->n; i++)
        free(p->t[i].name);
    free(p);
    return cls;
}

const gim_job_kind gim_maint_kind = {
    .name = "maintenance",
    .keys = keys,
    .check = check,
    .open = open_maint,
    .run = run_maint,
    .close = close_maint,
};
