/* gim_forget.c — see gim_forget.h. */
#include "gim_forget.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <martflow/crypto.h>
#include <martflow/helpers.h>

#include "pg_copytext.h"

enum role { R_NONE = 0, R_CUST, R_EMP_KEY, R_EMP };

struct entry {
    uint8_t hash[MF_SHA256_LEN];
    uint32_t mask; /* offset of its COPY-text mask in masks */
    uint32_t mask_len;
};

struct list {
    struct entry *e;
    size_t n;
};

struct gim_forget {
    long long n_forget, n_columns; /* the counts the lists were read at (-1: never) */
    struct list cust, emp;
    mf_buffer masks;
    char *col_rows; /* gim_gdpr_column: "table\tcolumn\tsubject\tkey\n"... */
    const gim_tables *ts; /* roles are for these */
    uint8_t **roles;      /* per table, per column: enum role; NULL: no personal column */
};

gim_forget *gim_forget_new(void)
{
    gim_forget *f = mf_xcalloc(1, sizeof *f);
    f->n_forget = f->n_columns = -1;
    return f;
}

static void free_roles(gim_forget *f)
{
    if (f->roles && f->ts)
        for (size_t i = 0; i < f->ts->n; i++)
            free(f->roles[i]);
    free(f->roles);
    f->roles = NULL;
    f->ts = NULL;
}

void gim_forget_free(gim_forget *f)
{
    if (!f)
        return;
    free_roles(f);
    free(f->cust.e);
    free(f->emp.e);
    free(f->col_rows);
    mf_buffer_free(&f->masks);
    free(f);
}

size_t gim_forget_size(const gim_forget *f)
{
    return f ? f->cust.n + f->emp.n : 0;
}

static int cmp_entry(const void *a, const void *b)
{
    return memcmp(((const struct entry *)a)->hash, ((const struct entry *)b)->hash, MF_SHA256_LEN);
}

static bool hex_decode(const char *s, uint8_t *out, size_t n)
{
    if (strlen(s) != n * 2)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned v = 0;
        if (sscanf(s + 2 * i, "%2x", &v) != 1)
            return false;
        out[i] = (uint8_t)v;
    }
    return true;
}

static void build_roles(gim_forget *f, const gim_tables *ts)
{
    free_roles(f);
    f->ts = ts;
    f->roles = mf_xcalloc(ts->n + 1, sizeof *f->roles);
    for (const char *line = f->col_rows; line && *line;) {
        const char *end = strchr(line, '\n');
        char row[400];
        size_t len = end ? (size_t)(end - line) : strlen(line);
        snprintf(row, sizeof row, "%.*s", (int)(len < sizeof row ? len : sizeof row - 1), line);
        line += len + (end ? 1 : 0);
        char *tab = strchr(row, '\t'), *col = tab ? tab + 1 : NULL;
        char *tab2 = col ? strchr(col, '\t') : NULL, *subj = tab2 ? tab2 + 1 : NULL;
        char *tab3 = subj ? strchr(subj, '\t') : NULL;
        if (!tab3)
            continue;
        *tab = *tab2 = *tab3 = '\0';
        bool key = tab3[1] == 't';
        for (size_t t = 0; t < ts->n; t++) {
            if (strcmp(ts->t[t].sql, row))
                continue;
            for (size_t c = 0; c < ts->t[t].ncols; c++) {
                const gim_col *gc = &ts->t[t].cols[c];
                if (strcmp(gc->name, col) || gc->src != GIM_SRC_FIELD || gc->key)
                    continue; /* a key column is the row's identity: never masked by the loader */
                if (!f->roles[t])
                    f->roles[t] = mf_xcalloc(ts->t[t].ncols, 1);
                f->roles[t][c] = !strcmp(subj, "customer") ? R_CUST : key ? R_EMP_KEY : R_EMP;
            }
        }
    }
}

pgc_class gim_forget_refresh(gim_forget *f, pgc *c, const gim_tables *ts, char *why, size_t size)
{
    PGresult *r = NULL;
    pgc_class cls = pgc_exec(c, "LOCK TABLE gim_forget_list IN SHARE MODE", 0, NULL, NULL);
    if (cls == PGC_OK)
        cls = pgc_exec(c, "SELECT (SELECT count(*) FROM gim_forget_list), (SELECT count(*) FROM gim_gdpr_column)", 0,
                       NULL, &r);
    if (cls != PGC_OK) {
        snprintf(why, size, "reading the forget list: %s", pgc_last_error(c)->message);
        return cls;
    }
    long long nf = strtoll(PQgetvalue(r, 0, 0), NULL, 10), nc = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
    PQclear(r);
    if (nf == f->n_forget && nc == f->n_columns) {
        if (f->ts != ts)
            build_roles(f, ts);
        return PGC_OK;
    }
    if (nc != f->n_columns) {
        cls = pgc_exec(c,
                       "SELECT coalesce(string_agg(table_name || E'\\t' || column_name || E'\\t' || subject_type"
                       " || E'\\t' || subject_key::text || E'\\n', ''), '') FROM gim_gdpr_column",
                       0, NULL, &r);
        if (cls != PGC_OK) {
            snprintf(why, size, "reading gim_gdpr_column: %s", pgc_last_error(c)->message);
            return cls;
        }
        free(f->col_rows);
        f->col_rows = mf_xstrdup(PQgetvalue(r, 0, 0));
        PQclear(r);
    }
    if (nf != f->n_forget) {
        cls = pgc_exec(c, "SELECT subject_type, value_hash, mask FROM gim_forget_list", 0, NULL, &r);
        if (cls != PGC_OK) {
            snprintf(why, size, "reading gim_forget_list: %s", pgc_last_error(c)->message);
            return cls;
        }
        int n = PQntuples(r);
        free(f->cust.e);
        free(f->emp.e);
        f->cust = (struct list){mf_xcalloc((size_t)n + 1, sizeof(struct entry)), 0};
        f->emp = (struct list){mf_xcalloc((size_t)n + 1, sizeof(struct entry)), 0};
        mf_buffer_reset(&f->masks);
        for (int i = 0; i < n; i++) {
            struct list *l = !strcmp(PQgetvalue(r, i, 0), "customer") ? &f->cust : &f->emp;
            struct entry *e = &l->e[l->n];
            if (!hex_decode(PQgetvalue(r, i, 1), e->hash, MF_SHA256_LEN))
                continue;
            e->mask = (uint32_t)f->masks.len;
            pgt_append_escaped(&f->masks, PQgetvalue(r, i, 2), (size_t)PQgetlength(r, i, 2));
            e->mask_len = (uint32_t)(f->masks.len - e->mask);
            l->n++;
        }
        PQclear(r);
        qsort(f->cust.e, f->cust.n, sizeof(struct entry), cmp_entry);
        qsort(f->emp.e, f->emp.n, sizeof(struct entry), cmp_entry);
    }
    f->n_forget = nf;
    f->n_columns = nc;
    build_roles(f, ts);
    return PGC_OK;
}

/* The entry of the value of a TEXT field (COPY text: unescaped first), or NULL. */
static const struct entry *lookup(const struct list *l, const gim_field *fd)
{
    if (!l->n || fd->kind != GIM_V_TEXT)
        return NULL;
    struct entry key;
    if (memchr(fd->v, '\\', fd->len)) {
        char *plain = mf_xmalloc(fd->len + 1);
        size_t n = 0;
        for (uint32_t i = 0; i < fd->len; i++) {
            char ch = fd->v[i];
            if (ch == '\\' && i + 1 < fd->len) {
                char e = fd->v[++i];
                ch = e == 't' ? '\t' : e == 'n' ? '\n' : e == 'r' ? '\r' : e;
            }
            plain[n++] = ch;
        }
        mf_sha256(plain, n, key.hash);
        free(plain);
    } else {
        mf_sha256(fd->v, fd->len, key.hash);
    }
    return bsearch(&key, l->e, l->n, sizeof key, cmp_entry);
}

size_t gim_forget_apply(const gim_forget *f, const gim_tables *ts, gim_rec *r)
{
    if (!f || (!f->cust.n && !f->emp.n) || f->ts != ts || !f->roles[r->table])
        return 0;
    const uint8_t *role = f->roles[r->table];
    const struct entry *emp = NULL;
    size_t masked = 0;
    for (size_t i = 0; i < r->nf; i++) {
        gim_field *fd = &r->f[i];
        const struct entry *e = NULL;
        if (role[fd->col] == R_CUST && (e = lookup(&f->cust, fd))) {
            fd->v = (const char *)f->masks.data + e->mask;
            fd->len = e->mask_len;
            masked++;
        } else if (role[fd->col] == R_EMP_KEY && !emp) {
            emp = lookup(&f->emp, fd);
        }
    }
    if (emp)
        for (size_t i = 0; i < r->nf; i++) {
            gim_field *fd = &r->f[i];
            if ((role[fd->col] == R_EMP_KEY || role[fd->col] == R_EMP) && fd->kind == GIM_V_TEXT) {
                fd->v = (const char *)f->masks.data + emp->mask;
                fd->len = emp->mask_len;
                masked++;
            }
        }
    return masked;
}
