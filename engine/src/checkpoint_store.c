/* checkpoint_store.c — see checkpoint_store.h; the format is docs/checkpoints.md. */
#include "checkpoint_store.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <martflow/crypto.h>
#include <martflow/helpers.h>

#include "log.h"
#include "util.h"

#define DIR_PREFIX "chk-"
#define MANIFEST "MANIFEST"

struct mf_ckpt_store {
    mf_objstore *obj;
    char *pipeline;
    char *prefix; /* of every checkpoint's directory: "chk-" (savepoints: "sp-") */
};

struct mf_ckpt_writer {
    mf_ckpt_store *s;
    uint64_t id;
    json_t *nodes; /* the manifest's "nodes" array */
    uint64_t bytes;
};

void mf_ckpt_dir_name(uint64_t id, char *buf, size_t size)
{
    snprintf(buf, size, DIR_PREFIX "%020" PRIu64, id);
}

void mf_ckpt_store_dir_name(const mf_ckpt_store *s, uint64_t id, char *buf, size_t size)
{
    snprintf(buf, size, "%s%020" PRIu64, s->prefix, id);
}

mf_ckpt_store *mf_ckpt_store_open_as(const char *url, const struct mf_objstore_opts *opts, const char *pipeline,
                                     const char *dir_prefix, char **error)
{
    mf_objstore *obj = mf_objstore_open(url, opts, error);
    if (!obj)
        return NULL;
    mf_ckpt_store *s = mf_xcalloc(1, sizeof *s);
    s->obj = obj;
    s->pipeline = mf_xstrdup(pipeline ? pipeline : "");
    s->prefix = mf_xstrdup(dir_prefix);
    return s;
}

mf_ckpt_store *mf_ckpt_store_open(const char *url, const struct mf_objstore_opts *opts, const char *pipeline,
                                  char **error)
{
    return mf_ckpt_store_open_as(url, opts, pipeline, DIR_PREFIX, error);
}

void mf_ckpt_store_close(mf_ckpt_store *s)
{
    if (!s)
        return;
    mf_objstore_close(s->obj);
    free(s->pipeline);
    free(s->prefix);
    free(s);
}

const char *mf_ckpt_store_url(const mf_ckpt_store *s)
{
    return mf_objstore_url(s->obj);
}

/* ---- writing ------------------------------------------------------------------------- */

mf_ckpt_writer *mf_ckpt_writer_new(mf_ckpt_store *s, uint64_t id)
{
    mf_ckpt_writer *w = mf_xcalloc(1, sizeof *w);
    w->s = s;
    w->id = id;
    w->nodes = json_array();
    return w;
}

static json_t *writer_node(mf_ckpt_writer *w, const char *node, const char *plugin, bool keyed, int workers)
{
    size_t i;
    json_t *n;
    json_array_foreach(w->nodes, i, n)
    {
        if (!strcmp(json_string_value(json_object_get(n, "node")), node))
            return n;
    }
    n = json_pack("{s:s, s:s, s:i, s:b, s:[]}", "node", node, "plugin", plugin, "workers", workers, "keyed", keyed,
                  "objects");
    json_array_append_new(w->nodes, n);
    return n;
}

int mf_ckpt_writer_put(mf_ckpt_writer *w, const char *node, const char *plugin, bool keyed, int worker, int workers,
                       const void *data, size_t len, char **error)
{
    char dir[32], key[1100];
    mf_ckpt_store_dir_name(w->s, w->id, dir, sizeof dir);
    snprintf(key, sizeof key, "%s/%s/%d", dir, node, worker);
    int st = mf_objstore_put(w->s->obj, key, data, len, error);
    if (st != MF_OBJ_OK)
        return st;
    uint8_t sha[MF_SHA256_LEN];
    char hex[2 * MF_SHA256_LEN + 1];
    mf_sha256(data, len, sha);
    mf_hex_encode(sha, sizeof sha, hex);
    json_t *n = writer_node(w, node, plugin, keyed, workers);
    json_array_append_new(json_object_get(n, "objects"), json_pack("{s:i, s:s, s:I, s:s}", "worker", worker, "key",
                                                                   key, "size", (json_int_t)len, "sha256", hex));
    w->bytes += len;
    return MF_OBJ_OK;
}

int mf_ckpt_writer_finish(mf_ckpt_writer *w, uint64_t *bytes, char **error)
{
    char dir[32], key[64];
    mf_ckpt_store_dir_name(w->s, w->id, dir, sizeof dir);
    snprintf(key, sizeof key, "%s/" MANIFEST, dir);
    json_t *m = json_pack("{s:s, s:i, s:I, s:s, s:I, s:O}", "format", MF_CKPT_FORMAT, "version", MF_CKPT_VERSION,
                          "id", (json_int_t)w->id, "pipeline", w->s->pipeline, "created_ms",
                          (json_int_t)mf_time_now_ms(), "nodes", w->nodes);
    /* into our own buffer: jansson's allocator is the engine's (json_alloc.c) */
    size_t n = json_dumpb(m, NULL, 0, JSON_INDENT(1) | JSON_SORT_KEYS);
    char *text = mf_xmalloc(n + 1);
    json_dumpb(m, text, n, JSON_INDENT(1) | JSON_SORT_KEYS);
    text[n] = '\0';
    json_decref(m);
    int st = mf_objstore_put(w->s->obj, key, text, strlen(text), error);
    if (st == MF_OBJ_OK && bytes)
        *bytes = w->bytes + strlen(text);
    free(text);
    return st;
}

void mf_ckpt_writer_free(mf_ckpt_writer *w)
{
    if (!w)
        return;
    json_decref(w->nodes);
    free(w);
}

/* ---- listing ------------------------------------------------------------------------- */

/* The ids in the store, and which of them have a manifest. */
struct listing {
    const char *prefix;
    uint64_t *ids;
    bool *complete;
    size_t n;
};

static ssize_t listing_find(struct listing *l, uint64_t id)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->ids[i] == id)
            return (ssize_t)i;
    return -1;
}

static int on_object(void *arg, const struct mf_objstore_info *info)
{
    struct listing *l = arg;
    const char *k = info->key;
    size_t plen = strlen(l->prefix);
    if (strncmp(k, l->prefix, plen) != 0)
        return 0;
    char *end;
    uint64_t id = strtoull(k + plen, &end, 10);
    if (end != k + plen + 20 || *end != '/')
        return 0;
    ssize_t i = listing_find(l, id);
    if (i < 0) {
        l->ids = mf_xrealloc(l->ids, (l->n + 1) * sizeof *l->ids);
        l->complete = mf_xrealloc(l->complete, (l->n + 1) * sizeof *l->complete);
        l->ids[l->n] = id;
        l->complete[l->n] = false;
        i = (ssize_t)l->n++;
    }
    if (!strcmp(end + 1, MANIFEST))
        l->complete[i] = true;
    return 0;
}

static int list_ids(mf_ckpt_store *s, struct listing *l, char **error)
{
    *l = (struct listing){.prefix = s->prefix};
    return mf_objstore_list(s->obj, s->prefix, on_object, l, error);
}

static void listing_free(struct listing *l)
{
    free(l->ids);
    free(l->complete);
}

int mf_ckpt_highest_id(mf_ckpt_store *s, uint64_t *id, char **error)
{
    struct listing l;
    int st = list_ids(s, &l, error);
    *id = 0;
    for (size_t i = 0; i < l.n; i++)
        if (l.ids[i] > *id)
            *id = l.ids[i];
    listing_free(&l);
    return st;
}

/* ---- loading ------------------------------------------------------------------------- */

void mf_ckpt_free(mf_ckpt *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n_nodes; i++) {
        mf_ckpt_node *n = &c->nodes[i];
        for (int w = 0; w < n->workers; w++)
            free(n->data[w]);
        free(n->data);
        free(n->len);
        free(n->name);
        free(n->plugin);
    }
    free(c->nodes);
    free(c);
}

/* One object of the manifest: fetched whole and checked against its size and
 * checksum. */
static bool load_object(mf_ckpt_store *s, const json_t *o, mf_ckpt_node *n, char **error)
{
    const char *key = json_string_value(json_object_get(o, "key"));
    const char *sha = json_string_value(json_object_get(o, "sha256"));
    json_t *jw = json_object_get(o, "worker"), *js = json_object_get(o, "size");
    if (!key || !sha || !json_is_integer(jw) || !json_is_integer(js) || json_integer_value(jw) < 0 ||
        json_integer_value(jw) >= n->workers) {
        *error = mf_xasprintf("node '%s': a malformed object entry", n->name);
        return false;
    }
    int w = (int)json_integer_value(jw);
    if (n->data[w]) {
        *error = mf_xasprintf("node '%s': worker %d listed twice", n->name, w);
        return false;
    }
    void *data = NULL;
    size_t len = 0;
    char *err = NULL;
    int st = mf_objstore_get(s->obj, key, &data, &len, &err);
    if (st != MF_OBJ_OK) {
        *error = mf_xasprintf("object %s: %s", key, err ? err : "not found");
        free(err);
        return false;
    }
    uint8_t digest[MF_SHA256_LEN];
    char hex[2 * MF_SHA256_LEN + 1];
    mf_sha256(data, len, digest);
    mf_hex_encode(digest, sizeof digest, hex);
    if ((json_int_t)len != json_integer_value(js) || strcmp(hex, sha) != 0) {
        *error = mf_xasprintf("object %s: %zu bytes, the manifest says %" JSON_INTEGER_FORMAT
                              " (or its SHA-256 differs): truncated or altered",
                              key, len, json_integer_value(js));
        free(data);
        return false;
    }
    n->data[w] = data;
    n->len[w] = len;
    return true;
}

static bool parse_node(mf_ckpt_store *s, const json_t *jn, mf_ckpt_node *n, char **error)
{
    const char *name = json_string_value(json_object_get(jn, "node"));
    const char *plugin = json_string_value(json_object_get(jn, "plugin"));
    json_t *jw = json_object_get(jn, "workers"), *objs = json_object_get(jn, "objects");
    if (!name || !plugin || !json_is_integer(jw) || json_integer_value(jw) < 1 || json_integer_value(jw) > 256 ||
        !json_is_array(objs)) {
        *error = mf_xstrdup("a malformed node entry");
        return false;
    }
    n->name = mf_xstrdup(name);
    n->plugin = mf_xstrdup(plugin);
    n->workers = (int)json_integer_value(jw);
    n->keyed = json_is_true(json_object_get(jn, "keyed"));
    n->data = mf_xcalloc((size_t)n->workers, sizeof *n->data);
    n->len = mf_xcalloc((size_t)n->workers, sizeof *n->len);
    if (json_array_size(objs) != (size_t)n->workers) {
        *error = mf_xasprintf("node '%s': %zu objects for %d workers", name, json_array_size(objs), n->workers);
        return false;
    }
    size_t i;
    json_t *o;
    json_array_foreach(objs, i, o)
    {
        if (!load_object(s, o, n, error))
            return false;
    }
    return true;
}

int mf_ckpt_load(mf_ckpt_store *s, uint64_t id, mf_ckpt **out, char **error)
{
    char dir[32], key[64];
    mf_ckpt_store_dir_name(s, id, dir, sizeof dir);
    snprintf(key, sizeof key, "%s/" MANIFEST, dir);
    *out = NULL;
    void *text = NULL;
    size_t len = 0;
    int st = mf_objstore_get(s->obj, key, &text, &len, error);
    if (st != MF_OBJ_OK)
        return st;
    json_error_t jerr;
    json_t *m = json_loadb(text, len, 0, &jerr);
    free(text);
    mf_ckpt *c = mf_xcalloc(1, sizeof *c);
    json_t *nodes = m ? json_object_get(m, "nodes") : NULL;
    if (!m || strcmp(json_string_value(json_object_get(m, "format")) ? json_string_value(json_object_get(m, "format")) : "", MF_CKPT_FORMAT) != 0 ||
        !json_is_array(nodes) || !json_is_integer(json_object_get(m, "id")) ||
        (uint64_t)json_integer_value(json_object_get(m, "id")) != id) {
        *error = mf_xasprintf("%s: not a martflow checkpoint manifest%s%s", key, m ? "" : ": ", m ? "" : jerr.text);
        goto fail;
    }
    if (json_integer_value(json_object_get(m, "version")) != MF_CKPT_VERSION) {
        *error = mf_xasprintf("%s: format version %" JSON_INTEGER_FORMAT ", this martflow reads version %d", key,
                              json_integer_value(json_object_get(m, "version")), MF_CKPT_VERSION);
        goto fail;
    }
    c->id = id;
    c->created_ms = (int64_t)json_integer_value(json_object_get(m, "created_ms"));
    c->nodes = mf_xcalloc(json_array_size(nodes) + 1, sizeof *c->nodes);
    size_t i;
    json_t *jn;
    json_array_foreach(nodes, i, jn)
    {
        c->n_nodes++;
        char *why = NULL;
        if (!parse_node(s, jn, &c->nodes[i], &why)) {
            *error = mf_xasprintf("%s: %s", dir, why);
            free(why);
            goto fail;
        }
    }
    json_decref(m);
    *out = c;
    return MF_OBJ_OK;
fail:
    json_decref(m);
    mf_ckpt_free(c);
    return MF_OBJ_FATAL;
}

static int by_id_desc(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* The complete ids, newest first (malloc'd). */
static uint64_t *complete_ids(struct listing *l, size_t *n)
{
    uint64_t *ids = mf_xcalloc(l->n + 1, sizeof *ids);
    *n = 0;
    for (size_t i = 0; i < l->n; i++)
        if (l->complete[i])
            ids[(*n)++] = l->ids[i];
    qsort(ids, *n, sizeof *ids, by_id_desc);
    return ids;
}

int mf_ckpt_load_latest(mf_ckpt_store *s, mf_ckpt **out, char **error)
{
    *out = NULL;
    struct listing l;
    int st = list_ids(s, &l, error);
    if (st != MF_OBJ_OK) {
        listing_free(&l);
        return st;
    }
    size_t n;
    uint64_t *ids = complete_ids(&l, &n);
    for (size_t i = 0; i < n && !*out; i++) {
        char *why = NULL;
        if (mf_ckpt_load(s, ids[i], out, &why) != MF_OBJ_OK) {
            mf_log_warn("checkpoint %" PRIu64 " in %s is not usable, trying the one before: %s", ids[i],
                        mf_objstore_url(s->obj), why ? why : "unreadable");
            free(why);
        }
    }
    free(ids);
    listing_free(&l);
    return MF_OBJ_OK;
}

/* ---- retention ----------------------------------------------------------------------- */

struct doomed {
    const char *prefix;
    uint64_t below; /* ids below this go */
    char **keys;
    size_t n;
};

static int collect_old(void *arg, const struct mf_objstore_info *info)
{
    struct doomed *d = arg;
    const char *k = info->key;
    size_t plen = strlen(d->prefix);
    if (strncmp(k, d->prefix, plen) != 0)
        return 0;
    char *end;
    uint64_t id = strtoull(k + plen, &end, 10);
    if (end == k + plen + 20 && *end == '/' && id < d->below) {
        d->keys = mf_xrealloc(d->keys, (d->n + 1) * sizeof *d->keys);
        d->keys[d->n++] = mf_xstrdup(k);
    }
    return 0;
}

int mf_ckpt_retain(mf_ckpt_store *s, int keep, char **error)
{
    struct listing l;
    int st = list_ids(s, &l, error);
    size_t n;
    uint64_t *ids = complete_ids(&l, &n);
    listing_free(&l);
    if (st != MF_OBJ_OK || keep < 1 || n <= (size_t)keep) {
        free(ids);
        return st;
    }
    struct doomed d = {.prefix = s->prefix, .below = ids[keep - 1]};
    free(ids);
    st = mf_objstore_list(s->obj, s->prefix, collect_old, &d, error);
    /* The manifests first: a checkpoint half deleted must not look complete. */
    for (int pass = 0; pass < 2 && st == MF_OBJ_OK; pass++)
        for (size_t i = 0; i < d.n && st == MF_OBJ_OK; i++) {
            const char *slash = strrchr(d.keys[i], '/');
            bool manifest = slash && !strcmp(slash + 1, MANIFEST);
            if (manifest == (pass == 0))
                st = mf_objstore_delete(s->obj, d.keys[i], error);
        }
    for (size_t i = 0; i < d.n; i++)
        free(d.keys[i]);
    free(d.keys);
    return st;
}
