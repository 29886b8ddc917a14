/*
 * positions.h — where the file source stopped reading, kept across restarts,
 * and how it recognises a file again.
 *
 * A file's identity is its device, its inode and a fingerprint: a hash
 * (64-bit FNV-1a) of its first bytes, up to POS_FP_MAX. The fingerprint tells
 * a file rewritten in place (same inode, truncated and written again) or a
 * recycled inode from the file that was read before. It grows with a short
 * file: pos_verify checks the bytes it covers and then extends it.
 *
 * The state file (JSON, see docs/pipeline-reference.md) lists one entry per
 * file: path, identity and the acknowledged offset and line. pos_save writes
 * it atomically: a temporary file, fsync, rename, fsync of the directory, so
 * a crash leaves the previous or the new version, never a torn one.
 *
 * Ownership: a pos_table owns its entries and their paths (pos_table_free).
 */
#ifndef MF_FILE_POSITIONS_H
#define MF_FILE_POSITIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define POS_FP_MAX 256u

typedef struct pos_identity {
    uint64_t dev, ino;
    uint32_t fp_len;  /* bytes the fingerprint covers (less for a short file) */
    uint64_t fp_hash;
} pos_identity;

typedef struct pos_entry {
    char *path;
    pos_identity id;
    int64_t offset;   /* acknowledged: bytes handled from the start */
    int64_t line;     /* lines before offset */
} pos_entry;

typedef struct pos_table {
    pos_entry *items;
    size_t count, cap;
} pos_table;

/* Does the open file fd still start with the bytes id's fingerprint covers?
 * If so, extend the fingerprint to the file's first POS_FP_MAX bytes (as many
 * as it has) and return true. A zero-length fingerprint matches any file.
 * False also when fd cannot be read. */
bool pos_verify(int fd, pos_identity *id);

/* Append an entry (path copied). */
void pos_table_add(pos_table *t, const char *path, const pos_identity *id, int64_t offset, int64_t line);
/* Remove entry i (the last entry takes its place). */
void pos_table_remove(pos_table *t, size_t i);
/* The entry for the file open as fd with this device and inode whose
 * fingerprint still matches (id->fp_* is then extended), or -1. */
ssize_t pos_table_find(const pos_table *t, int fd, pos_identity *id);
void pos_table_free(pos_table *t);

/* Read the state file into t (empty when the file does not exist). False,
 * with a message in err, when it exists but cannot be read or parsed. */
bool pos_load(const char *file, pos_table *t, char *err, size_t errlen);
/* Replace the state file by t, atomically. False with a message in err. */
bool pos_save(const char *file, const pos_table *t, char *err, size_t errlen);

/* The table as a positions document (malloc'd, NUL-ended; free() it), and
 * back: pos_decode adds the entries to t; false if the bytes are not one. */
char *pos_encode(const pos_table *t);
bool pos_decode(const void *data, size_t len, pos_table *t);

#endif
