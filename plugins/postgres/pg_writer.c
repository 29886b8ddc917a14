/*
 * pg_writer.c — transactions of rows, and the search for bad rows. See
 * pg_writer.h.
 */
#include "pg_writer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STAGE "pg_temp.mf_stage"
#define SEQ "mf_seq"

/* Send rows to an open stream once this much COPY text waits: fewer, larger
 * CopyData messages, and no transaction opened for a trickle of rows. */
#define FEED_BYTES (256 * 1024)

struct pgw {
    pgc *pg;
    const mf_host *host;
    mf_node *node;
    char *create_sql; /* NULL in mode copy */
    char *copy_sql;   /* into the staging table (mode copy: the table) */
    char *insert_sql; /* NULL in mode copy */
    char *direct_sql; /* mode insert: COPY into the table itself, when it is a plain one */
    char *probe_sql;  /* mode insert: is it? */
    bool seq;
    uint64_t stage_session; /* the session whose staging table is committed */
    uint64_t probe_session; /* the session probe_sql ran in */
    bool direct;            /* its answer (always true in mode copy) */
    char *probe_table;      /* the quoted name probe_sql is given */
    /* The stream: a transaction with its COPY open, the first `sent` rows of
     * the buffer sent (pgw_feed), finished by pgw_write. */
    bool streaming, stream_failed, stream_create;
    size_t sent;
    int64_t stream_t0;
    pgc_error err;
    uint32_t *idx;
    size_t cap_idx;
    struct pgw_metrics m;
};

static void add(const pgw *w, mf_metric *m, double v)
{
    if (m)
        w->host->metric_add(m, v);
}

/* "a, b, c" of the quoted names of cols (all, or the n given by index). */
static void list(mf_buffer *b, const struct pgcol_spec *spec, const int *only, size_t n, const char *prefix)
{
    size_t count = only ? n : spec->n;
    for (size_t i = 0; i < count; i++) {
        if (i)
            mf_buffer_append_str(b, ", ");
        mf_buffer_append_str(b, prefix);
        mf_buffer_append_str(b, spec->cols[only ? (size_t)only[i] : i].quoted);
    }
}

static char *take(mf_buffer *b)
{
    mf_buffer_append(b, "", 1);
    char *s = (char *)b->data;
    *b = (mf_buffer){0};
    return s;
}

static bool is_key(const int *key, size_t n_key, size_t col)
{
    for (size_t k = 0; k < n_key; k++)
        if ((size_t)key[k] == col)
            return true;
    return false;
}

pgw *pgw_new(pgc *pg, const mf_host *host, mf_node *node, const char *table, const struct pgcol_spec *spec,
             pgw_mode mode, const int *key, size_t n_key, const struct pgw_metrics *metrics)
{
    pgw *w = mf_xcalloc(1, sizeof *w);
    w->pg = pg;
    w->host = host;
    w->node = node;
    if (metrics)
        w->m = *metrics;
    char *target = pg_ident_quote(table);
    mf_buffer b = {0};
    if (mode == PGW_COPY) {
        mf_buffer_append_str(&b, "COPY ");
        mf_buffer_append_str(&b, target);
        mf_buffer_append_str(&b, " (");
        list(&b, spec, NULL, 0, "");
        mf_buffer_append_str(&b, ") FROM STDIN");
        w->copy_sql = take(&b);
        w->direct = true;
        free(target);
        return w;
    }
    if (mode == PGW_INSERT) {
        /* A plain or partitioned table with no rules and no row security
         * takes COPY exactly as it takes INSERT (defaults, triggers,
         * constraints; errors name the COPY line): no staging needed. A view,
         * a foreign table or one with rules goes through the staging table. */
        mf_buffer_append_str(&b, "COPY ");
        mf_buffer_append_str(&b, target);
        mf_buffer_append_str(&b, " (");
        list(&b, spec, NULL, 0, "");
        mf_buffer_append_str(&b, ") FROM STDIN");
        w->direct_sql = take(&b);
        w->probe_sql = mf_xstrdup("SELECT c.relkind IN ('r', 'p') AND NOT c.relhasrules AND NOT c.relrowsecurity "
                                  "FROM pg_catalog.pg_class c WHERE c.oid = $1::regclass");
        w->probe_table = mf_xstrdup(target);
    }
    w->seq = mode == PGW_UPSERT;
    /* The staging table has the target's column types (with their length
     * limits, so a too-long value fails in the COPY, naming its line) and
     * nothing else: no defaults, no constraints, no identity. */
    mf_buffer_append_str(&b, "CREATE TEMP TABLE mf_stage ON COMMIT DELETE ROWS AS SELECT ");
    list(&b, spec, NULL, 0, "");
    mf_buffer_append_str(&b, ", 0::bigint AS " SEQ " FROM ");
    mf_buffer_append_str(&b, target);
    mf_buffer_append_str(&b, " WITH NO DATA");
    w->create_sql = take(&b);

    mf_buffer_append_str(&b, "COPY " STAGE " (");
    list(&b, spec, NULL, 0, "");
    mf_buffer_append_str(&b, w->seq ? ", " SEQ ") FROM STDIN" : ") FROM STDIN");
    w->copy_sql = take(&b);

    mf_buffer_append_str(&b, "INSERT INTO ");
    mf_buffer_append_str(&b, target);
    mf_buffer_append_str(&b, " (");
    list(&b, spec, NULL, 0, "");
    mf_buffer_append_str(&b, ") SELECT ");
    if (mode == PGW_UPSERT) {
        /* One row per key, the last one given: ON CONFLICT may not touch a
         * row twice in one statement. */
        mf_buffer_append_str(&b, "DISTINCT ON (");
        list(&b, spec, key, n_key, "");
        mf_buffer_append_str(&b, ") ");
    }
    list(&b, spec, NULL, 0, "");
    mf_buffer_append_str(&b, " FROM " STAGE);
    if (mode == PGW_UPSERT) {
        mf_buffer_append_str(&b, " ORDER BY ");
        list(&b, spec, key, n_key, "");
        mf_buffer_append_str(&b, ", " SEQ " DESC ON CONFLICT (");
        list(&b, spec, key, n_key, "");
        mf_buffer_append_str(&b, ") DO ");
        bool any = false;
        for (size_t i = 0; i < spec->n; i++) {
            if (is_key(key, n_key, i))
                continue;
            mf_buffer_append_str(&b, any ? ", " : "UPDATE SET ");
            mf_buffer_append_str(&b, spec->cols[i].quoted);
            mf_buffer_append_str(&b, " = EXCLUDED.");
            mf_buffer_append_str(&b, spec->cols[i].quoted);
            any = true;
        }
        if (!any)
            mf_buffer_append_str(&b, "NOTHING");
    }
    w->insert_sql = take(&b);
    free(target);
    return w;
}

void pgw_free(pgw *w)
{
    if (!w)
        return;
    free(w->create_sql);
    free(w->copy_sql);
    free(w->insert_sql);
    free(w->direct_sql);
    free(w->probe_sql);
    free(w->probe_table);
    free(w->idx);
    free(w);
}

bool pgw_wants_seq(const pgw *w)
{
    return w->seq;
}

const pgc_error *pgw_error(const pgw *w)
{
    return &w->err;
}

/* Keep the error, roll back (which resets the client's error), return its class. */
static pgc_class failed(pgw *w, pgc_class cls)
{
    w->err = *pgc_last_error(w->pg);
    pgc_rollback(w->pg);
    return cls;
}

/* In a transaction just begun: what this session needs before the COPY
 * (whether the table takes it directly, the staging table); *create: the
 * staging table was made in it. Returns the COPY statement in *copy_sql. */
static pgc_class prepare(pgw *w, bool *create, const char **copy_sql)
{
    pgc_class cls;
    *create = false;
    if (w->probe_sql && pgc_session(w->pg) != w->probe_session) {
        PGresult *res = NULL;
        const char *params[] = {w->probe_table};
        if ((cls = pgc_exec(w->pg, w->probe_sql, 1, params, &res)) != PGC_OK)
            return cls;
        w->direct = PQntuples(res) == 1 && !strcmp(PQgetvalue(res, 0, 0), "t");
        PQclear(res);
        w->probe_session = pgc_session(w->pg);
        w->host->log(w->node, MF_LOG_DEBUG,
                     w->direct ? "table %s: rows are copied straight into it (a plain table)"
                               : "table %s: rows go through the staging table (a view, a foreign table, or rules or "
                                 "row security)",
                     w->probe_table);
    }
    *copy_sql = w->direct && w->direct_sql ? w->direct_sql : w->copy_sql;
    if (w->direct)
        return PGC_OK;
    *create = pgc_session(w->pg) != w->stage_session;
    if (*create && (cls = pgc_exec(w->pg, w->create_sql, 0, NULL, NULL)) != PGC_OK)
        return cls;
    return PGC_OK;
}

/* After the COPY of rows idx[0, n) (len bytes; idx NULL: rows 0..n-1): the
 * INSERT from the staging table, COMMIT, the rows done. */
static pgc_class complete(pgw *w, pgrb *rb, const uint32_t *idx, size_t n, size_t len, bool create, int64_t t0)
{
    pgc_class cls;
    if (!w->direct && (cls = pgc_exec(w->pg, w->insert_sql, 0, NULL, NULL)) != PGC_OK)
        return failed(w, cls);
    if ((cls = pgc_commit(w->pg)) != PGC_OK)
        return failed(w, cls);
    if (create)
        w->stage_session = pgc_session(w->pg);
    add(w, w->m.rows, (double)n);
    add(w, w->m.batches, 1);
    add(w, w->m.copy_bytes, (double)len);
    if (w->m.commit_seconds)
        w->host->metric_set(w->m.commit_seconds, (double)(w->host->monotonic_ms() - t0) / 1000.0);
    for (size_t i = 0; i < n; i++)
        pgrb_set_state(rb, idx ? idx[i] : i, PGRB_DONE);
    return PGC_OK;
}

/* One transaction of rows idx[0, n). */
static pgc_class txn(pgw *w, pgrb *rb, const uint32_t *idx, size_t n)
{
    int64_t t0 = w->host->monotonic_ms();
    pgc_class cls = pgc_begin(w->pg);
    if (cls != PGC_OK)
        return failed(w, cls);
    bool create;
    const char *copy_sql;
    if ((cls = prepare(w, &create, &copy_sql)) != PGC_OK)
        return failed(w, cls);
    size_t len;
    const char *data = pgrb_data(rb, idx, n, &len);
    if ((cls = pgc_copy_in_sql(w->pg, copy_sql, data, len, NULL)) != PGC_OK)
        return failed(w, cls);
    return complete(w, rb, idx, n, len, create, t0);
}

static void mark_bad(pgw *w, pgrb *rb, uint32_t row)
{
    char reason[sizeof w->err.message + 128];
    if (w->err.column[0])
        snprintf(reason, sizeof reason, "PostgreSQL refused the row: SQLSTATE %s: %s (column %s)", w->err.sqlstate,
                 w->err.message, w->err.column);
    else
        snprintf(reason, sizeof reason, "PostgreSQL refused the row: SQLSTATE %s: %s", w->err.sqlstate,
                 w->err.message);
    pgrb_set_bad(rb, row, reason);
}

/* Write idx[0, n), isolating bad rows (the array is reordered within).
 * first: the outcome of an attempt at all n already made (PGC_DATA, its
 * error in w->err), or PGC_OK to start with one. */
static pgc_class solve(pgw *w, pgrb *rb, uint32_t *idx, size_t n, pgc_class first)
{
    while (n > 0) {
        pgc_class cls = first != PGC_OK ? first : txn(w, rb, idx, n);
        first = PGC_OK;
        if (cls != PGC_DATA)
            return cls;
        add(w, w->m.retry_data, 1);
        if (n == 1) {
            mark_bad(w, rb, idx[0]);
            return PGC_OK;
        }
        uint64_t line = w->err.copy_line;
        if (line >= 1 && line <= n) {
            /* The server named the row: it is bad, and the rest go again. */
            mark_bad(w, rb, idx[line - 1]);
            memmove(idx + line - 1, idx + line, (n - line) * sizeof *idx);
            n--;
            continue;
        }
        size_t half = n / 2;
        if ((cls = solve(w, rb, idx, half, PGC_OK)) != PGC_OK)
            return cls;
        idx += half;
        n -= half;
    }
    return PGC_OK;
}

/* End the stream, rolling back what it began. */
static void stream_drop(pgw *w)
{
    if (w->streaming || w->stream_failed)
        pgc_rollback(w->pg);
    w->streaming = w->stream_failed = false;
    w->sent = 0;
}

void pgw_feed(pgw *w, pgrb *rb)
{
    size_t n = pgrb_count(rb), len;
    if (w->stream_failed || n == w->sent)
        return;
    const char *data = pgrb_text(rb, w->sent, n, &len);
    if (len < FEED_BYTES)
        return;
    pgc_class cls = PGC_OK;
    if (!w->streaming) {
        const char *copy_sql;
        w->stream_t0 = w->host->monotonic_ms();
        if ((cls = pgc_begin(w->pg)) == PGC_OK && (cls = prepare(w, &w->stream_create, &copy_sql)) == PGC_OK)
            cls = pgc_copy_start(w->pg, copy_sql);
        w->streaming = cls == PGC_OK;
    }
    if (cls == PGC_OK)
        cls = pgc_copy_put(w->pg, data, len);
    if (cls != PGC_OK) {
        /* pgw_write starts again without the stream (and meets the error
         * again, or not: a statement_timeout of an idle stream) */
        w->streaming = false;
        w->stream_failed = true;
        pgc_rollback(w->pg);
        return;
    }
    w->sent = n;
}

/* Finish the stream for every row of rb: like txn() for rows 0..n-1, whose
 * COPY text went out while they were added. */
static pgc_class stream_finish(pgw *w, pgrb *rb, size_t n)
{
    size_t len, total;
    pgc_class cls = PGC_OK;
    if (n > w->sent) {
        const char *data = pgrb_text(rb, w->sent, n, &len);
        cls = pgc_copy_put(w->pg, data, len);
    }
    pgrb_text(rb, 0, n, &total);
    w->streaming = false;
    w->sent = 0;
    if (cls == PGC_OK)
        cls = pgc_copy_finish(w->pg, NULL);
    w->host->log(w->node, MF_LOG_DEBUG, "%zu rows: the COPY went out while they were added (%s)", n,
                 cls == PGC_OK ? "accepted" : pgc_class_name(cls));
    if (cls != PGC_OK)
        return failed(w, cls);
    return complete(w, rb, NULL, n, total, w->stream_create, w->stream_t0);
}

pgc_class pgw_write(pgw *w, pgrb *rb)
{
    size_t n = pgrb_count(rb);
    memset(&w->err, 0, sizeof w->err);
    if (!n) {
        stream_drop(w);
        return PGC_OK;
    }
    if (n > w->cap_idx) {
        w->cap_idx = n;
        w->idx = mf_xrealloc(w->idx, n * sizeof *w->idx);
    }
    for (size_t i = 0; i < n; i++)
        w->idx[i] = (uint32_t)i;
    pgc_class first = PGC_OK;
    if (w->streaming && w->sent <= n) {
        /* a data error goes on to the search for bad rows; any other error
         * of the stream gets one plain attempt */
        first = stream_finish(w, rb, n);
        if (first == PGC_OK)
            return PGC_OK;
        if (first != PGC_DATA)
            first = PGC_OK;
    } else {
        stream_drop(w);
    }
    pgc_class cls = solve(w, rb, w->idx, n, first);
    if (cls == PGC_TRANSIENT)
        add(w, w->m.retry_transient, 1);
    return cls;
}
