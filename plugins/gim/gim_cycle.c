/*
 * gim_cycle.c — one ETL cycle's transaction (see gim_cycle.h).
 */
#include "gim_cycle.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <martflow/helpers.h>

#include "gim_map.h"
#include "pg_copybin.h"
#include "pg_copytext.h"

#define OP_UPSERT 0
#define OP_UPDATE 1
#define OP_FACT_DELETE 2
#define OP_DIM_DELETE 3 /* an update that is never kept for later */

/* The statements of one table, built once. */
struct tsql {
    char *stage_ddl, *copy, *del, *rename, *upd_existing, *ins_new, *upd;
    char *copy_bin;  /* the COPY in binary (pg_copybin.h) */
    pgb_type *bt;    /* the columns' codecs, then gim_mask, gim_op, gim_row */
    bool binary;     /* every column an integer or text: the loader's values have a binary form */
};

struct gim_cycle {
    uint64_t staged_session; /* the session whose staging tables exist */
    int64_t window_s;        /* partition_window, seconds (0: none) */
    const gim_tables *ts;    /* the tables the statements are for */
    struct tsql *sql;
};

/* One record of the run: a cycle record or a kept update. */
struct crec {
    gim_rec r;
    long in;             /* index into in->blob, or -1: a kept update */
    const char *json;    /* the record's JSON text (updates) */
    size_t jlen;
    char *rowkey;        /* id / natural key (owned) */
    size_t rklen;
};

/* Records merged by row. */
struct ment {
    int table;
    uint32_t key_rec;         /* a record of the row, for its key fields and tenant */
    bool deleted, has_ups, has_upd, nopend;
    const gim_field **u, **d; /* the latest field per column, of upserts / updates */
    uint32_t *upd_recs;       /* the updates merged into d, in order */
    size_t n_upd, cap_upd;
};

/* A staging line: which row and operation. */
struct line {
    uint32_t ent;
    uint8_t op;
};

struct run {
    gim_cycle *cy;
    const gim_cycle_in *in;
    gim_cycle_out *out;
    pgc *pg;
    int64_t audit_key, now_s;
    struct crec *recs;
    size_t nrecs, caprecs;
    gim_field *fields;      /* of the cycle records */
    gim_field *pfields;     /* of the kept updates */
    mf_buffer pblobs;       /* byte forms of the kept updates */
    struct ment *ents;
    size_t nents, capents;
    gim_map rows;           /* table + row key -> ents index */
    gim_field now_field;    /* gmt_end_time of a dimension delete without one */
    char now_text[24];
    int64_t min_dt, max_dt;
    int64_t lap_us;         /* monotonic µs of the last step's end */
    mf_buffer timings;      /* "step ms, ..." for the cycle's debug line */
    bool had_pending;       /* gim_pending_update had rows at the start */
    struct sval *sv;        /* stage_values: a line's values, and its mask */
    char *mask;
    size_t cap_sv;
};

/* ---- step timings ------------------------------------------------------------------------- */

static int64_t mono_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

/* Note the time since the previous step under name (table: its SQL name, or NULL). */
static void lap(struct run *x, const char *table, const char *step)
{
    int64_t now = mono_us();
    char s[160];
    int n = snprintf(s, sizeof s, "%s%s%s%s %.1f", x->timings.len ? ", " : "", table ? table : "", table ? " " : "",
                     step, (double)(now - x->lap_us) / 1000.0);
    mf_buffer_append(&x->timings, s, (size_t)n);
    x->lap_us = now;
}

/* ---- SQL text -------------------------------------------------------------------------- */

static void add(mf_buffer *b, const char *s)
{
    mf_buffer_append_str(b, s);
}

static void addf(mf_buffer *b, const char *fmt, ...) MF_ALLOC_PRINTF(2, 3);
static void addf(mf_buffer *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = mf_xvasprintf(fmt, ap);
    va_end(ap);
    mf_buffer_append_str(b, s);
    free(s);
}

static char *done(mf_buffer *b)
{
    mf_buffer_append(b, "", 1);
    return (char *)b->data;
}

static bool settable(const gim_col *c)
{
    return !c->key && c->src != GIM_SRC_TENANT && strcmp(c->name, "create_audit_key") != 0;
}

static void key_match(mf_buffer *b, const gim_table *t)
{
    for (int i = 0; t->key[i] >= 0; i++)
        addf(b, "%sd.%s = s.%s", i ? " AND " : "", t->cols[t->key[i]].name, t->cols[t->key[i]].name);
}

/* A partitioned fact's row is found by its id; with a window (the sink's
 * partition_window), only among the rows that started within that many
 * seconds of the staged row's start, so the partitions of other months are
 * not searched (run-time pruning). */
static void part_window(mf_buffer *b, const gim_table *t, int64_t window_s)
{
    if (t->partitioned && window_s > 0)
        addf(b, " AND d.start_ts BETWEEN s.start_ts - %" PRId64 " AND s.start_ts + %" PRId64, window_s, window_s);
}

/* Whether the staged line has column %zu (1-based). A line with every column
 * has no mask (NULL): most do, and the test is then one null check where
 * substr() on each column was two fifths of an INSERT's time. */
#define MASK_HAS "(s.gim_mask IS NULL OR substr(s.gim_mask, %zu, 1) = '1')"

/* The value column i takes: the staged one where present, else the stored one. */
static void new_value(mf_buffer *b, const gim_table *t, size_t i)
{
    const char *c = t->cols[i].name;
    addf(b, "CASE WHEN " MASK_HAS " THEN s.%s ELSE d.%s END", i + 1, c, c);
}

static void set_list(mf_buffer *b, const gim_table *t)
{
    bool first = true;
    for (size_t i = 0; i < t->ncols; i++) {
        const gim_col *c = &t->cols[i];
        if (!settable(c))
            continue;
        addf(b, "%s%s = ", first ? "" : ", ", c->name);
        new_value(b, t, i);
        first = false;
    }
}

/* " AND (stored columns) IS DISTINCT FROM (new values)": an upsert that
 * changes nothing but update_audit_key leaves the row alone (no new row
 * version, no index entries; the row keeps the audit key of its last change). */
static void changed(mf_buffer *b, const gim_table *t)
{
    mf_buffer l = {0}, r = {0};
    for (size_t i = 0; i < t->ncols; i++) {
        const gim_col *c = &t->cols[i];
        if (!settable(c) || c->src == GIM_SRC_AUDIT)
            continue;
        addf(&l, "%sd.%s", l.len ? ", " : "", c->name);
        if (r.len)
            add(&r, ", ");
        new_value(&r, t, i);
    }
    if (l.len)
        addf(b, " AND ROW(%.*s) IS DISTINCT FROM ROW(%.*s)", (int)l.len, (const char *)l.data, (int)r.len,
             (const char *)r.data);
    mf_buffer_free(&l);
    mf_buffer_free(&r);
}

static void build_sql(struct tsql *q, const gim_table *t, int64_t window_s)
{
    mf_buffer b = {0};
    addf(&b, "CREATE TEMP TABLE IF NOT EXISTS gim_s_%s ON COMMIT DELETE ROWS AS SELECT ", t->sql);
    for (size_t i = 0; i < t->ncols; i++)
        addf(&b, "%s%s", i ? ", " : "", t->cols[i].name);
    addf(&b, " FROM %s WITH NO DATA; ALTER TABLE gim_s_%s ADD COLUMN IF NOT EXISTS gim_mask text,"
             " ADD COLUMN IF NOT EXISTS gim_op smallint, ADD COLUMN IF NOT EXISTS gim_row integer",
         t->sql, t->sql);
    q->stage_ddl = done(&b);

    b = (mf_buffer){0};
    addf(&b, "COPY gim_s_%s (", t->sql);
    for (size_t i = 0; i < t->ncols; i++)
        addf(&b, "%s, ", t->cols[i].name);
    add(&b, "gim_mask, gim_op, gim_row) FROM STDIN");
    q->copy = done(&b);
    q->copy_bin = mf_xasprintf("%s WITH (FORMAT binary)", q->copy);
    q->bt = mf_xcalloc(t->ncols + 3, sizeof *q->bt);
    q->binary = true;
    for (size_t i = 0; i < t->ncols; i++) {
        pgb_type bt = q->bt[i] = pgb_type_of_name(t->cols[i].type);
        if (bt != PGB_INT2 && bt != PGB_INT4 && bt != PGB_INT8 && bt != PGB_TEXT)
            q->binary = false; /* the loader's values are integers and strings: anything else goes as text */
    }
    q->bt[t->ncols] = PGB_TEXT;
    q->bt[t->ncols + 1] = PGB_INT2;
    q->bt[t->ncols + 2] = PGB_INT4;

    b = (mf_buffer){0};
    addf(&b, "DELETE FROM %s d USING gim_s_%s s WHERE s.gim_op = %d AND ", t->sql, t->sql, OP_FACT_DELETE);
    key_match(&b, t);
    q->del = done(&b);

    b = (mf_buffer){0};
    addf(&b, "UPDATE %s d SET ", t->sql);
    set_list(&b, t);
    addf(&b, " FROM gim_s_%s s WHERE s.gim_op = %d AND ", t->sql, OP_UPSERT);
    key_match(&b, t);
    part_window(&b, t, window_s);
    changed(&b, t);
    q->upd_existing = done(&b);

    b = (mf_buffer){0};
    addf(&b, "INSERT INTO %s (", t->sql);
    for (size_t i = 0; i < t->ncols; i++)
        addf(&b, "%s%s", i ? ", " : "", t->cols[i].name);
    add(&b, ") SELECT ");
    for (size_t i = 0; i < t->ncols; i++) {
        const gim_col *c = &t->cols[i];
        if (!c->def) /* an absent value is staged as NULL: what the column takes */
            addf(&b, "%ss.%s", i ? ", " : "", c->name);
        else
            addf(&b, "%sCASE WHEN " MASK_HAS " THEN s.%s ELSE (%s)::%s END", i ? ", " : "",
                 i + 1, c->name, c->def, c->type);
    }
    addf(&b, " FROM gim_s_%s s WHERE s.gim_op = %d AND NOT EXISTS (SELECT 1 FROM %s d WHERE ", t->sql, OP_UPSERT,
         t->sql);
    key_match(&b, t);
    part_window(&b, t, window_s);
    add(&b, ") ORDER BY s.gim_row");
    q->ins_new = done(&b);


    b = (mf_buffer){0};
    addf(&b, "UPDATE %s d SET ", t->sql);
    set_list(&b, t);
    addf(&b, " FROM gim_s_%s s WHERE s.gim_op IN (%d, %d) AND ", t->sql, OP_UPDATE, OP_DIM_DELETE);
    key_match(&b, t);
    add(&b, " RETURNING s.gim_row");
    q->upd = done(&b);

    if (!strcmp(t->sql, "resource_")) /* switch "": completed by the only configuration row (events.md §2.5) */
        q->rename = mf_xstrdup(
            "UPDATE resource_ p SET switch_name = s.switch_name FROM gim_s_resource_ s"
            " WHERE s.gim_op = 0 AND s.switch_name <> '' AND p.tenant_key = s.tenant_key"
            " AND p.resource_type = s.resource_type AND p.resource_name = s.resource_name"
            " AND p.switch_name = '' AND p.placeholder_flag = 1"
            " AND NOT EXISTS (SELECT 1 FROM resource_ o WHERE o.tenant_key = p.tenant_key"
            "   AND o.resource_type = p.resource_type AND o.resource_name = p.resource_name AND o.switch_name <> '')"
            " AND (SELECT count(*) FROM gim_s_resource_ s2 WHERE s2.gim_op = 0 AND s2.tenant_key = s.tenant_key"
            "   AND s2.resource_type = s.resource_type AND s2.resource_name = s.resource_name"
            "   AND s2.switch_name <> '') = 1");
}

static void free_sql(gim_cycle *cy)
{
    if (cy->sql && cy->ts)
        for (size_t i = 0; i < cy->ts->n; i++) {
            struct tsql *q = &cy->sql[i];
            free(q->stage_ddl);
            free(q->copy);
            free(q->del);
            free(q->rename);
            free(q->upd_existing);
            free(q->ins_new);
            free(q->upd);
            free(q->copy_bin);
            free(q->bt);
        }
    free(cy->sql);
    cy->sql = NULL;
}

gim_cycle *gim_cycle_new(int64_t partition_window_s)
{
    gim_cycle *cy = mf_xcalloc(1, sizeof(gim_cycle));
    cy->window_s = partition_window_s;
    return cy;
}

void gim_cycle_free(gim_cycle *cy)
{
    if (!cy)
        return;
    free_sql(cy);
    free(cy);
}

/* ---- errors ---------------------------------------------------------------------------- */

static pgc_class fail(struct run *x, pgc_class cls, const char *what)
{
    const pgc_error *e = pgc_last_error(x->pg);
    x->out->err = *e;
    x->out->err.cls = cls;
    if (e->sqlstate[0])
        snprintf(x->out->why, sizeof x->out->why, "%s: SQLSTATE %s: %s", what, e->sqlstate, e->message);
    else
        snprintf(x->out->why, sizeof x->out->why, "%s: %s", what, e->message);
    return cls;
}

static pgc_class exec(struct run *x, const char *what, const char *sql, int n, const char *const *p, PGresult **r)
{
    pgc_class cls = pgc_exec(x->pg, sql, n, p, r);
    return cls == PGC_OK ? PGC_OK : fail(x, cls, what);
}

static pgc_class exec_rows(struct run *x, const char *what, const char *sql, uint64_t *rows)
{
    PGresult *r = NULL;
    pgc_class cls = exec(x, what, sql, 0, NULL, &r);
    if (cls == PGC_OK) {
        *rows += strtoull(PQcmdTuples(r), NULL, 10);
        PQclear(r);
    }
    return cls;
}

/* ---- records ----------------------------------------------------------------------------- */

static struct crec *new_rec(struct run *x)
{
    if (x->nrecs == x->caprecs) {
        x->caprecs = x->caprecs ? x->caprecs * 2 : 256;
        x->recs = mf_xrealloc(x->recs, x->caprecs * sizeof *x->recs);
    }
    struct crec *c = &x->recs[x->nrecs++];
    *c = (struct crec){.in = -1};
    return c;
}

static int64_t parse_i64(const gim_field *f)
{
    char buf[24];
    size_t n = f->len < sizeof buf - 1 ? f->len : sizeof buf - 1;
    memcpy(buf, f->v, n);
    buf[n] = '\0';
    return strtoll(buf, NULL, 10);
}

/* The row key of c: a fact's id, a dimension's tenant key and key fields. */
static void make_rowkey(struct run *x, struct crec *c)
{
    const gim_table *t = &x->in->ts->t[c->r.table];
    mf_buffer b = {0};
    if (!t->fact)
        addf(&b, "%" PRId32, c->r.tenant_key);
    for (int i = 0; t->key[i] >= 0; i++) {
        const gim_col *col = &t->cols[t->key[i]];
        if (col->src == GIM_SRC_TENANT && strcmp(col->name, "tenant_name") != 0)
            continue; /* tenant_key: already first */
        if (b.len)
            mf_buffer_append(&b, "\x1f", 1);
        if (col->src == GIM_SRC_TENANT) {
            mf_buffer_append(&b, c->r.tenant, c->r.tenant_len);
            continue;
        }
        const gim_field *f = gim_rec_get(&c->r, t->key[i]);
        if (f)
            mf_buffer_append(&b, f->v, f->len);
    }
    c->rklen = b.len;
    mf_buffer_append(&b, "", 1);
    c->rowkey = (char *)b.data;
}

static void decode_inputs(struct run *x)
{
    const gim_cycle_in *in = x->in;
    size_t total = 0;
    for (size_t i = 0; i < in->n; i++) {
        uint8_t table = ((const uint8_t *)in->blob[i])[0];
        total += table < in->ts->n ? in->ts->t[table].ncols : 0;
    }
    x->fields = mf_xcalloc(total + 1, sizeof *x->fields);
    gim_field *f = x->fields;
    for (size_t i = 0; i < in->n; i++) {
        if (in->excluded && in->excluded[i])
            continue;
        struct crec *c = new_rec(x);
        if (!gim_record_decode(in->ts, in->blob[i], in->blen[i], &c->r, f)) {
            x->nrecs--; /* cannot happen: we wrote it */
            continue;
        }
        c->in = (long)i;
        c->json = in->value[i];
        c->jlen = in->vlen[i];
        f += in->ts->t[c->r.table].ncols;
    }
}

/* Resolve the tenant of recs [from, nrecs). */
static pgc_class resolve_tenants(struct run *x, size_t from)
{
    for (size_t i = from; i < x->nrecs; i++) {
        struct crec *c = &x->recs[i];
        if (!gim_dims_get(x->in->dims, GIM_REF_TENANT, 0, c->r.tenant, c->r.tenant_len, &c->r.tenant_key))
            gim_dims_want(x->in->dims, GIM_REF_TENANT, 0, c->r.tenant, c->r.tenant_len);
    }
    pgc_class cls = gim_dims_resolve(x->in->dims, x->pg, x->audit_key, x->now_s, x->out->why, sizeof x->out->why);
    if (cls != PGC_OK)
        return fail(x, cls, "resolving tenants");
    for (size_t i = from; i < x->nrecs; i++) {
        struct crec *c = &x->recs[i];
        gim_dims_get(x->in->dims, GIM_REF_TENANT, 0, c->r.tenant, c->r.tenant_len, &c->r.tenant_key);
        make_rowkey(x, c);
    }
    return PGC_OK;
}

static pgc_class resolve_refs(struct run *x)
{
    const gim_tables *ts = x->in->ts;
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < x->nrecs; i++) {
            struct crec *c = &x->recs[i];
            for (size_t j = 0; j < c->r.nf; j++) {
                gim_field *f = &c->r.f[j];
                f->rec = (uint32_t)i;
                if (f->kind != GIM_V_REF)
                    continue;
                gim_ref ref = ts->t[c->r.table].cols[f->col].ref;
                int32_t tk = gim_dims_scoped(ref) ? c->r.tenant_key : 0;
                if (!gim_dims_get(x->in->dims, ref, tk, f->v, f->len, &f->key) && pass == 0)
                    gim_dims_want(x->in->dims, ref, tk, f->v, f->len);
            }
        }
        if (pass == 0) {
            pgc_class cls =
                gim_dims_resolve(x->in->dims, x->pg, x->audit_key, x->now_s, x->out->why, sizeof x->out->why);
            if (cls != PGC_OK)
                return fail(x, cls, "resolving references");
        }
    }
    return PGC_OK;
}

/* Append s as an element of a PostgreSQL array literal. */
static void array_elem(mf_buffer *b, const char *s, size_t len)
{
    if (b->len > 1)
        mf_buffer_append(b, ",", 1);
    mf_buffer_append(b, "\"", 1);
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '"' || s[i] == '\\')
            mf_buffer_append(b, "\\", 1);
        mf_buffer_append(b, &s[i], 1);
    }
    mf_buffer_append(b, "\"", 1);
}

/* Take out the kept updates of the rows this cycle upserts; they join the
 * run (before its own records in the merge: they are older). */
static pgc_class take_pending(struct run *x, size_t *first_pending, size_t *n_pending)
{
    const gim_cycle_in *in = x->in;
    PGresult *r = NULL;
    *first_pending = x->nrecs;
    *n_pending = 0;
    pgc_class cls = exec(x, "reading kept updates", "SELECT EXISTS (SELECT 1 FROM gim_pending_update)", 0, NULL, &r);
    if (cls != PGC_OK)
        return cls;
    bool any = PQgetvalue(r, 0, 0)[0] == 't';
    PQclear(r);
    x->had_pending = any;
    if (!any)
        return PGC_OK;
    if (!in->node) { /* reading them takes the node's JSON functions: the caller runs the cycle on its thread */
        x->out->need_node = true;
        x->out->err = (pgc_error){.cls = PGC_TRANSIENT};
        snprintf(x->out->why, sizeof x->out->why, "kept updates are read on the node's thread");
        return PGC_TRANSIENT;
    }
    mf_buffer texts = {0}; /* JSON texts of the kept updates, NUL-separated */
    size_t n = 0;
    size_t ncycle = x->nrecs;
    for (size_t t = 0; t < in->ts->n; t++) {
        mf_buffer keys = {0};
        mf_buffer_append(&keys, "{", 1);
        for (size_t i = 0; i < ncycle; i++)
            if (x->recs[i].r.table == (int)t && x->recs[i].r.op == GIM_UPSERT)
                array_elem(&keys, x->recs[i].rowkey, x->recs[i].rklen);
        mf_buffer_append(&keys, "}", 2);
        if (keys.len <= 3) {
            mf_buffer_free(&keys);
            continue;
        }
        const char *p[2] = {in->ts->t[t].name, (const char *)keys.data};
        cls = exec(x, "taking kept updates",
                   "WITH d AS (DELETE FROM gim_pending_update WHERE table_name = $1 AND row_key = ANY ($2::text[])"
                   " RETURNING pending_key, record) SELECT record FROM d ORDER BY pending_key",
                   2, p, &r);
        mf_buffer_free(&keys);
        if (cls != PGC_OK) {
            mf_buffer_free(&texts);
            return cls;
        }
        for (int row = 0; row < PQntuples(r); row++) {
            mf_buffer_append(&texts, PQgetvalue(r, row, 0), (size_t)PQgetlength(r, row, 0) + 1);
            n++;
        }
        PQclear(r);
    }
    /* encode them as the cycle's records were, then decode */
    size_t *off = mf_xcalloc(n + 1, sizeof *off), *lens = mf_xcalloc(n + 1, sizeof *lens);
    size_t *joff = mf_xcalloc(n + 1, sizeof *joff), *jlen = mf_xcalloc(n + 1, sizeof *jlen);
    size_t kept = 0, total = 0;
    const char *p = (const char *)texts.data;
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(p);
        mf_record rec = {.value = (const uint8_t *)p, .value_len = (uint32_t)len, .time_ms = MF_TIME_UNSET,
                         .origin = {.partition = -1, .offset = -1}};
        gim_reject rj;
        size_t at = x->pblobs.len;
        if (gim_record_encode(in->ts, in->host, in->node, &rec, in->fs, in->views, NULL, &x->pblobs, &rj)) {
            off[kept] = at;
            lens[kept] = x->pblobs.len - at;
            joff[kept] = (size_t)(p - (const char *)texts.data);
            jlen[kept] = len;
            total += in->ts->t[((const uint8_t *)x->pblobs.data + at)[0]].ncols;
            kept++;
        } else {
            pgc_log(x->pg, MF_LOG_ERROR, "a kept update no longer reads (%s): dropped", rj.why);
        }
        p += len + 1;
    }
    x->pfields = mf_xcalloc(total + 1, sizeof *x->pfields);
    gim_field *f = x->pfields;
    /* the JSON texts must outlive this function: keep them in the blob buffer too */
    size_t text_base = x->pblobs.len;
    mf_buffer_append(&x->pblobs, texts.data, texts.len);
    for (size_t i = 0; i < kept; i++) {
        struct crec *c = new_rec(x);
        if (!gim_record_decode(in->ts, x->pblobs.data + off[i], lens[i], &c->r, f)) {
            x->nrecs--;
            continue;
        }
        c->json = (const char *)x->pblobs.data + text_base + joff[i];
        c->jlen = jlen[i];
        f += in->ts->t[c->r.table].ncols;
    }
    *n_pending = x->nrecs - *first_pending;
    x->out->pending_applied = *n_pending;
    free(off);
    free(lens);
    free(joff);
    free(jlen);
    mf_buffer_free(&texts);
    return PGC_OK;
}

/* ---- merge ------------------------------------------------------------------------------- */

static struct ment *entry_of(struct run *x, size_t ri)
{
    const struct crec *c = &x->recs[ri];
    size_t klen = c->rklen + 1;
    char *k = mf_xmalloc(klen);
    k[0] = (char)c->r.table;
    memcpy(k + 1, c->rowkey, c->rklen);
    int32_t idx;
    if (gim_map_get(&x->rows, k, klen, &idx)) {
        free(k);
        return &x->ents[idx];
    }
    if (x->nents == x->capents) {
        x->capents = x->capents ? x->capents * 2 : 256;
        x->ents = mf_xrealloc(x->ents, x->capents * sizeof *x->ents);
    }
    gim_map_put_owned(&x->rows, k, klen, (int32_t)x->nents);
    struct ment *e = &x->ents[x->nents++];
    *e = (struct ment){.table = c->r.table, .key_rec = (uint32_t)ri};
    return e;
}

static void merge_one(struct run *x, size_t ri)
{
    const struct crec *c = &x->recs[ri];
    const gim_table *t = &x->in->ts->t[c->r.table];
    struct ment *e = entry_of(x, ri);
    if (c->r.op == GIM_DELETE && t->fact) {
        e->deleted = true;
        e->has_ups = e->has_upd = false;
        e->n_upd = 0;
        if (e->u)
            memset(e->u, 0, t->ncols * sizeof *e->u);
        if (e->d)
            memset(e->d, 0, t->ncols * sizeof *e->d);
        return;
    }
    const gim_field ***vals = c->r.op == GIM_UPSERT ? &e->u : &e->d;
    if (!*vals)
        *vals = mf_xcalloc(t->ncols, sizeof **vals);
    for (size_t j = 0; j < c->r.nf; j++)
        (*vals)[c->r.f[j].col] = &c->r.f[j];
    if (c->r.op == GIM_UPSERT) {
        e->has_ups = true;
        return;
    }
    e->has_upd = true;
    if (c->r.op == GIM_DELETE) { /* a dimension: ended, never kept for later */
        e->nopend = true;
        if (t->gmt_end >= 0 && !gim_rec_get(&c->r, t->gmt_end))
            (*vals)[t->gmt_end] = &x->now_field;
        return;
    }
    if (e->n_upd == e->cap_upd) {
        e->cap_upd = e->cap_upd ? e->cap_upd * 2 : 4;
        e->upd_recs = mf_xrealloc(e->upd_recs, e->cap_upd * sizeof *e->upd_recs);
    }
    e->upd_recs[e->n_upd++] = (uint32_t)ri;
}

/* A row the cycle upserts exists when its updates apply (after the upserts):
 * they are folded into the upsert, column-wise, later fields winning. The
 * row is written once instead of inserted and then rewritten (a second row
 * version, its index entries, and every foreign key checked again: an UPDATE
 * of a row inserted by the same transaction is always checked). */
static void fold_updates(struct run *x)
{
    for (size_t i = 0; i < x->nents; i++) {
        struct ment *e = &x->ents[i];
        if (!e->has_ups || !e->has_upd)
            continue;
        size_t ncols = x->in->ts->t[e->table].ncols;
        for (size_t c = 0; c < ncols; c++)
            if (e->d[c])
                e->u[c] = e->d[c];
        e->has_upd = false;
        e->n_upd = 0;
    }
}

/* ---- staging ------------------------------------------------------------------------------ */

static void append_int(mf_buffer *b, int64_t v)
{
    char s[24];
    int n = snprintf(s, sizeof s, "%" PRId64, v);
    mf_buffer_append(b, s, (size_t)n);
}

/* A staged value, before it is written as COPY text or binary. */
enum { SV_NULL, SV_INT, SV_COPYTEXT, SV_RAW };
struct sval {
    uint8_t kind;
    int64_t i;     /* SV_INT */
    const char *s; /* SV_COPYTEXT: escaped already (a record's value); SV_RAW: not */
    size_t len;
};

static struct sval sv_int(int64_t i)
{
    return (struct sval){.kind = SV_INT, .i = i};
}

static struct sval field_value(const gim_field *f, const gim_col *col)
{
    if (f->kind == GIM_V_NULL)
        return (struct sval){.kind = SV_NULL};
    if (f->kind == GIM_V_REF)
        return sv_int(f->key);
    if (col->src == GIM_SRC_DATETIME) {
        int64_t ts = parse_i64(f);
        return sv_int(ts - ((ts % 900) + 900) % 900);
    }
    return (struct sval){.kind = SV_COPYTEXT, .s = f->v, .len = f->len};
}

/* The values of row e's staging line for operation op, values vals (NULL:
 * key only): the table's columns, then gim_mask, gim_op, gim_row. */
static struct sval *stage_values(struct run *x, const struct ment *e, int op, const gim_field **vals, uint32_t ent)
{
    const gim_table *t = &x->in->ts->t[e->table];
    const struct crec *kr = &x->recs[e->key_rec];
    if (x->cap_sv < t->ncols + 3) {
        x->cap_sv = t->ncols + 3;
        x->sv = mf_xrealloc(x->sv, x->cap_sv * sizeof *x->sv);
        x->mask = mf_xrealloc(x->mask, x->cap_sv);
    }
    struct sval *sv = x->sv;
    bool all = true;
    for (size_t i = 0; i < t->ncols; i++) {
        const gim_col *col = &t->cols[i];
        const gim_field *f = NULL;
        bool present = true;
        sv[i] = (struct sval){.kind = SV_NULL};
        switch (col->src) {
        case GIM_SRC_FIELD:
        case GIM_SRC_REF:
            f = col->key ? gim_rec_get(&kr->r, (int)i) : vals ? vals[i] : NULL;
            present = f != NULL;
            if (f)
                sv[i] = field_value(f, col);
            break;
        case GIM_SRC_DATETIME:
            f = vals ? vals[col->from] : NULL;
            present = f != NULL;
            if (f) {
                sv[i] = field_value(f, col);
                if (f->kind == GIM_V_TEXT && !strcmp(col->name, "start_date_time_key")) {
                    int64_t ts = parse_i64(f), k = ts - ((ts % 900) + 900) % 900;
                    if (x->min_dt == INT64_MAX || k < x->min_dt)
                        x->min_dt = k;
                    if (x->max_dt == INT64_MIN || k > x->max_dt)
                        x->max_dt = k;
                }
            }
            break;
        case GIM_SRC_TENANT:
            if (!strcmp(col->name, "tenant_name"))
                sv[i] = (struct sval){.kind = SV_RAW, .s = kr->r.tenant, .len = kr->r.tenant_len};
            else
                sv[i] = sv_int(kr->r.tenant_key);
            break;
        case GIM_SRC_AUDIT:
            sv[i] = sv_int(x->audit_key);
            break;
        case GIM_SRC_PLACEHOLDER:
            present = op == OP_UPSERT;
            if (present)
                sv[i] = sv_int(0);
            break;
        }
        x->mask[i] = present ? '1' : '0';
        all &= present;
    }
    sv[t->ncols] = all ? (struct sval){.kind = SV_NULL} : (struct sval){.kind = SV_RAW, .s = x->mask, .len = t->ncols};
    sv[t->ncols + 1] = sv_int(op);
    sv[t->ncols + 2] = sv_int(ent);
    return sv;
}

/* One staging line in COPY text. */
static void stage_text(mf_buffer *b, const struct sval *sv, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (i)
            mf_buffer_append(b, "\t", 1);
        switch (sv[i].kind) {
        case SV_NULL:
            mf_buffer_append(b, "\\N", 2);
            break;
        case SV_INT:
            append_int(b, sv[i].i);
            break;
        case SV_COPYTEXT:
            mf_buffer_append(b, sv[i].s, sv[i].len);
            break;
        case SV_RAW:
            pgt_append_escaped(b, sv[i].s, sv[i].len);
            break;
        }
    }
    mf_buffer_append(b, "\n", 1);
}

/* One staging row in binary; false when a value has no exact binary form
 * for its column (b is then partly written: the caller starts again in text). */
static bool stage_binary(mf_buffer *b, const struct sval *sv, size_t n, const pgb_type *bt)
{
    pgb_row(b, (uint16_t)n);
    for (size_t i = 0; i < n; i++) {
        bool ok = true;
        switch (sv[i].kind) {
        case SV_NULL:
            pgb_null(b);
            break;
        case SV_INT:
            ok = pgb_int(b, sv[i].i, bt[i]);
            break;
        case SV_COPYTEXT:
            ok = pgb_copytext(b, sv[i].s, sv[i].len, bt[i]);
            break;
        case SV_RAW:
            if ((ok = bt[i] == PGB_TEXT))
                pgb_text(b, sv[i].s, sv[i].len, bt[i]);
            break;
        }
        if (!ok)
            return false;
    }
    return true;
}

/* The record that gave the value the server refused at line (1-based) of
 * a table's COPY, column name; -1 when unknown. */
static long suspect_of(struct run *x, const struct line *lines, size_t nlines, const gim_table *t)
{
    const pgc_error *e = &x->out->err;
    if (!e->copy_line || e->copy_line > nlines || !e->column[0])
        return -1;
    const struct line *l = &lines[e->copy_line - 1];
    const struct ment *m = &x->ents[l->ent];
    for (size_t i = 0; i < t->ncols; i++) {
        if (strcmp(t->cols[i].name, e->column) != 0)
            continue;
        int col = t->cols[i].src == GIM_SRC_DATETIME ? t->cols[i].from : (int)i;
        const gim_field **vals = l->op == OP_UPSERT ? m->u : m->d;
        const gim_field *f = t->cols[col].key ? gim_rec_get(&x->recs[m->key_rec].r, col) : vals ? vals[col] : NULL;
        if (!f || f == &x->now_field)
            return -1;
        return x->recs[f->rec].in;
    }
    return -1;
}

/* Write the merged rows of table ti. */
/* The months (first second, UTC) the staged rows of a partitioned fact
 * start in, each once: their partitions must exist before the rows are
 * written (infomart_ensure_partitions). Rows come mostly from one month:
 * the last month's bounds are kept, so most rows cost two comparisons. */
struct months {
    int64_t *m;
    size_t n, cap;
    int64_t lo, hi; /* the bounds of the last month seen */
};

static void month_add(struct months *ms, int64_t ts)
{
    if (ms->hi > ms->lo && ts >= ms->lo && ts < ms->hi)
        return;
    time_t t = (time_t)ts;
    struct tm tm;
    if (!gmtime_r(&t, &tm))
        return; /* out of range: the server refuses the row, naming it */
    tm.tm_mday = 1;
    tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
    ms->lo = (int64_t)timegm(&tm);
    tm.tm_mon++;
    ms->hi = (int64_t)timegm(&tm); /* timegm carries month 12 into the next year */
    for (size_t i = 0; i < ms->n; i++)
        if (ms->m[i] == ms->lo)
            return;
    if (ms->n == ms->cap) {
        ms->cap = ms->cap ? ms->cap * 2 : 8;
        ms->m = mf_xrealloc(ms->m, ms->cap * sizeof *ms->m);
    }
    ms->m[ms->n++] = ms->lo;
}

/* One call making the partitions of every month in ms that lacks one. */
static pgc_class ensure_partitions(struct run *x, const gim_table *t, const struct months *ms)
{
    mf_buffer arr = {0};
    add(&arr, "{");
    for (size_t i = 0; i < ms->n; i++)
        addf(&arr, "%s%" PRId64, i ? "," : "", ms->m[i]);
    mf_buffer_append(&arr, "}", 2);
    const char *params[2] = {t->sql, (const char *)arr.data};
    char what[128];
    snprintf(what, sizeof what, "making the partitions of %s", t->sql);
    pgc_class cls = exec(x, what, "SELECT infomart_ensure_partitions($1, $2::bigint[])", 2, params, NULL);
    mf_buffer_free(&arr);
    return cls;
}

static pgc_class write_table(struct run *x, size_t ti, mf_buffer *pend_t, mf_buffer *pend_k, mf_buffer *pend_r,
                             mf_buffer *pend_tk, size_t *npend)
{
    const gim_table *t = &x->in->ts->t[ti];
    const struct tsql *q = &x->cy->sql[ti];
    mf_buffer data = {0};
    struct line *lines = NULL;
    size_t nlines = 0, cap = 0;
    bool any_del = false, any_ups = false, any_upd = false;
    struct months months = {0};
    int start_col = t->partitioned ? gim_field_find(t, "start_ts", 8) : -1;
    /* binary COPY when every value has an exact binary form (else the table's lines again, as text) */
    bool binary = q->binary;
again:
    mf_buffer_reset(&data);
    nlines = 0;
    if (binary)
        pgb_header(&data);
    for (size_t i = 0; i < x->nents; i++) {
        const struct ment *e = &x->ents[i];
        if (e->table != (int)ti)
            continue;
        int ops[3], nops = 0;
        if (e->deleted)
            ops[nops++] = OP_FACT_DELETE;
        if (e->has_ups)
            ops[nops++] = OP_UPSERT;
        if (e->has_upd)
            ops[nops++] = e->nopend ? OP_DIM_DELETE : OP_UPDATE;
        for (int k = 0; k < nops; k++) {
            const gim_field **vals = ops[k] == OP_UPSERT ? e->u : ops[k] == OP_FACT_DELETE ? NULL : e->d;
            const struct sval *sv = stage_values(x, e, ops[k], vals, (uint32_t)i);
            if (!binary) {
                stage_text(&data, sv, t->ncols + 3);
            } else if (!stage_binary(&data, sv, t->ncols + 3, q->bt)) {
                binary = false;
                goto again;
            }
            if (start_col >= 0 && vals && vals[start_col] && vals[start_col]->kind == GIM_V_TEXT)
                month_add(&months, parse_i64(vals[start_col]));
            if (nlines == cap) {
                cap = cap ? cap * 2 : 256;
                lines = mf_xrealloc(lines, cap * sizeof *lines);
            }
            lines[nlines++] = (struct line){.ent = (uint32_t)i, .op = (uint8_t)ops[k]};
            any_del |= ops[k] == OP_FACT_DELETE;
            any_ups |= ops[k] == OP_UPSERT;
            any_upd |= ops[k] == OP_UPDATE || ops[k] == OP_DIM_DELETE;
        }
    }
    pgc_class cls = PGC_OK;
    char what[128];
    if (!nlines)
        goto out;
    lap(x, t->sql, "lines");
    snprintf(what, sizeof what, "staging %s", t->sql);
    if (binary) {
        /* a refused binary COPY is done again in text, where the server's
         * checks, messages and line numbers are those of text: back to a
         * savepoint, not the whole cycle */
        pgb_trailer(&data);
        if ((cls = exec(x, what, "SAVEPOINT gim_copy", 0, NULL, NULL)) != PGC_OK)
            goto out;
        if (pgc_copy_in_sql(x->pg, q->copy_bin, data.data, data.len, NULL) != PGC_OK) {
            if (pgc_last_error(x->pg)->cls != PGC_DATA) {
                cls = fail(x, pgc_last_error(x->pg)->cls, what);
                goto out;
            }
            if ((cls = exec(x, what, "ROLLBACK TO SAVEPOINT gim_copy", 0, NULL, NULL)) != PGC_OK)
                goto out;
            pgc_log(x->pg, MF_LOG_DEBUG, "%s: the binary COPY was refused: again as COPY text", t->sql);
            binary = false;
            goto again;
        }
    } else if (pgc_copy_in_sql(x->pg, q->copy, data.data, data.len, NULL) != PGC_OK) {
        cls = fail(x, pgc_last_error(x->pg)->cls, what);
        if (cls == PGC_DATA)
            x->out->suspect = suspect_of(x, lines, nlines, t);
        goto out;
    }
    lap(x, t->sql, "copy");
    if (months.n) {
        if ((cls = ensure_partitions(x, t, &months)) != PGC_OK)
            goto out;
        lap(x, t->sql, "partitions");
    }
    snprintf(what, sizeof what, "writing %s", t->sql);
    if (any_del && (cls = exec_rows(x, what, q->del, &x->out->rows)) != PGC_OK)
        goto out;
    if (any_ups && q->rename && (cls = exec_rows(x, what, q->rename, &x->out->rows)) != PGC_OK)
        goto out;
    if (any_del || (any_ups && q->rename))
        lap(x, t->sql, "delete/rename");
    if (any_ups && (cls = exec_rows(x, what, q->upd_existing, &x->out->rows)) != PGC_OK)
        goto out;
    if (any_ups)
        lap(x, t->sql, "update-existing");
    if (any_ups && (cls = exec_rows(x, what, q->ins_new, &x->out->rows)) != PGC_OK)
        goto out;
    if (any_ups)
        lap(x, t->sql, "insert-new");
    if (any_upd) {
        PGresult *r = NULL;
        if ((cls = exec(x, what, q->upd, 0, NULL, &r)) != PGC_OK)
            goto out;
        lap(x, t->sql, "updates");
        x->out->rows += (uint64_t)PQntuples(r);
        bool *applied = mf_xcalloc(x->nents + 1, sizeof *applied);
        for (int row = 0; row < PQntuples(r); row++)
            applied[strtoul(PQgetvalue(r, row, 0), NULL, 10) % (x->nents + 1)] = true;
        PQclear(r);
        for (size_t i = 0; i < x->nents; i++) {
            const struct ment *e = &x->ents[i];
            if (e->table != (int)ti || !e->has_upd || e->nopend || applied[i])
                continue;
            for (size_t k = 0; k < e->n_upd; k++) { /* the row is not there: keep the updates */
                const struct crec *c = &x->recs[e->upd_recs[k]];
                array_elem(pend_t, t->name, strlen(t->name));
                array_elem(pend_k, c->rowkey, c->rklen);
                array_elem(pend_r, c->json, c->jlen);
                char tk[16];
                int n = snprintf(tk, sizeof tk, "%s%" PRId32, pend_tk->len > 1 ? "," : "", c->r.tenant_key);
                mf_buffer_append(pend_tk, tk, (size_t)n);
                (*npend)++;
            }
        }
        free(applied);
    }
out:
    mf_buffer_free(&data);
    free(lines);
    free(months.m);
    return cls;
}

static pgc_class keep_pending(struct run *x, mf_buffer *t, mf_buffer *k, mf_buffer *r, mf_buffer *tk)
{
    mf_buffer *bufs[4] = {t, k, r, tk};
    for (int i = 0; i < 4; i++)
        mf_buffer_append(bufs[i], "}", 2);
    char now[24], audit[24];
    snprintf(now, sizeof now, "%" PRId64, x->now_s);
    snprintf(audit, sizeof audit, "%" PRId64, x->audit_key);
    const char *p[6] = {(const char *)t->data, (const char *)k->data, (const char *)r->data, now, audit,
                        (const char *)tk->data};
    return exec(x, "keeping updates for later",
                "INSERT INTO gim_pending_update (table_name, row_key, record, created_ts, tenant_key,"
                " create_audit_key, update_audit_key)"
                " SELECT u.t, u.k, u.r, $4, u.tk, $5, $5 FROM unnest($1::text[], $2::text[], $3::text[], $6::int[])"
                " WITH ORDINALITY AS u(t, k, r, tk, ord) ORDER BY u.ord",
                6, p, NULL);
}

/* ---- control rows ----------------------------------------------------------------------- */

static pgc_class history_row(struct run *x, const char *status, int64_t start_ms, int64_t end_ms, int64_t rows,
                             int64_t rejected, const char *audit, const char *error)
{
    char s[24], e[24], d[24], r[24], j[24];
    snprintf(s, sizeof s, "%" PRId64, start_ms / 1000);
    snprintf(e, sizeof e, "%" PRId64, end_ms / 1000);
    snprintf(d, sizeof d, "%" PRId64, end_ms - start_ms);
    snprintf(r, sizeof r, "%" PRId64, rows);
    snprintf(j, sizeof j, "%" PRId64, rejected);
    const char *p[9] = {x->in->job_instance, status, s, e, d, r, j, audit, error};
    return exec(x, "writing ctl_etl_history",
                "INSERT INTO ctl_etl_history (job_name, job_instance, status, start_ts, end_ts, duration_ms,"
                " row_count, rejected_count, audit_key, error_message)"
                " VALUES ('etl', $1, $2, $3, $4, $5, $6, $7, $8, $9)",
                9, p, NULL);
}

static pgc_class control_rows(struct run *x)
{
    const gim_cycle_in *in = x->in;
    char audit[24], rows[24], mn[24], mx[24];
    snprintf(audit, sizeof audit, "%" PRId64, x->audit_key);
    snprintf(rows, sizeof rows, "%" PRIu64, x->out->rows);
    snprintf(mn, sizeof mn, "%" PRId64, x->min_dt);
    snprintf(mx, sizeof mx, "%" PRId64, x->max_dt);
    bool dt = x->min_dt != INT64_MAX;
    const char *p[4] = {audit, rows, dt ? mn : NULL, dt ? mx : NULL};
    pgc_class cls = exec(x, "writing ctl_audit_log",
                         "UPDATE ctl_audit_log SET row_count = $2, min_date_time_key = $3, max_date_time_key = $4"
                         " WHERE audit_key = $1",
                         4, p, NULL);
    for (size_t i = 0; i < in->nfailed && cls == PGC_OK; i++)
        cls = history_row(x, "FAILED", in->failed[i].start_ms, in->failed[i].end_ms, in->failed[i].rows, 0, NULL,
                          in->failed[i].error);
    if (cls == PGC_OK)
        cls = history_row(x, "SUCCESS", in->start_ms, in->host->now_ms(), (int64_t)x->out->rows, in->rejected,
                          audit, NULL);
    return cls;
}

/* ---- the run ------------------------------------------------------------------------------ */

static pgc_class ensure_staging(struct run *x)
{
    gim_cycle *cy = x->cy;
    if (cy->ts != x->in->ts) {
        free_sql(cy);
        cy->ts = x->in->ts;
        cy->sql = mf_xcalloc(cy->ts->n, sizeof *cy->sql);
        for (size_t i = 0; i < cy->ts->n; i++)
            build_sql(&cy->sql[i], &cy->ts->t[i], cy->window_s);
        cy->staged_session = 0;
    }
    pgc_class cls = pgc_connect(x->pg);
    if (cls != PGC_OK)
        return fail(x, cls, "connecting");
    if (cy->staged_session == pgc_session(x->pg))
        return PGC_OK;
    for (size_t i = 0; i < cy->ts->n; i++)
        if ((cls = exec(x, "creating the staging tables", cy->sql[i].stage_ddl, 0, NULL, NULL)) != PGC_OK)
            return cls;
    cy->staged_session = pgc_session(x->pg);
    return PGC_OK;
}

static pgc_class body(struct run *x)
{
    const gim_cycle_in *in = x->in;
    PGresult *r = NULL;
    char now[24];
    snprintf(now, sizeof now, "%" PRId64, x->now_s);
    const char *p[2] = {in->job_instance, now};
    pgc_class cls = PGC_OK;
    /* before the audit key: a forget request takes one too, under the same lock,
     * so the keys commit in their order (Data Export's high-water mark relies on it) */
    if (in->forget) {
        cls = gim_forget_refresh(in->forget, x->pg, in->ts, x->out->why, sizeof x->out->why);
        if (cls != PGC_OK)
            return fail(x, cls, "reading the forget list");
        lap(x, NULL, "forget-list");
    }
    cls = exec(x, "writing ctl_audit_log",
                         "INSERT INTO ctl_audit_log (job_name, job_instance, created_ts) VALUES ('etl', $1, $2)"
                         " RETURNING audit_key",
                         2, p, &r);
    if (cls != PGC_OK)
        return cls;
    x->audit_key = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    x->out->audit_key = x->audit_key;
    PQclear(r);
    lap(x, NULL, "audit");

    decode_inputs(x);
    if ((cls = resolve_tenants(x, 0)) != PGC_OK)
        return cls;
    lap(x, NULL, "tenants");
    size_t first_p, n_p;
    if ((cls = take_pending(x, &first_p, &n_p)) != PGC_OK)
        return cls;
    if (n_p && (cls = resolve_tenants(x, first_p)) != PGC_OK)
        return cls;
    lap(x, NULL, "pending-take");
    if (in->forget && gim_forget_size(in->forget)) {
        for (size_t i = 0; i < x->nrecs; i++)
            x->out->masked += gim_forget_apply(in->forget, in->ts, &x->recs[i].r);
        lap(x, NULL, "forget-mask");
    }
    if ((cls = resolve_refs(x)) != PGC_OK)
        return cls;
    lap(x, NULL, "refs");
    /* kept updates first: they are older than the cycle's records */
    for (size_t i = first_p; i < first_p + n_p; i++)
        merge_one(x, i);
    for (size_t i = 0; i < first_p; i++)
        merge_one(x, i);
    fold_updates(x);
    lap(x, NULL, "merge");

    mf_buffer pt = {0}, pk = {0}, pr = {0}, ptk = {0};
    mf_buffer_append(&pt, "{", 1);
    mf_buffer_append(&pk, "{", 1);
    mf_buffer_append(&pr, "{", 1);
    mf_buffer_append(&ptk, "{", 1);
    size_t npend = 0;
    /* dimensions first (completing placeholders before facts are written does not matter to the facts,
     * but it keeps one order), then facts */
    for (int pass = 0; pass < 2 && cls == PGC_OK; pass++) {
        /* A fact's staged rows find their stored row by id through its primary
         * key, one probe each: the planner, which knows nothing of the staging
         * table, would otherwise hash it and scan the whole fact table on every
         * cycle, a cost that grows with the Info Mart (update-existing 12 ms on
         * the first 50,000-record cycle of bench/e2e, 660 ms on the sixteenth). */
        if (pass == 1)
            cls = exec(x, "planning the fact writes",
                       "SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off", 0, NULL, NULL);
        for (size_t ti = 0; ti < in->ts->n && cls == PGC_OK; ti++)
            if (in->ts->t[ti].fact == (pass == 1))
                cls = write_table(x, ti, &pt, &pk, &pr, &ptk, &npend);
        if (pass == 1 && cls == PGC_OK)
            cls = exec(x, "planning the fact writes", "RESET enable_hashjoin; RESET enable_mergejoin", 0, NULL, NULL);
    }
    if (cls == PGC_OK && npend) {
        cls = keep_pending(x, &pt, &pk, &pr, &ptk);
        lap(x, NULL, "pending-keep");
    }
    x->out->pending_kept = npend;
    x->out->pending_left = npend > 0;
    if (cls == PGC_OK && x->had_pending && !npend) {
        cls = exec(x, "reading kept updates", "SELECT EXISTS (SELECT 1 FROM gim_pending_update)", 0, NULL, &r);
        if (cls == PGC_OK) {
            x->out->pending_left = PQgetvalue(r, 0, 0)[0] == 't';
            PQclear(r);
        }
    }
    mf_buffer_free(&pt);
    mf_buffer_free(&pk);
    mf_buffer_free(&pr);
    mf_buffer_free(&ptk);
    if (cls == PGC_OK) {
        cls = control_rows(x);
        lap(x, NULL, "control");
    }
    return cls;
}

static void run_free(struct run *x)
{
    for (size_t i = 0; i < x->nrecs; i++)
        free(x->recs[i].rowkey);
    free(x->recs);
    free(x->fields);
    free(x->pfields);
    mf_buffer_free(&x->pblobs);
    for (size_t i = 0; i < x->nents; i++) {
        free(x->ents[i].u);
        free(x->ents[i].d);
        free(x->ents[i].upd_recs);
    }
    free(x->ents);
    gim_map_clear(&x->rows);
    mf_buffer_free(&x->timings);
    free(x->sv);
    free(x->mask);
}

pgc_class gim_cycle_run(gim_cycle *cy, const gim_cycle_in *in, gim_cycle_out *out)
{
    *out = (gim_cycle_out){.suspect = -1};
    struct run x = {.cy = cy, .in = in, .out = out, .pg = in->pg, .now_s = in->host->now_ms() / 1000,
                    .min_dt = INT64_MAX, .max_dt = INT64_MIN, .lap_us = mono_us()};
    int64_t t0 = x.lap_us;
    int n = snprintf(x.now_text, sizeof x.now_text, "%" PRId64, x.now_s);
    x.now_field = (gim_field){.kind = GIM_V_TEXT, .v = x.now_text, .len = (uint32_t)n};
    pgc_class cls = ensure_staging(&x);
    if (cls == PGC_OK && (cls = pgc_begin(in->pg)) != PGC_OK)
        fail(&x, cls, "BEGIN");
    lap(&x, NULL, "begin");
    if (cls == PGC_OK && in->session && pgc_session(in->pg) != in->session) {
        /* a new connection has not the loader's lock: never write without it */
        cls = PGC_TRANSIENT;
        out->err = (pgc_error){.cls = cls};
        snprintf(out->why, sizeof out->why, "the connection was renewed: the loader's lock must be taken again");
    }
    if (cls == PGC_OK)
        cls = body(&x);
    if (cls == PGC_OK && !in->probe && (cls = pgc_commit(in->pg)) != PGC_OK)
        fail(&x, cls, "COMMIT");
    lap(&x, NULL, "commit");
    if (cls == PGC_OK)
        snprintf(out->timings, sizeof out->timings, "cycle of %zu records, %" PRIu64 " rows in %.1f ms: %.*s", in->n,
                 out->rows, (double)(mono_us() - t0) / 1000.0, (int)x.timings.len, (const char *)x.timings.data);
    if (pgc_in_transaction(in->pg))
        pgc_rollback(in->pg);
    if (cls == PGC_OK && !in->probe)
        gim_dims_commit(in->dims);
    else
        gim_dims_rollback(in->dims);
    run_free(&x);
    return cls;
}
