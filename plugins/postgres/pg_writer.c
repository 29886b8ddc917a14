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
#define FEED_BYTES (64 * 1024)

struct pgw {
    pgc *pg;
    const mf_host *host;
    mf_node *node;
    char *create_sql; /* NULL in mode copy */
    char *copy_sql;   /* into the staging table (mode copy: the table) */
    char *insert_sql; /* NULL in mode copy */
    char *insert_unique_sql; /* upsert, when no key occurs twice in the rows */
    char *image_sql, *image_unique_sql; /* the two, comparing rows by their binary image */
    bool image;              /* a column type without equality was met: compare images */
    int *key;                /* upsert: the key's columns */
    size_t n_key;
    bool always_dedup;       /* keys equal in value but not in text were met: always sort */
    uint64_t *seen;          /* keys_unique's hash set */
    size_t cap_seen;
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
    /* copy_format: the columns' codecs from the catalog of types_session
     * (types_ok: every one has a binary form) */
    pgw_format format;
    pgrb_render_fn render;
    void *render_arg;
    const struct pgcol_spec *spec;
    char *target;            /* quoted, for the catalog query */
    char *copy_bin_sql, *direct_bin_sql;
    pgb_type *types, *old_types;
    bool types_ok, warned;
    uint64_t types_session;
    bool stream_binary;
    mf_buffer bin_head, bin_tail;
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

/*
 * INSERT INTO target (...) SELECT ... FROM the staging table; with key
 * (upsert): ON CONFLICT (key) DO UPDATE SET every other column — only where
 * the row differs: rewriting an unchanged row would cost a new row version,
 * index entries and WAL for nothing. The comparison is column by column with
 * IS DISTINCT FROM (the types' own equality, which stops at the first
 * difference); a table with a column type that has no equality (json, point,
 * xml) gets a binary comparison of the two rows instead (image), which needs
 * none but costs building both rows: 15% of the upsert of unchanged rows on
 * bench/pg-load. dedup: one row per key, the last one given (ON CONFLICT may
 * not touch a row twice in a statement); not needed when the caller knows
 * the keys differ.
 */
static char *insert_statement(mf_buffer *b, const char *target, const struct pgcol_spec *spec, const int *key,
                              size_t n_key, bool dedup, bool image)
{
    mf_buffer_append_str(b, "INSERT INTO ");
    mf_buffer_append_str(b, target);
    mf_buffer_append_str(b, key ? " AS mf_t (" : " (");
    list(b, spec, NULL, 0, "");
    mf_buffer_append_str(b, ") SELECT ");
    if (key && dedup) {
        mf_buffer_append_str(b, "DISTINCT ON (");
        list(b, spec, key, n_key, "");
        mf_buffer_append_str(b, ") ");
    }
    list(b, spec, NULL, 0, "");
    mf_buffer_append_str(b, " FROM " STAGE);
    if (!key)
        return take(b);
    if (dedup) {
        mf_buffer_append_str(b, " ORDER BY ");
        list(b, spec, key, n_key, "");
        mf_buffer_append_str(b, ", " SEQ " DESC");
    }
    mf_buffer_append_str(b, " ON CONFLICT (");
    list(b, spec, key, n_key, "");
    mf_buffer_append_str(b, ") DO ");
    mf_buffer rest = {0}, mine = {0}, theirs = {0}, differs = {0};
    for (size_t i = 0; i < spec->n; i++) {
        if (is_key(key, n_key, i))
            continue;
        const char *sep = rest.len ? ", " : "";
        const char *q = spec->cols[i].quoted;
        mf_buffer_append_str(&rest, sep);
        mf_buffer_append_str(&rest, q);
        mf_buffer_append_str(&rest, " = EXCLUDED.");
        mf_buffer_append_str(&rest, q);
        mf_buffer_append_str(&mine, sep);
        mf_buffer_append_str(&mine, "mf_t.");
        mf_buffer_append_str(&mine, q);
        mf_buffer_append_str(&theirs, sep);
        mf_buffer_append_str(&theirs, "EXCLUDED.");
        mf_buffer_append_str(&theirs, q);
        mf_buffer_append_str(&differs, differs.len ? " OR mf_t." : "mf_t.");
        mf_buffer_append_str(&differs, q);
        mf_buffer_append_str(&differs, " IS DISTINCT FROM EXCLUDED.");
        mf_buffer_append_str(&differs, q);
    }
    if (rest.len) {
        mf_buffer_append_str(b, "UPDATE SET ");
        mf_buffer_append(b, rest.data, rest.len);
        if (image) {
            /* ROW(x) of one column is a one-field record too */
            mf_buffer_append_str(b, " WHERE pg_catalog.record_image_ne(ROW(");
            mf_buffer_append(b, mine.data, mine.len);
            mf_buffer_append_str(b, "), ROW(");
            mf_buffer_append(b, theirs.data, theirs.len);
            mf_buffer_append_str(b, "))");
        } else {
            mf_buffer_append_str(b, " WHERE ");
            mf_buffer_append(b, differs.data, differs.len);
        }
    } else {
        mf_buffer_append_str(b, "NOTHING");
    }
    mf_buffer_free(&rest);
    mf_buffer_free(&mine);
    mf_buffer_free(&theirs);
    mf_buffer_free(&differs);
    return take(b);
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
    w->format = PGW_FMT_TEXT;
    w->spec = spec;
    w->types = mf_xcalloc(spec->n, sizeof *w->types);
    w->old_types = mf_xcalloc(spec->n, sizeof *w->old_types);
    pgb_header(&w->bin_head);
    pgb_trailer(&w->bin_tail);
    char *target = pg_ident_quote(table);
    w->target = mf_xstrdup(target);
    mf_buffer b = {0};
    if (mode == PGW_COPY) {
        mf_buffer_append_str(&b, "COPY ");
        mf_buffer_append_str(&b, target);
        mf_buffer_append_str(&b, " (");
        list(&b, spec, NULL, 0, "");
        mf_buffer_append_str(&b, ") FROM STDIN");
        w->copy_sql = take(&b);
        w->copy_bin_sql = mf_xasprintf("%s WITH (FORMAT binary)", w->copy_sql);
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
        w->direct_bin_sql = mf_xasprintf("%s WITH (FORMAT binary)", w->direct_sql);
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
    w->copy_bin_sql = mf_xasprintf("%s WITH (FORMAT binary)", w->copy_sql);

    w->insert_sql = insert_statement(&b, target, spec, mode == PGW_UPSERT ? key : NULL, n_key, true, false);
    if (mode == PGW_UPSERT) {
        w->insert_unique_sql = insert_statement(&b, target, spec, key, n_key, false, false);
        w->image_sql = insert_statement(&b, target, spec, key, n_key, true, true);
        w->image_unique_sql = insert_statement(&b, target, spec, key, n_key, false, true);
        w->key = mf_xcalloc(n_key, sizeof *w->key);
        memcpy(w->key, key, n_key * sizeof *key);
        w->n_key = n_key;
    }
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
    free(w->insert_unique_sql);
    free(w->image_sql);
    free(w->image_unique_sql);
    free(w->key);
    free(w->seen);
    free(w->direct_sql);
    free(w->probe_sql);
    free(w->probe_table);
    free(w->idx);
    free(w->target);
    free(w->copy_bin_sql);
    free(w->direct_bin_sql);
    free(w->types);
    free(w->old_types);
    mf_buffer_free(&w->bin_head);
    mf_buffer_free(&w->bin_tail);
    free(w);
}

void pgw_set_format(pgw *w, pgw_format format, pgrb_render_fn render, void *arg)
{
    w->format = format;
    w->render = render;
    w->render_arg = arg;
}

/* Read the columns' types of this session's table (in or outside a
 * transaction; not during a COPY). False when the query failed. */
static bool load_types(pgw *w)
{
    static const char sql[] = "SELECT a.attname, a.atttypid FROM pg_catalog.pg_attribute a "
                              "WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped";
    const char *params[] = {w->target};
    PGresult *res = NULL;
    if (pgc_exec(w->pg, sql, 1, params, &res) != PGC_OK)
        return false;
    memset(w->types, 0, w->spec->n * sizeof *w->types);
    for (int r = 0; r < PQntuples(res); r++)
        for (size_t i = 0; i < w->spec->n; i++)
            if (!strcmp(w->spec->cols[i].name, PQgetvalue(res, r, 0)))
                w->types[i] = pgb_type_of_oid((unsigned)strtoul(PQgetvalue(res, r, 1), NULL, 10));
    PQclear(res);
    w->types_ok = true;
    const char *none = NULL;
    for (size_t i = 0; i < w->spec->n; i++)
        if (w->types[i] == PGB_NONE) {
            w->types_ok = false;
            none = none ? none : w->spec->cols[i].name;
        }
    w->types_session = pgc_session(w->pg);
    if (none && w->format == PGW_FMT_BINARY && !w->warned) {
        w->host->log(w->node, MF_LOG_WARN,
                     "copy_format binary: column %s of table %s has a type without a binary form here: rows go as "
                     "COPY text",
                     none, w->target);
        w->warned = true;
    }
    w->host->log(w->node, MF_LOG_DEBUG, "table %s: rows go as %s", w->target,
                 w->types_ok ? "binary COPY" : "COPY text (a column type without a binary form)");
    return true;
}

bool pgw_binary_rows(pgw *w, const pgb_type **types)
{
    /* not connected: text, rather than a connection attempt here (the write makes one) */
    if (w->format == PGW_FMT_TEXT || w->streaming || pgc_in_transaction(w->pg) || !pgc_connected(w->pg))
        return false;
    if (!w->types_session || w->types_session != pgc_session(w->pg)) {
        w->types_session = 0;
        if (!load_types(w))
            return false; /* not now: this batch goes as text */
    }
    *types = w->types;
    return w->types_ok;
}

/* In a transaction, before the COPY of binary rows: were they rendered for
 * this session's types? (A new connection reads them again.) */
static bool types_current(pgw *w)
{
    if (w->types_session == pgc_session(w->pg))
        return w->types_ok;
    memcpy(w->old_types, w->types, w->spec->n * sizeof *w->types);
    if (!load_types(w))
        return false;
    return w->types_ok && !memcmp(w->old_types, w->types, w->spec->n * sizeof *w->types);
}

/* The batch goes as text after all: every row rendered again. */
static void to_text(pgw *w, pgrb *rb, const char *why)
{
    w->host->log(w->node, MF_LOG_DEBUG, "%zu rows: written as COPY text (%s)", pgrb_count(rb), why);
    pgrb_rerender_text(rb, w->render, w->render_arg);
}

/* COPY of binary rows: the header, the rows, the trailer. */
static pgc_class copy_binary(pgw *w, const char *sql, const char *data, size_t len)
{
    pgc_class cls = pgc_copy_start(w->pg, sql);
    if (cls == PGC_OK)
        cls = pgc_copy_put(w->pg, w->bin_head.data, w->bin_head.len);
    if (cls == PGC_OK)
        cls = pgc_copy_put(w->pg, data, len);
    if (cls == PGC_OK)
        cls = pgc_copy_put(w->pg, w->bin_tail.data, w->bin_tail.len);
    return cls == PGC_OK ? pgc_copy_finish(w->pg, NULL) : cls;
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
static pgc_class prepare(pgw *w, bool *create, const char **copy_sql, bool binary)
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
    if (binary)
        *copy_sql = w->direct && w->direct_bin_sql ? w->direct_bin_sql : w->copy_bin_sql;
    else
        *copy_sql = w->direct && w->direct_sql ? w->direct_sql : w->copy_sql;
    if (w->direct)
        return PGC_OK;
    *create = pgc_session(w->pg) != w->stage_session;
    if (*create && (cls = pgc_exec(w->pg, w->create_sql, 0, NULL, NULL)) != PGC_OK)
        return cls;
    return PGC_OK;
}

/* A hash of the key fields of a row's COPY text (fields split by tabs: a
 * tab inside a value is escaped), never 0. */
static uint64_t key_hash(const pgw *w, const char *line, size_t len)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    size_t col = 0, start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && line[i] != '\t' && line[i] != '\n')
            continue;
        if (is_key(w->key, w->n_key, col)) {
            for (size_t j = start; j < i; j++)
                h = (h ^ (unsigned char)line[j]) * 1099511628211ULL;
            h = (h ^ 0xff) * 1099511628211ULL; /* the end of a field: "ab","c" is not "a","bc" */
        }
        col++;
        start = i + 1;
        if (i < len && line[i] == '\n')
            break;
    }
    return h ? h : 1;
}

/* The same for a binary row: its field count, then each field's length
 * (-1: NULL) and bytes. */
static uint64_t key_hash_bin(const pgw *w, const char *line, size_t len)
{
    uint64_t h = 1469598103934665603ULL;
    const unsigned char *p = (const unsigned char *)line + 2, *end = (const unsigned char *)line + len;
    for (size_t col = 0; p + 4 <= end; col++) {
        uint32_t flen = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
        size_t n = flen == 0xffffffffu ? 0 : flen;
        bool key = is_key(w->key, w->n_key, col);
        for (size_t j = 0; key && j < 4 + n && p + j < end; j++) /* the length too: NULL is not "" */
            h = (h ^ p[j]) * 1099511628211ULL;
        p += 4 + n;
    }
    return h ? h : 1;
}

/* No key occurs twice among rows idx[0, n) (idx NULL: 0..n-1): then the
 * upsert needs no sort to keep the last row of each key. A hash collision
 * counts as a repeat (the sort is then done: never wrong, only slower). */
static bool keys_unique(pgw *w, pgrb *rb, const uint32_t *idx, size_t n)
{
    size_t cap = 16;
    while (cap < 2 * n)
        cap *= 2;
    if (cap > w->cap_seen) {
        free(w->seen);
        w->seen = mf_xcalloc(cap, sizeof *w->seen);
        w->cap_seen = cap;
    } else {
        memset(w->seen, 0, cap * sizeof *w->seen);
    }
    for (size_t i = 0; i < n; i++) {
        size_t row = idx ? idx[i] : i, len;
        const char *line = pgrb_text(rb, row, row + 1, &len);
        uint64_t h = pgrb_binary(rb) ? key_hash_bin(w, line, len) : key_hash(w, line, len);
        size_t slot = (size_t)(h * 0x9e3779b97f4a7c15ULL >> 7) & (cap - 1);
        while (w->seen[slot]) {
            if (w->seen[slot] == h)
                return false;
            slot = (slot + 1) & (cap - 1);
        }
        w->seen[slot] = h;
    }
    return true;
}

/* After the COPY of rows idx[0, n) (len bytes; idx NULL: rows 0..n-1): the
 * INSERT from the staging table, COMMIT, the rows done. */
static pgc_class complete(pgw *w, pgrb *rb, const uint32_t *idx, size_t n, size_t len, bool create, int64_t t0)
{
    pgc_class cls;
    bool unique = w->insert_unique_sql && !w->always_dedup && keys_unique(w, rb, idx, n);
    const char *sql = w->image ? (unique ? w->image_unique_sql : w->image_sql)
                               : (unique ? w->insert_unique_sql : w->insert_sql);
    if (!w->direct && (cls = pgc_exec(w->pg, sql, 0, NULL, NULL)) != PGC_OK) {
        const char *state = pgc_last_error(w->pg)->sqlstate;
        /* "cannot affect row a second time": two keys of other text but the
         * same value ('01' and '1' into a bigint); from now on sort them */
        if (unique && !strcmp(state, "21000"))
            w->always_dedup = true;
        /* "operator does not exist": a column type without equality */
        if (w->image_sql && !w->image && !strcmp(state, "42883")) {
            w->image = true;
            w->host->log(w->node, MF_LOG_INFO,
                         "a column type has no equality operator: rows are compared by their binary image");
        }
        return failed(w, cls);
    }
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
    bool create, binary = pgrb_binary(rb);
    const char *copy_sql;
    if ((cls = prepare(w, &create, &copy_sql, binary)) != PGC_OK)
        return failed(w, cls);
    if (binary && !types_current(w)) {
        if (pgc_last_error(w->pg)->cls != PGC_OK) /* the catalog query failed: the transaction is lost */
            return failed(w, pgc_last_error(w->pg)->cls);
        to_text(w, rb, "the table's types changed");
        binary = false;
        if ((cls = prepare(w, &create, &copy_sql, binary)) != PGC_OK)
            return failed(w, cls);
    }
    size_t len;
    const char *data = pgrb_data(rb, idx, n, &len);
    cls = binary ? copy_binary(w, copy_sql, data, len) : pgc_copy_in_sql(w->pg, copy_sql, data, len, NULL);
    if (cls != PGC_OK) {
        failed(w, cls);
        if (binary && cls == PGC_DATA) { /* the server judges it in text: its own checks, messages and lines */
            to_text(w, rb, "the server refused the binary COPY");
            return txn(w, rb, idx, n);
        }
        return cls;
    }
    bool sorted = w->always_dedup, image = w->image;
    cls = complete(w, rb, idx, n, len, create, t0);
    if (binary && cls == PGC_DATA) {
        to_text(w, rb, "the server refused a row of the binary COPY");
        return txn(w, rb, idx, n);
    }
    if (cls == PGC_FATAL && ((w->always_dedup && !sorted) || (w->image && !image)))
        return txn(w, rb, idx, n); /* once more, with the sort or the image comparison */
    return cls;
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
    if (w->streaming && w->stream_binary != pgrb_binary(rb))
        stream_drop(w); /* the rows were rendered again as text */
    if (w->stream_failed || n == w->sent)
        return;
    const char *data = pgrb_text(rb, w->sent, n, &len);
    if (len < FEED_BYTES)
        return;
    pgc_class cls = PGC_OK;
    if (!w->streaming) {
        const char *copy_sql;
        w->stream_t0 = w->host->monotonic_ms();
        bool binary = w->stream_binary = pgrb_binary(rb);
        if ((cls = pgc_begin(w->pg)) == PGC_OK &&
            (cls = prepare(w, &w->stream_create, &copy_sql, binary)) == PGC_OK) {
            if (binary && !types_current(w))
                cls = PGC_TRANSIENT; /* pgw_write sorts it out, without a stream */
            else
                cls = pgc_copy_start(w->pg, copy_sql);
        }
        if (cls == PGC_OK && binary)
            cls = pgc_copy_put(w->pg, w->bin_head.data, w->bin_head.len);
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
    if (cls == PGC_OK && w->stream_binary)
        cls = pgc_copy_put(w->pg, w->bin_tail.data, w->bin_tail.len);
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
    if (w->streaming && w->sent <= n && w->stream_binary == pgrb_binary(rb)) {
        /* a data error goes on to the search for bad rows; any other error
         * of the stream gets one plain attempt; a data error of binary rows
         * has them written again as text */
        bool binary = w->stream_binary;
        first = stream_finish(w, rb, n);
        if (first == PGC_OK)
            return PGC_OK;
        if (first == PGC_DATA && binary)
            to_text(w, rb, "the server refused the binary COPY");
        if (first != PGC_DATA || binary)
            first = PGC_OK;
    } else {
        stream_drop(w);
    }
    pgc_class cls = solve(w, rb, w->idx, n, first);
    if (cls == PGC_TRANSIENT)
        add(w, w->m.retry_transient, 1);
    return cls;
}
