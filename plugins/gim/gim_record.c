/*
 * gim_record.c — checking a GSP record and its compact byte form (see
 * gim_record.h).
 */
#include "gim_record.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "pg_copytext.h"

struct hdr {
    uint8_t table, op;
    uint16_t nf;
    uint32_t tenant_len;
    int64_t time_ms;
    int32_t partition;
    uint32_t topic_len;
};

struct fhdr {
    uint16_t col;
    uint8_t kind, pad;
    uint32_t len;
};

#define REJECT(r, issue_, ...)                                                                                     \
    do {                                                                                                           \
        (r)->issue = (issue_);                                                                                     \
        snprintf((r)->why, sizeof (r)->why, __VA_ARGS__);                                                          \
        return false;                                                                                              \
    } while (0)

static bool is_object(const mf_host *host, mf_node *node, mf_record *rec)
{
    size_t len;
    const uint8_t *v = host->record_value(node, rec, &len);
    size_t i = 0;
    while (i < len && (v[i] == ' ' || v[i] == '\t' || v[i] == '\n' || v[i] == '\r'))
        i++;
    return i < len && v[i] == '{';
}

static bool view_is(const mf_json_view *v, const char *s)
{
    return v->type == MF_JSON_STRING && v->len == strlen(s) && !memcmp(v->str, s, v->len);
}

static bool one_of(const char *s, size_t len, const char *const *allowed)
{
    for (; *allowed; allowed++)
        if (strlen(*allowed) == len && !memcmp(*allowed, s, len))
            return true;
    return false;
}

/* The members of a reference object, by name (views copied). */
struct part_spec {
    const char *name;
    bool required;
    const char *def;              /* when absent ("" if NULL) */
    const char *const *allowed;   /* NULL: any */
};

static const char *const resource_types[] = {"Agent", "Queue", "RoutingPoint", "Extension", "IVR", "Workbin", NULL};
static const char *const group_types[] = {"Agent", "Place", "DN", NULL};
static const char *const reason_types[] = {"Software", "Hardware", NULL};

static const struct part_spec resource_parts[] = {
    {"type", true, NULL, resource_types}, {"switch", false, "", NULL}, {"name", true, NULL, NULL},
    {"subtype", false, "", NULL}, {NULL, false, NULL, NULL}};
static const struct part_spec techdesc_parts[] = {
    {"resource_role", true, NULL, NULL}, {"role_reason", true, NULL, NULL},
    {"technical_result", true, NULL, NULL}, {"result_reason", true, NULL, NULL}, {NULL, false, NULL, NULL}};
static const struct part_spec rsreason_parts[] = {
    {"reason_type", false, "Software", reason_types}, {"software_reason_key", false, "", NULL},
    {"software_reason_value", false, "", NULL}, {"workmode", false, "", NULL}, {NULL, false, NULL, NULL}};
static const struct part_spec rgroup_parts[] = {
    {"group_type", true, NULL, group_types}, {"group_name", true, NULL, NULL}, {NULL, false, NULL, NULL}};

static const struct part_spec *parts_of(gim_ref ref)
{
    switch (ref) {
    case GIM_REF_RESOURCE:
        return resource_parts;
    case GIM_REF_TECHDESC:
        return techdesc_parts;
    case GIM_REF_RSREASON:
        return rsreason_parts;
    case GIM_REF_RGROUP:
        return rgroup_parts;
    default:
        return NULL; /* a string */
    }
}

static bool has_sep(const char *s, size_t len)
{
    return memchr(s, GIM_SEP, len) != NULL;
}

/* A reference's parts into out (separated by GIM_SEP). */
static bool encode_ref(const mf_host *host, mf_node *node, const gim_col *col, const mf_json_view *v,
                       mf_buffer *out, gim_reject *r)
{
    const struct part_spec *spec = parts_of(col->ref);
    if (!spec) {
        if (v->type != MF_JSON_STRING)
            REJECT(r, "wrong_type", "field %s: must be a string (%s)", col->field, gim_ref_name(col->ref));
        if (!v->len || has_sep(v->str, v->len))
            REJECT(r, "bad_reference", "field %s: an empty name or one with the byte 0x1F", col->field);
        mf_buffer_append(out, v->str, v->len);
        return true;
    }
    if (v->type != MF_JSON_OBJECT)
        REJECT(r, "wrong_type", "field %s: must be an object (%s)", col->field, gim_ref_name(col->ref));
    mf_json_view got[4] = {{0}};
    mf_json_iter it;
    const char *err = NULL;
    if (host->json_iter(node, v, &it, &err) != MF_OK)
        REJECT(r, "wrong_type", "field %s: %s", col->field, err ? err : "not an object");
    for (const mf_json_member *m; (m = host->json_next(node, &it));)
        for (int i = 0; spec[i].name; i++)
            if (strlen(spec[i].name) == m->key_len && !memcmp(spec[i].name, m->key, m->key_len))
                got[i] = m->value;
    for (int i = 0; spec[i].name; i++) {
        const mf_json_view *p = &got[i];
        const char *s = spec[i].def ? spec[i].def : "";
        size_t len = strlen(s);
        if (p->type == MF_JSON_STRING) {
            s = p->str;
            len = p->len;
        } else if (p->type != MF_JSON_MISSING && p->type != MF_JSON_NULL) {
            REJECT(r, "wrong_type", "field %s.%s: must be a string", col->field, spec[i].name);
        } else if (spec[i].required) {
            REJECT(r, "bad_reference", "field %s: %s is mandatory", col->field, spec[i].name);
        }
        if (spec[i].required && !len)
            REJECT(r, "bad_reference", "field %s: %s is empty", col->field, spec[i].name);
        if (has_sep(s, len))
            REJECT(r, "bad_reference", "field %s.%s: the byte 0x1F is not allowed", col->field, spec[i].name);
        if (spec[i].allowed && !one_of(s, len, spec[i].allowed))
            REJECT(r, "bad_reference", "field %s.%s: '%.*s' is not one of the allowed values", col->field,
                   spec[i].name, (int)(len > 40 ? 40 : len), s);
        if (i)
            mf_buffer_append(out, "\x1f", 1);
        mf_buffer_append(out, s, len);
    }
    return true;
}

/* One field of the row: its value checked and appended as a field record. */
static bool encode_field(const mf_host *host, mf_node *node, const gim_col *col, int idx, const mf_json_view *v,
                         mf_buffer *out, gim_reject *r)
{
    struct fhdr fh = {.col = (uint16_t)idx};
    size_t at = out->len;
    mf_buffer_append(out, &fh, sizeof fh);
    size_t start = out->len;
    if (v->type == MF_JSON_NULL) {
        if (col->not_null || col->key)
            REJECT(r, "missing_field", "field %s: null, but the column %s is NOT NULL", col->field, col->name);
        fh.kind = GIM_V_NULL;
    } else if (col->jtype == GIM_J_REF) {
        if (!encode_ref(host, node, col, v, out, r))
            return false;
        fh.kind = GIM_V_REF;
    } else if (col->jtype == GIM_J_INT) {
        if (v->type != MF_JSON_INT)
            REJECT(r, "wrong_type", "field %s: must be an integer", col->field);
        char digits[24];
        int n = snprintf(digits, sizeof digits, "%" PRId64, v->integer);
        mf_buffer_append(out, digits, (size_t)n);
        fh.kind = GIM_V_TEXT;
    } else {
        if (v->type != MF_JSON_STRING)
            REJECT(r, "wrong_type", "field %s: must be a string", col->field);
        pgt_append_escaped(out, v->str, v->len);
        fh.kind = GIM_V_TEXT;
    }
    fh.len = (uint32_t)(out->len - start);
    memcpy(out->data + at, &fh, sizeof fh);
    return true;
}

static bool parse_op(const mf_json_view *v, gim_op *op)
{
    if (view_is(v, "upsert"))
        *op = GIM_UPSERT;
    else if (view_is(v, "update"))
        *op = GIM_UPDATE;
    else if (view_is(v, "delete"))
        *op = GIM_DELETE;
    else
        return false;
    return true;
}

bool gim_record_encode(const gim_tables *ts, const mf_host *host, mf_node *node, mf_record *rec,
                       const mf_json_fieldset *fs, mf_json_view *views, const char *tenant, mf_buffer *out,
                       gim_reject *r)
{
    const char *err = NULL;
    r->unknown_fields = 0;
    if (host->json_fields(node, rec, fs, views, &err) != MF_OK)
        REJECT(r, "not_json", "%s", err ? err : "not valid JSON");
    if (!is_object(host, node, rec))
        REJECT(r, "not_json", "value is not a JSON object");
    const mf_json_view *vt = &views[0], *vo = &views[1], *vten = &views[2], *vrow = &views[3];
    if (vt->type != MF_JSON_STRING)
        REJECT(r, "unknown_table", "field table: missing or not a string");
    int ti = gim_table_find(ts, vt->str, vt->len);
    if (ti < 0)
        REJECT(r, "unknown_table", "unknown table '%.*s'", (int)(vt->len > 64 ? 64 : vt->len), vt->str);
    const gim_table *t = &ts->t[ti];
    gim_op op;
    if (!parse_op(vo, &op))
        REJECT(r, "bad_op", "field op: must be upsert, update or delete");
    if (vten->type != MF_JSON_STRING || !vten->len)
        REJECT(r, "missing_field", "field tenant: missing or not a non-empty string");
    if (tenant && *tenant && !view_is(vten, tenant))
        REJECT(r, "wrong_tenant", "tenant '%.*s' is not this loader's (%s)", (int)(vten->len > 64 ? 64 : vten->len),
               vten->str, tenant);
    if (vrow->type != MF_JSON_OBJECT)
        REJECT(r, "missing_field", "field row: missing or not an object");

    size_t base = out->len;
    struct hdr h = {.table = (uint8_t)ti, .op = (uint8_t)op, .tenant_len = (uint32_t)vten->len,
                    .time_ms = rec->time_ms, .partition = rec->origin.partition,
                    .topic_len = rec->origin.topic ? (uint32_t)strlen(rec->origin.topic) : 0};
    mf_buffer_append(out, &h, sizeof h);
    mf_buffer_append(out, vten->str, vten->len);
    if (h.topic_len)
        mf_buffer_append(out, rec->origin.topic, h.topic_len);

    uint64_t seen[4] = {0}; /* columns present, a bit each (tables have fewer than 256) */
    mf_json_iter it;
    if (host->json_iter(node, vrow, &it, &err) != MF_OK) {
        out->len = base;
        REJECT(r, "missing_field", "field row: %s", err ? err : "not an object");
    }
    for (const mf_json_member *m; (m = host->json_next(node, &it));) {
        int ci = gim_field_find(t, m->key, m->key_len);
        if (ci < 0) {
            r->unknown_fields++;
            continue;
        }
        const gim_col *col = &t->cols[ci];
        bool keep = op != GIM_DELETE || col->key || ci == t->gmt_end;
        if (!keep)
            continue;
        if (!encode_field(host, node, col, ci, &m->value, out, r)) {
            out->len = base;
            return false;
        }
        seen[ci / 64] |= UINT64_C(1) << (ci % 64);
        h.nf++;
    }
    for (size_t ci = 0; ci < t->ncols; ci++) {
        const gim_col *col = &t->cols[ci];
        bool need = col->key ? (col->src == GIM_SRC_FIELD || col->src == GIM_SRC_REF)
                             : (op == GIM_UPSERT && col->mandatory);
        if (need && !(seen[ci / 64] & (UINT64_C(1) << (ci % 64)))) {
            out->len = base;
            if (col->key)
                REJECT(r, "missing_id", "%s %s: the %s field %s is missing", t->name,
                       op == GIM_UPSERT ? "upsert" : op == GIM_UPDATE ? "update" : "delete",
                       t->fact ? "id" : "key", col->field);
            REJECT(r, "missing_field", "%s upsert: the mandatory field %s is missing", t->name, col->field);
        }
    }
    memcpy(out->data + base, &h, sizeof h);
    return true;
}

bool gim_record_decode(const gim_tables *ts, const void *p, size_t len, gim_rec *out, gim_field *fields)
{
    const char *b = p, *end = b + len;
    struct hdr h;
    if (len < sizeof h)
        return false;
    memcpy(&h, b, sizeof h);
    b += sizeof h;
    if (h.table >= ts->n || (size_t)(end - b) < (size_t)h.tenant_len + h.topic_len)
        return false;
    *out = (gim_rec){.table = h.table, .op = (gim_op)h.op, .tenant = b, .tenant_len = h.tenant_len,
                     .time_ms = h.time_ms, .partition = h.partition, .nf = h.nf, .f = fields};
    b += h.tenant_len;
    if (h.topic_len) {
        out->topic = b;
        out->topic_len = h.topic_len;
        b += h.topic_len;
    }
    for (size_t i = 0; i < h.nf; i++) {
        struct fhdr fh;
        if ((size_t)(end - b) < sizeof fh)
            return false;
        memcpy(&fh, b, sizeof fh);
        b += sizeof fh;
        if ((size_t)(end - b) < fh.len || fh.col >= ts->t[h.table].ncols)
            return false;
        fields[i] = (gim_field){.col = fh.col, .kind = fh.kind, .v = b, .len = fh.len, .key = 0};
        b += fh.len;
    }
    return true;
}

const gim_field *gim_rec_get(const gim_rec *r, int col)
{
    for (size_t i = 0; i < r->nf; i++)
        if (r->f[i].col == col)
            return &r->f[i];
    return NULL;
}
