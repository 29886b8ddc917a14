/*
 * objstore_impl.h — what the object-store front end (objstore.c) and its
 * backends (objstore_file.c, objstore_s3.c) share: the store and writer
 * structs and the backend table. Keys reach a backend already checked
 * (objstore.c) and relative to the store's location; each backend adds its
 * own prefix or directory.
 */
#ifndef MF_OBJSTORE_IMPL_H
#define MF_OBJSTORE_IMPL_H

#include <martflow/objstore.h>

#include <stdarg.h>

struct mf_objstore_backend {
    const char *scheme; /* "file", "s3" */
    void (*close)(void *impl);
    /* writers: wimpl is the backend's per-writer state */
    int (*writer_open)(void *impl, const char *key, void **wimpl, char **error);
    int (*writer_write)(void *impl, void *wimpl, const void *data, size_t len, char **error);
    int (*writer_commit)(void *impl, void *wimpl, char **error);
    void (*writer_free)(void *impl, void *wimpl); /* uncommitted: abort */
    /* a whole object in one piece (NULL: through a writer) */
    int (*put)(void *impl, const char *key, const void *data, size_t len, char **error);
    /* length SIZE_MAX: to the end. *data malloc'd with a NUL after *len bytes. */
    int (*get_range)(void *impl, const char *key, uint64_t offset, size_t length, void **data, size_t *len,
                     char **error);
    /* info->key is set by the caller; the backend fills the rest (etag
     * pointing into its own memory, valid until its next call) */
    int (*head)(void *impl, const char *key, struct mf_objstore_info *info, char **error);
    int (*del)(void *impl, const char *key, char **error);
    /* fn gets keys relative to the store, ascending */
    int (*list)(void *impl, const char *prefix, mf_objstore_list_fn fn, void *arg, char **error);
};

struct mf_objstore {
    const struct mf_objstore_backend *be;
    void *impl;
    char *url; /* for messages: the location, no secret */
    int writers; /* open writers: close with some still open is a caller bug */
};

struct mf_objstore_writer {
    mf_objstore *store;
    void *wimpl;
    uint64_t size;
    bool dead;      /* an error happened: only free is allowed */
    bool committed;
};

/* Set *error (if error is not NULL) to a malloc'd message. */
void mf_obj_error(char **error, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Backends: each returns its state, or NULL with *error. url is for messages. */
void *mf_objstore_file_open(const char *dir, const char *url, char **error);
extern const struct mf_objstore_backend mf_objstore_file_backend;
void *mf_objstore_s3_open(const char *bucket, const char *prefix, const struct mf_objstore_opts *opts,
                          const char *url, char **error);
extern const struct mf_objstore_backend mf_objstore_s3_backend;

/* The default multipart part size and the S3 minimum. */
#define MF_OBJ_PART_DEFAULT ((size_t)8 << 20)
#define MF_OBJ_PART_MIN ((size_t)5 << 20)

#endif
