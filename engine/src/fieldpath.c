/* fieldpath.c — see martflow/fieldpath.h. */
#include <martflow/fieldpath.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <martflow/helpers.h>

#include "util.h"

struct mf_fieldpath {
    size_t n;
    char **names; /* unescaped */
};

static void set_error(char *error, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_error(char *error, size_t cap, const char *fmt, ...)
{
    if (!error || !cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(error, cap, fmt, ap);
    va_end(ap);
}

void mf_fieldpath_free(mf_fieldpath *path)
{
    if (!path)
        return;
    for (size_t i = 0; i < path->n; i++)
        free(path->names[i]);
    free(path->names);
    free(path);
}

mf_fieldpath *mf_fieldpath_new(const char *text, char *error, size_t error_cap)
{
    mf_fieldpath *p = mf_xcalloc(1, sizeof *p);
    mf_str name = {0};
    if (!text || !*text) {
        set_error(error, error_cap, "empty field path");
        goto fail;
    }
    for (const char *s = text;; s++) {
        if (*s == '\\') {
            if (s[1] != '.' && s[1] != '\\') {
                set_error(error, error_cap, "field path '%s': '\\' must be followed by '.' or '\\'", text);
                goto fail;
            }
            s++;
            mf_str_append(&name, s, 1);
            continue;
        }
        if (*s && *s != '.') {
            mf_str_append(&name, s, 1);
            continue;
        }
        if (name.len == 0) {
            set_error(error, error_cap, "field path '%s': empty name (a path is name.name..., '\\.' for a dot)",
                      text);
            goto fail;
        }
        p->names = mf_xrealloc(p->names, (p->n + 1) * sizeof *p->names);
        p->names[p->n++] = mf_str_take(&name);
        if (!*s)
            return p;
    }
fail:
    mf_str_free(&name);
    mf_fieldpath_free(p);
    return NULL;
}

json_t *mf_fieldpath_get(const mf_fieldpath *path, const json_t *root)
{
    const json_t *v = root;
    for (size_t i = 0; v && i < path->n; i++)
        v = json_is_object(v) ? json_object_get(v, path->names[i]) : NULL;
    return (json_t *)v;
}

json_t *mf_fieldpath_parent(const mf_fieldpath *path, json_t *root, bool create, const char **last_name)
{
    if (last_name)
        *last_name = path->names[path->n - 1];
    if (!json_is_object(root))
        return NULL;
    json_t *o = root;
    for (size_t i = 0; i + 1 < path->n; i++) {
        json_t *next = json_object_get(o, path->names[i]);
        if (!json_is_object(next)) {
            if (!create)
                return NULL;
            next = json_object();
            if (json_object_set_new(o, path->names[i], next) != 0)
                return NULL; /* a name jansson refuses: not UTF-8 */
        }
        o = next;
    }
    return o;
}

void mf_fieldpath_check(const json_t *config, const char *option, mf_check *check)
{
    const json_t *v = json_object_get(config, option);
    if (!json_is_string(v) || !*json_string_value(v))
        return;
    char err[256];
    mf_fieldpath *p = mf_fieldpath_new(json_string_value(v), err, sizeof err);
    if (!p)
        check->problem(check, v, "option '%s': %s", option, err);
    mf_fieldpath_free(p);
}

static int dump_cb(const char *text, size_t size, void *data)
{
    mf_buffer_append(data, text, size);
    return 0;
}

bool mf_json_key(const json_t *value, mf_buffer *buf, const uint8_t **key, size_t *len)
{
    *key = NULL;
    *len = 0;
    if (!value || json_is_null(value))
        return false;
    if (json_is_string(value)) {
        *key = (const uint8_t *)json_string_value(value);
        *len = json_string_length(value);
        return true;
    }
    mf_buffer_reset(buf);
    json_dump_callback(value, dump_cb, buf, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    /* an empty buffer has no storage yet: never hand out NULL for a key */
    *key = buf->data ? buf->data : (const uint8_t *)"";
    *len = buf->len;
    return true;
}

/* jansson's own text for a value it holds; false (no key) for NULL. */
static bool tree_key(json_t *value, mf_buffer *buf, const uint8_t **key, size_t *len)
{
    bool found = value && mf_json_key(value, buf, key, len);
    json_decref(value);
    return found;
}

bool mf_json_view_key(const mf_json_view *v, mf_buffer *buf, const uint8_t **key, size_t *len)
{
    *key = NULL;
    *len = 0;
    if (!v)
        return false;
    switch (v->type) {
    case MF_JSON_STRING:
        *key = v->str ? (const uint8_t *)v->str : (const uint8_t *)"";
        *len = v->len;
        return true;
    case MF_JSON_BOOL:
        *key = (const uint8_t *)(v->boolean ? "true" : "false");
        *len = v->boolean ? 4 : 5;
        return true;
    case MF_JSON_INT: {
        /* jansson prints a json_int_t (long long) with "%lld" */
        char text[24];
        int n = snprintf(text, sizeof text, "%lld", (long long)v->integer);
        mf_buffer_reset(buf);
        mf_buffer_append(buf, text, (size_t)n);
        *key = buf->data;
        *len = buf->len;
        return true;
    }
    case MF_JSON_DOUBLE:
        /* jansson's real formatting (precision, the ".0" it adds) is its own:
         * let it print the same double */
        return tree_key(json_real(v->number), buf, key, len);
    case MF_JSON_ARRAY:
    case MF_JSON_OBJECT:
        /* sorted members, unescaped and re-escaped strings: what jansson
         * prints for the tree of this text */
        if (!v->str)
            return false;
        return tree_key(json_loadb(v->str, v->len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, NULL), buf, key, len);
    case MF_JSON_NULL:
    case MF_JSON_MISSING:
        break;
    }
    return false;
}

bool mf_fieldpath_key(const mf_fieldpath *path, const json_t *root, mf_buffer *buf, const uint8_t **key,
                      size_t *len)
{
    return mf_json_key(mf_fieldpath_get(path, root), buf, key, len);
}
