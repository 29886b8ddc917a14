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

struct pgw {
    pgc *pg;
    const mf_host *host;
    mf_node *node;
    char *create_sql; /* NULL in mode copy */
    char *copy_sql;
    char *insert_sql; /* NULL in mode copy */
    bool seq;
    uint64_t stage_session; /* the session whose staging table is committed */
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
        free(target);
        return w;
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

/* One transaction of rows idx[0, n). */
static pgc_class txn(pgw *w, pgrb *rb, const uint32_t *idx, size_t n)
{
    int64_t t0 = w->host->monotonic_ms();
    pgc_class cls = pgc_begin(w->pg);
    if (cls != PGC_OK)
        return failed(w, cls);
    bool create = w->create_sql && pgc_session(w->pg) != w->stage_session;
    if (create && (cls = pgc_exec(w->pg, w->create_sql, 0, NULL, NULL)) != PGC_OK)
        return failed(w, cls);
    size_t len;
    const char *data = pgrb_data(rb, idx, n, &len);
    if ((cls = pgc_copy_in_sql(w->pg, w->copy_sql, data, len, NULL)) != PGC_OK)
        return failed(w, cls);
    if (w->insert_sql && (cls = pgc_exec(w->pg, w->insert_sql, 0, NULL, NULL)) != PGC_OK)
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
        pgrb_set_state(rb, idx[i], PGRB_DONE);
    return PGC_OK;
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

/* Write idx[0, n), isolating bad rows (the array is reordered within). */
static pgc_class solve(pgw *w, pgrb *rb, uint32_t *idx, size_t n)
{
    while (n > 0) {
        pgc_class cls = txn(w, rb, idx, n);
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
        if ((cls = solve(w, rb, idx, half)) != PGC_OK)
            return cls;
        idx += half;
        n -= half;
    }
    return PGC_OK;
}

pgc_class pgw_write(pgw *w, pgrb *rb)
{
    size_t n = pgrb_count(rb);
    memset(&w->err, 0, sizeof w->err);
    if (!n)
        return PGC_OK;
    if (n > w->cap_idx) {
        w->cap_idx = n;
        w->idx = mf_xrealloc(w->idx, n * sizeof *w->idx);
    }
    for (size_t i = 0; i < n; i++)
        w->idx[i] = (uint32_t)i;
    pgc_class cls = solve(w, rb, w->idx, n);
    if (cls == PGC_TRANSIENT)
        add(w, w->m.retry_transient, 1);
    return cls;
}
