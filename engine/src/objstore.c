/* objstore.c — the object-store front end (martflow/objstore.h): URL parsing,
 * the key rules both backends share, and the writer bookkeeping. The work is
 * the backends' (objstore_file.c, objstore_s3.c). */
#include "objstore_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define KEY_MAX 1024

void mf_obj_error(char **error, const char *fmt, ...)
{
    if (!error)
        return;
    va_list ap;
    va_start(ap, fmt);
    char *msg = mf_xvasprintf(fmt, ap);
    va_end(ap);
    free(*error);
    *error = msg;
}

/* The key rules of the header: one set for every backend. len is the key's
 * length; what says what the text is, for the message. */
static bool segments_ok(const char *key, size_t len, bool check_tmp, const char **why)
{
    if (len == 0) {
        *why = "is empty";
        return false;
    }
    if (len > KEY_MAX) {
        *why = "is longer than 1024 bytes";
        return false;
    }
    if (memchr(key, '\0', len)) {
        *why = "holds a NUL byte";
        return false;
    }
    const char *p = key, *end = key + len;
    bool first = true;
    while (p <= end) {
        const char *slash = memchr(p, '/', (size_t)(end - p));
        const char *seg_end = slash ? slash : end;
        size_t n = (size_t)(seg_end - p);
        if (n == 0) {
            *why = "has an empty segment (a leading, trailing or double '/')";
            return false;
        }
        if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.')) {
            *why = "has a '.' or '..' segment";
            return false;
        }
        if (check_tmp && first && n == 7 && memcmp(p, ".mf-tmp", 7) == 0) {
            *why = "starts with the reserved segment .mf-tmp";
            return false;
        }
        first = false;
        if (!slash)
            break;
        p = slash + 1;
    }
    return true;
}

static bool key_ok(mf_objstore *store, const char *key, char **error)
{
    const char *why = NULL;
    if (!key) {
        mf_obj_error(error, "%s: no key given", store->url);
        return false;
    }
    if (!segments_ok(key, strlen(key), true, &why)) {
        mf_obj_error(error, "%s: key \"%s\" %s", store->url, key, why);
        return false;
    }
    return true;
}

static bool bucket_ok(const char *b, size_t n)
{
    /* S3's rules, short form: 3-63 of [a-z0-9.-], starting and ending alnum */
    if (n < 3 || n > 63)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = b[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (!alnum && c != '.' && c != '-')
            return false;
        if (!alnum && (i == 0 || i == n - 1))
            return false;
    }
    return true;
}

static mf_objstore *open_file(const char *url, const char *path, char **error)
{
    if (path[0] != '/') {
        mf_obj_error(error, "%s: a file URL names an absolute directory: file:///DIR", url);
        return NULL;
    }
    /* normalise: no trailing '/', except for the root itself */
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/')
        n--;
    char *dir = mf_xstrndup(path, n);
    char *norm = mf_xasprintf("file://%s", dir);
    void *impl = mf_objstore_file_open(dir, norm, error);
    free(dir);
    if (!impl) {
        free(norm);
        return NULL;
    }
    mf_objstore *s = mf_xcalloc(1, sizeof(*s));
    s->be = &mf_objstore_file_backend;
    s->impl = impl;
    s->url = norm;
    return s;
}

static mf_objstore *open_s3(const char *url, const char *rest, const struct mf_objstore_opts *opts, char **error)
{
    const char *slash = strchr(rest, '/');
    size_t bn = slash ? (size_t)(slash - rest) : strlen(rest);
    if (!bucket_ok(rest, bn)) {
        mf_obj_error(error, "%s: the bucket name must be 3-63 characters of a-z, 0-9, '.' and '-' "
                            "(s3://BUCKET/PREFIX)", url);
        return NULL;
    }
    char *bucket = mf_xstrndup(rest, bn);
    const char *pre = slash ? slash + 1 : "";
    size_t pn = strlen(pre);
    while (pn > 0 && pre[pn - 1] == '/')
        pn--;
    const char *why = NULL;
    if (pn > 0 && !segments_ok(pre, pn, false, &why)) {
        mf_obj_error(error, "%s: the prefix %s", url, why);
        free(bucket);
        return NULL;
    }
    char *prefix = mf_xstrndup(pre, pn);
    const char *endpoint = opts && opts->endpoint && *opts->endpoint ? opts->endpoint : NULL;
    char *norm = pn ? mf_xasprintf("s3://%s/%s", bucket, prefix) : mf_xasprintf("s3://%s", bucket);
    char *described;
    if (endpoint)
        described = mf_xasprintf("%s at %s", norm, endpoint);
    else
        described = mf_xasprintf("%s at https://s3.%s.amazonaws.com", norm,
                                 opts && opts->region && *opts->region ? opts->region : "us-east-1");
    free(norm);
    void *impl = mf_objstore_s3_open(bucket, prefix, opts, described, error);
    free(bucket);
    free(prefix);
    if (!impl) {
        free(described);
        return NULL;
    }
    mf_objstore *s = mf_xcalloc(1, sizeof(*s));
    s->be = &mf_objstore_s3_backend;
    s->impl = impl;
    s->url = described;
    return s;
}

mf_objstore *mf_objstore_open(const char *url, const struct mf_objstore_opts *opts, char **error)
{
    if (!url || !*url) {
        mf_obj_error(error, "no object store location given (s3://BUCKET/PREFIX or file:///DIR)");
        return NULL;
    }
    if (strncmp(url, "file://", 7) == 0)
        return open_file(url, url + 7, error);
    if (strncmp(url, "s3://", 5) == 0)
        return open_s3(url, url + 5, opts, error);
    mf_obj_error(error, "%s: not an object store location (s3://BUCKET/PREFIX or file:///DIR)", url);
    return NULL;
}

void mf_objstore_close(mf_objstore *store)
{
    if (!store)
        return;
    if (store->writers) {
        fprintf(stderr, "martflow: mf_objstore_close(%s) with %d writer(s) still open\n", store->url,
                store->writers);
        abort();
    }
    store->be->close(store->impl);
    free(store->url);
    free(store);
}

const char *mf_objstore_url(const mf_objstore *store)
{
    return store->url;
}

int mf_objstore_writer_open(mf_objstore *store, const char *key, mf_objstore_writer **out, char **error)
{
    *out = NULL;
    if (!key_ok(store, key, error))
        return MF_OBJ_FATAL;
    void *wimpl = NULL;
    int rc = store->be->writer_open(store->impl, key, &wimpl, error);
    if (rc != MF_OBJ_OK)
        return rc;
    mf_objstore_writer *w = mf_xcalloc(1, sizeof(*w));
    w->store = store;
    w->wimpl = wimpl;
    store->writers++;
    *out = w;
    return MF_OBJ_OK;
}

static bool writer_usable(mf_objstore_writer *w, char **error)
{
    if (w->dead || w->committed) {
        mf_obj_error(error, "%s: writer used after %s", w->store->url, w->dead ? "an error" : "commit");
        return false;
    }
    return true;
}

int mf_objstore_writer_write(mf_objstore_writer *w, const void *data, size_t len, char **error)
{
    if (!writer_usable(w, error))
        return MF_OBJ_FATAL;
    if (len == 0)
        return MF_OBJ_OK;
    int rc = w->store->be->writer_write(w->store->impl, w->wimpl, data, len, error);
    if (rc != MF_OBJ_OK)
        w->dead = true;
    else
        w->size += len;
    return rc;
}

int mf_objstore_writer_commit(mf_objstore_writer *w, char **error)
{
    if (!writer_usable(w, error))
        return MF_OBJ_FATAL;
    int rc = w->store->be->writer_commit(w->store->impl, w->wimpl, error);
    if (rc != MF_OBJ_OK)
        w->dead = true;
    else
        w->committed = true;
    return rc;
}

uint64_t mf_objstore_writer_size(const mf_objstore_writer *w)
{
    return w->size;
}

void mf_objstore_writer_free(mf_objstore_writer *w)
{
    if (!w)
        return;
    w->store->be->writer_free(w->store->impl, w->wimpl);
    w->store->writers--;
    free(w);
}

int mf_objstore_put(mf_objstore *store, const char *key, const void *data, size_t len, char **error)
{
    if (!key_ok(store, key, error))
        return MF_OBJ_FATAL;
    if (store->be->put)
        return store->be->put(store->impl, key, data, len, error);
    mf_objstore_writer *w = NULL;
    int rc = mf_objstore_writer_open(store, key, &w, error);
    if (rc == MF_OBJ_OK)
        rc = mf_objstore_writer_write(w, data, len, error);
    if (rc == MF_OBJ_OK)
        rc = mf_objstore_writer_commit(w, error);
    mf_objstore_writer_free(w);
    return rc;
}

int mf_objstore_get_range(mf_objstore *store, const char *key, uint64_t offset, size_t length, void **data,
                          size_t *len, char **error)
{
    *data = NULL;
    *len = 0;
    if (!key_ok(store, key, error))
        return MF_OBJ_FATAL;
    if (length == 0) {
        /* nothing asked: only whether the object is there */
        int rc = store->be->head(store->impl, key, &(struct mf_objstore_info){.key = key}, error);
        if (rc == MF_OBJ_OK)
            *data = mf_xcalloc(1, 1);
        return rc;
    }
    int rc = store->be->get_range(store->impl, key, offset, length, data, len, error);
    if (rc != MF_OBJ_OK) {
        free(*data);
        *data = NULL;
        *len = 0;
    }
    return rc;
}

int mf_objstore_get(mf_objstore *store, const char *key, void **data, size_t *len, char **error)
{
    return mf_objstore_get_range(store, key, 0, SIZE_MAX, data, len, error);
}

int mf_objstore_head(mf_objstore *store, const char *key, struct mf_objstore_info *info, char **error)
{
    if (!key_ok(store, key, error))
        return MF_OBJ_FATAL;
    struct mf_objstore_info tmp = {0};
    if (!info)
        info = &tmp;
    memset(info, 0, sizeof(*info));
    info->key = key;
    return store->be->head(store->impl, key, info, error);
}

int mf_objstore_delete(mf_objstore *store, const char *key, char **error)
{
    if (!key_ok(store, key, error))
        return MF_OBJ_FATAL;
    return store->be->del(store->impl, key, error);
}

int mf_objstore_list(mf_objstore *store, const char *prefix, mf_objstore_list_fn fn, void *arg, char **error)
{
    if (prefix && (strlen(prefix) > KEY_MAX || strncmp(prefix, ".mf-tmp/", 8) == 0)) {
        mf_obj_error(error, "%s: listing prefix \"%s\" is not a possible key prefix", store->url, prefix);
        return MF_OBJ_FATAL;
    }
    return store->be->list(store->impl, prefix ? prefix : "", fn, arg, error);
}
