/* cfgdb_set.c — see cfgdb_set.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <martflow/alloc.h>

#include "cfgdb_set.h"

static const char *const names[GCA_TYPE_COUNT] = {
    "CfgTenant", "CfgSwitch", "CfgAgentLogin", "CfgDN", "CfgPlace",
    "CfgSkill", "CfgActionCode", "CfgPerson", "CfgAgentGroup",
};

const char *gca_type_name(gca_type t)
{
    return (unsigned)t < GCA_TYPE_COUNT ? names[t] : "";
}

int gca_type_parse(const char *name)
{
    for (int t = 0; t < GCA_TYPE_COUNT; t++)
        if (name && strcmp(name, names[t]) == 0)
            return t;
    return -1;
}

void cfgdb_set_init(cfgdb_set *s)
{
    memset(s, 0, sizeof *s);
}

void cfgdb_set_free(cfgdb_set *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->objs[i].data);
    free(s->objs);
    cfgdb_set_init(s);
}

void cfgdb_set_move(cfgdb_set *dst, cfgdb_set *src)
{
    cfgdb_set_free(dst);
    *dst = *src;
    cfgdb_set_init(src);
}

struct text {
    char *p;
    size_t len, cap;
};

static int text_add(const char *buf, size_t size, void *arg)
{
    struct text *t = arg;
    if (t->len + size + 1 > t->cap) {
        t->cap = t->cap ? t->cap : 128;
        while (t->len + size + 1 > t->cap)
            t->cap *= 2;
        t->p = mf_xrealloc(t->p, t->cap);
    }
    memcpy(t->p + t->len, buf, size);
    t->len += size;
    t->p[t->len] = '\0';
    return 0;
}

/* Not json_dumps: the engine gives jansson its own allocator, so what
 * jansson allocates must not reach free(). */
char *cfgdb_json_text(const json_t *v, size_t flags, size_t *len)
{
    struct text t = {0};
    if (json_dump_callback(v, text_add, &t, flags | JSON_ENCODE_ANY) != 0 || !t.p) {
        free(t.p);
        return NULL;
    }
    if (len)
        *len = t.len;
    return mf_xrealloc(t.p, t.len + 1); /* 100,000 objects: keep only what is used */
}

char *cfgdb_canonical(const json_t *data, size_t *len)
{
    return json_is_object(data) ? cfgdb_json_text(data, JSON_COMPACT | JSON_SORT_KEYS, len) : NULL;
}

void cfgdb_set_add_owned(cfgdb_set *s, gca_type type, int64_t dbid, int64_t version, char *data, size_t len)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 256;
        s->objs = mf_xrealloc(s->objs, s->cap * sizeof *s->objs);
    }
    s->objs[s->n++] = (cfgdb_obj){.type = type, .dbid = dbid, .version = version, .data = data, .data_len = len};
}

bool cfgdb_set_add_text(cfgdb_set *s, gca_type type, int64_t dbid, int64_t version, const char *text, size_t len,
                        char *why, size_t why_len)
{
    json_error_t jerr;
    json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    size_t n = 0;
    char *canon = j ? cfgdb_canonical(j, &n) : NULL;
    json_decref(j);
    if (!canon) {
        snprintf(why, why_len, "%s %lld: the data is not a JSON object%s%s", gca_type_name(type), (long long)dbid,
                 j ? "" : ": ", j ? "" : jerr.text);
        return false;
    }
    cfgdb_set_add_owned(s, type, dbid, version, canon, n);
    return true;
}

static int by_identity(const void *a, const void *b)
{
    const cfgdb_obj *x = a, *y = b;
    if (x->type != y->type)
        return x->type < y->type ? -1 : 1;
    return x->dbid < y->dbid ? -1 : x->dbid > y->dbid;
}

bool cfgdb_set_sort(cfgdb_set *s, char *why, size_t why_len)
{
    if (s->n > 1)
        qsort(s->objs, s->n, sizeof *s->objs, by_identity);
    for (size_t i = 1; i < s->n; i++)
        if (by_identity(&s->objs[i - 1], &s->objs[i]) == 0) {
            snprintf(why, why_len, "%s %lld appears twice", gca_type_name(s->objs[i].type),
                     (long long)s->objs[i].dbid);
            return false;
        }
    return true;
}

void cfgdb_set_count(const cfgdb_set *s, size_t *counts)
{
    memset(counts, 0, GCA_TYPE_COUNT * sizeof *counts);
    for (size_t i = 0; i < s->n; i++)
        counts[s->objs[i].type]++;
}
