/*
 * transform fields — small edits of JSON object records:
 *   require: [a, b.c]       reject records missing any of these fields
 *   remove:  [a, b.c]       delete fields
 *   rename:  {old: new}     move a field (dotted paths on both sides)
 *   set:     {a.b: value}   set fields to constant JSON values
 *   key_field: a.b          the record key becomes this field's value
 *   route:   {port: a.b}    a record having this field goes to that port (of
 *                           `ports:`): the first such entry, else the default port
 * applied in that order (route is decided on the record as it came). Paths
 * and keys are martflow/fieldpath.h's ("UserData.ANI", 'a\.b' for a
 * top-level "a.b"); set and rename create the objects on their way.
 *
 * require, route and key_field read through the host's JSON views (one field set
 * compiled in init, read in one pass per record): a jansson tree is built
 * only for a record that is edited (set, rename, remove). Without
 * operations the node passes records through untouched (nothing is read).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <martflow/martflow.h>

struct ctx {
    const json_t *set;
    mf_strlist remove;
    const json_t *rename;
    mf_strlist require;
    const char *key_field;
    const json_t *route;

    mf_node *node;
    const mf_host *host;
    /* compiled paths (martflow/fieldpath.h), owned */
    mf_fieldpath **set_paths, **remove_paths, **rename_from, **rename_to, **require_paths;
    json_t **set_values; /* borrowed from `set` */
    size_t n_set, n_rename;
    mf_fieldpath *key_path;
    size_t n_route;
    int *route_ports; /* n_route port ids, in the map's order */
    mf_buffer keybuf; /* a key that is not a string (martflow/fieldpath.h) */
    bool mutates;
    /* the paths read without a tree: require's, route's, then key_field (if set) */
    mf_json_fieldset *read_set;
    size_t n_read;
    mf_json_view *views; /* n_read, filled per record */
};

static const mf_option options[] = {
    MF_OPTION(MF_OPT_JSON, "set", NULL, 0, struct ctx, set, "Map of field path -> JSON value to set"),
    MF_OPTION(MF_OPT_LIST, "remove", NULL, 0, struct ctx, remove, "Field paths to delete"),
    MF_OPTION(MF_OPT_JSON, "rename", NULL, 0, struct ctx, rename, "Map of field path -> new field path"),
    MF_OPTION(MF_OPT_LIST, "require", NULL, 0, struct ctx, require,
              "Field paths that must be present; records without them are rejected"),
    MF_OPTION(MF_OPT_STRING, "key_field", "", 0, struct ctx, key_field,
              "Field path (see Field paths and keys) whose value becomes the record key; null or missing: "
              "rejected (empty: the key is left as it is)"),
    MF_OPTION(MF_OPT_JSON, "route", NULL, 0, struct ctx, route,
              "Map of port (one of the node's `ports:`) -> field path: a record having that field (any value, null "
              "too) goes to that port, the first entry that matches; a record matching none goes to the default "
              "port. Decided on the record as it came, read without a tree"),
    MF_OPTION_END,
};

/* NULL on a bad path: validate() reported it with its place. */
static mf_fieldpath *compile(const char *text)
{
    return mf_fieldpath_new(text, NULL, 0);
}

static bool compile_list(const mf_strlist *list, mf_fieldpath ***out)
{
    *out = mf_xcalloc(list->count, sizeof **out);
    for (size_t i = 0; i < list->count; i++)
        if (!((*out)[i] = compile(list->items[i])))
            return false;
    return true;
}

/* The one field set of require, route and key_field, read per record. */
static int compile_read_set(struct ctx *c)
{
    c->n_read = c->require.count + c->n_route + (c->key_path ? 1 : 0);
    if (!c->n_read)
        return MF_OK;
    const char **paths = mf_xcalloc(c->n_read, sizeof *paths);
    for (size_t i = 0; i < c->require.count; i++)
        paths[i] = c->require.items[i];
    size_t i = c->require.count;
    const char *port;
    json_t *path;
    json_object_foreach((json_t *)c->route, port, path)
        paths[i++] = json_string_value(path);
    if (c->key_path)
        paths[c->n_read - 1] = c->key_field;
    const char *error = NULL;
    c->read_set = c->host->fieldset_new(c->node, paths, c->n_read, &error);
    free(paths);
    if (!c->read_set) {
        c->host->log(c->node, MF_LOG_ERROR, "%s", error);
        return MF_FATAL;
    }
    c->views = mf_xcalloc(c->n_read, sizeof *c->views);
    return MF_OK;
}

/* init relies on validate(), which `check` and `run` call first: a bad shape
 * or path found here was already reported with its place in the file. */
static int init(void *vctx, mf_node *node, const mf_host *host)
{
    struct ctx *c = vctx;
    c->node = node;
    c->host = host;
    if ((c->set && !json_is_object(c->set)) || (c->rename && !json_is_object(c->rename)) ||
        !compile_list(&c->remove, &c->remove_paths) || !compile_list(&c->require, &c->require_paths))
        return MF_FATAL;
    c->n_set = c->set ? json_object_size(c->set) : 0;
    c->set_paths = mf_xcalloc(c->n_set, sizeof *c->set_paths);
    c->set_values = mf_xcalloc(c->n_set, sizeof *c->set_values);
    size_t i = 0;
    const char *k;
    json_t *v;
    if (c->set)
        json_object_foreach((json_t *)c->set, k, v) {
            if (!(c->set_paths[i] = compile(k)))
                return MF_FATAL;
            c->set_values[i++] = v;
        }
    c->n_rename = c->rename ? json_object_size(c->rename) : 0;
    c->rename_from = mf_xcalloc(c->n_rename, sizeof *c->rename_from);
    c->rename_to = mf_xcalloc(c->n_rename, sizeof *c->rename_to);
    i = 0;
    if (c->rename)
        json_object_foreach((json_t *)c->rename, k, v) {
            if (!json_is_string(v) || !(c->rename_from[i] = compile(k)) ||
                !(c->rename_to[i] = compile(json_string_value(v))))
                return MF_FATAL;
            i++;
        }
    if (*c->key_field && !(c->key_path = compile(c->key_field)))
        return MF_FATAL;
    if (c->route && !json_is_object(c->route))
        return MF_FATAL;
    c->n_route = c->route ? json_object_size(c->route) : 0;
    c->route_ports = mf_xcalloc(c->n_route + 1, sizeof *c->route_ports);
    i = 0;
    if (c->route)
        json_object_foreach((json_t *)c->route, k, v)
            if ((c->route_ports[i++] = host->port(node, k)) < 0) {
                host->log(node, MF_LOG_ERROR, "route: '%s' is not one of the node's ports", k);
                return MF_FATAL;
            }
    c->mutates = c->n_set || c->remove.count || c->n_rename;
    return compile_read_set(c);
}

/* ---- validate: the shapes the option table cannot state ----------------------- */

/* Report text[0, len) if it is not a field path, in martflow/fieldpath.h's words. */
static void check_path(mf_check *check, const json_t *at, const char *option, const char *text, size_t len)
{
    char *copy = mf_xstrndup(text, len);
    char err[256];
    mf_fieldpath *p = mf_fieldpath_new(copy, err, sizeof err);
    if (!p)
        check->problem(check, at, "option '%s': %s", option, err);
    mf_fieldpath_free(p);
    free(copy);
}

/* remove: and require: are lists of paths, as a YAML list or "a, b.c" (split
 * and trimmed as the option table does). Other shapes are the option table's
 * to report. */
static void check_path_list(const json_t *config, const char *option, mf_check *check)
{
    const json_t *list = json_object_get(config, option);
    for (size_t i = 0; i < json_array_size(list); i++) {
        const json_t *item = json_array_get(list, i);
        if (json_is_string(item))
            check_path(check, item, option, json_string_value(item), json_string_length(item));
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
        check_path(check, list, option, p, len);
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
                       mf_json_kind_text(map));
        return NULL;
    }
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)map, k, v)
        check_path(check, v, option, k, strlen(k));
    return map;
}

/* Whether `ports:` (a list, or "a, b" as the engine also takes it) names port. */
static bool port_declared(const json_t *ports, const char *port)
{
    size_t len = strlen(port);
    for (size_t i = 0; i < json_array_size(ports); i++)
        if (json_is_string(json_array_get(ports, i)) && !strcmp(json_string_value(json_array_get(ports, i)), port))
            return true;
    for (const char *p = json_string_value(ports); p && *p;) {
        p += strspn(p, " \t,");
        size_t n = strcspn(p, " \t,");
        if (n == len && !memcmp(p, port, len))
            return true;
        p += n;
    }
    return false;
}

/* route: port -> field path, each port one of the node's `ports:`. */
static void check_route(const json_t *config, mf_check *check)
{
    const json_t *route = json_object_get(config, "route");
    if (!route || json_is_null(route))
        return;
    if (!json_is_object(route)) {
        check->problem(check, route, "option 'route': expected a map of port -> field path, not %s",
                       mf_json_kind_text(route));
        return;
    }
    const json_t *ports = json_object_get(config, "ports");
    const char *port;
    json_t *path;
    json_object_foreach((json_t *)route, port, path) {
        bool errors = !strcmp(port, "errors");
        if (errors || !strcmp(port, "default"))
            check->problem(check, path, "option 'route': '%s' is the node's own port (%s), not one of its 'ports:'",
                           port, errors ? "a reject carries its reason there" : "unmatched records go there");
        else if (!port_declared(ports, port))
            check->problem(check, path, "option 'route': port '%s' is not listed in the node's 'ports:'", port);
        if (!json_is_string(path))
            check->problem(check, path, "option 'route': port '%s' must map to a field path, not %s", port,
                           mf_json_kind_text(path));
        else
            check_path(check, path, "route", json_string_value(path), json_string_length(path));
    }
}

static void validate(const json_t *config, mf_check *check)
{
    path_map(config, "set", "value", check);
    const json_t *rename = path_map(config, "rename", "new field path", check);
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)rename, k, v) {
        if (!json_is_string(v))
            check->problem(check, v, "option 'rename': '%s' must map to a field path, not %s", k, mf_json_kind_text(v));
        else
            check_path(check, v, "rename", json_string_value(v), json_string_length(v));
    }
    check_path_list(config, "remove", check);
    check_path_list(config, "require", check);
    mf_fieldpath_check(config, "key_field", check);
    check_route(config, check);
}

/* Delete path from j; its value, if it had one, is returned with a reference. */
static json_t *take(json_t *j, const mf_fieldpath *path)
{
    const char *name;
    json_t *parent = mf_fieldpath_parent(path, j, false, &name);
    json_t *v = json_incref(json_object_get(parent, name));
    if (v)
        json_object_del(parent, name);
    return v;
}

/* Set path in j to v (reference stolen), creating the objects on its way. */
static void put(json_t *j, const mf_fieldpath *path, json_t *v)
{
    const char *name;
    json_t *parent = mf_fieldpath_parent(path, j, true, &name);
    json_object_set_new(parent, name, v); /* a NULL parent (a name not UTF-8) frees v */
}

static void apply(struct ctx *c, json_t *j)
{
    for (size_t i = 0; i < c->remove.count; i++)
        json_decref(take(j, c->remove_paths[i]));
    for (size_t i = 0; i < c->n_rename; i++) {
        json_t *v = take(j, c->rename_from[i]);
        if (v)
            put(j, c->rename_to[i], v);
    }
    for (size_t i = 0; i < c->n_set; i++)
        put(j, c->set_paths[i], json_incref(c->set_values[i]));
}

/* Valid JSON is an object when its first byte past whitespace is '{'. */
static bool value_is_object(struct ctx *c, mf_record *r)
{
    size_t len;
    const uint8_t *v = c->host->record_value(c->node, r, &len);
    size_t i = 0;
    while (i < len && (v[i] == ' ' || v[i] == '\t' || v[i] == '\n' || v[i] == '\r'))
        i++;
    return i < len && v[i] == '{';
}

static void handle(struct ctx *c, mf_record *r)
{
    const char *error = NULL;
    int st = c->n_read ? c->host->json_fields(c->node, r, c->read_set, c->views, &error)
                       : c->host->json_check(c->node, r, &error);
    if (st != MF_OK) {
        c->host->reject(c->node, r, "%s", error);
        return;
    }
    /* A path found proves an object; otherwise look. */
    bool found = false;
    for (size_t i = 0; i < c->n_read; i++)
        found = found || c->views[i].type != MF_JSON_MISSING;
    if (!found && !value_is_object(c, r)) {
        c->host->reject(c->node, r, "value is not a JSON object");
        return;
    }
    for (size_t i = 0; i < c->require.count; i++)
        if (c->views[i].type == MF_JSON_MISSING) {
            c->host->reject(c->node, r, "missing required field '%s'", c->require.items[i]);
            return;
        }
    mf_record out = *r;
    const uint8_t *key = NULL;
    size_t len = 0;
    bool keyed = true;
    if (c->mutates) {
        json_t *j = c->host->record_json_mut(c->node, r, &error);
        if (!j) {
            c->host->reject(c->node, r, "%s", error);
            return;
        }
        apply(c, j);
        out = *r; /* the edited value */
        if (c->key_path)
            keyed = mf_fieldpath_key(c->key_path, j, &c->keybuf, &key, &len);
    } else if (c->key_path) {
        keyed = mf_json_view_key(&c->views[c->n_read - 1], &c->keybuf, &key, &len);
    }
    if (!keyed) {
        c->host->reject(c->node, r, "key field '%s' is missing or null", c->key_field);
        return;
    }
    if (c->key_path) {
        out.key = key;
        out.key_len = (uint32_t)len;
        out.flags &= ~MF_RECORD_KEY_NULL;
    }
    int port = MF_PORT_DEFAULT;
    for (size_t i = 0; i < c->n_route && port == MF_PORT_DEFAULT; i++)
        if (c->views[c->require.count + i].type != MF_JSON_MISSING)
            port = c->route_ports[i];
    c->host->emit(c->node, port, &out, NULL);
}

static int process(void *vctx, mf_batch *batch)
{
    struct ctx *c = vctx;
    bool reads = c->mutates || c->n_read;
    for (size_t i = 0; i < batch->count; i++) {
        if (!reads)
            c->host->emit(c->node, MF_PORT_DEFAULT, &batch->records[i], NULL);
        else
            handle(c, &batch->records[i]);
    }
    return MF_OK;
}

static void free_paths(mf_fieldpath **p, size_t n)
{
    if (!p)
        return;
    for (size_t i = 0; i < n; i++)
        mf_fieldpath_free(p[i]);
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
    free(c->route_ports);
    mf_fieldpath_free(c->key_path);
    mf_buffer_free(&c->keybuf);
    if (c->read_set)
        c->host->fieldset_free(c->node, c->read_set);
    free(c->views);
}

MF_PLUGIN_DEFINE = {
    MF_PLUGIN_HEADER,
    .kind = MF_KIND_TRANSFORM,
    .name = "fields",
    .version = "1.1.0",
    .description = "Require, remove, rename and set fields of JSON records; set the key from a field; route by a field",
    .flags = MF_PLUGIN_DYNAMIC_PORTS,
    .options = options,
    .ctx_size = sizeof(struct ctx),
    .init = init,
    .validate = validate,
    .free = free_cb,
    .process = process,
};
