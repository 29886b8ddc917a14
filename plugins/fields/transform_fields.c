/*
 * transform fields — small edits of JSON object records:
 *   require: [a, b.c]       reject records missing any of these fields
 *   remove:  [a, b.c]       delete fields
 *   rename:  {old: new}     move a field (dotted paths on both sides)
 *   set:     {a.b: value}   set fields to constant JSON values
 *   key_field: a.b          the record key becomes this field's value
 * applied in that order. Paths are dotted ("UserData.ANI"); set creates the
 * objects on its way. Without operations the node passes records through
 * untouched (no JSON is parsed).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <martflow/martflow.h>

struct path {
    char **parts;
    size_t n;
};

struct ctx {
    const json_t *set;
    mf_strlist remove;
    const json_t *rename;
    mf_strlist require;
    const char *key_field;

    mf_node *node;
    const mf_host *host;
    struct path *set_paths, *remove_paths, *rename_from, *rename_to, *require_paths;
    json_t **set_values;
    size_t n_set, n_rename;
    struct path key_path;
    bool mutates, reads;
};

static const mf_option options[] = {
    MF_OPTION(MF_OPT_JSON, "set", NULL, 0, struct ctx, set, "Map of field path -> JSON value to set"),
    MF_OPTION(MF_OPT_LIST, "remove", NULL, 0, struct ctx, remove, "Field paths to delete"),
    MF_OPTION(MF_OPT_JSON, "rename", NULL, 0, struct ctx, rename, "Map of field path -> new field path"),
    MF_OPTION(MF_OPT_LIST, "require", NULL, 0, struct ctx, require,
              "Field paths that must be present; records without them are rejected"),
    MF_OPTION(MF_OPT_STRING, "key_field", "", 0, struct ctx, key_field,
              "Field path whose value (string or integer) becomes the record key"),
    MF_OPTION_END,
};

/* A dotted field path of `len` bytes: no part empty. */
static bool path_ok(const char *s, size_t len)
{
    if (len == 0 || s[0] == '.' || s[len - 1] == '.')
        return false;
    for (size_t i = 0; i + 1 < len; i++)
        if (s[i] == '.' && s[i + 1] == '.')
            return false;
    return true;
}

/* False on a bad path (validate() reports those, with their place). */
static bool split_path(const char *text, struct path *p)
{
    p->n = 0;
    p->parts = NULL;
    if (!path_ok(text, strlen(text)))
        return false;
    for (const char *s = text;;) {
        const char *dot = strchr(s, '.');
        size_t len = dot ? (size_t)(dot - s) : strlen(s);
        p->parts = realloc(p->parts, (p->n + 1) * sizeof *p->parts);
        p->parts[p->n++] = strndup(s, len);
        if (!dot)
            return true;
        s = dot + 1;
    }
}

static void free_path(struct path *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->parts[i]);
    free(p->parts);
    p->parts = NULL;
    p->n = 0;
}

/* The object holding the last part of p; created on the way if `create`. */
static json_t *parent_of(json_t *root, const struct path *p, bool create)
{
    json_t *o = root;
    for (size_t i = 0; i + 1 < p->n; i++) {
        json_t *next = json_object_get(o, p->parts[i]);
        if (!json_is_object(next)) {
            if (!create)
                return NULL;
            next = json_object();
            json_object_set_new(o, p->parts[i], next);
        }
        o = next;
    }
    return o;
}

static json_t *get_path(json_t *root, const struct path *p)
{
    json_t *parent = parent_of(root, p, false);
    return parent ? json_object_get(parent, p->parts[p->n - 1]) : NULL;
}

static bool load_paths(const mf_strlist *list, struct path **out)
{
    *out = calloc(list->count ? list->count : 1, sizeof **out);
    for (size_t i = 0; i < list->count; i++)
        if (!split_path(list->items[i], &(*out)[i]))
            return false;
    return true;
}

/* init relies on validate(), which `check` and `run` call first: a bad shape
 * or path found here was already reported with its place in the file. */
static int init(void *vctx, mf_node *node, const mf_host *host)
{
    struct ctx *c = vctx;
    c->node = node;
    c->host = host;
    if ((c->set && !json_is_object(c->set)) || (c->rename && !json_is_object(c->rename)) ||
        !load_paths(&c->remove, &c->remove_paths) || !load_paths(&c->require, &c->require_paths))
        return MF_FATAL;
    c->n_set = c->set ? json_object_size(c->set) : 0;
    c->set_paths = calloc(c->n_set + 1, sizeof *c->set_paths);
    c->set_values = calloc(c->n_set + 1, sizeof *c->set_values);
    size_t i = 0;
    const char *k;
    json_t *v;
    if (c->set)
        json_object_foreach((json_t *)c->set, k, v) {
            if (!split_path(k, &c->set_paths[i]))
                return MF_FATAL;
            c->set_values[i++] = v;
        }
    c->n_rename = c->rename ? json_object_size(c->rename) : 0;
    c->rename_from = calloc(c->n_rename + 1, sizeof *c->rename_from);
    c->rename_to = calloc(c->n_rename + 1, sizeof *c->rename_to);
    i = 0;
    if (c->rename)
        json_object_foreach((json_t *)c->rename, k, v) {
            if (!json_is_string(v) || !split_path(k, &c->rename_from[i]) ||
                !split_path(json_string_value(v), &c->rename_to[i]))
                return MF_FATAL;
            i++;
        }
    if (*c->key_field && !split_path(c->key_field, &c->key_path)) {
        host->log(node, MF_LOG_ERROR, "key_field: bad field path '%s'", c->key_field);
        return MF_FATAL;
    }
    c->mutates = c->n_set || c->remove.count || c->n_rename;
    c->reads = c->mutates || c->require.count || *c->key_field;
    return MF_OK;
}

/* ---- validate: the shapes the option table cannot state ----------------------- */

static const char *type_name(const json_t *j)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT: return "a map";
    case JSON_ARRAY: return "a list";
    case JSON_STRING: return "a string";
    case JSON_INTEGER:
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "?";
}

/* remove: and require: are lists of paths, as a YAML list or "a, b.c". Other
 * shapes are the option table's to report. */
static void check_path_list(const json_t *config, const char *option, mf_check *check)
{
    const json_t *list = json_object_get(config, option);
    for (size_t i = 0; i < json_array_size(list); i++) {
        const json_t *item = json_array_get(list, i);
        if (json_is_string(item) && !path_ok(json_string_value(item), json_string_length(item)))
            check->problem(check, item, "option '%s': bad field path '%s' (dotted names, none empty)", option,
                           json_string_value(item));
    }
    if (!json_is_string(list))
        return;
    for (const char *p = json_string_value(list);;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        while (len && (*p == ' ' || *p == '\t'))
            p++, len--;
        while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
            len--;
        if (!path_ok(p, len))
            check->problem(check, list, "option '%s': bad field path '%.*s' (dotted names, none empty)", option,
                           (int)len, p);
        if (!comma)
            return;
        p = comma + 1;
    }
}

/* A map whose keys are field paths; `what` says what its values are. NULL
 * when absent or not a map (reported). */
static const json_t *path_map(const json_t *config, const char *option, const char *what, mf_check *check)
{
    const json_t *map = json_object_get(config, option);
    if (!map || json_is_null(map))
        return NULL;
    if (!json_is_object(map)) {
        check->problem(check, map, "option '%s': expected a map of field path -> %s, not %s", option, what,
                       type_name(map));
        return NULL;
    }
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)map, k, v)
        if (!path_ok(k, strlen(k)))
            check->problem(check, v, "option '%s': bad field path '%s' (dotted names, none empty)", option, k);
    return map;
}

static void validate(const json_t *config, mf_check *check)
{
    path_map(config, "set", "value", check);
    const json_t *rename = path_map(config, "rename", "new field path", check);
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)rename, k, v) {
        if (!json_is_string(v))
            check->problem(check, v, "option 'rename': '%s' must map to a field path, not %s", k, type_name(v));
        else if (!path_ok(json_string_value(v), json_string_length(v)))
            check->problem(check, v, "option 'rename': bad new field path '%s' for '%s' (dotted names, none empty)",
                           json_string_value(v), k);
    }
    check_path_list(config, "remove", check);
    check_path_list(config, "require", check);
}

static void apply(struct ctx *c, json_t *j)
{
    for (size_t i = 0; i < c->remove.count; i++) {
        json_t *parent = parent_of(j, &c->remove_paths[i], false);
        if (parent)
            json_object_del(parent, c->remove_paths[i].parts[c->remove_paths[i].n - 1]);
    }
    for (size_t i = 0; i < c->n_rename; i++) {
        json_t *v = get_path(j, &c->rename_from[i]);
        if (!v)
            continue;
        json_incref(v);
        json_object_del(parent_of(j, &c->rename_from[i], false), c->rename_from[i].parts[c->rename_from[i].n - 1]);
        json_object_set_new(parent_of(j, &c->rename_to[i], true), c->rename_to[i].parts[c->rename_to[i].n - 1], v);
    }
    for (size_t i = 0; i < c->n_set; i++)
        json_object_set(parent_of(j, &c->set_paths[i], true), c->set_paths[i].parts[c->set_paths[i].n - 1],
                        c->set_values[i]);
}

static void handle(struct ctx *c, mf_record *r)
{
    const char *error = NULL;
    json_t *j = c->host->record_json(c->node, r, &error);
    if (!j) {
        c->host->reject(c->node, r, "%s", error);
        return;
    }
    if (!json_is_object(j)) {
        c->host->reject(c->node, r, "value is not a JSON object");
        return;
    }
    for (size_t i = 0; i < c->require.count; i++)
        if (!get_path(j, &c->require_paths[i])) {
            c->host->reject(c->node, r, "missing required field '%s'", c->require.items[i]);
            return;
        }
    if (c->mutates)
        apply(c, c->host->record_json_mut(c->node, r, &error));
    mf_record out = *r;
    char keybuf[32];
    if (c->key_path.n) {
        json_t *k = get_path(r->json, &c->key_path);
        if (json_is_string(k)) {
            out.key = (const uint8_t *)json_string_value(k);
            out.key_len = (uint32_t)json_string_length(k);
            out.flags &= ~MF_RECORD_KEY_NULL;
        } else if (json_is_integer(k)) {
            out.key_len = (uint32_t)snprintf(keybuf, sizeof keybuf, "%" JSON_INTEGER_FORMAT, json_integer_value(k));
            out.key = (const uint8_t *)keybuf;
            out.flags &= ~MF_RECORD_KEY_NULL;
        } else {
            c->host->reject(c->node, r, "key field '%s' is missing or not a string or integer", c->key_field);
            return;
        }
    }
    c->host->emit(c->node, MF_PORT_DEFAULT, &out, NULL);
}

static int process(void *vctx, mf_batch *batch)
{
    struct ctx *c = vctx;
    for (size_t i = 0; i < batch->count; i++) {
        if (!c->reads)
            c->host->emit(c->node, MF_PORT_DEFAULT, &batch->records[i], NULL);
        else
            handle(c, &batch->records[i]);
    }
    return MF_OK;
}

static void free_paths(struct path *p, size_t n)
{
    if (!p)
        return;
    for (size_t i = 0; i < n; i++)
        free_path(&p[i]);
    free(p);
}

static void free_cb(void *vctx)
{
    struct ctx *c = vctx;
    free_paths(c->remove_paths, c->remove.count);
    free_paths(c->require_paths, c->require.count);
    free_paths(c->set_paths, c->n_set);
    free_paths(c->rename_from, c->n_rename);
    free_paths(c->rename_to, c->n_rename);
    free(c->set_values);
    free_path(&c->key_path);
}

MF_PLUGIN_DEFINE = {
    MF_PLUGIN_HEADER,
    .kind = MF_KIND_TRANSFORM,
    .name = "fields",
    .version = "1.0.0",
    .description = "Require, remove, rename and set fields of JSON records; set the key from a field",
    .options = options,
    .ctx_size = sizeof(struct ctx),
    .init = init,
    .validate = validate,
    .free = free_cb,
    .process = process,
};
