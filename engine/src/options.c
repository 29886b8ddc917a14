/* options.c — see options.h. */
#include "options.h"

#include <stdlib.h>
#include <string.h>

#include "redact.h"
#include "units.h"
#include "util.h"

struct mf_optvals {
    void **blocks;   /* malloc'd strings and arrays */
    size_t n, cap;
    json_t *json;    /* an array keeping JSON defaults alive */
};

static void *own(mf_optvals *v, void *p)
{
    if (v->n == v->cap) {
        v->cap = v->cap ? v->cap * 2 : 16;
        v->blocks = mf_xrealloc(v->blocks, v->cap * sizeof *v->blocks);
    }
    v->blocks[v->n++] = p;
    return p;
}

void mf_optvals_free(mf_optvals *vals)
{
    if (!vals)
        return;
    for (size_t i = 0; i < vals->n; i++)
        free(vals->blocks[i]);
    free(vals->blocks);
    json_decref(vals->json);
    free(vals);
}

const char *mf_option_type_name(mf_opt_type type)
{
    switch (type) {
    case MF_OPT_STRING: return "string";
    case MF_OPT_INT: return "int";
    case MF_OPT_BOOL: return "bool";
    case MF_OPT_DOUBLE: return "double";
    case MF_OPT_SIZE: return "size";
    case MF_OPT_DURATION: return "duration";
    case MF_OPT_ENUM: return "enum";
    case MF_OPT_LIST: return "list";
    case MF_OPT_SECRET: return "secret";
    case MF_OPT_PREFIX: return "prefix";
    case MF_OPT_JSON: return "any";
    }
    return "?";
}

bool mf_option_key_looks_secret(const char *key)
{
    static const char *const words[] = {"password", "passwd", "secret", "token", "credential",
                                        "pem",      "keytab", "oauthbearer.config"};
    for (size_t i = 0; i < MF_ARRAY_LEN(words); i++)
        if (strstr(key, words[i]))
            return true;
    size_t n = strlen(key);
    return (n >= 4 && strcmp(key + n - 4, ".key") == 0) || strstr(key, ".key.pem") != NULL;
}

/* A scalar as text: strings as they are, numbers and booleans printed. NULL for
 * null, objects and arrays. The result is owned by vals. */
static const char *scalar_text(mf_optvals *vals, const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_STRING: return own(vals, mf_xstrdup(json_string_value(v)));
    case JSON_INTEGER: return own(vals, mf_xasprintf("%" JSON_INTEGER_FORMAT, json_integer_value(v)));
    case JSON_REAL: return own(vals, mf_xasprintf("%.17g", json_real_value(v)));
    case JSON_TRUE: return own(vals, mf_xstrdup("true"));
    case JSON_FALSE: return own(vals, mf_xstrdup("false"));
    default: return NULL;
    }
}

static int enum_index(const char *choices, const char *value)
{
    int idx = 0;
    size_t vlen = strlen(value);
    for (const char *p = choices; p && *p; idx++) {
        const char *bar = strchr(p, '|');
        size_t n = bar ? (size_t)(bar - p) : strlen(p);
        if (n == vlen && strncmp(p, value, n) == 0)
            return idx;
        p = bar ? bar + 1 : NULL;
    }
    return -1;
}

static bool in_range(const mf_option *o, double v)
{
    return !(o->min < o->max) || (v >= o->min && v <= o->max);
}

static void *field(void *ctx, const mf_option *o)
{
    return (ctx && o->offset >= 0) ? (char *)ctx + o->offset : NULL;
}

/* Split "a, b,c" into a list. */
static void split_list(mf_optvals *vals, const char *text, mf_strlist *out)
{
    size_t n = 1;
    for (const char *p = text; *p; p++)
        n += *p == ',';
    const char **items = own(vals, mf_xcalloc(n, sizeof *items));
    size_t i = 0;
    const char *p = text;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        while (len && (*p == ' ' || *p == '\t'))
            p++, len--;
        while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
            len--;
        items[i++] = own(vals, mf_xstrndup(p, len));
        if (!comma)
            break;
        p = comma + 1;
    }
    out->count = i;
    out->items = items;
}

/* Convert one value for option o and store it. Returns an error message
 * (static or owned by vals) or NULL. */
static const char *convert(const mf_option *o, const json_t *v, mf_optvals *vals, void *ctx)
{
    void *dst = field(ctx, o);
    const char *text = json_is_string(v) ? json_string_value(v) : NULL;
    switch (o->type) {
    case MF_OPT_STRING:
    case MF_OPT_SECRET: {
        const char *s = scalar_text(vals, v);
        if (!s)
            return "expected a string";
        if (o->type == MF_OPT_SECRET && !mf_redact_add(s)) /* keeps it out of every log line */
            return "too many secret values to keep out of the logs";
        if (dst)
            *(const char **)dst = s;
        return NULL;
    }
    case MF_OPT_INT: {
        int64_t x;
        if (json_is_integer(v))
            x = json_integer_value(v);
        else if (!text || !mf_parse_int(text, &x))
            return "expected an integer";
        if (!in_range(o, (double)x))
            return own(vals, mf_xasprintf("%lld is out of range [%.15g, %.15g]", (long long)x, o->min, o->max));
        if (dst)
            *(int64_t *)dst = x;
        return NULL;
    }
    case MF_OPT_BOOL: {
        bool b;
        if (json_is_boolean(v))
            b = json_is_true(v);
        else if (!text || !mf_parse_bool(text, &b))
            return "expected true or false";
        if (dst)
            *(bool *)dst = b;
        return NULL;
    }
    case MF_OPT_DOUBLE: {
        double d;
        if (json_is_number(v))
            d = json_number_value(v);
        else if (!text || !mf_parse_double(text, &d))
            return "expected a number";
        if (!in_range(o, d))
            return own(vals, mf_xasprintf("%g is out of range [%.15g, %.15g]", d, o->min, o->max));
        if (dst)
            *(double *)dst = d;
        return NULL;
    }
    case MF_OPT_SIZE: {
        uint64_t b;
        if (json_is_integer(v) && json_integer_value(v) >= 0)
            b = (uint64_t)json_integer_value(v);
        else if (!text || !mf_parse_size(text, &b))
            return "expected a size such as 512, 64KiB, 5MiB or 1GB";
        if (!in_range(o, (double)b))
            return own(vals, mf_xasprintf("%llu bytes is out of range [%.15g, %.15g]", (unsigned long long)b,
                                          o->min, o->max));
        if (dst)
            *(uint64_t *)dst = b;
        return NULL;
    }
    case MF_OPT_DURATION: {
        int64_t ms;
        if (json_is_integer(v) && json_integer_value(v) == 0)
            ms = 0;
        else if (!text || !mf_parse_duration_ms(text, &ms))
            return "expected a duration with a unit, such as 250ms, 10s, 5m or 1h";
        if (!in_range(o, (double)ms))
            return own(vals, mf_xasprintf("%lld ms is out of range [%.15g, %.15g] ms", (long long)ms, o->min,
                                          o->max));
        if (dst)
            *(int64_t *)dst = ms;
        return NULL;
    }
    case MF_OPT_ENUM: {
        int idx = text ? enum_index(o->choices, text) : -1;
        if (idx < 0)
            return own(vals, mf_xasprintf("expected one of %s", o->choices));
        if (dst)
            *(int *)dst = idx;
        return NULL;
    }
    case MF_OPT_LIST: {
        mf_strlist list = {0};
        if (json_is_array(v)) {
            size_t n = json_array_size(v);
            const char **items = own(vals, mf_xcalloc(n, sizeof *items));
            for (size_t i = 0; i < n; i++) {
                items[i] = scalar_text(vals, json_array_get(v, i));
                if (!items[i])
                    return "expected a list of scalars";
            }
            list.count = n;
            list.items = items;
        } else if (text) {
            split_list(vals, text, &list);
        } else {
            return "expected a list";
        }
        if (dst)
            *(mf_strlist *)dst = list;
        return NULL;
    }
    case MF_OPT_JSON:
        if (dst)
            *(const json_t **)dst = v;
        return NULL;
    case MF_OPT_PREFIX:
        return NULL; /* collected separately */
    }
    return "unsupported option type";
}

static bool is_reserved(const char *const *reserved, const char *key)
{
    for (; reserved && *reserved; reserved++)
        if (strcmp(*reserved, key) == 0)
            return true;
    return false;
}

static const mf_option *find_option(const mf_option *opts, const char *key)
{
    for (const mf_option *o = opts; o && o->name; o++) {
        if (o->type == MF_OPT_PREFIX) {
            size_t n = strlen(o->name);
            if (strncmp(key, o->name, n) == 0 && key[n])
                return o;
            if (n > 1 && strlen(key) == n - 1 && strncmp(key, o->name, n - 1) == 0)
                return o; /* the map form: "rdkafka: {...}" */
        } else if (strcmp(o->name, key) == 0) {
            return o;
        }
    }
    return NULL;
}

static const char *suggest(const mf_option *opts, const char *key)
{
    const char *best = NULL;
    int best_d = 3;
    for (const mf_option *o = opts; o && o->name; o++) {
        int d = mf_edit_distance(key, o->name);
        if (d < best_d) {
            best_d = d;
            best = o->name;
        }
    }
    return best;
}

struct kv_accum {
    const char **keys, **values;
    size_t n, cap;
};

static void kv_add(struct kv_accum *a, const char *k, const char *v)
{
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 8;
        a->keys = mf_xrealloc(a->keys, a->cap * sizeof *a->keys);
        a->values = mf_xrealloc(a->values, a->cap * sizeof *a->values);
    }
    a->keys[a->n] = k;
    a->values[a->n] = v;
    a->n++;
}

/* A pass-through value under a secret-looking key (rdkafka.sasl.password,
 * pg.sslpassword) is kept out of every log line, as secret options are. */
static const char *remember_if_secret(const char *key, const char *text)
{
    if (mf_option_key_looks_secret(key))
        (void)mf_redact_add(text);
    return text;
}

/* Collect all keys of a prefix option into an mf_kvlist. */
static void apply_prefix(const mf_option *o, const json_t *obj, const mf_config *cfg, const char *what,
                         mf_optvals *vals, void *ctx, mf_diag *diag)
{
    size_t plen = strlen(o->name);
    struct kv_accum acc = {0};
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v) {
        if (strncmp(key, o->name, plen) == 0 && key[plen]) {
            const char *text = scalar_text(vals, v);
            if (!text)
                mf_diag_error(diag, mf_config_value_loc(cfg, obj, key), "%s: option '%s': expected a scalar",
                              what, key);
            else
                kv_add(&acc, own(vals, mf_xstrdup(key + plen)), remember_if_secret(key + plen, text));
        } else if (plen > 1 && strlen(key) == plen - 1 && strncmp(key, o->name, plen - 1) == 0) {
            if (!json_is_object(v)) {
                mf_diag_error(diag, mf_config_value_loc(cfg, obj, key),
                              "%s: option '%s': expected a map of %s* settings", what, key, o->name);
                continue;
            }
            const char *k2;
            json_t *v2;
            json_object_foreach(v, k2, v2) {
                const char *text = scalar_text(vals, v2);
                if (!text) {
                    mf_diag_error(diag, mf_config_value_loc(cfg, v, k2), "%s: option '%s%s': expected a scalar",
                                  what, o->name, k2);
                    continue;
                }
                for (size_t i = 0; i < acc.n; i++)
                    if (strcmp(acc.keys[i], k2) == 0)
                        mf_diag_error(diag, mf_config_key_loc(cfg, v, k2), "%s: option '%s%s' is set twice",
                                      what, o->name, k2);
                kv_add(&acc, own(vals, mf_xstrdup(k2)), remember_if_secret(k2, text));
            }
        }
    }
    own(vals, acc.keys);
    own(vals, acc.values);
    void *dst = field(ctx, o);
    if (dst)
        *(mf_kvlist *)dst = (mf_kvlist){.count = acc.n, .keys = acc.keys, .values = acc.values};
}

mf_optvals *mf_options_apply(const mf_option *opts, const json_t *obj, const char *const *reserved,
                             unsigned flags, const mf_config *cfg, const char *what, void *ctx,
                             mf_diag *diag)
{
    int errors_before = diag->errors;
    mf_optvals *vals = mf_xcalloc(1, sizeof *vals);
    json_t *empty = NULL;
    if (!obj)
        obj = empty = json_object();

    /* Unknown keys first: they often explain a "missing" option. */
    if (!(flags & MF_OPTS_IGNORE_UNKNOWN)) {
        const char *key;
        json_t *v;
        json_object_foreach((json_t *)obj, key, v) {
            if (find_option(opts, key) || is_reserved(reserved, key))
                continue;
            const char *hint = suggest(opts, key);
            if (hint)
                mf_diag_error(diag, mf_config_key_loc(cfg, obj, key),
                              "%s: unknown option '%s' (did you mean '%s'?)", what, key, hint);
            else
                mf_diag_error(diag, mf_config_key_loc(cfg, obj, key), "%s: unknown option '%s'", what, key);
        }
    }

    for (const mf_option *o = opts; o && o->name; o++) {
        if (o->type == MF_OPT_PREFIX) {
            apply_prefix(o, obj, cfg, what, vals, ctx, diag);
            continue;
        }
        json_t *v = json_object_get(obj, o->name);
        if (json_is_null(v))
            v = NULL; /* "key: ~" means "not set" */
        if (v) {
            const char *err = convert(o, v, vals, ctx);
            if (err)
                mf_diag_error(diag, mf_config_value_loc(cfg, obj, o->name), "%s: option '%s': %s", what,
                              o->name, err);
            continue;
        }
        if (o->flags & MF_OPT_REQUIRED) {
            mf_diag_error(diag, mf_config_container_loc(cfg, obj), "%s: missing required option '%s' (%s)", what,
                          o->name, o->doc ? o->doc : mf_option_type_name(o->type));
            continue;
        }
        if (o->default_value) {
            json_t *def = o->type == MF_OPT_JSON ? json_loads(o->default_value, JSON_DECODE_ANY, NULL)
                                                 : json_string(o->default_value);
            const char *err = def ? convert(o, def, vals, NULL) : "unparseable default";
            if (err) {
                mf_diag_error(diag, mf_config_container_loc(cfg, obj),
                              "%s: option '%s': bad built-in default '%s': %s", what, o->name, o->default_value,
                              err);
            } else {
                if (o->type == MF_OPT_JSON) {
                    if (!vals->json)
                        vals->json = json_array();
                    json_array_append(vals->json, def);
                }
                convert(o, def, vals, ctx);
            }
            json_decref(def);
        }
    }
    json_decref(empty);
    if (diag->errors > errors_before) {
        mf_optvals_free(vals);
        return NULL;
    }
    return vals;
}

json_t *mf_options_schema(const mf_option *opts)
{
    json_t *arr = json_array();
    for (const mf_option *o = opts; o && o->name; o++) {
        json_t *e = json_pack("{s:s, s:s, s:b, s:s}", "name", o->name, "type", mf_option_type_name(o->type),
                              "required", (o->flags & MF_OPT_REQUIRED) != 0, "doc", o->doc ? o->doc : "");
        if (o->default_value)
            json_object_set_new(e, "default", json_string(o->default_value));
        if (o->type == MF_OPT_ENUM && o->choices) {
            json_t *c = json_array();
            mf_optvals tmp = {0};
            mf_strlist l;
            char *copy = mf_xstrdup(o->choices);
            for (char *p = copy; *p; p++)
                if (*p == '|')
                    *p = ',';
            split_list(&tmp, copy, &l);
            for (size_t i = 0; i < l.count; i++)
                json_array_append_new(c, json_string(l.items[i]));
            for (size_t i = 0; i < tmp.n; i++)
                free(tmp.blocks[i]);
            free(tmp.blocks);
            free(copy);
            json_object_set_new(e, "choices", c);
        }
        if (o->min < o->max) {
            json_object_set_new(e, "min", json_real(o->min));
            json_object_set_new(e, "max", json_real(o->max));
        }
        json_array_append_new(arr, e);
    }
    return arr;
}

/* Replace, at any depth, values that came from secret files (marked in cfg);
 * orig and copy are the same tree before and after json_deep_copy. The loader
 * bounds the depth (config.h), so the recursion is bounded too. */
static void redact_sensitive(const json_t *orig, json_t *copy, const mf_config *cfg, int depth)
{
    if (!cfg || depth > MF_CONFIG_MAX_DEPTH)
        return;
    if (json_is_object(orig)) {
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)orig, k, v) {
            if (mf_config_is_sensitive(cfg, orig, k, 0))
                json_object_set_new(copy, k, json_string("***"));
            else
                redact_sensitive(v, json_object_get(copy, k), cfg, depth + 1);
        }
    } else if (json_is_array(orig)) {
        for (size_t i = 0; i < json_array_size(orig); i++) {
            if (mf_config_is_sensitive(cfg, orig, NULL, i))
                json_array_set_new(copy, i, json_string("***"));
            else
                redact_sensitive(json_array_get(orig, i), json_array_get(copy, i), cfg, depth + 1);
        }
    }
}

json_t *mf_options_redact(const mf_option *opts, const json_t *obj, const mf_config *cfg)
{
    json_t *copy = json_deep_copy(obj);
    redact_sensitive(obj, copy, cfg, 0);
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v) {
        const mf_option *o = find_option(opts, key);
        if (o && o->type == MF_OPT_SECRET) {
            json_object_set_new(copy, key, json_string("***"));
        } else if (o && o->type == MF_OPT_PREFIX) {
            size_t plen = strlen(o->name);
            if (json_is_object(v)) {
                json_t *inner = json_object_get(copy, key);
                const char *k2;
                json_t *v2;
                json_object_foreach(v, k2, v2)
                    if (mf_option_key_looks_secret(k2))
                        json_object_set_new(inner, k2, json_string("***"));
            } else if (strlen(key) > plen && mf_option_key_looks_secret(key + plen)) {
                json_object_set_new(copy, key, json_string("***"));
            }
        }
    }
    return copy;
}
