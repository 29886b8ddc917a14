/* objstore_s3.c — the s3://BUCKET/PREFIX backend of martflow/objstore.h over
 * the S3 client (martflow/s3.h). Objects larger than one part go up as a
 * multipart upload, which is aborted when anything fails, so no partial
 * object is ever visible: S3 shows a key only after PutObject or
 * CompleteMultipartUpload succeeded. */
#include "objstore_impl.h"

#include <stdlib.h>
#include <string.h>

#include <martflow/s3.h>

#include "util.h"

struct s3_store {
    mf_s3 *s3;
    char *prefix; /* "PREFIX/" or "" */
    size_t part_size;
};

struct s3_writer {
    char *key;       /* full key */
    char *buf;       /* the part being filled, part_size bytes */
    size_t fill;
    char *upload_id; /* NULL until the first part goes up */
    char **etags;
    size_t nparts, cap;
    bool committed;
};

void *mf_objstore_s3_open(const char *bucket, const char *prefix, const struct mf_objstore_opts *opts,
                          const char *url, char **error)
{
    struct mf_objstore_opts none = {0};
    if (!opts)
        opts = &none;
    if (opts->part_size && opts->part_size < MF_OBJ_PART_MIN) {
        mf_obj_error(error, "%s: part size %zu is below S3's minimum of 5 MiB", url, opts->part_size);
        return NULL;
    }
    struct mf_s3_config cfg = {
        .endpoint = opts->endpoint,
        .region = opts->region,
        .bucket = bucket,
        .access_key = opts->access_key,
        .secret_key = opts->secret_key,
        .path_style = opts->path_style,
        .insecure = opts->insecure,
        .unsigned_payload = opts->unsigned_payload,
        .ca_file = opts->ca_file,
        .connect_timeout_ms = opts->connect_timeout_ms,
        .timeout_ms = opts->timeout_ms,
    };
    char *err = NULL;
    mf_s3 *s3 = mf_s3_new(&cfg, &err);
    if (!s3) {
        mf_obj_error(error, "%s: %s", url, err);
        free(err);
        return NULL;
    }
    struct s3_store *st = mf_xcalloc(1, sizeof(*st));
    st->s3 = s3;
    st->prefix = *prefix ? mf_xasprintf("%s/", prefix) : mf_xstrdup("");
    st->part_size = opts->part_size ? opts->part_size : MF_OBJ_PART_DEFAULT;
    return st;
}

static void s3_close(void *impl)
{
    struct s3_store *st = impl;
    mf_s3_free(st->s3);
    free(st->prefix);
    free(st);
}

static char *full_key(struct s3_store *st, const char *key)
{
    return mf_xasprintf("%s%s", st->prefix, key);
}

/* ---- multipart ------------------------------------------------------------- */

static int upload_part(struct s3_store *st, struct s3_writer *w, const void *data, size_t len, char **error)
{
    int rc;
    if (!w->upload_id) {
        rc = mf_s3_multipart_create(st->s3, w->key, &w->upload_id, error);
        if (rc != MF_OBJ_OK)
            return rc;
    }
    char *etag = NULL;
    rc = mf_s3_multipart_upload_part(st->s3, w->key, w->upload_id, (int)w->nparts + 1, data, len, &etag, error);
    if (rc != MF_OBJ_OK)
        return rc;
    if (w->nparts == w->cap) {
        w->cap = w->cap ? 2 * w->cap : 16;
        w->etags = mf_xrealloc(w->etags, w->cap * sizeof(*w->etags));
    }
    w->etags[w->nparts++] = etag;
    return MF_OBJ_OK;
}

static void writer_release(struct s3_store *st, struct s3_writer *w)
{
    if (w->upload_id && !w->committed) {
        /* best effort: what a failed abort leaves is invisible, and a bucket
         * lifecycle rule (AbortIncompleteMultipartUpload) collects it */
        char *err = NULL;
        (void)mf_s3_multipart_abort(st->s3, w->key, w->upload_id, &err);
        free(err);
    }
    for (size_t i = 0; i < w->nparts; i++)
        free(w->etags[i]);
    free(w->etags);
    free(w->upload_id);
    free(w->buf);
    free(w->key);
    free(w);
}

static int s3_writer_open(void *impl, const char *key, void **wimpl, char **error)
{
    struct s3_store *st = impl;
    struct s3_writer *w = mf_xcalloc(1, sizeof(*w));
    w->key = full_key(st, key);
    *wimpl = w;
    return MF_OBJ_OK;
}

static int s3_writer_write(void *impl, void *wimpl, const void *data, size_t len, char **error)
{
    struct s3_store *st = impl;
    struct s3_writer *w = wimpl;
    const char *p = data;
    if (!w->buf)
        w->buf = mf_xmalloc(st->part_size);
    while (len > 0) {
        if (w->fill == 0 && len >= st->part_size) {
            /* a whole part in the caller's buffer: no copy */
            int rc = upload_part(st, w, p, st->part_size, error);
            if (rc != MF_OBJ_OK)
                return rc;
            p += st->part_size;
            len -= st->part_size;
            continue;
        }
        size_t n = st->part_size - w->fill < len ? st->part_size - w->fill : len;
        memcpy(w->buf + w->fill, p, n);
        w->fill += n;
        p += n;
        len -= n;
        if (w->fill == st->part_size) {
            int rc = upload_part(st, w, w->buf, w->fill, error);
            if (rc != MF_OBJ_OK)
                return rc;
            w->fill = 0;
        }
    }
    return MF_OBJ_OK;
}

static int s3_writer_commit(void *impl, void *wimpl, char **error)
{
    struct s3_store *st = impl;
    struct s3_writer *w = wimpl;
    int rc;
    if (!w->upload_id) {
        rc = mf_s3_put_object(st->s3, w->key, w->buf, w->fill, error);
    } else {
        rc = w->fill ? upload_part(st, w, w->buf, w->fill, error) : MF_OBJ_OK;
        if (rc == MF_OBJ_OK)
            rc = mf_s3_multipart_complete(st->s3, w->key, w->upload_id, w->etags, w->nparts, error);
    }
    if (rc == MF_OBJ_OK) {
        w->committed = true;
        w->fill = 0;
    }
    return rc;
}

static void s3_writer_free(void *impl, void *wimpl)
{
    if (wimpl)
        writer_release(impl, wimpl);
}

static int s3_put(void *impl, const char *key, const void *data, size_t len, char **error)
{
    struct s3_store *st = impl;
    if (len <= st->part_size) {
        char *k = full_key(st, key);
        int rc = mf_s3_put_object(st->s3, k, data, len, error);
        free(k);
        return rc;
    }
    void *w = NULL;
    int rc = s3_writer_open(st, key, &w, error);
    if (rc == MF_OBJ_OK)
        rc = s3_writer_write(st, w, data, len, error);
    if (rc == MF_OBJ_OK)
        rc = s3_writer_commit(st, w, error);
    s3_writer_free(st, w);
    return rc;
}

/* ---- reading ------------------------------------------------------------------ */

static int s3_get_range(void *impl, const char *key, uint64_t offset, size_t length, void **data, size_t *len,
                        char **error)
{
    struct s3_store *st = impl;
    char *k = full_key(st, key);
    int rc = mf_s3_get_object(st->s3, k, offset, length, data, len, error);
    free(k);
    return rc;
}

static int s3_head(void *impl, const char *key, struct mf_objstore_info *info, char **error)
{
    struct s3_store *st = impl;
    char *k = full_key(st, key);
    struct mf_s3_object o;
    int rc = mf_s3_head_object(st->s3, k, &o, error);
    free(k);
    if (rc == MF_OBJ_OK) {
        info->size = o.size;
        info->mtime_ms = o.mtime_ms;
        info->etag = o.etag;
    }
    return rc;
}

static int s3_del(void *impl, const char *key, char **error)
{
    struct s3_store *st = impl;
    char *k = full_key(st, key);
    int rc = mf_s3_delete_object(st->s3, k, error);
    free(k);
    return rc == MF_OBJ_NOT_FOUND ? MF_OBJ_OK : rc;
}

struct list_ctx {
    size_t strip; /* the store prefix's length */
    mf_objstore_list_fn fn;
    void *arg;
    bool stopped;
};

static int list_one(void *arg, const struct mf_s3_object *o)
{
    struct list_ctx *lc = arg;
    if (strlen(o->key) <= lc->strip)
        return 0; /* the prefix itself as an object ("PREFIX/"): not a key of ours */
    struct mf_objstore_info info = {
        .key = o->key + lc->strip, .size = o->size, .mtime_ms = o->mtime_ms, .etag = o->etag};
    if (lc->fn(lc->arg, &info) != 0)
        lc->stopped = true;
    return lc->stopped;
}

static int s3_list(void *impl, const char *prefix, mf_objstore_list_fn fn, void *arg, char **error)
{
    struct s3_store *st = impl;
    char *full = full_key(st, prefix);
    struct list_ctx lc = {.strip = strlen(st->prefix), .fn = fn, .arg = arg};
    char *token = NULL;
    int rc;
    do {
        char *next = NULL;
        rc = mf_s3_list_page(st->s3, full, token, 0, list_one, &lc, &next, error);
        free(token);
        token = next;
    } while (rc == MF_OBJ_OK && token && !lc.stopped);
    free(token);
    free(full);
    return rc;
}

const struct mf_objstore_backend mf_objstore_s3_backend = {
    .scheme = "s3",
    .close = s3_close,
    .writer_open = s3_writer_open,
    .writer_write = s3_writer_write,
    .writer_commit = s3_writer_commit,
    .writer_free = s3_writer_free,
    .put = s3_put,
    .get_range = s3_get_range,
    .head = s3_head,
    .del = s3_del,
    .list = s3_list,
};
