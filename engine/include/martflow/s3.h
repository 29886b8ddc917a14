/*
 * martflow/s3.h — the project's one S3 client: requests to one bucket of an
 * S3-compatible server, signed with AWS Signature Version 4 by libcurl
 * (CURLOPT_AWS_SIGV4 "aws:amz:REGION:s3"). The s3 sink and the s3:// object
 * store (martflow/objstore.h, what most code should use) build on it.
 *
 * What this client does itself, because Debian's libcurl 7.88.1 does not (it
 * is also right for newer curl): every request carries x-amz-content-sha256
 * (the body's SHA-256, or UNSIGNED-PAYLOAD when configured); query strings
 * are written already canonical (sorted, RFC 3986, "uploads="); object keys
 * are percent-encoded, '/' kept; X-Amz-Date is left to curl.
 *
 * Statuses are those of martflow/objstore.h (mf_obj_status): MF_OBJ_OK;
 * MF_OBJ_NOT_FOUND (HTTP 404 of GET, HEAD, DELETE); MF_OBJ_RETRY (5xx, 429,
 * S3's RequestTimeout, timeouts, refused or broken connections: back off
 * and call again); MF_OBJ_FATAL (403 and signature errors, other 4xx, TLS
 * verification, malformed answers). *error (when error is not NULL) gets a
 * malloc'd message, freed by the caller with free(): the operation, bucket,
 * key, endpoint, the HTTP status and S3's error code and message. Never a
 * credential.
 *
 * A client holds one libcurl handle, reused (keep-alive) across requests:
 * use it from one thread at a time. Nothing here retries.
 */
#ifndef MARTFLOW_S3_H
#define MARTFLOW_S3_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <martflow/objstore.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Zero-initialise and set; zero fields are defaults. Strings are copied. */
struct mf_s3_config {
    const char *endpoint;   /* http(s)://host[:port]; NULL/"": https://s3.<region>.amazonaws.com */
    const char *region;     /* NULL/"": us-east-1 */
    const char *bucket;     /* required */
    const char *access_key; /* required */
    const char *secret_key; /* required */
    bool path_style;        /* ENDPOINT/BUCKET/KEY (needed for IP endpoints) instead of BUCKET.HOST/KEY */
    bool insecure;          /* https: do not verify the certificate */
    bool unsigned_payload;  /* x-amz-content-sha256: UNSIGNED-PAYLOAD instead of the body's hash */
    const char *ca_file;    /* https: PEM bundle; NULL: the system's */
    long connect_timeout_ms;/* 0: 10 s */
    long timeout_ms;        /* whole request; 0: 300 s */
    void *reserved[4];
};

typedef struct mf_s3 mf_s3;

/* An object as HEAD and ListObjectsV2 report it. Strings owned by the
 * client, valid until its next request (list: during the callback). */
struct mf_s3_object {
    const char *key;  /* the full key */
    uint64_t size;
    int64_t mtime_ms; /* epoch ms */
    const char *etag; /* without the quotes */
};

/* A client for cfg->bucket, or NULL with *error (a missing field, a bad
 * endpoint). No request is made. Release with mf_s3_free. */
mf_s3 *mf_s3_new(const struct mf_s3_config *cfg, char **error);
void mf_s3_free(mf_s3 *s3);

/* "bucket BUCKET at ENDPOINT", for messages; owned by the client. */
const char *mf_s3_describe(const mf_s3 *s3);

/* PutObject: len bytes at data (NULL when len is 0), in one request. */
int mf_s3_put_object(mf_s3 *s3, const char *key, const void *data, size_t len, char **error);

/* GetObject of length bytes from offset (SIZE_MAX: to the end; a Range
 * header unless it is the whole object). *data is malloc'd with a NUL after
 * *len bytes (the caller frees it). HTTP 416 (offset at or past the end) is
 * MF_OBJ_OK with *len 0. */
int mf_s3_get_object(mf_s3 *s3, const char *key, uint64_t offset, size_t length, void **data, size_t *len,
                     char **error);

/* HeadObject into *out (may be NULL). */
int mf_s3_head_object(mf_s3 *s3, const char *key, struct mf_s3_object *out, char **error);

/* DeleteObject (S3 answers 204 also for an absent key). */
int mf_s3_delete_object(mf_s3 *s3, const char *key, char **error);

/* One page of ListObjectsV2 (keys starting with prefix, max_keys of them,
 * 0: the server's default of 1,000), after start_token (NULL: from the
 * start). fn is called per object; returning non-zero stops (the rest of
 * the page is skipped). *next_token is set to a malloc'd continuation token
 * when there are more pages, else NULL. */
typedef int (*mf_s3_list_fn)(void *arg, const struct mf_s3_object *obj);
int mf_s3_list_page(mf_s3 *s3, const char *prefix, const char *start_token, int max_keys, mf_s3_list_fn fn,
                    void *arg, char **next_token, char **error);

/* Multipart upload. create sets *upload_id (malloc'd). Parts are numbered
 * 1..10000; every part but the last must be at least 5 MiB (S3's rule).
 * upload_part sets *etag (malloc'd, as the server sent it, quotes
 * included), which complete takes back in part order: n etags for parts
 * 1..n. complete is the one request after which the object exists; a 200
 * carrying an <Error> body is reported as that error. abort frees the
 * server's parts. */
int mf_s3_multipart_create(mf_s3 *s3, const char *key, char **upload_id, char **error);
int mf_s3_multipart_upload_part(mf_s3 *s3, const char *key, const char *upload_id, int part_number,
                                const void *data, size_t len, char **etag, char **error);
int mf_s3_multipart_complete(mf_s3 *s3, const char *key, const char *upload_id, char *const *etags, size_t n,
                             char **error);
int mf_s3_multipart_abort(mf_s3 *s3, const char *key, const char *upload_id, char **error);

#ifdef __cplusplus
}
#endif
#endif
