/*
 * schema.c — the Info Mart migration runner (see schema.h).
 */
#include "schema.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <martflow/alloc.h>
#include <martflow/crypto.h>
#include <martflow/helpers.h>

/* Migration files beyond this number are surely a mistake (and it keeps a
 * version in an int and the table of files small). */
#define MAX_VERSION 999

typedef struct migration {
    int version;
    char *name;     /* file name, e.g. 001_initial.sql */
    char *sql;      /* the file's text, NUL-terminated */
    char checksum[2 * MF_SHA256_LEN + 1];
} migration;

typedef struct migration_set {
    migration *m; /* m[i].version == i + 1 once loaded */
    int count;
} migration_set;

static void set_message(gim_schema_result *out, const char *fmt, ...) MF_ALLOC_PRINTF(2, 3);
static void set_message(gim_schema_result *out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->message, sizeof out->message, fmt, ap);
    va_end(ap);
}

/* The client's last error as "SQLSTATE: message". */
static const char *pg_reason(pgc *c, char *buf, size_t size)
{
    const pgc_error *e = pgc_last_error(c);
    if (e->sqlstate[0])
        snprintf(buf, size, "%s: %s", e->sqlstate, e->message);
    else
        snprintf(buf, size, "%s", e->message);
    return buf;
}

static void set_free(migration_set *s)
{
    for (int i = 0; i < s->count; i++) {
        free(s->m[i].name);
        free(s->m[i].sql);
    }
    free(s->m);
    s->m = NULL;
    s->count = 0;
}

/* NNN_name.sql with name in [a-z0-9_]: *version set. Other names: false. */
static bool parse_name(const char *name, int *version)
{
    const char *p = name;
    int v = 0, digits = 0;
    while (*p >= '0' && *p <= '9' && digits < 4) {
        v = v * 10 + (*p++ - '0');
        digits++;
    }
    if (digits != 3 || *p++ != '_')
        return false;
    const char *body = p;
    while ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_')
        p++;
    if (p == body || strcmp(p, ".sql") != 0)
        return false;
    *version = v;
    return true;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* The whole file (NUL-terminated), or NULL with errno; a NUL byte inside is
 * refused (EILSEQ): the statement text would end there. */
static char *read_text(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    mf_buffer b = {0};
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        mf_buffer_append(&b, chunk, n);
    int failed = ferror(f);
    fclose(f);
    if (failed || (b.len && memchr(b.data, '\0', b.len))) {
        mf_buffer_free(&b);
        errno = failed ? EIO : EILSEQ;
        return NULL;
    }
    *len = b.len;
    mf_buffer_append(&b, "", 1);
    return (char *)b.data; /* the buffer's storage becomes the caller's */
}

/* Load every migration of dir into s, checked to be 001..N without gaps. */
static pgc_class load_dir(const char *dir, migration_set *s, gim_schema_result *out)
{
    migration *slots[MAX_VERSION + 1] = {0};
    int top = 0;
    DIR *d = opendir(dir);
    if (!d) {
        set_message(out, "migrations directory %s: %s", dir, strerror(errno));
        return PGC_FATAL;
    }
    s->m = mf_xcalloc(MAX_VERSION, sizeof *s->m);
    struct dirent *e;
    pgc_class cls = PGC_OK;
    while ((e = readdir(d)) != NULL) {
        if (!ends_with(e->d_name, ".sql"))
            continue;
        int v;
        if (!parse_name(e->d_name, &v) || v < 1 || v > MAX_VERSION) {
            set_message(out, "%s/%s: not a migration name (NNN_name.sql, name in a-z0-9_, NNN from 001)", dir,
                        e->d_name);
            cls = PGC_FATAL;
            goto fail;
        }
        if (slots[v]) {
            set_message(out, "%s: two migrations numbered %03d: %s and %s", dir, v, slots[v]->name, e->d_name);
            cls = PGC_FATAL;
            goto fail;
        }
        migration *m = &s->m[v - 1];
        m->version = v;
        m->name = mf_xstrdup(e->d_name);
        slots[v] = m;
        if (v > top)
            top = v;
    }
    for (int v = 1; v <= top; v++) {
        if (!slots[v]) {
            set_message(out, "%s: migration %03d is missing (the files must be numbered 001..%03d without gaps)",
                        dir, v, top);
            cls = PGC_FATAL;
            goto fail;
        }
    }
    s->count = top;
    if (top == 0) {
        set_message(out, "%s: no migrations (NNN_name.sql) in it", dir);
        cls = PGC_FATAL;
        goto fail;
    }
    for (int i = 0; i < top; i++) {
        migration *m = &s->m[i];
        char *path = mf_xasprintf("%s/%s", dir, m->name);
        size_t len = 0;
        m->sql = read_text(path, &len);
        if (!m->sql) {
            set_message(out, "%s: %s", path, errno == EILSEQ ? "holds a NUL byte" : strerror(errno));
            free(path);
            cls = PGC_FATAL;
            goto fail;
        }
        free(path);
        uint8_t digest[MF_SHA256_LEN];
        mf_sha256(m->sql, len, digest);
        mf_hex_encode(digest, sizeof digest, m->checksum);
    }
    closedir(d);
    return PGC_OK;
fail:
    closedir(d);
    /* names were set for every slot seen: count them all for set_free */
    s->count = MAX_VERSION;
    set_free(s);
    return cls;
}

/* The recorded migrations: *res (the caller PQclears it) holds version,
 * name, checksum by version; NULL when the database has no schema. */
static pgc_class recorded(pgc *c, PGresult **res, gim_schema_result *out)
{
    char why[900];
    PGresult *r = NULL;
    *res = NULL;
    pgc_class cls = pgc_exec(c, "SELECT to_regclass('ctl_schema_info') IS NOT NULL", 0, NULL, &r);
    if (cls != PGC_OK) {
        set_message(out, "reading the schema version: %s", pg_reason(c, why, sizeof why));
        return cls;
    }
    bool exists = PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    if (!exists)
        return PGC_OK;
    cls = pgc_exec(c, "SELECT version, name, checksum FROM ctl_schema_info ORDER BY version", 0, NULL, res);
    if (cls != PGC_OK)
        set_message(out, "reading ctl_schema_info: %s", pg_reason(c, why, sizeof why));
    return cls;
}

/* Check the recorded migrations against the files: *version the database's. */
static pgc_class check_recorded(PGresult *r, const migration_set *s, int *version, gim_schema_result *out)
{
    int n = r ? PQntuples(r) : 0;
    *version = 0;
    for (int i = 0; i < n; i++) {
        int v = atoi(PQgetvalue(r, i, 0));
        const char *name = PQgetvalue(r, i, 1), *sum = PQgetvalue(r, i, 2);
        if (v != i + 1) {
            set_message(out, "ctl_schema_info: migration %03d is recorded but %03d is not: the schema was not made "
                        "by this runner", v, i + 1);
            return PGC_FATAL;
        }
        *version = v;
        if (v > s->count)
            continue; /* reported below, with the newest version */
        const migration *m = &s->m[v - 1];
        if (strcmp(sum, m->checksum) != 0) {
            set_message(out, "migration %03d (%s) was applied with checksum %.12s..., but %s now has %.12s...: a "
                        "released migration must never change (add a new one instead)", v, name, sum, m->name,
                        m->checksum);
            return PGC_FATAL;
        }
    }
    if (*version > s->count) {
        set_message(out, "the database's schema is at version %d, newer than this martflow knows (%d): refusing "
                    "to use it (upgrade martflow)", *version, s->count);
        return PGC_FATAL;
    }
    return PGC_OK;
}

/* Run one migration and record it, in one transaction. */
static pgc_class apply(pgc *c, const migration *m, gim_schema_result *out)
{
    char why[900], vtext[16];
    snprintf(vtext, sizeof vtext, "%d", m->version);
    const char *params[] = {vtext, m->name, m->checksum};
    pgc_class cls = pgc_begin(c);
    if (cls == PGC_OK)
        cls = pgc_exec(c, m->sql, 0, NULL, NULL);
    if (cls == PGC_OK)
        cls = pgc_exec(c, "INSERT INTO ctl_schema_info (version, name, checksum) VALUES ($1::integer, $2, $3)", 3,
                       params, NULL);
    if (cls == PGC_OK)
        cls = pgc_commit(c);
    if (cls != PGC_OK) {
        set_message(out, "migration %s: %s", m->name, pg_reason(c, why, sizeof why));
        if (pgc_in_transaction(c))
            pgc_rollback(c);
    }
    return cls;
}

static pgc_class migrate_locked(pgc *c, const migration_set *s, gim_schema_result *out)
{
    PGresult *r = NULL;
    int version = 0;
    pgc_class cls = recorded(c, &r, out);
    if (cls == PGC_OK)
        cls = check_recorded(r, s, &version, out);
    PQclear(r);
    if (cls != PGC_OK)
        return cls;
    out->from_version = out->version = version;
    for (int v = version + 1; v <= s->count; v++) {
        cls = apply(c, &s->m[v - 1], out);
        if (cls != PGC_OK)
            return cls;
        out->version = v;
        out->applied++;
    }
    return PGC_OK;
}

pgc_class gim_schema_migrate(pgc *c, const char *dir, int lock_timeout_ms, gim_schema_result *out)
{
    memset(out, 0, sizeof *out);
    migration_set s = {0};
    pgc_class cls = load_dir(dir, &s, out);
    if (cls != PGC_OK)
        return cls;
    char why[900];
    bool got = false;
    cls = pgc_lock_wait(c, GIM_SCHEMA_LOCK_KEY, lock_timeout_ms, &got);
    if (cls != PGC_OK) {
        set_message(out, "taking the schema lock: %s", pg_reason(c, why, sizeof why));
        goto done;
    }
    if (!got) {
        set_message(out, "another process is migrating the schema (advisory lock %" PRId64 " held for more than %d "
                    "ms)", GIM_SCHEMA_LOCK_KEY, lock_timeout_ms);
        cls = PGC_TRANSIENT;
        goto done;
    }
    cls = migrate_locked(c, &s, out);
    /* a lost connection released the lock with it: nothing to do then */
    pgc_unlock(c, GIM_SCHEMA_LOCK_KEY, NULL);
done:
    set_free(&s);
    return cls;
}

pgc_class gim_schema_version(pgc *c, int *version, gim_schema_result *out)
{
    memset(out, 0, sizeof *out);
    PGresult *r = NULL;
    *version = 0;
    pgc_class cls = recorded(c, &r, out);
    if (cls == PGC_OK && r && PQntuples(r) > 0)
        *version = atoi(PQgetvalue(r, PQntuples(r) - 1, 0));
    PQclear(r);
    out->from_version = out->version = *version;
    return cls;
}
