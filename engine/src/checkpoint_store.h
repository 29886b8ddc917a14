/*
 * checkpoint_store.h — checkpoints in an object store (martflow/objstore.h):
 * writing checkpoint N (one object per node and worker, the manifest last),
 * finding the latest complete one, verifying and loading it, and deleting
 * the ones `checkpoint_retain` no longer keeps. The format is versioned and
 * documented in docs/checkpoints.md:
 *
 *   chk-<N, 20 digits>/<node>/<worker>     the bytes snapshot() returned
 *   chk-<N, 20 digits>/MANIFEST            JSON, written last
 *
 * A checkpoint without its MANIFEST does not exist. Every object's size and
 * SHA-256 are in the manifest, so a truncated or altered object is found
 * before anything is restored. Used from one thread (the runtime's main
 * thread), like the object store under it.
 *
 * Savepoints (settings.savepoints) are the same format in a store whose
 * directories are named sp-<N> instead: retention is never run on them.
 */
#ifndef MF_CHECKPOINT_STORE_H
#define MF_CHECKPOINT_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <martflow/objstore.h>

#define MF_CKPT_FORMAT "martflow-checkpoint"
#define MF_CKPT_VERSION 1

/* One node's state in a checkpoint: the snapshot of each of its workers. */
typedef struct mf_ckpt_node {
    char *name;        /* the node's name in the pipeline */
    char *plugin;      /* its plugin */
    int workers;       /* its parallelism when the checkpoint was taken */
    bool keyed;        /* the plugin's state is keyed (MF_PLUGIN_KEYED_STATE): rescalable */
    uint8_t **data;    /* per worker (loaded checkpoints; NULL while writing) */
    size_t *len;
} mf_ckpt_node;

/* A checkpoint read back: its id and every node's bytes, verified. */
typedef struct mf_ckpt {
    uint64_t id;
    int64_t created_ms;
    mf_ckpt_node *nodes;
    size_t n_nodes;
} mf_ckpt;

typedef struct mf_ckpt_store mf_ckpt_store;
typedef struct mf_ckpt_writer mf_ckpt_writer;

/* Open the store at url (opts for s3://, copied). NULL + *error (malloc'd). */
mf_ckpt_store *mf_ckpt_store_open(const char *url, const struct mf_objstore_opts *opts, const char *pipeline,
                                  char **error);
/* The same, with directories named dir_prefix<N> ("sp-" for savepoints;
 * mf_ckpt_store_open uses "chk-"). */
mf_ckpt_store *mf_ckpt_store_open_as(const char *url, const struct mf_objstore_opts *opts, const char *pipeline,
                                     const char *dir_prefix, char **error);
void mf_ckpt_store_close(mf_ckpt_store *s);
const char *mf_ckpt_store_url(const mf_ckpt_store *s);

/* Writing checkpoint id: begin, one put per node and worker, then finish
 * (writes the manifest). Any error: free the writer (objects already put
 * stay unreferenced until retention removes them). */
mf_ckpt_writer *mf_ckpt_writer_new(mf_ckpt_store *s, uint64_t id);
int mf_ckpt_writer_put(mf_ckpt_writer *w, const char *node, const char *plugin, bool keyed, int worker, int workers,
                       const void *data, size_t len, char **error);
/* Write the manifest; *bytes (may be NULL) gets the checkpoint's total size. */
int mf_ckpt_writer_finish(mf_ckpt_writer *w, uint64_t *bytes, char **error);
void mf_ckpt_writer_free(mf_ckpt_writer *w);

/* The highest checkpoint id with any object in the store (complete or not),
 * 0 if none: new checkpoints are numbered above it. MF_OBJ_* status. */
int mf_ckpt_highest_id(mf_ckpt_store *s, uint64_t *id, char **error);

/* Load the newest complete checkpoint whose objects all verify; a manifest
 * that cannot be read or parsed, or an object missing, short or with another
 * checksum, is logged as a warning and the next older one tried. *out is
 * NULL when none is usable (also on an error listing: then MF_OBJ_* != OK).
 * The caller frees *out with mf_ckpt_free. */
int mf_ckpt_load_latest(mf_ckpt_store *s, mf_ckpt **out, char **error);
/* Load checkpoint id exactly; MF_OBJ_NOT_FOUND without a manifest, MF_OBJ_FATAL
 * when it does not verify (*error says why). */
int mf_ckpt_load(mf_ckpt_store *s, uint64_t id, mf_ckpt **out, char **error);
void mf_ckpt_free(mf_ckpt *c);

/* Keep the newest `keep` complete checkpoints: delete every object of older
 * ones, complete or not (an incomplete one newer than the oldest kept stays:
 * it may be being written). MF_OBJ_* status. */
int mf_ckpt_retain(mf_ckpt_store *s, int keep, char **error);

/* "chk-<20 digits>" of id into buf (at least 32 bytes). */
void mf_ckpt_dir_name(uint64_t id, char *buf, size_t size);
/* The same with the store's own prefix ("sp-<20 digits>" for savepoints). */
void mf_ckpt_store_dir_name(const mf_ckpt_store *s, uint64_t id, char *buf, size_t size);

#endif
