/*
 * gim_dims.c — the reference cache and its bulk resolution (see gim_dims.h).
 */
#include "gim_dims.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <martflow/helpers.h>

#include "gim_map.h"
#include "gim_record.h"

/* ---- what each kind resolves on ----------------------------------------------------- */

struct kind {
    const char *table, *key;
    bool tenant;              /* scoped by tenant_key */
    const char *nat[4];       /* natural key columns, matched to the parts */
    int nparts;               /* parts in a reference (the cache key uses nat's) */
    const char *ins_cols;     /* extra columns of a created row ... */
    const char *ins_vals;     /* ... and their values over m (p1.. the parts, $A audit, $N now) */
};

static const struct kind kinds[GIM_REF_COUNT] = {
    [GIM_REF_TENANT] = {"tenant", "tenant_key", false, {"tenant_name"}, 1, "gmt_start_time", "$N"},
    [GIM_REF_RESOURCE] = {"resource_", "resource_key", true, {"resource_type", "switch_name", "resource_name"}, 4,
                          "resource_subtype, placeholder_flag, gmt_start_time", "NULLIF(m.p4, ''), 1, $N"},
    [GIM_REF_PLACE] = {"place", "place_key", true, {"place_name"}, 1, "placeholder_flag, gmt_start_time", "1, $N"},
    [GIM_REF_TECHDESC] = {"technical_descriptor", "technical_descriptor_key", false,
                          {"resource_role", "role_reason", "technical_result", "result_reason"}, 4, NULL, NULL},
    [GIM_REF_MEDIA] = {"media_type", "media_type_key", false, {"media_name_code"}, 1, "media_name", "m.p1"},
    [GIM_REF_ITYPE] = {"interaction_type", "interaction_type_key", false, {"interaction_type"}, 1,
                       "interaction_type_code", "upper(m.p1)"},
    [GIM_REF_RSTATE] = {"resource_state", "resource_state_key", false, {"state_name_code"}, 1, "state_name",
                        "m.p1"},
    [GIM_REF_RSREASON] = {"resource_state_reason", "resource_state_reason_key", true,
                          {"reason_type", "software_reason_key", "software_reason_value", "workmode"}, 4, NULL,
                          NULL},
    [GIM_REF_RGROUP] = {"resource_group_", "resource_group_key", true, {"group_type", "group_name"}, 2,
                        "gmt_start_time", "$N"},
    [GIM_REF_CAMPAIGN] = {"campaign", "campaign_key", true, {"campaign_name"}, 1, "placeholder_flag, gmt_start_time",
                          "1, $N"},
    [GIM_REF_CALLLIST] = {"calling_list", "calling_list_key", true, {"calling_list_name"}, 1,
                          "placeholder_flag, gmt_start_time", "1, $N"},
    [GIM_REF_CALLRESULT] = {"call_result", "call_result_key", false, {"call_result_code"}, 1, "call_result_name",
                            "m.p1"},
};

bool gim_dims_scoped(gim_ref ref)
{
    return ref > GIM_REF_NONE && ref < GIM_REF_COUNT && kinds[ref].tenant;
}

static int n_nat(const struct kind *k)
{
    int n = 0;
    while (n < 4 && k->nat[n])
        n++;
    return n;
}

/* ---- the cache ------------------------------------------------------------------------ */

struct want {
    gim_ref ref;
    int32_t tenant_key;
    char *parts; /* all the reference's parts */
    size_t len;
};

struct gim_dims {
    gim_map committed, txn;
    gim_map queued; /* cache keys of wants (value: index) */
    struct want *w;
    size_t nw, capw;
};

gim_dims *gim_dims_new(void)
{
    return mf_xcalloc(1, sizeof(gim_dims));
}

static void wants_clear(gim_dims *d)
{
    for (size_t i = 0; i < d->nw; i++)
        free(d->w[i].parts);
    d->nw = 0;
    gim_map_clear(&d->queued);
}

void gim_dims_free(gim_dims *d)
{
    if (!d)
        return;
    wants_clear(d);
    free(d->w);
    gim_map_clear(&d->committed);
    gim_map_clear(&d->txn);
    free(d);
}

/* The cache key: kind, tenant key, the parts of the natural key (a
 * resource's subtype is not one). In buf (size >= len + 8); its length. */
static size_t cache_key(char *buf, gim_ref ref, int32_t tenant_key, const char *parts, size_t len)
{
    int keep = n_nat(&kinds[ref]);
    size_t n = len;
    const char *p = parts, *end = parts + len;
    for (int seps = 0; (p = memchr(p, GIM_SEP, (size_t)(end - p))); p++)
        if (++seps == keep) {
            n = (size_t)(p - parts);
            break;
        }
    buf[0] = (char)ref;
    memcpy(buf + 1, &tenant_key, sizeof tenant_key);
    memcpy(buf + 5, parts, n);
    return n + 5;
}

bool gim_dims_get(const gim_dims *d, gim_ref ref, int32_t tenant_key, const char *parts, size_t len, int32_t *key)
{
    char stack[512];
    char *buf = len + 8 <= sizeof stack ? stack : mf_xmalloc(len + 8);
    size_t n = cache_key(buf, ref, tenant_key, parts, len);
    bool found = gim_map_get(&d->committed, buf, n, key) || gim_map_get(&d->txn, buf, n, key);
    if (buf != stack)
        free(buf);
    return found;
}

void gim_dims_want(gim_dims *d, gim_ref ref, int32_t tenant_key, const char *parts, size_t len)
{
    char *buf = mf_xmalloc(len + 8);
    size_t n = cache_key(buf, ref, tenant_key, parts, len);
    int32_t seen;
    if (gim_map_get(&d->queued, buf, n, &seen)) {
        free(buf);
        return;
    }
    gim_map_put_owned(&d->queued, buf, n, (int32_t)d->nw);
    if (d->nw == d->capw) {
        d->capw = d->capw ? d->capw * 2 : 64;
        d->w = mf_xrealloc(d->w, d->capw * sizeof *d->w);
    }
    d->w[d->nw++] = (struct want){.ref = ref, .tenant_key = tenant_key, .parts = mf_xstrndup(parts, len), .len = len};
}

/* ---- resolution ---------------------------------------------------------------------- */

/* Append s[0, len) as an element of a PostgreSQL array literal. */
static void array_elem(mf_buffer *b, const char *s, size_t len)
{
    mf_buffer_append(b, "\"", 1);
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '"' || s[i] == '\\')
            mf_buffer_append(b, "\\", 1);
        mf_buffer_append(b, &s[i], 1);
    }
    mf_buffer_append(b, "\"", 1);
}

/* The statement resolving kind ref: parameters $1 tenant keys, $2.. the
 * parts, then audit key and now; rows (ord, key). */
static char *resolve_sql(gim_ref ref)
{
    const struct kind *k = &kinds[ref];
    int nn = n_nat(k), np = k->nparts;
    mf_buffer b = {0};
    char t[512];
    mf_buffer_append_str(&b, "WITH v AS (SELECT * FROM unnest($1::int[]");
    for (int i = 0; i < np; i++) {
        snprintf(t, sizeof t, ", $%d::text[]", i + 2);
        mf_buffer_append_str(&b, t);
    }
    mf_buffer_append_str(&b, ") WITH ORDINALITY AS v(tk");
    for (int i = 0; i < np; i++) {
        snprintf(t, sizeof t, ", p%d", i + 1);
        mf_buffer_append_str(&b, t);
    }
    mf_buffer_append_str(&b, ", ord)), m AS (SELECT v.*, ");
    if (ref == GIM_REF_RESOURCE)
        mf_buffer_append_str(&b, "COALESCE(");
    snprintf(t, sizeof t, "(SELECT d.%s FROM %s d WHERE %s", k->key, k->table, k->tenant ? "d.tenant_key = v.tk" : "true");
    mf_buffer_append_str(&b, t);
    for (int i = 0; i < nn; i++) {
        snprintf(t, sizeof t, " AND d.%s = v.p%d", k->nat[i], i + 1);
        mf_buffer_append_str(&b, t);
    }
    mf_buffer_append_str(&b, ")");
    if (ref == GIM_REF_RESOURCE) /* switch "": the only resource of that type and name */
        mf_buffer_append_str(&b, ", CASE WHEN v.p2 = '' THEN (SELECT min(d.resource_key) FROM resource_ d"
                                 " WHERE d.tenant_key = v.tk AND d.resource_type = v.p1 AND d.resource_name = v.p3"
                                 " HAVING count(*) = 1) END)");
    mf_buffer_append_str(&b, " AS k FROM v), ins AS (INSERT INTO ");
    mf_buffer_append_str(&b, k->table);
    mf_buffer_append_str(&b, " (");
    if (k->tenant)
        mf_buffer_append_str(&b, "tenant_key, ");
    for (int i = 0; i < nn; i++) {
        mf_buffer_append_str(&b, k->nat[i]);
        mf_buffer_append_str(&b, ", ");
    }
    if (k->ins_cols) {
        mf_buffer_append_str(&b, k->ins_cols);
        mf_buffer_append_str(&b, ", ");
    }
    mf_buffer_append_str(&b, "create_audit_key, update_audit_key) SELECT ");
    if (k->tenant)
        mf_buffer_append_str(&b, "m.tk, ");
    for (int i = 0; i < nn; i++) {
        snprintf(t, sizeof t, "m.p%d, ", i + 1);
        mf_buffer_append_str(&b, t);
    }
    if (k->ins_vals) {
        mf_buffer_append_str(&b, k->ins_vals);
        mf_buffer_append_str(&b, ", ");
    }
    snprintf(t, sizeof t, "$A, $A FROM m WHERE m.k IS NULL ORDER BY m.ord ON CONFLICT DO NOTHING RETURNING %s%s",
             k->key, k->tenant ? ", tenant_key" : "");
    mf_buffer_append_str(&b, t);
    for (int i = 0; i < nn; i++) {
        mf_buffer_append_str(&b, ", ");
        mf_buffer_append_str(&b, k->nat[i]);
    }
    snprintf(t, sizeof t, ") SELECT m.ord, COALESCE(m.k, i.%s) FROM m LEFT JOIN ins i ON %s", k->key,
             k->tenant ? "i.tenant_key = m.tk" : "true");
    mf_buffer_append_str(&b, t);
    for (int i = 0; i < nn; i++) {
        snprintf(t, sizeof t, " AND i.%s = m.p%d", k->nat[i], i + 1);
        mf_buffer_append_str(&b, t);
    }
    mf_buffer_append(&b, "", 1);
    /* $A and $N: the two parameters after the parts */
    char *sql = (char *)b.data;
    char a[16], n[16];
    snprintf(a, sizeof a, "$%d", np + 2);
    snprintf(n, sizeof n, "$%d", np + 3);
    mf_buffer out = {0};
    for (const char *p = sql; *p; p++) {
        if (p[0] == '$' && (p[1] == 'A' || p[1] == 'N')) {
            mf_buffer_append_str(&out, p[1] == 'A' ? a : n);
            p++;
        } else {
            mf_buffer_append(&out, p, 1);
        }
    }
    mf_buffer_append(&out, "", 1);
    mf_buffer_free(&b);
    return (char *)out.data;
}

/* The wants idx[0, n) of kind ref as PostgreSQL array literals: arr[0] the
 * tenant keys, arr[1..nparts] the parts; params[] point at them. */
static void want_arrays(const gim_dims *d, gim_ref ref, const size_t *idx, size_t n, mf_buffer arr[6],
                        const char *params[8])
{
    int np = kinds[ref].nparts;
    for (int i = 0; i <= np; i++)
        mf_buffer_append(&arr[i], "{", 1);
    for (size_t j = 0; j < n; j++) {
        const struct want *w = &d->w[idx[j]];
        char tk[16];
        int len = snprintf(tk, sizeof tk, "%s%" PRId32, j ? "," : "", w->tenant_key);
        mf_buffer_append(&arr[0], tk, (size_t)len);
        const char *p = w->parts, *end = w->parts + w->len;
        for (int i = 0; i < np; i++) {
            const char *sep = memchr(p, GIM_SEP, (size_t)(end - p));
            const char *e = sep ? sep : end;
            if (j)
                mf_buffer_append(&arr[i + 1], ",", 1);
            array_elem(&arr[i + 1], p, (size_t)(e - p));
            p = sep ? sep + 1 : end;
        }
    }
    for (int i = 0; i <= np; i++) {
        mf_buffer_append(&arr[i], "}", 2);
        params[i] = (const char *)arr[i].data;
    }
}

/* Resolve the wants of one kind (indexes idx[0, n)). */
static pgc_class resolve_kind(gim_dims *d, pgc *c, gim_ref ref, const size_t *idx, size_t n, int64_t audit_key,
                              int64_t now_s, char *why, size_t size)
{
    const struct kind *k = &kinds[ref];
    int np = k->nparts;
    mf_buffer arr[6] = {{0}};
    const char *params[8];
    want_arrays(d, ref, idx, n, arr, params);
    char a[24], t[24];
    snprintf(a, sizeof a, "%" PRId64, audit_key);
    snprintf(t, sizeof t, "%" PRId64, now_s);
    params[np + 1] = a;
    params[np + 2] = t;
    char *sql = resolve_sql(ref);
    PGresult *r = NULL;
    /* $N (now) is a parameter only where a created row has a gmt_start_time */
    bool uses_now = k->ins_vals && strstr(k->ins_vals, "$N");
    pgc_class cls = pgc_exec(c, sql, np + (uses_now ? 3 : 2), params, &r);
    free(sql);
    for (int i = 0; i <= np; i++)
        mf_buffer_free(&arr[i]);
    if (cls != PGC_OK) {
        snprintf(why, size, "resolving %s references: %s", gim_ref_name(ref), pgc_last_error(c)->message);
        return cls;
    }
    for (int row = 0; row < PQntuples(r); row++) {
        long ord = strtol(PQgetvalue(r, row, 0), NULL, 10);
        if (ord < 1 || (size_t)ord > n || PQgetisnull(r, row, 1)) {
            snprintf(why, size, "resolving %s references: no key for a reference", gim_ref_name(ref));
            PQclear(r);
            return PGC_FATAL;
        }
        const struct want *w = &d->w[idx[ord - 1]];
        char *buf = mf_xmalloc(w->len + 8);
        size_t kl = cache_key(buf, ref, w->tenant_key, w->parts, w->len);
        gim_map_put_owned(&d->txn, buf, kl, (int32_t)strtol(PQgetvalue(r, row, 1), NULL, 10));
    }
    PQclear(r);
    return PGC_OK;
}

/* Resources named with a switch, before they are resolved: a placeholder of
 * switch "" of the same type and name (a fact of an earlier cycle that did
 * not know the switch) takes the switch, when it is the only switch the
 * references name and no row of that name has a switch yet. Otherwise the
 * reference would make a second placeholder, the configuration would
 * complete that one, and the one of switch "" would stay a placeholder for
 * ever, its facts apart from the agent's others. */
static pgc_class adopt_switchless(gim_dims *d, pgc *c, const size_t *idx, size_t n, char *why, size_t size)
{
    mf_buffer arr[6] = {{0}};
    const char *params[8];
    want_arrays(d, GIM_REF_RESOURCE, idx, n, arr, params);
    static const char sql[] =
        "WITH v AS (SELECT DISTINCT tk, p1, p2, p3 FROM unnest($1::int[], $2::text[], $3::text[], $4::text[])"
        "  AS v(tk, p1, p2, p3)),"
        " one AS (SELECT tk, p1, p3, min(p2) AS p2 FROM v GROUP BY tk, p1, p3 HAVING count(*) = 1)"
        " UPDATE resource_ p SET switch_name = one.p2 FROM one"
        " WHERE p.tenant_key = one.tk AND p.resource_type = one.p1 AND p.resource_name = one.p3"
        " AND p.switch_name = '' AND p.placeholder_flag = 1"
        " AND NOT EXISTS (SELECT 1 FROM resource_ o WHERE o.tenant_key = p.tenant_key"
        "   AND o.resource_type = p.resource_type AND o.resource_name = p.resource_name AND o.switch_name <> '')";
    PGresult *r = NULL;
    pgc_class cls = pgc_exec(c, sql, 4, params, &r);
    for (int i = 0; i < 6; i++)
        mf_buffer_free(&arr[i]);
    if (cls != PGC_OK)
        snprintf(why, size, "adopting switch-less resource placeholders: %s", pgc_last_error(c)->message);
    PQclear(r);
    return cls;
}

/* A resource reference of switch "" (its second part empty). */
static bool no_switch(const struct want *w)
{
    const char *sep = memchr(w->parts, GIM_SEP, w->len);
    return sep && (size_t)(sep + 1 - w->parts) < w->len && sep[1] == GIM_SEP;
}

pgc_class gim_dims_resolve(gim_dims *d, pgc *c, int64_t audit_key, int64_t now_s, char *why, size_t size)
{
    pgc_class cls = PGC_OK;
    size_t *idx = mf_xcalloc(d->nw + 1, sizeof *idx);
    for (int ref = GIM_REF_TENANT; ref < GIM_REF_COUNT && cls == PGC_OK; ref++) {
        /* resources of switch "" after the others: one statement does not see
         * the rows it creates, and "" must find a resource created for a named
         * switch in the same cycle rather than make a second row */
        for (int pass = 0; pass < (ref == GIM_REF_RESOURCE ? 2 : 1) && cls == PGC_OK; pass++) {
            size_t n = 0;
            for (size_t i = 0; i < d->nw; i++)
                if (d->w[i].ref == (gim_ref)ref && (ref != GIM_REF_RESOURCE || no_switch(&d->w[i]) == (pass == 1)))
                    idx[n++] = i;
            if (n && ref == GIM_REF_RESOURCE && pass == 0)
                cls = adopt_switchless(d, c, idx, n, why, size);
            if (n && cls == PGC_OK)
                cls = resolve_kind(d, c, (gim_ref)ref, idx, n, audit_key, now_s, why, size);
        }
    }
    free(idx);
    wants_clear(d);
    return cls;
}

void gim_dims_commit(gim_dims *d)
{
    gim_map_move(&d->committed, &d->txn);
}

void gim_dims_rollback(gim_dims *d)
{
    gim_map_clear(&d->txn);
    wants_clear(d);
}

size_t gim_dims_size(const gim_dims *d)
{
    return d->committed.n;
}
