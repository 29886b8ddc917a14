/*
 * gca_snapstore.h — where the GCA snapshots of a tenant are kept: in the
 * engine's object store (martflow/objstore.h: s3://bucket/prefix or
 * file:///dir), as documents and a pointer (docs/cfgdb.md, "The GCA
 * snapshot"):
 *
 *   gca-snapshot-{tenant}/cs-{change_set, 20 digits}.json   a document (gca_snapshot.h)
 *   gca-snapshot-{tenant}/LATEST                            the pointer, written last
 *
 * A save puts the new document, then replaces the pointer; only then does
 * the new snapshot exist. Until that last put succeeds readers follow the
 * old pointer to the old document, which stays whole (each put is atomic
 * in both backends). Documents older than the previous one are removed
 * after the pointer moved (the previous one stays for a reader that read
 * the old pointer a moment ago). The pointer names its document with its
 * size and SHA-256, so a reader never takes a wrong or partial one, and
 * repeats the document's topic and offsets: the kafka source's
 * `start_offsets` reads them there without knowing the GCA format.
 *
 * GCA writes (source configdb); GSP reads (source gcasnapshot, and the
 * kafka source's start_offsets).
 *
 * Ownership: gca_snapstore_save and _load borrow the store; *why is a
 * malloc'd sentence the caller frees (free()), set on failure only.
 */
#ifndef GCA_SNAPSTORE_H
#define GCA_SNAPSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <martflow/objstore.h>

#include "gca_snapshot.h"

#define GCA_POINTER_FORMAT "martflow.gca.snapshot.pointer"
#define GCA_POINTER_VERSION 1

/* Store the document doc[0..len), written from snap (its tenant,
 * change_set, topic and offsets go into the pointer), as the latest
 * snapshot. MF_OBJ_OK, or an mf_obj_status with *why (MF_OBJ_RETRY: try
 * again later). A failure of the clean-up of old documents is not one
 * (they are removed by a later save). */
int gca_snapstore_save(mf_objstore *store, const gca_snapshot *snap, const void *doc, size_t len, char **why);

/* The latest document of tenant into *doc (malloc'd, NUL-terminated, *len
 * bytes; the caller frees it) and its key into *key (malloc'd, for logs;
 * may be NULL). MF_OBJ_NOT_FOUND: there is none (no pointer, nor the
 * single-object layout of earlier builds, gca-snapshot-{tenant}.json).
 * MF_OBJ_RETRY / MF_OBJ_FATAL with *why: a server or a pointer that cannot
 * be used (malformed, another format or version, a document missing or not
 * the one it names). */
int gca_snapstore_load(mf_objstore *store, const char *tenant, void **doc, size_t *len, char **key, char **why);

#endif
