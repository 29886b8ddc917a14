/* gim_gdpr.c — see gim_gdpr.h. */
#include "gim_gdpr.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <martflow/helpers.h>

#define DEFAULT_MASK "forgotten"
#define MAX_COLS 64

static const char *const keys[] = {"mask", "customer_columns", "employee_columns", NULL};

struct gdpr {
    char *mask;
    const json_t *cust, *emp; /* lists of "table.column" (the config's) */
};

/* One request, as the arguments give it. */
struct req {
    bool forget;
    const char *subject_type; /* "customer" or "employee" */
    const char *value;
    const char *output;
    char id[96];
};

/* A table with personal columns. */
struct ptable {
    char *name, *rowid; /* rowid: SQL text of the row's id */
    char *col[MAX_COLS];
    bool key[MAX_COLS];
    size_t n;
};

/* ---- options ------------------------------------------------------------------------ */

static bool ident_ok(const char *s, size_t len)
{
    if (!len || len > 63)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return false;
    return true;
}

/* "table.column" */
static bool column_ok(const char *s)
{
    const char *dot = s ? strchr(s, '.') : NULL;
    return dot && ident_ok(s, (size_t)(dot - s)) && ident_ok(dot + 1, strlen(dot + 1));
}

static bool columns_ok(const json_t *v, const char *key, mf_check *chk)
{
    if (!v)
        return true;
    bool ok = json_is_array(v);
    size_t i;
    const json_t *e;
    json_array_foreach(v, i, e) ok = ok && column_ok(json_string_value(e));
    if (!ok && chk)
        chk->problem(chk, v, "gdpr: %s is a list of table.column names ([a-z0-9_]+.[a-z0-9_]+)", key);
    return ok;
}

static void check(const json_t *job, mf_check *chk)
{
    const json_t *m = json_object_get(job, "mask");
    if (m && !(json_is_string(m) && *json_string_value(m)))
        chk->problem(chk, m, "gdpr: mask is a non-empty string");
    columns_ok(json_object_get(job, "customer_columns"), "customer_columns", chk);
    columns_ok(json_object_get(job, "employee_columns"), "employee_columns", chk);
}

static void close_gdpr(void *state)
{
    struct gdpr *g = state;
    if (g) {
        free(g->mask);
        free(g);
    }
}

static void *open_gdpr(const json_t *job, const gim_job_env *env, char *why, size_t why_size)
{
    (void)env;
    const json_t *m = json_object_get(job, "mask");
    if ((m && !(json_is_string(m) && *json_string_value(m))) ||
        !columns_ok(json_object_get(job, "customer_columns"), "", NULL) ||
        !columns_ok(json_object_get(job, "employee_columns"), "", NULL)) {
        snprintf(why, why_size, "gdpr: options not checked");
        return NULL;
    }
    struct gdpr *g = mf_xcalloc(1, sizeof *g);
    g->mask = mf_xstrdup(m ? json_string_value(m) : DEFAULT_MASK);
    g->cust = json_object_get(job, "customer_columns");
    g->emp = json_object_get(job, "employee_columns");
    return g;
}

/* ---- a request ------------------------------------------------------------------------ */

static pgc_class failf(gim_job_run *run, pgc_class cls, const char *fmt, ...) MF_PRINTF(3, 4);
static pgc_class failf(gim_job_run *run, pgc_class cls, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(run->error, sizeof run->error, fmt, ap);
    va_end(ap);
    return cls;
}

#define USAGE "usage: forget|export (--customer VALUE | --employee VALUE) [--output PATH] [--request-id ID]"

static bool parse_args(gim_job_run *run, struct req *q)
{
    if (run->argc < 1 || (strcmp(run->argv[0], "forget") && strcmp(run->argv[0], "export"))) {
        snprintf(run->error, sizeof run->error, "gdpr: " USAGE);
        return false;
    }
    q->forget = !strcmp(run->argv[0], "forget");
    for (int i = 1; i < run->argc; i++) {
        const char *a = run->argv[i], *v = i + 1 < run->argc ? run->argv[i + 1] : NULL;
        bool subj = !strcmp(a, "--customer") || !strcmp(a, "--employee");
        if (!subj && strcmp(a, "--output") && strcmp(a, "--request-id")) {
            snprintf(run->error, sizeof run->error, "gdpr: unknown argument '%.64s'; " USAGE, a);
            return false;
        }
        if (!v || !*v) {
            snprintf(run->error, sizeof run->error, "gdpr: %s needs a value", a);
            return false;
        }
        i++;
        if (subj) {
            if (q->value) {
                snprintf(run->error, sizeof run->error, "gdpr: one subject per request (--customer or --employee)");
                return false;
            }
            q->subject_type = a[2] == 'c' ? "customer" : "employee";
            q->value = v;
        } else if (!strcmp(a, "--output")) {
            q->output = v;
        } else if (strlen(v) >= sizeof q->id) {
            snprintf(run->error, sizeof run->error, "gdpr: --request-id: at most %zu bytes", sizeof q->id - 1);
            return false;
        } else {
            snprintf(q->id, sizeof q->id, "%s", v);
        }
    }
    if (!q->value) {
        snprintf(run->error, sizeof run->error, "gdpr: whose data? " USAGE);
        return false;
    }
    if (!q->forget && !q->output) {
        snprintf(run->error, sizeof run->error, "gdpr: export needs --output PATH (the JSON document)");
        return false;
    }
    if (!q->id[0])
        snprintf(q->id, sizeof q->id, "gdpr-%" PRId64 "-%ld", run->start_ms, (long)getpid());
    return true;
}

static pgc_class sql(gim_job_run *run, const char *what, const char *text, int n, const char *const *p, PGresult **r)
{
    pgc_class cls = pgc_exec(run->pg, text, n, p, r);
    if (cls != PGC_OK)
        failf(run, cls, "gdpr: %s: %s", what, pgc_last_error(run->pg)->message);
    return cls;
}

/* The custom columns of the job's configuration into gim_gdpr_column (each a text column). */
static pgc_class add_custom(gim_job_run *run, const json_t *list, const char *subject)
{
    size_t i;
    const json_t *e;
    json_array_foreach(list, i, e)
    {
        char t[64], c[64];
        const char *s = json_string_value(e), *dot = strchr(s, '.');
        snprintf(t, sizeof t, "%.*s", (int)(dot - s), s);
        snprintf(c, sizeof c, "%s", dot + 1);
        const char *p[3] = {t, c, subject};
        PGresult *r = NULL;
        pgc_class cls = sql(run, "checking a custom column",
                            "SELECT data_type FROM information_schema.columns WHERE table_schema = current_schema()"
                            " AND table_name = $1 AND column_name = $2",
                            2, p, &r);
        if (cls != PGC_OK)
            return cls;
        bool ok = PQntuples(r) == 1 && (!strcmp(PQgetvalue(r, 0, 0), "text") ||
                                        !strcmp(PQgetvalue(r, 0, 0), "character varying"));
        PQclear(r);
        if (!ok)
            return failf(run, PGC_FATAL, "gdpr: %s_columns: %s is not a text column of the Info Mart", subject, s);
        cls = sql(run, "adding a custom column",
                  "INSERT INTO gim_gdpr_column (table_name, column_name, subject_type, subject_key)"
                  " VALUES ($1, $2, $3, true) ON CONFLICT (table_name, column_name) DO NOTHING",
                  3, p, NULL);
        if (cls != PGC_OK)
            return cls;
    }
    return PGC_OK;
}

/* The tables with columns of the subject's type (new array of *n, NULL-ended names). */
static pgc_class load_tables(gim_job_run *run, const char *subject, struct ptable **out, size_t *n)
{
    const char *p[1] = {subject};
    PGresult *r = NULL;
    pgc_class cls = sql(run, "reading gim_gdpr_column",
                        "SELECT g.table_name, quote_ident(g.column_name), g.subject_key,"
                        " coalesce((SELECT 'concat_ws('','', ' || string_agg(quote_ident(a.attname), ', '"
                        "   ORDER BY a.attnum) || ')' FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid"
                        "   AND a.attnum = ANY (i.indkey) WHERE i.indrelid = to_regclass(g.table_name)"
                        "   AND i.indisprimary), 'ctid::text')"
                        " FROM gim_gdpr_column g WHERE g.subject_type = $1 AND to_regclass(g.table_name) IS NOT NULL"
                        " ORDER BY 1, 2",
                        1, p, &r);
    if (cls != PGC_OK)
        return cls;
    int rows = PQntuples(r);
    struct ptable *t = mf_xcalloc((size_t)rows + 1, sizeof *t);
    size_t nt = 0;
    for (int i = 0; i < rows; i++) {
        const char *name = PQgetvalue(r, i, 0);
        if (!nt || strcmp(t[nt - 1].name, name)) {
            t[nt].name = mf_xstrdup(name);
            t[nt].rowid = mf_xstrdup(PQgetvalue(r, i, 3));
            nt++;
        }
        struct ptable *pt = &t[nt - 1];
        if (pt->n < MAX_COLS) {
            pt->col[pt->n] = mf_xstrdup(PQgetvalue(r, i, 1));
            pt->key[pt->n++] = PQgetvalue(r, i, 2)[0] == 't';
        }
    }
    PQclear(r);
    *out = t;
    *n = nt;
    return PGC_OK;
}

static void free_tables(struct ptable *t, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(t[i].name);
        free(t[i].rowid);
        for (size_t c = 0; c < t[i].n; c++)
            free(t[i].col[c]);
    }
    free(t);
}

/* The WHERE of the rows of the subject ($1) in t; for a customer, of column c
 * (c < 0: any customer column). NULL: none (an employee table without a key column). */
static char *row_cond(const struct ptable *t, bool customer, long c)
{
    if (customer && c >= 0)
        return mf_xasprintf("%s = $1", t->col[c]);
    mf_buffer b = {0};
    for (size_t i = 0; i < t->n; i++) {
        if (!customer && !t->key[i])
            continue;
        if (b.len)
            mf_buffer_append_str(&b, " OR ");
        char *s = mf_xasprintf("%s = $1", t->col[i]);
        mf_buffer_append_str(&b, s);
        free(s);
    }
    if (!b.len)
        return NULL;
    mf_buffer_append(&b, "", 1);
    return (char *)b.data;
}

/* One ctl_gdpr_history row per (matched row, column); a 'checked' one without a
 * row when none matched. rows: the history rows written. */
static pgc_class history(gim_job_run *run, const struct req *q, const struct ptable *t, size_t c, const char *cond,
                         const char *mask, const char *now, int64_t *rows)
{
    char *text = mf_xasprintf(
        "INSERT INTO ctl_gdpr_history (request_id, request_type, subject_type, table_name, column_name, row_id,"
        " old_value_hash, action, action_ts)"
        " SELECT $2, $3, $4, $5, $6, %s, encode(sha256(convert_to(%s::text, 'UTF8')), 'hex'),"
        " CASE WHEN $3 = 'export' THEN 'exported' WHEN %s IS NULL OR %s = $7 THEN 'checked' ELSE 'masked' END, $8"
        " FROM %s WHERE %s",
        t->rowid, t->col[c], t->col[c], t->col[c], t->name, cond);
    char col[64];
    snprintf(col, sizeof col, "%s", t->col[c][0] == '"' ? t->col[c] + 1 : t->col[c]);
    if (col[0] && col[strlen(col) - 1] == '"')
        col[strlen(col) - 1] = '\0';
    const char *p[8] = {q->value, q->id, q->forget ? "forget" : "export", q->subject_type, t->name, col, mask, now};
    PGresult *r = NULL;
    pgc_class cls = sql(run, "writing ctl_gdpr_history", text, 8, p, &r);
    free(text);
    if (cls != PGC_OK)
        return cls;
    int64_t n = strtoll(PQcmdTuples(r), NULL, 10);
    PQclear(r);
    *rows += n ? n : 1;
    if (n)
        return PGC_OK;
    return sql(run, "writing ctl_gdpr_history",
               "INSERT INTO ctl_gdpr_history (request_id, request_type, subject_type, table_name, column_name,"
               " action, action_ts) VALUES ($1, $2, $3, $4, $5, 'checked', $6)",
               6, (const char *const[]){q->id, p[2], q->subject_type, t->name, col, now}, NULL);
}

/* Replace the JSON string value v by the mask inside the kept updates. */
static pgc_class mask_pending(gim_job_run *run, const struct req *q, const char *v, const char *mask,
                              const char *now, int64_t *rows)
{
    const char *p[5] = {v, mask, q->id, q->subject_type, now};
    PGresult *r = NULL;
    pgc_class cls = sql(run, "masking gim_pending_update",
                        "WITH u AS (UPDATE gim_pending_update SET record = replace(record, to_json($1::text)::text,"
                        " to_json($2::text)::text) WHERE strpos(record, to_json($1::text)::text) > 0"
                        " RETURNING pending_key)"
                        " INSERT INTO ctl_gdpr_history (request_id, request_type, subject_type, table_name,"
                        " column_name, row_id, old_value_hash, action, action_ts)"
                        " SELECT $3, 'forget', $4, 'gim_pending_update', 'record', pending_key::text,"
                        " encode(sha256(convert_to($1, 'UTF8')), 'hex'), 'masked', $5 FROM u",
                        5, p, &r);
    if (cls != PGC_OK)
        return cls;
    *rows += strtoll(PQcmdTuples(r), NULL, 10);
    PQclear(r);
    return PGC_OK;
}

static pgc_class forget_value(gim_job_run *run, const struct req *q, const char *v, const char *mask,
                              const char *now)
{
    const char *p[5] = {q->subject_type, v, mask, q->id, now};
    return sql(run, "writing gim_forget_list",
               "INSERT INTO gim_forget_list (subject_type, value_hash, mask, request_id, created_ts)"
               " VALUES ($1, encode(sha256(convert_to($2, 'UTF8')), 'hex'), $3, $4, $5)"
               " ON CONFLICT (subject_type, value_hash) DO NOTHING",
               5, p, NULL);
}

/* forget: mask table t's fields of the subject; the values to mask in the
 * kept updates and to forget go to vals (NUL-separated, employee). */
static pgc_class forget_table(gim_job_run *run, const struct req *q, const struct ptable *t, const char *mask,
                              const char *now, const char *audit, mf_buffer *vals, mf_buffer *keyvals,
                              int64_t *masked)
{
    bool cust = !strcmp(q->subject_type, "customer");
    char *cond = row_cond(t, cust, -1);
    if (!cond)
        return PGC_OK;
    pgc_class cls = PGC_OK;
    int64_t hist = 0;
    for (size_t c = 0; c < t->n && cls == PGC_OK; c++) {
        char *cc = cust ? row_cond(t, true, (long)c) : mf_xstrdup(cond);
        cls = history(run, q, t, c, cc, mask, now, &hist);
        free(cc);
    }
    if (cls == PGC_OK && !cust) { /* the names and ids of the rows, before they are masked */
        mf_buffer sel = {0};
        for (size_t c = 0; c < t->n; c++) {
            char *s = mf_xasprintf("%s(%s::text, %s)", c ? ", " : "", t->col[c], t->key[c] ? "true" : "false");
            mf_buffer_append_str(&sel, s);
            free(s);
        }
        mf_buffer_append(&sel, "", 1);
        char *text = mf_xasprintf("SELECT DISTINCT v, k FROM %s, LATERAL (VALUES %s) x(v, k) WHERE (%s) AND v IS NOT NULL",
                                  t->name, (const char *)sel.data, cond);
        mf_buffer_free(&sel);
        PGresult *r = NULL;
        cls = sql(run, "reading the employee's values", text, 1, (const char *const[]){q->value}, &r);
        free(text);
        for (int i = 0; cls == PGC_OK && i < PQntuples(r); i++)
            mf_buffer_append(PQgetvalue(r, i, 1)[0] == 't' ? keyvals : vals, PQgetvalue(r, i, 0),
                             (size_t)PQgetlength(r, i, 0) + 1);
        if (cls == PGC_OK)
            PQclear(r);
    }
    if (cls == PGC_OK) {
        mf_buffer set = {0};
        for (size_t c = 0; c < t->n; c++) {
            char *s = cust ? mf_xasprintf("%s = CASE WHEN %s = $1 THEN $2 ELSE %s END, ", t->col[c], t->col[c],
                                          t->col[c])
                           : mf_xasprintf("%s = CASE WHEN %s IS NULL THEN NULL ELSE $2 END, ", t->col[c], t->col[c]);
            mf_buffer_append_str(&set, s);
            free(s);
        }
        mf_buffer_append(&set, "", 1);
        char *text = mf_xasprintf("UPDATE %s SET %supdate_audit_key = $3 WHERE %s", t->name, (const char *)set.data,
                                  cond);
        mf_buffer_free(&set);
        PGresult *r = NULL;
        cls = sql(run, "masking", text, 3, (const char *const[]){q->value, mask, audit}, &r);
        free(text);
        if (cls == PGC_OK) {
            run->env->host->log(run->env->node, MF_LOG_INFO, "gdpr %s: %s: %s rows masked", q->id, t->name,
                                PQcmdTuples(r));
            PQclear(r);
        }
    }
    free(cond);
    *masked += hist;
    return cls;
}

/* export: table t's rows of the subject as "name": [...] into doc. */
static pgc_class export_table(gim_job_run *run, const struct req *q, const struct ptable *t, const char *now,
                              mf_buffer *doc, int64_t *fields)
{
    bool cust = !strcmp(q->subject_type, "customer");
    char *cond = row_cond(t, cust, -1);
    if (!cond)
        return PGC_OK;
    pgc_class cls = PGC_OK;
    for (size_t c = 0; c < t->n && cls == PGC_OK; c++) {
        char *cc = cust ? row_cond(t, true, (long)c) : mf_xstrdup(cond);
        cls = history(run, q, t, c, cc, "", now, fields);
        free(cc);
    }
    char *text = mf_xasprintf("SELECT coalesce(json_agg(to_jsonb(x) ORDER BY %s), '[]')::text FROM %s x WHERE %s",
                              t->rowid, t->name, cond);
    PGresult *r = NULL;
    if (cls == PGC_OK)
        cls = sql(run, "exporting", text, 1, (const char *const[]){q->value}, &r);
    free(text);
    free(cond);
    if (cls != PGC_OK)
        return cls;
    char *head = mf_xasprintf("%s\n    \"%s\": ", doc->len > 1 ? "," : "", t->name);
    mf_buffer_append_str(doc, head);
    free(head);
    mf_buffer_append(doc, PQgetvalue(r, 0, 0), (size_t)PQgetlength(r, 0, 0));
    PQclear(r);
    return PGC_OK;
}

static bool write_file(const char *path, const mf_buffer *b, char *why, size_t size)
{
    char *tmp = mf_xasprintf("%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    bool ok = f && fwrite(b->data, 1, b->len, f) == b->len;
    ok = (f && fclose(f) == 0) && ok;
    if (ok && rename(tmp, path) != 0)
        ok = false;
    if (!ok) {
        snprintf(why, size, "gdpr: writing %s: %s", path, strerror(errno));
        unlink(tmp);
    }
    free(tmp);
    return ok;
}

static int buffer_add(const char *p, size_t n, void *b)
{
    mf_buffer_append(b, p, n);
    return 0;
}

static pgc_class run_gdpr(void *state, gim_job_run *run)
{
    struct gdpr *g = state;
    struct req q = {0};
    if (!parse_args(run, &q))
        return PGC_FATAL;
    const mf_host *h = run->env->host;
    char now[24];
    snprintf(now, sizeof now, "%" PRId64, run->start_ms / 1000);
    h->log(run->env->node, MF_LOG_INFO, "gdpr %s: %s, subject: %s (its value is never logged)", q.id,
           q.forget ? "forget" : "export", q.subject_type);
    pgc_class cls = pgc_begin(run->pg);
    if (cls != PGC_OK)
        return failf(run, cls, "gdpr: BEGIN: %s", pgc_last_error(run->pg)->message);
    if (q.forget)
        cls = sql(run, "locking gim_forget_list (waits for the loader's cycle)",
                  "LOCK TABLE gim_forget_list IN SHARE ROW EXCLUSIVE MODE", 0, NULL, NULL);
    else
        cls = sql(run, "snapshot", "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ", 0, NULL, NULL);
    if (cls == PGC_OK)
        cls = add_custom(run, g->cust, "customer");
    if (cls == PGC_OK)
        cls = add_custom(run, g->emp, "employee");
    struct ptable *t = NULL;
    size_t nt = 0;
    if (cls == PGC_OK)
        cls = load_tables(run, q.subject_type, &t, &nt);
    char audit[24] = "0";
    if (cls == PGC_OK && q.forget) {
        PGresult *r = NULL;
        cls = sql(run, "writing ctl_audit_log",
                  "INSERT INTO ctl_audit_log (job_name, job_instance, created_ts) VALUES ('gdpr', $1, $2)"
                  " RETURNING audit_key",
                  2, (const char *const[]){run->env->job_instance, now}, &r);
        if (cls == PGC_OK) {
            snprintf(audit, sizeof audit, "%s", PQgetvalue(r, 0, 0));
            PQclear(r);
        }
    }
    mf_buffer vals = {0}, keyvals = {0}, doc = {0}; /* NUL-separated: to mask in the kept updates; and to forget */
    mf_buffer_append(&keyvals, q.value, strlen(q.value) + 1);
    mf_buffer_append_str(&doc, "{");
    int64_t fields = 0;
    for (size_t i = 0; i < nt && cls == PGC_OK; i++)
        cls = q.forget ? forget_table(run, &q, &t[i], g->mask, now, audit, &vals, &keyvals, &fields)
                       : export_table(run, &q, &t[i], now, &doc, &fields);
    if (cls == PGC_OK && q.forget) {
        int64_t pend = 0;
        size_t nkeys = keyvals.len;
        mf_buffer_append(&keyvals, vals.data, vals.len); /* the keys first: they are forgotten */
        const char *kend = (const char *)keyvals.data + nkeys;
        for (const char *v = (const char *)keyvals.data; cls == PGC_OK && v < (const char *)keyvals.data + keyvals.len;
             v += strlen(v) + 1) {
            cls = mask_pending(run, &q, v, g->mask, now, &pend);
            if (cls == PGC_OK && v < kend)
                cls = forget_value(run, &q, v, g->mask, now);
        }
        if (cls == PGC_OK && !pend)
            cls = sql(run, "writing ctl_gdpr_history",
                      "INSERT INTO ctl_gdpr_history (request_id, request_type, subject_type, table_name, column_name,"
                      " action, action_ts) VALUES ($1, 'forget', $2, 'gim_pending_update', 'record', 'checked', $3)",
                      3, (const char *const[]){q.id, q.subject_type, now}, NULL);
        fields += pend ? pend : 1;
    }
    if (cls == PGC_OK && !q.forget) {
        json_t *head = json_pack("{s:s,s:i,s:s,s:s,s:s}", "format", "martflow-gdpr-export", "version", 1,
                                 "request_id", q.id, "subject_type", q.subject_type, "subject", q.value);
        mf_buffer out = {0}; /* not json_dumps: jansson has the engine's allocator */
        json_dump_callback(head, buffer_add, &out, JSON_COMPACT | JSON_ENSURE_ASCII);
        json_decref(head);
        if (out.len)
            out.len--; /* without its closing } */
        mf_buffer_append_str(&out, ",\n  \"tables\": ");
        mf_buffer_append(&out, doc.data, doc.len);
        mf_buffer_append_str(&out, "\n  }\n}\n");
        if (!write_file(q.output, &out, run->error, sizeof run->error))
            cls = PGC_FATAL;
        mf_buffer_free(&out);
    }
    if (cls == PGC_OK) {
        cls = pgc_commit(run->pg);
        if (cls != PGC_OK)
            failf(run, cls, "gdpr: COMMIT: %s", pgc_last_error(run->pg)->message);
    }
    if (cls != PGC_OK && !q.forget && q.output)
        unlink(q.output); /* nothing recorded: no document either */
    if (cls == PGC_OK)
        h->log(run->env->node, MF_LOG_INFO, "gdpr %s: %s done: %" PRId64 " fields %s", q.id,
               q.forget ? "forget" : "export", fields, q.forget ? "checked or masked" : "checked or exported");
    run->rows = fields;
    mf_buffer_free(&vals);
    mf_buffer_free(&keyvals);
    mf_buffer_free(&doc);
    free_tables(t, nt);
    return cls;
}

const gim_job_kind gim_gdpr_kind = {
    .name = "gdpr",
    .keys = keys,
    .check = check,
    .open = open_gdpr,
    .run = run_gdpr,
    .close = close_gdpr,
    .on_demand = true,
    .takes_args = true,
};
