/*
 * martflow/secrets.h — reading secrets from files (Kubernetes secrets mounted
 * as files): a plain-text file (a password, a token) or a JSON object such as
 * the `kafkasecrets` secret {"bootstrap", "username", "password"}. Shared by
 * the Kafka plugins and, later, the PostgreSQL and S3 clients.
 *
 * Every reader takes a regular file only (a symlink to one is fine: that is
 * how Kubernetes mounts secrets; a FIFO, device or directory is refused
 * without blocking), of at most MF_SECRET_MAX_BYTES. Error messages name the
 * file and what is wrong, never any of its content (a JSON syntax error
 * gives only the line and column). What was read is wiped from memory when
 * freed. Every secret value read is registered with the engine's redaction
 * of logged text (once that registry exists: see secrets.c).
 */
#ifndef MARTFLOW_SECRETS_H
#define MARTFLOW_SECRETS_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MF_SECRET_MAX_BYTES 65536

/*
 * The whole file as text, with leading and trailing whitespace (spaces, tabs,
 * CR, LF) removed: the newline an editor or `kubectl create secret
 * --from-file` leaves is not part of the secret. A file holding a NUL byte is
 * refused. Returns a malloc'd string that the caller releases with
 * mf_secret_text_free, or NULL with a message in error (error_cap bytes).
 */
char *mf_secret_read_text(const char *path, char *error, size_t error_cap);

/* Wipe and free a string from mf_secret_read_text (NULL is fine). */
void mf_secret_text_free(char *text);

/* One member wanted from a JSON secret. */
typedef struct mf_secret_field {
    const char *name; /* the member's name */
    bool secret;      /* its value is a secret (a password, not a host name): registered for redaction */
    char *value;      /* out: a malloc'd copy, or NULL when the member is absent or null */
} mf_secret_field;

/*
 * Read a JSON object from the file and fill fields[0..n-1].value from its
 * string members; other members are ignored. A wanted member that is neither
 * a string nor null, a file that is not one JSON object, or any read error
 * fails: false with a message in error, every value left NULL. Release the
 * values with mf_secret_fields_free.
 */
bool mf_secret_read_json(const char *path, mf_secret_field *fields, size_t n, char *error, size_t error_cap);

/* Wipe and free the values (set back to NULL). */
void mf_secret_fields_free(mf_secret_field *fields, size_t n);

/*
 * The S3 credentials secret, a JSON object with the members "accessKey" and
 * "secretKey" (the guide's names; a Kubernetes secret mounted as a file),
 * both required strings. The one reader of that file for the s3 sink's
 * `secret_file` and the pipeline setting `s3_secret_file` (the checkpoint
 * store, the GCA snapshot). On success *access_key and *secret_key are
 * malloc'd, released with mf_secret_text_free; false with a message naming
 * the file and the member missing (never a value), both left NULL.
 */
bool mf_secret_read_s3_keys(const char *path, char **access_key, char **secret_key, char *error,
                            size_t error_cap);

#ifdef __cplusplus
}
#endif
#endif
