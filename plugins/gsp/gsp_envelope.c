/* gsp_envelope.c — see gsp_envelope.h. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "gsp_envelope.h"
#include "gsp_text.h"

const char *gsp_reject_kind_name(gsp_reject_kind k)
{
    static const char *const names[GSP_REJECT_KIND_COUNT] = {"none", "invalid_json", "missing_field",
                                                              "unknown_event", "bad_time", "wrong_type"};
    return (unsigned)k < GSP_REJECT_KIND_COUNT ? names[k] : "?";
}

bool gsp_env_open(gsp_env *e, const mf_host *host, mf_node *node, const char *const *paths, size_t n,
                  mf_json_view *views)
{
    const char *error = NULL;
    *e = (gsp_env){.views = views, .paths = paths, .host = host, .node = node};
    e->set = host->fieldset_new(node, paths, n, &error);
    if (!e->set) {
        host->log(node, MF_LOG_ERROR, "cannot compile the event fields: %s", error ? error : "?");
        return false;
    }
    return true;
}

void gsp_env_close(gsp_env *e)
{
    if (e->set)
        e->host->fieldset_free(e->node, e->set);
    e->set = NULL;
}

gsp_reject_kind gsp_env_read(gsp_env *e, const mf_record *rec)
{
    const char *error = NULL;
    if (e->host->json_fields(e->node, (mf_record *)rec, e->set, e->views, &error) != MF_OK) {
        snprintf(e->reason, sizeof e->reason, "%s", error ? error : "invalid JSON");
        return GSP_REJECT_INVALID_JSON;
    }
    return GSP_REJECT_NONE;
}

gsp_reject_kind gsp_env_fail(gsp_env *e, gsp_reject_kind kind, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->reason, sizeof e->reason, fmt, ap);
    va_end(ap);
    return kind;
}

static bool absent(const mf_json_view *v)
{
    return v->type == MF_JSON_MISSING || v->type == MF_JSON_NULL;
}

gsp_reject_kind gsp_env_str(gsp_env *e, int f, gsp_str *out)
{
    const mf_json_view *v = &e->views[f];
    out->s = NULL;
    out->len = 0;
    if (absent(v))
        return GSP_REJECT_NONE;
    if (v->type != MF_JSON_STRING)
        return gsp_env_fail(e, GSP_REJECT_WRONG_TYPE, "field '%s' must be a string", e->paths[f]);
    out->s = v->str;
    out->len = gsp_text_cut(v->str, v->len);
    return GSP_REJECT_NONE;
}

gsp_reject_kind gsp_env_mandatory(gsp_env *e, int f, gsp_str *out)
{
    gsp_reject_kind k = gsp_env_str(e, f, out);
    if (k == GSP_REJECT_NONE && out->len == 0)
        return gsp_env_fail(e, GSP_REJECT_MISSING_FIELD, "missing mandatory field '%s'", e->paths[f]);
    return k;
}

gsp_reject_kind gsp_env_int(gsp_env *e, int f, int64_t *out, bool *present)
{
    const mf_json_view *v = &e->views[f];
    *present = false;
    *out = 0;
    if (absent(v))
        return GSP_REJECT_NONE;
    if (v->type != MF_JSON_INT)
        return gsp_env_fail(e, GSP_REJECT_WRONG_TYPE, "field '%s' must be an integer", e->paths[f]);
    *out = v->integer;
    *present = true;
    return GSP_REJECT_NONE;
}

gsp_reject_kind gsp_env_mandatory_int(gsp_env *e, int f, int64_t *out)
{
    bool present;
    GSP_TRY(gsp_env_int(e, f, out, &present));
    if (!present)
        return gsp_env_fail(e, GSP_REJECT_MISSING_FIELD, "missing mandatory field '%s'", e->paths[f]);
    return GSP_REJECT_NONE;
}

gsp_reject_kind gsp_env_object(gsp_env *e, int f)
{
    const mf_json_view *v = &e->views[f];
    if (!absent(v) && v->type != MF_JSON_OBJECT)
        return gsp_env_fail(e, GSP_REJECT_WRONG_TYPE, "field '%s' must be an object", e->paths[f]);
    return GSP_REJECT_NONE;
}

gsp_reject_kind gsp_env_time(gsp_env *e, int f, int64_t *ms)
{
    const mf_json_view *v = &e->views[f];
    if (absent(v))
        return gsp_env_fail(e, GSP_REJECT_MISSING_FIELD, "missing mandatory field '%s'", e->paths[f]);
    if (v->type == MF_JSON_INT) {
        *ms = v->integer;
        return GSP_REJECT_NONE;
    }
    char text[64];
    if (v->type == MF_JSON_STRING && v->len < sizeof text) {
        memcpy(text, v->str, v->len);
        text[v->len] = '\0';
        if (mf_parse_time_ms(text, ms))
            return GSP_REJECT_NONE;
    }
    return gsp_env_fail(e, GSP_REJECT_BAD_TIME,
                        "field '%s' is neither RFC 3339 text nor integer epoch milliseconds", e->paths[f]);
}

gsp_reject_kind gsp_env_tenant(gsp_env *e, int f, const mf_record *rec, gsp_str *out)
{
    GSP_TRY(gsp_env_str(e, f, out));
    if (out->len)
        return GSP_REJECT_NONE;
    if (!(rec->flags & MF_RECORD_KEY_NULL) && rec->key) {
        const char *colon = memchr(rec->key, ':', rec->key_len);
        if (colon && colon > (const char *)rec->key) {
            out->s = (const char *)rec->key;
            out->len = (size_t)(colon - out->s);
            return GSP_REJECT_NONE;
        }
    }
    return gsp_env_fail(e, GSP_REJECT_MISSING_FIELD,
                        "missing mandatory %s (a 'Tenant' field or a key '{tenant}:...')", "tenant");
}

unsigned gsp_env_name_index(const mf_json_view *v, const char *const *names, unsigned n)
{
    for (unsigned i = 1; i < n; i++) {
        size_t len = strlen(names[i]);
        if (v->len == len && memcmp(v->str, names[i], len) == 0)
            return i;
    }
    return 0;
}

gsp_reject_kind gsp_env_event(gsp_env *e, int f, const char *const *names, unsigned n, unsigned *out)
{
    const mf_json_view *v = &e->views[f];
    if (absent(v))
        return gsp_env_fail(e, GSP_REJECT_MISSING_FIELD, "missing mandatory field '%s'", e->paths[f]);
    if (v->type != MF_JSON_STRING)
        return gsp_env_fail(e, GSP_REJECT_WRONG_TYPE, "field '%s' must be a string", e->paths[f]);
    *out = gsp_env_name_index(v, names, n);
    return *out ? GSP_REJECT_NONE : gsp_env_unknown_event(e, f);
}

gsp_reject_kind gsp_env_unknown_event(gsp_env *e, int f)
{
    const mf_json_view *v = &e->views[f];
    return gsp_env_fail(e, GSP_REJECT_UNKNOWN_EVENT, "unknown event id '%.*s'", v->len > 64 ? 64 : (int)v->len,
                        v->str);
}
