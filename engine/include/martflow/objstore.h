/*
 * martflow/objstore.h — one small object-store interface over S3 and a local
 * directory, for everything that keeps whole objects: checkpoints, the GCA
 * snapshot, exports, the s3 sink. A location is named the same way everywhere:
 *
 *   s3://BUCKET[/PREFIX]   objects BUCKET/PREFIX/KEY of an S3-compatible server
 *                          (the S3 client of martflow/s3.h; opts say where and how)
 *   file:///DIR            files DIR/KEY (DIR is created if missing; opts unused)
 *
 * API (stable: users outside the engine build on it)
 *
 *   mf_objstore *mf_objstore_open(url, opts, &error)   NULL + error on a bad URL/options
 *   void         mf_objstore_close(store)
 *   const char  *mf_objstore_url(store)                the location, for logs (no secret)
 *   int mf_objstore_put(store, key, data, len, &error)
 *   int mf_objstore_writer_open(store, key, &writer, &error)    streaming put
 *   int mf_objstore_writer_write(writer, data, len, &error)
 *   int mf_objstore_writer_commit(writer, &error)      the object appears, whole
 *   void mf_objstore_writer_free(writer)               uncommitted: nothing appears
 *   int mf_objstore_get(store, key, &data, &len, &error)
 *   int mf_objstore_get_range(store, key, offset, length, &data, &len, &error)
 *   int mf_objstore_head(store, key, &info, &error)    MF_OBJ_NOT_FOUND when absent
 *   int mf_objstore_delete(store, key, &error)         MF_OBJ_OK also when absent
 *   int mf_objstore_list(store, prefix, fn, arg, &error)
 *
 * Every int is an mf_obj_status. Keys are relative to the URL's prefix or
 * directory, UTF-8, 1..1024 bytes, '/'-separated segments; no empty, "." or
 * ".." segment, no leading or trailing '/', no NUL, and the first segment is
 * not ".mf-tmp" (the file backend's staging directory). Both backends refuse
 * the same keys (MF_OBJ_FATAL), so code tested over file:// behaves the same
 * over s3://. In file:// a key cannot also be a "directory" of another key
 * ("a" and "a/b"): S3 allows it, a file system does not (MF_OBJ_FATAL).
 *
 * Atomic visibility: an object appears whole or not at all. S3 gives that
 * for PutObject and CompleteMultipartUpload; file:// writes DIR/.mf-tmp/...,
 * fsyncs, renames it over DIR/KEY and fsyncs the directory. A put to an
 * existing key replaces it (a retried put overwrites the same object).
 *
 * Errors: *error (when error is not NULL) receives a malloc'd message the
 * caller frees with free(); it names the location (bucket and endpoint, or
 * the directory) and the key, never a credential. On MF_OBJ_OK *error is
 * left untouched. Retries are the caller's: MF_OBJ_RETRY means the same call
 * may succeed later (back off, e.g. with the engine's MF_RETRY).
 *
 * Threads: a store and its writers are used by one thread at a time (one
 * store per thread); different stores are independent.
 */
#ifndef MARTFLOW_OBJSTORE_H
#define MARTFLOW_OBJSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum mf_obj_status {
    MF_OBJ_OK = 0,
    /* get, get_range, head: no such object (or bucket) */
    MF_OBJ_NOT_FOUND = 1,
    /* transient: HTTP 5xx or 429, a timeout, a refused or broken connection,
     * a full disk (ENOSPC, EIO, ...): the same call may succeed later */
    MF_OBJ_RETRY = 2,
    /* retrying cannot help: credentials or signature refused (403), a bad
     * request or key, permission denied, a malformed answer */
    MF_OBJ_FATAL = 3
} mf_obj_status;

/* Options of mf_objstore_open. Zero-initialise (`= {0}`) and set what you
 * need: every zero field is its default. Only s3:// uses them; file:// takes
 * NULL. Strings are copied by open. */
struct mf_objstore_opts {
    const char *endpoint;   /* "http://127.0.0.1:7070", "https://s3.eu-west-1.amazonaws.com";
                             * NULL/"": https://s3.<region>.amazonaws.com */
    const char *region;     /* NULL/"": us-east-1 */
    const char *access_key; /* required for s3:// */
    const char *secret_key; /* required for s3://; never printed */
    bool path_style;        /* ENDPOINT/BUCKET/KEY instead of BUCKET.ENDPOINT/KEY */
    bool insecure;          /* https: do not verify the server's certificate */
    bool unsigned_payload;  /* sign UNSIGNED-PAYLOAD instead of each body's SHA-256 */
    const char *ca_file;    /* https: PEM bundle to verify the server with; NULL: the system's */
    long connect_timeout_ms;/* 0: 10 s */
    long timeout_ms;        /* a whole request; 0: 300 s */
    size_t part_size;       /* multipart part size: put and writers of bigger objects
                             * upload in parts of this size; 0: 8 MiB; at least 5 MiB */
    void *reserved[4];      /* NULL */
};

/* What head and list report. Strings are owned by the store: valid until the
 * next call on it (list: during the callback). */
struct mf_objstore_info {
    const char *key;  /* relative to the store's prefix (head: the key asked for) */
    uint64_t size;    /* bytes */
    int64_t mtime_ms; /* last modified, epoch ms */
    const char *etag; /* S3 ETag without quotes; NULL for file:// */
    void *reserved[2];
};

typedef struct mf_objstore mf_objstore;
typedef struct mf_objstore_writer mf_objstore_writer;

/* Open the location url with opts (may be NULL for file://). Checks the URL
 * and options only: the first request is the first contact with a server
 * (file:// creates DIR). Returns a store the caller closes with
 * mf_objstore_close, or NULL with *error. */
mf_objstore *mf_objstore_open(const char *url, const struct mf_objstore_opts *opts, char **error);

/* Open url with the S3 options of a pipeline's `settings:` (settings is
 * host->settings(node); NULL: none): s3_endpoint, s3_region, s3_access_key,
 * s3_secret_key, s3_secret_file (the {"accessKey", "secretKey"} JSON of
 * mf_secret_read_s3_keys; its values win) and s3_path_style, the settings
 * the checkpoint store uses (docs/checkpoints.md). So a plugin that keeps
 * objects (the GCA snapshot) takes its credentials where the pipeline's
 * checkpoints take theirs, with the same S3_* deployment variables. base
 * gives the other options (timeouts, part size; NULL: defaults); its
 * endpoint, region, keys and path_style are replaced by the settings'.
 * The secrets read are wiped once the store has copied them. As
 * mf_objstore_open otherwise; a secret file that cannot be read is an error. */
mf_objstore *mf_objstore_open_settings(const char *url, const json_t *settings, const struct mf_objstore_opts *base,
                                       char **error);

/* Release the store (NULL is fine). Writers of it must be freed before. */
void mf_objstore_close(mf_objstore *store);

/* The location as given (normalised: no trailing '/'), plus " at ENDPOINT"
 * for s3://. Owned by the store. */
const char *mf_objstore_url(const mf_objstore *store);

/* Store len bytes at data (data may be NULL when len is 0) as key, replacing
 * any object there. Objects over part_size go up as a multipart upload;
 * a failed one is aborted, nothing appears. */
int mf_objstore_put(mf_objstore *store, const char *key, const void *data, size_t len, char **error);

/* Streaming put: open a writer, write the object in pieces of any size,
 * commit. Nothing is visible under key before commit returns MF_OBJ_OK. On
 * any error the writer is dead: free it (that aborts a multipart upload or
 * removes the staging file) and start again. On success *out is the caller's,
 * released with mf_objstore_writer_free (also after commit). */
int mf_objstore_writer_open(mf_objstore *store, const char *key, mf_objstore_writer **out, char **error);
int mf_objstore_writer_write(mf_objstore_writer *w, const void *data, size_t len, char **error);
int mf_objstore_writer_commit(mf_objstore_writer *w, char **error);
/* Bytes written so far. */
uint64_t mf_objstore_writer_size(const mf_objstore_writer *w);
void mf_objstore_writer_free(mf_objstore_writer *w);

/* The whole object: *data is malloc'd (the caller frees it), *len bytes plus
 * a NUL not counted in *len, so text can be used as a string. On any status
 * but MF_OBJ_OK, *data is NULL and *len 0. */
int mf_objstore_get(mf_objstore *store, const char *key, void **data, size_t *len, char **error);

/* At most length bytes from offset (fewer at the end of the object; none
 * when offset is at or past the end: MF_OBJ_OK with *len 0). As get. */
int mf_objstore_get_range(mf_objstore *store, const char *key, uint64_t offset, size_t length, void **data,
                          size_t *len, char **error);

/* Size, time and ETag of key into *info (may be NULL: an existence check). */
int mf_objstore_head(mf_objstore *store, const char *key, struct mf_objstore_info *info, char **error);

/* Remove key. Removing an absent object is MF_OBJ_OK (as in S3). */
int mf_objstore_delete(mf_objstore *store, const char *key, char **error);

/* Called for each object of a listing, in ascending byte order of keys (as
 * S3 lists). Return 0 to go on, anything else to stop: list then returns
 * MF_OBJ_OK. */
typedef int (*mf_objstore_list_fn)(void *arg, const struct mf_objstore_info *info);

/* Every object whose key starts with prefix (NULL or "": all; a plain string
 * prefix, not a directory: "a/b" matches "a/b1" and "a/b/c"). S3 pages
 * (1,000 keys each) are followed to the end. An error after some objects
 * were reported returns that error: the listing is incomplete. */
int mf_objstore_list(mf_objstore *store, const char *prefix, mf_objstore_list_fn fn, void *arg, char **error);

#ifdef __cplusplus
}
#endif
#endif
