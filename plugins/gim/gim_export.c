/* gim_export.c — see gim_export.h. */
#include "gim_export.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <martflow/helpers.h>

#include "gim_csvgz.h"

#define MANIFEST "manifest.json"
#define MAX_TABLES 64

static const char *const keys[] = {"target", "tables", "gzip_level", NULL};

struct exp {
    char *target;
    mf_objstore *store;
    char **tables; /* configured, or NULL: every table */
    size_t ntables;
    int level;
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

static void check(const json_t *job, mf_check *chk)
{
    const json_t *t = json_object_get(job, "target");
    const char *url = json_string_value(t);
    if (!url)
        chk->problem(chk, t ? t : job, "export: target (s3://BUCKET/PREFIX or file:///DIR; \"\": disabled) is required");
    else if (*url && strncmp(url, "s3://", 5) && strncmp(url, "file://", 7))
        chk->problem(chk, t, "export: target must be s3://BUCKET/PREFIX or file:///DIR, not '%s'", url);
    const json_t *tables = json_object_get(job, "tables");
    if (tables && !json_is_array(tables))
        chk->problem(chk, tables, "export: tables is a list of table names");
    size_t i;
    const json_t *v;
    json_array_foreach(tables, i, v)
    {
        if (!table_name_ok(json_string_value(v)))
            chk->problem(chk, v, "export: a table name is [a-z0-9_]+");
    }
    const json_t *lv = json_object_get(job, "gzip_level");
    if (lv && (!json_is_integer(lv) || json_integer_value(lv) < 1 || json_integer_value(lv) > 9))
        chk->problem(chk, lv, "export: gzip_level is 1..9");
}

static void close_exp(void *state)
{
    struct exp *e = state;
    if (!e)
        return;
    mf_objstore_close(e->store);
    for (size_t i = 0; i < e->ntables; i++)
        free(e->tables[i]);
    free(e->tables);
    free(e->target);
    free(e);
}

static void *open_exp(const json_t *job, const gim_job_env *env, char *why, size_t why_size)
{
    struct exp *e = mf_xcalloc(1, sizeof *e);
    e->target = mf_xstrdup(json_string_value(json_object_get(job, "target")));
    const json_t *lv = json_object_get(job, "gzip_level");
    e->level = lv ? (int)json_integer_value(lv) : 6;
    const json_t *tables = json_object_get(job, "tables");
    size_t i;
    const json_t *v;
    e->tables = mf_xcalloc(json_array_size(tables) + 1, sizeof *e->tables);
    json_array_foreach(tables, i, v) e->tables[e->ntables++] = mf_xstrdup(json_string_value(v));
    if (!*e->target) /* disabled (pipelines/gim.yaml without EXPORT_DIR) */
        return e;
    char *err = NULL;
    e->store = mf_objstore_open(e->target, strncmp(e->target, "s3://", 5) ? NULL : env->s3, &err);
    if (!e->store) {
        snprintf(why, why_size, "export target: %s", err ? err : "cannot open");
        free(err);
        close_exp(e);
        return NULL;
    }
    return e;
}

/* ---- a run -------------------------------------------------------------------------- */

struct pass {
    struct exp *e;
    gim_job_run *run;
    char folder[96];
    int64_t from, hwm, hist_key;
    char *table_names[MAX_TABLES];
    gim_manifest_table mt[MAX_TABLES];
    char *files[MAX_TABLES];
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

static pgc_class obj_fail(struct pass *p, int st, const char *what, char *msg)
{
    snprintf(p->run->error, sizeof p->run->error, "%s: %s", what, msg ? msg : "object store error");
    free(msg);
    return st == MF_OBJ_RETRY ? PGC_TRANSIENT : PGC_FATAL;
}

/* Earlier runs left RUNNING (the process died): SUCCESS when their manifest
 * was stored (the folder is complete), else FAILED. */
static pgc_class settle_interrupted(struct pass *p)
{
    pgc *pg = p->run->pg;
    PGresult *r = NULL;
    const char *tp[1] = {p->e->target};
    if (pgc_exec(pg, "SELECT export_history_key, folder_name FROM ctl_export_history"
                     " WHERE status = 'RUNNING' AND target = $1", 1, tp, &r) != PGC_OK)
        return pg_fail(p, "reading ctl_export_history");
    pgc_class cls = PGC_OK;
    for (int i = 0; i < PQntuples(r) && cls == PGC_OK; i++) {
        char *key = mf_xasprintf("%s/" MANIFEST, PQgetvalue(r, i, 1)), *err = NULL;
        int st = mf_objstore_head(p->e->store, key, NULL, &err);
        free(key);
        if (st != MF_OBJ_OK && st != MF_OBJ_NOT_FOUND) {
            cls = obj_fail(p, st, "looking for an interrupted export's manifest", err);
            break;
        }
        free(err);
        const char *q[2] = {PQgetvalue(r, i, 0), st == MF_OBJ_OK ? "SUCCESS" : "FAILED"};
        if (pgc_exec(pg, "UPDATE ctl_export_history SET status = $2, error_message = CASE $2 WHEN 'FAILED' THEN"
                         " 'interrupted (no manifest)' END WHERE export_history_key = $1", 2, q, NULL) != PGC_OK)
            cls = pg_fail(p, "settling an interrupted export");
    }
    PQclear(r);
    return cls;
}

/* Per target: two exports to two places each get every row. */
static pgc_class read_range(struct pass *p)
{
    PGresult *r = NULL;
    const char *tp[1] = {p->e->target};
    if (pgc_exec(p->run->pg,
                 "SELECT coalesce((SELECT max(audit_key_hwm) FROM ctl_export_history"
                 "                 WHERE status = 'SUCCESS' AND target = $1), 0),"
                 " coalesce((SELECT max(audit_key) FROM ctl_audit_log), 0)",
                 1, tp, &r) != PGC_OK)
        return pg_fail(p, "reading the audit key range");
    p->from = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    p->hwm = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
    PQclear(r);
    return PGC_OK;
}

/* The tables: every Info Mart table with update_audit_key (not ctl_*, gim_*;
 * partitions through their parent), or the configured ones, which must be. */
static pgc_class read_tables(struct pass *p)
{
    PGresult *r = NULL;
    if (pgc_exec(p->run->pg,
                 "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                 " WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND NOT c.relispartition"
                 " AND c.relname NOT LIKE 'ctl\\_%' AND c.relname NOT LIKE 'gim\\_%'"
                 " AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid"
                 "             AND a.attname = 'update_audit_key' AND NOT a.attisdropped)"
                 " ORDER BY c.relname",
                 0, NULL, &r) != PGC_OK)
        return pg_fail(p, "reading the tables");
    pgc_class cls = PGC_OK;
    int nt = PQntuples(r);
    if (!p->e->ntables) {
        for (int i = 0; i < nt && p->n < MAX_TABLES; i++)
            if (table_name_ok(PQgetvalue(r, i, 0)))
                p->table_names[p->n++] = mf_xstrdup(PQgetvalue(r, i, 0));
    } else {
        for (size_t k = 0; k < p->e->ntables && p->n < MAX_TABLES && cls == PGC_OK; k++) {
            bool found = false;
            for (int i = 0; i < nt && !found; i++)
                found = !strcmp(PQgetvalue(r, i, 0), p->e->tables[k]);
            if (!found) {
                snprintf(p->run->error, sizeof p->run->error,
                         "tables: '%s' is not an Info Mart table with update_audit_key", p->e->tables[k]);
                cls = PGC_FATAL;
            } else {
                p->table_names[p->n++] = mf_xstrdup(p->e->tables[k]);
            }
        }
    }
    PQclear(r);
    if (cls == PGC_OK && !p->n) {
        snprintf(p->run->error, sizeof p->run->error, "no table to export: is the Info Mart schema there?");
        cls = PGC_FATAL;
    }
    return cls;
}

static pgc_class history_start(struct pass *p)
{
    char from[24], hwm[24], st[24];
    snprintf(from, sizeof from, "%" PRId64, p->from);
    snprintf(hwm, sizeof hwm, "%" PRId64, p->hwm);
    snprintf(st, sizeof st, "%" PRId64, p->run->start_ms / 1000);
    const char *q[5] = {from, hwm, p->folder, p->e->target, st};
    PGresult *r = NULL;
    if (pgc_exec(p->run->pg,
                 "INSERT INTO ctl_export_history (audit_key_from, audit_key_hwm, folder_name, target, start_ts, status)"
                 " VALUES ($1, $2, $3, $4, $5, 'RUNNING') RETURNING export_history_key",
                 5, q, &r) != PGC_OK)
        return pg_fail(p, "writing ctl_export_history");
    p->hist_key = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return PGC_OK;
}

static pgc_class history_end(struct pass *p, bool ok)
{
    char k[24], e[24], n[24];
    snprintf(k, sizeof k, "%" PRId64, p->hist_key);
    snprintf(e, sizeof e, "%" PRId64, p->run->env->host->now_ms() / 1000);
    snprintf(n, sizeof n, "%" PRId64, p->run->rows);
    const char *q[5] = {k, ok ? "SUCCESS" : "FAILED", e, n, ok ? NULL : p->run->error};
    if (pgc_exec(p->run->pg,
                 "UPDATE ctl_export_history SET status = $2, end_ts = $3, row_count = $4, error_message = $5"
                 " WHERE export_history_key = $1",
                 5, q, NULL) != PGC_OK && ok)
        return pg_fail(p, "completing ctl_export_history"); /* the next run settles it by its manifest */
    return PGC_OK;
}

struct copy_sink {
    gim_csvgz *w;
    int st;
    char *err;
};

static int copy_piece(void *arg, const char *data, size_t len)
{
    struct copy_sink *s = arg;
    s->st = gim_csvgz_write(s->w, data, len, &s->err);
    return s->st != MF_OBJ_OK;
}

/* One table's file, in the open snapshot. */
static pgc_class export_table(struct pass *p, size_t i)
{
    const char *t = p->table_names[i];
    p->files[i] = mf_xasprintf("%s.csv.gz", t);
    char *key = mf_xasprintf("%s/%s", p->folder, p->files[i]);
    struct copy_sink s = {0};
    s.st = gim_csvgz_open(p->e->store, key, p->e->level, &s.w, &s.err);
    free(key);
    if (s.st != MF_OBJ_OK)
        return obj_fail(p, s.st, t, s.err);
    char *sql = mf_xasprintf("COPY (SELECT * FROM %s WHERE update_audit_key > %" PRId64
                             " AND update_audit_key <= %" PRId64 ") TO STDOUT (FORMAT csv, HEADER)",
                             t, p->from, p->hwm);
    uint64_t rows = 0;
    pgc_class cls = pgc_copy_out(p->run->pg, sql, copy_piece, &s, &rows);
    free(sql);
    if (s.st != MF_OBJ_OK) {
        cls = obj_fail(p, s.st, t, s.err);
    } else if (cls != PGC_OK) {
        cls = pg_fail(p, t);
    } else {
        gim_manifest_table *m = &p->mt[i];
        s.st = gim_csvgz_commit(s.w, &m->res, &s.err);
        if (s.st != MF_OBJ_OK) {
            cls = obj_fail(p, s.st, t, s.err);
        } else if (m->res.records != rows + 1) { /* the header and one record per row */
            snprintf(p->run->error, sizeof p->run->error, "%s: %" PRIu64 " CSV records for %" PRIu64 " rows", t,
                     m->res.records, rows);
            cls = PGC_FATAL;
        } else {
            m->table = t;
            m->file = p->files[i];
            m->rows = rows;
            p->run->rows += (int64_t)rows;
        }
    }
    gim_csvgz_free(s.w);
    return cls;
}

static pgc_class export_all(struct pass *p)
{
    pgc *pg = p->run->pg;
    if (pgc_exec(pg, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", 0, NULL, NULL) != PGC_OK ||
        pgc_exec(pg, "SET LOCAL client_encoding TO 'UTF8'", 0, NULL, NULL) != PGC_OK)
        return pg_fail(p, "starting the export's snapshot");
    pgc_class cls = PGC_OK;
    for (size_t i = 0; i < p->n && cls == PGC_OK; i++)
        cls = export_table(p, i);
    if (cls != PGC_OK) {
        pgc_rollback(pg);
        return cls;
    }
    if (pgc_commit(pg) != PGC_OK)
        return pg_fail(p, "ending the export's snapshot");
    gim_manifest m = {.folder = p->folder, .audit_key_from = p->from, .audit_key_hwm = p->hwm,
                      .created_ms = p->run->start_ms, .job = p->run->name, .tables = p->mt, .ntables = p->n};
    char *text = gim_manifest_json(&m), *key = mf_xasprintf("%s/" MANIFEST, p->folder), *err = NULL;
    int st = mf_objstore_put(p->e->store, key, text, strlen(text), &err); /* last: the folder is complete */
    free(text);
    free(key);
    return st == MF_OBJ_OK ? PGC_OK : obj_fail(p, st, MANIFEST, err);
}

static pgc_class run_exp(void *state, gim_job_run *run)
{
    struct pass *p = mf_xcalloc(1, sizeof *p);
    p->e = state;
    p->run = run;
    const mf_host *h = run->env->host;
    pgc_class cls = settle_interrupted(p);
    if (cls == PGC_OK)
        cls = read_range(p);
    if (cls == PGC_OK && p->hwm <= p->from) {
        h->log(run->env->node, MF_LOG_INFO, "export '%s': nothing new since audit key %" PRId64, run->name, p->from);
        goto done;
    }
    if (cls == PGC_OK)
        cls = read_tables(p);
    if (cls != PGC_OK)
        goto done;
    time_t t = (time_t)(run->start_ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    char when[32];
    strftime(when, sizeof when, "%Y_%m_%d_%H_%M_%S", &tm);
    snprintf(p->folder, sizeof p->folder, "export_%" PRId64 "_%s", p->hwm, when);
    if ((cls = history_start(p)) != PGC_OK)
        goto done;
    h->log(run->env->node, MF_LOG_INFO, "export '%s': audit keys (%" PRId64 ", %" PRId64 "] of %zu tables to %s/%s",
           run->name, p->from, p->hwm, p->n, mf_objstore_url(p->e->store), p->folder);
    cls = export_all(p);
    if (pgc_in_transaction(run->pg))
        pgc_rollback(run->pg);
    pgc_class hc = history_end(p, cls == PGC_OK);
    if (cls == PGC_OK)
        cls = hc;
done:
    for (size_t i = 0; i < p->n; i++) {
        free(p->table_names[i]);
        free(p->files[i]);
    }
    free(p);
    return cls;
}

static const char *disabled(const void *state)
{
    const struct exp *e = state;
    return *e->target ? NULL : "its target is empty (pipelines/gim.yaml: EXPORT_DIR)";
}

const gim_job_kind gim_export_kind = {
    .name = "export",
    .keys = keys,
    .check = check,
    .open = open_exp,
    .run = run_exp,
    .close = close_exp,
    .disabled = disabled,
};
