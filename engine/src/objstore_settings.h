/*
 * objstore_settings.h — the S3 secret file of a pipeline's settings
 * (settings.s3_secret_file, {"accessKey", "secretKey"}), read in one place
 * for every store the engine opens: the checkpoint and savepoint stores
 * (checkpoint_run.c) and the plugins' stores (mf_objstore_open_settings).
 */
#ifndef MF_OBJSTORE_SETTINGS_H
#define MF_OBJSTORE_SETTINGS_H

#include <stdbool.h>

#include <martflow/objstore.h>

/* The keys read from the secret file, owned (wiped when freed). */
typedef struct mf_objstore_keys {
    char *access, *secret;
} mf_objstore_keys;

/* For an s3:// url and a secret file given: read its keys into *keys and
 * point o's access_key / secret_key at them (they must outlive every open
 * that uses o). Otherwise nothing changes. False with *error (replaced)
 * "settings.s3_secret_file: ..." when the file cannot be read. */
bool mf_objstore_secret_keys(const char *url, const char *secret_file, struct mf_objstore_opts *o,
                             mf_objstore_keys *keys, char **error);
void mf_objstore_keys_free(mf_objstore_keys *keys);

#endif
