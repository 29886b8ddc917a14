/* gca_snapstore.c — see gca_snapstore.h. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <martflow/martflow.h>

#include "cfgdb_set.h"
#include "gca_snapstore.h"

#define POINTER "LATEST"
#define DOC_PREFIX "cs-"

static void set_why(char **why, char *text)
{
    if (why) {
        free(*why);
        *why = text;
    } else {
        free(text);
    }
}

static void hex_sha256(const void *data, size_t len, char out[2 * MF_SHA256_LEN + 1])
{
    uint8_t d[MF_SHA256_LEN];
    mf_sha256(data, len, d);
    mf_hex_encode(d, sizeof d, out);
    out[2 * MF_SHA256_LEN] = '\0';
}

/* ---- save -------------------------------------------------------------------------- */

struct cleanup {
    const char *keep[2];
    char **doomed;
    size_t n;
};

static int collect_old(void *arg, const struct mf_objstore_info *info)
{
    struct cleanup *c = arg;
    for (int i = 0; i < 2; i++)
        if (c->keep[i] && strcmp(c->keep[i], info->key) == 0)
            return 0;
    c->doomed = mf_xrealloc(c->doomed, (c->n + 1) * sizeof *c->doomed);
    c->doomed[c->n++] = mf_xstrdup(info->key);
    return 0;
}

/* The key the pointer names now, or NULL (none, or unreadable: then nothing
 * is kept but the new document, which is still correct for the pointer). */
static char *pointed_key(mf_objstore *store, const char *pointer)
{
    void *data = NULL;
    size_t len = 0;
    char *err = NULL, *key = NULL;
    if (mf_objstore_get(store, pointer, &data, &len, &err) == MF_OBJ_OK) {
        json_t *j = json_loadb(data, len, 0, NULL);
        const char *k = json_string_value(json_object_get(j, "key"));
        key = k ? mf_xstrdup(k) : NULL;
        json_decref(j);
    }
    free(data);
    free(err);
    return key;
}

int gca_snapstore_save(mf_objstore *store, const gca_snapshot *snap, const void *doc, size_t len, char **why)
{
    const char *tenant = snap->tenant;
    int64_t change_set = snap->change_set;
    char *dir = mf_xasprintf("gca-snapshot-%s/", tenant);
    char *key = mf_xasprintf("%s" DOC_PREFIX "%020" PRId64 ".json", dir, change_set);
    char *pointer = mf_xasprintf("%s" POINTER, dir);
    char *prev = pointed_key(store, pointer), *err = NULL, *body = NULL;
    int rc = mf_objstore_put(store, key, doc, len, &err);
    if (rc != MF_OBJ_OK)
        goto done;
    char sha[2 * MF_SHA256_LEN + 1];
    hex_sha256(doc, len, sha);
    json_t *offsets = json_array();
    for (size_t i = 0; i < snap->n_offsets; i++)
        json_array_append_new(offsets, json_pack("{s:i, s:I}", "partition", (int)snap->offsets[i].partition, "offset",
                                                 (json_int_t)snap->offsets[i].offset));
    json_t *p = json_pack("{s:s, s:i, s:s, s:I, s:s, s:I, s:s, s:s, s:o}", "format", GCA_POINTER_FORMAT, "version",
                          GCA_POINTER_VERSION, "tenant", tenant, "change_set", (json_int_t)change_set, "key", key,
                          "size", (json_int_t)len, "sha256", sha, "topic", snap->topic ? snap->topic : "", "offsets",
                          offsets);
    body = cfgdb_json_text(p, JSON_COMPACT, NULL); /* malloc'd: not json_dumps (the engine's jansson allocator) */
    json_decref(p);
    rc = mf_objstore_put(store, pointer, body, strlen(body), &err);
    if (rc != MF_OBJ_OK)
        goto done;
    /* the new snapshot exists: documents before the previous one go */
    struct cleanup c = {.keep = {key, prev}};
    char *prefix = mf_xasprintf("%s" DOC_PREFIX, dir);
    char *lerr = NULL;
    if (mf_objstore_list(store, prefix, collect_old, &c, &lerr) == MF_OBJ_OK)
        for (size_t i = 0; i < c.n; i++) {
            char *derr = NULL;
            mf_objstore_delete(store, c.doomed[i], &derr);
            free(derr);
        }
    for (size_t i = 0; i < c.n; i++)
        free(c.doomed[i]);
    free(c.doomed);
    free(lerr);
    free(prefix);
done:
    if (rc != MF_OBJ_OK)
        set_why(why, err ? err : mf_xasprintf("%s: cannot write %s", mf_objstore_url(store), key));
    else
        free(err);
    free(body);
    free(prev);
    free(pointer);
    free(key);
    free(dir);
    return rc;
}

/* ---- load -------------------------------------------------------------------------- */

/* The pointer's document, checked against the size and digest it names. */
static int follow(mf_objstore *store, const char *pointer, const void *pdata, size_t plen, void **doc, size_t *len,
                  char **key_out, char **why)
{
    const char *where = mf_objstore_url(store);
    json_error_t jerr;
    json_t *p = json_loadb(pdata, plen, JSON_REJECT_DUPLICATES, &jerr);
    const char *format = json_string_value(json_object_get(p, "format"));
    json_t *ver = json_object_get(p, "version"), *size = json_object_get(p, "size");
    const char *key = json_string_value(json_object_get(p, "key"));
    const char *sha = json_string_value(json_object_get(p, "sha256"));
    int rc = MF_OBJ_FATAL;
    if (!p || !format || strcmp(format, GCA_POINTER_FORMAT) != 0) {
        set_why(why, mf_xasprintf("%s: %s is not a GCA snapshot pointer (format \"%s\")", where, pointer,
                                  GCA_POINTER_FORMAT));
        goto done;
    }
    if (!json_is_integer(ver) || json_integer_value(ver) < 1 || json_integer_value(ver) > GCA_POINTER_VERSION) {
        set_why(why, mf_xasprintf("%s: %s has pointer version %lld, this build reads 1..%d", where, pointer,
                                  json_is_integer(ver) ? (long long)json_integer_value(ver) : -1LL,
                                  GCA_POINTER_VERSION));
        goto done;
    }
    if (!key || !json_is_integer(size) || !sha) {
        set_why(why, mf_xasprintf("%s: %s needs key, size and sha256", where, pointer));
        goto done;
    }
    char *err = NULL;
    rc = mf_objstore_get(store, key, doc, len, &err);
    if (rc == MF_OBJ_NOT_FOUND) {
        free(err);
        set_why(why, mf_xasprintf("%s: %s names %s, which is missing", where, pointer, key));
        rc = MF_OBJ_FATAL;
        goto done;
    }
    if (rc != MF_OBJ_OK) {
        set_why(why, err);
        goto done;
    }
    char got[2 * MF_SHA256_LEN + 1];
    hex_sha256(*doc, *len, got);
    if ((json_int_t)*len != json_integer_value(size) || strcmp(got, sha) != 0) {
        set_why(why, mf_xasprintf("%s: %s is not the document %s names (size %zu, expected %lld, or another "
                                  "SHA-256)", where, key, pointer, *len, (long long)json_integer_value(size)));
        free(*doc);
        *doc = NULL;
        *len = 0;
        rc = MF_OBJ_FATAL;
        goto done;
    }
    if (key_out)
        *key_out = mf_xstrdup(key);
done:
    json_decref(p);
    return rc;
}

int gca_snapstore_load(mf_objstore *store, const char *tenant, void **doc, size_t *len, char **key, char **why)
{
    *doc = NULL;
    *len = 0;
    if (key)
        *key = NULL;
    char *pointer = mf_xasprintf("gca-snapshot-%s/" POINTER, tenant), *err = NULL;
    void *pdata = NULL;
    size_t plen = 0;
    int rc = mf_objstore_get(store, pointer, &pdata, &plen, &err);
    if (rc == MF_OBJ_OK) {
        rc = follow(store, pointer, pdata, plen, doc, len, key, why);
    } else if (rc == MF_OBJ_NOT_FOUND) {
        /* earlier builds kept one object, replaced in place */
        char *legacy = mf_xasprintf("gca-snapshot-%s.json", tenant);
        free(err);
        err = NULL;
        rc = mf_objstore_get(store, legacy, doc, len, &err);
        if (rc == MF_OBJ_OK && key)
            *key = mf_xstrdup(legacy);
        free(legacy);
    }
    if (rc != MF_OBJ_OK && rc != MF_OBJ_NOT_FOUND && err)
        set_why(why, err);
    else
        free(err);
    free(pdata);
    free(pointer);
    return rc;
}
