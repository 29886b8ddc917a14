/*
 * gim_tables.c — the tables GSP records name, completed from the catalog
 * (see gim_tables.h).
 */
#include "gim_tables.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <martflow/alloc.h>

/* What the catalog cannot say: the tables of docs/events.md §3 and their keys. */
static const struct known {
    const char *name, *sql;
    bool fact;
    const char *key[4];
} known[] = {
    {"INTERACTION_FACT", "interaction_fact", true, {"interaction_id"}},
    {"INTERACTION_RESOURCE_FACT", "interaction_resource_fact", true, {"interaction_resource_id"}},
    {"MEDIATION_SEGMENT_FACT", "mediation_segment_fact", true, {"mediation_segment_id"}},
    {"SM_RES_SESSION_FACT", "sm_res_session_fact", true, {"sm_res_session_fact_key"}},
    {"SM_RES_STATE_FACT", "sm_res_state_fact", true, {"sm_res_state_fact_key"}},
    {"SM_RES_STATE_REASON_FACT", "sm_res_state_reason_fact", true, {"sm_res_state_reason_fact_key"}},
    {"CONTACT_ATTEMPT_FACT", "contact_attempt_fact", true, {"contact_attempt_fact_key"}},
    {"TENANT", "tenant", false, {"tenant_name"}},
    {"RESOURCE_", "resource_", false, {"tenant_key", "resource_type", "switch_name", "resource_name"}},
    {"PLACE", "place", false, {"tenant_key", "place_name"}},
    {"RESOURCE_GROUP_", "resource_group_", false, {"tenant_key", "group_type", "group_name"}},
    {"RESOURCE_GROUP_MEMBER_", "resource_group_member_", false, {"resource_group_key", "resource_key"}},
};
#define N_KNOWN (sizeof known / sizeof *known)

/* The dimension each reference column resolves on, and the field holding
 * the reference when it is not the column's name without _key (the outbound
 * record kept its text fields when their dimensions came: docs/events.md). */
static const struct {
    const char *column;
    gim_ref ref;
    const char *field;
} ref_columns[] = {
    {"resource_key", GIM_REF_RESOURCE, NULL},
    {"last_queue_resource_key", GIM_REF_RESOURCE, NULL},
    {"last_rp_resource_key", GIM_REF_RESOURCE, NULL},
    {"place_key", GIM_REF_PLACE, NULL},
    {"technical_descriptor_key", GIM_REF_TECHDESC, NULL},
    {"media_type_key", GIM_REF_MEDIA, NULL},
    {"interaction_type_key", GIM_REF_ITYPE, NULL},
    {"resource_state_key", GIM_REF_RSTATE, NULL},
    {"resource_state_reason_key", GIM_REF_RSREASON, NULL},
    {"resource_group_key", GIM_REF_RGROUP, NULL},
    {"campaign_key", GIM_REF_CAMPAIGN, "campaign_name"},
    {"calling_list_key", GIM_REF_CALLLIST, "calling_list_name"},
    {"call_result_key", GIM_REF_CALLRESULT, "call_result"},
};

static const char *const ref_names[GIM_REF_COUNT] = {
    [GIM_REF_TENANT] = "tenant",
    [GIM_REF_RESOURCE] = "resource",
    [GIM_REF_PLACE] = "place",
    [GIM_REF_TECHDESC] = "technical_descriptor",
    [GIM_REF_MEDIA] = "media_type",
    [GIM_REF_ITYPE] = "interaction_type",
    [GIM_REF_RSTATE] = "resource_state",
    [GIM_REF_RSREASON] = "resource_state_reason",
    [GIM_REF_RGROUP] = "resource_group",
    [GIM_REF_CAMPAIGN] = "campaign",
    [GIM_REF_CALLLIST] = "calling_list",
    [GIM_REF_CALLRESULT] = "call_result",
};

const char *gim_ref_name(gim_ref ref)
{
    return ref > GIM_REF_NONE && ref < GIM_REF_COUNT ? ref_names[ref] : "?";
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcmp(s + n - m, suffix);
}

static bool is_key(const struct known *k, const char *col)
{
    for (int i = 0; i < 4 && k->key[i]; i++)
        if (!strcmp(k->key[i], col))
            return true;
    return false;
}

/* Classify one catalog column of table k; false when the loader does not
 * write it (a dimension's generated surrogate key). */
static bool classify(const struct known *k, gim_col *col, bool identity)
{
    if (identity)
        return false;
    col->key = is_key(k, col->name);
    if (!strcmp(col->name, "tenant_key") || !strcmp(col->name, "tenant_name")) {
        col->src = GIM_SRC_TENANT;
    } else if (!strcmp(col->name, "create_audit_key") || !strcmp(col->name, "update_audit_key")) {
        col->src = GIM_SRC_AUDIT;
    } else if (!strcmp(col->name, "placeholder_flag")) {
        col->src = GIM_SRC_PLACEHOLDER;
    } else if (ends_with(col->name, "_date_time_key")) {
        col->src = GIM_SRC_DATETIME;
    } else {
        col->src = GIM_SRC_FIELD;
        for (size_t i = 0; i < sizeof ref_columns / sizeof *ref_columns; i++)
            if (!strcmp(ref_columns[i].column, col->name)) {
                col->src = GIM_SRC_REF;
                col->ref = ref_columns[i].ref;
                if (ref_columns[i].field)
                    col->field = mf_xstrdup(ref_columns[i].field);
            }
    }
    if (col->src == GIM_SRC_REF) {
        if (!col->field)
            col->field = mf_xstrndup(col->name, strlen(col->name) - 4); /* without _key */
        col->jtype = GIM_J_REF;
    } else if (col->src == GIM_SRC_FIELD) {
        col->field = mf_xstrdup(col->name);
        col->jtype = strstr(col->type, "int") ? GIM_J_INT : GIM_J_TEXT;
    }
    col->mandatory = (col->src == GIM_SRC_FIELD || col->src == GIM_SRC_REF) &&
                     (col->key || (col->not_null && !col->def));
    return true;
}

/* Link each *_date_time_key column to its *_ts column; find gmt_end_time. */
static bool link_table(gim_table *t, char *why, size_t size)
{
    t->gmt_end = -1;
    for (size_t i = 0; i < t->ncols; i++) {
        gim_col *col = &t->cols[i];
        if (!strcmp(col->name, "gmt_end_time") && !t->fact)
            t->gmt_end = (int)i;
        if (col->src != GIM_SRC_DATETIME)
            continue;
        char ts[128];
        snprintf(ts, sizeof ts, "%.*s_ts", (int)(strlen(col->name) - strlen("_date_time_key")), col->name);
        col->from = gim_field_find(t, ts, strlen(ts));
        if (col->from < 0) {
            snprintf(why, size, "table %s: column %s has no %s to derive it from", t->sql, col->name, ts);
            return false;
        }
    }
    return true;
}

static void col_free(gim_col *c)
{
    free(c->name);
    free(c->field);
    free(c->type);
    free(c->def);
}

void gim_tables_free(gim_tables *ts)
{
    if (!ts)
        return;
    for (size_t i = 0; i < ts->n; i++) {
        for (size_t j = 0; j < ts->t[i].ncols; j++)
            col_free(&ts->t[i].cols[j]);
        free(ts->t[i].cols);
    }
    free(ts->t);
    free(ts);
}

static const char catalog_sql[] =
    "SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,"
    "       pg_get_expr(d.adbin, d.adrelid), a.attidentity <> '', c.relkind = 'p'"
    "  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid"
    "  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum"
    " WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p') AND NOT c.relispartition"
    "   AND c.relname = ANY ($1::text[]) AND a.attnum > 0 AND NOT a.attisdropped"
    " ORDER BY c.relname, a.attnum";

gim_tables *gim_tables_load(pgc *c, pgc_class *cls, char *why, size_t size)
{
    mf_buffer names = {0};
    mf_buffer_append_str(&names, "{");
    for (size_t i = 0; i < N_KNOWN; i++) {
        if (i)
            mf_buffer_append_str(&names, ",");
        mf_buffer_append_str(&names, known[i].sql);
    }
    mf_buffer_append(&names, "}", 2); /* with the NUL */
    const char *params[1] = {(const char *)names.data};
    PGresult *r = NULL;
    *cls = pgc_exec(c, catalog_sql, 1, params, &r);
    mf_buffer_free(&names);
    if (*cls != PGC_OK) {
        snprintf(why, size, "reading the catalog: %s", pgc_last_error(c)->message);
        return NULL;
    }
    gim_tables *ts = mf_xcalloc(1, sizeof *ts);
    ts->t = mf_xcalloc(N_KNOWN, sizeof *ts->t);
    ts->n = N_KNOWN;
    int rows = PQntuples(r);
    for (size_t i = 0; i < N_KNOWN; i++) {
        gim_table *t = &ts->t[i];
        t->name = known[i].name;
        t->sql = known[i].sql;
        t->fact = known[i].fact;
        t->cols = mf_xcalloc((size_t)rows + 1, sizeof *t->cols);
        for (int row = 0; row < rows; row++) {
            if (strcmp(PQgetvalue(r, row, 0), t->sql))
                continue;
            t->partitioned = PQgetvalue(r, row, 6)[0] == 't';
            gim_col *col = &t->cols[t->ncols];
            *col = (gim_col){
                .name = mf_xstrdup(PQgetvalue(r, row, 1)),
                .type = mf_xstrdup(PQgetvalue(r, row, 2)),
                .not_null = PQgetvalue(r, row, 3)[0] == 't',
                .def = PQgetisnull(r, row, 4) ? NULL : mf_xstrdup(PQgetvalue(r, row, 4)),
                .from = -1,
            };
            if (classify(&known[i], col, PQgetvalue(r, row, 5)[0] == 't'))
                t->ncols++;
            else
                col_free(col);
        }
        int nk = 0;
        for (int k = 0; k < 4 && known[i].key[k]; k++) {
            int at = -1;
            for (size_t j = 0; j < t->ncols; j++)
                if (!strcmp(t->cols[j].name, known[i].key[k]))
                    at = (int)j;
            if (at < 0) {
                snprintf(why, size, "table %s: no column %s (is the schema migrated?)", t->sql, known[i].key[k]);
                goto fail;
            }
            t->key[nk++] = at;
        }
        t->key[nk] = -1;
        if (!link_table(t, why, size))
            goto fail;
    }
    PQclear(r);
    return ts;
fail:
    PQclear(r);
    gim_tables_free(ts);
    *cls = PGC_FATAL;
    return NULL;
}

int gim_table_find(const gim_tables *ts, const char *name, size_t len)
{
    for (size_t i = 0; i < ts->n; i++)
        if (strlen(ts->t[i].name) == len && !memcmp(ts->t[i].name, name, len))
            return (int)i;
    return -1;
}

int gim_field_find(const gim_table *t, const char *field, size_t len)
{
    for (size_t i = 0; i < t->ncols; i++)
        if (t->cols[i].field && strlen(t->cols[i].field) == len && !memcmp(t->cols[i].field, field, len))
            return (int)i;
    return -1;
}
