/*
 * gim_csvgz.h — one Data Export file: PostgreSQL's CSV (COPY ... TO STDOUT
 * (FORMAT csv, HEADER)) in, an RFC 4180 CSV out, gzipped, streamed to an
 * object store (martflow/objstore.h) with its SHA-256 computed on the way;
 * and the export's manifest (docs/plugins/gim.md, "Data Export").
 *
 * RFC 4180 from PostgreSQL's CSV: PostgreSQL already quotes every field
 * holding a comma, a quote, CR or LF and doubles the quotes; it ends records
 * with LF, which becomes CRLF here (a line break inside a quoted field is
 * data and stays as it is). Records are counted the same way (line breaks
 * outside quotes), so the writer knows how many rows it wrote.
 *
 * Memory: bounded whatever the table's size: a 64 KiB input buffer, the
 * deflate state and the object store writer's part (multipart on S3).
 *
 * Ownership: gim_csvgz_open returns a writer the caller frees with
 * gim_csvgz_free (after commit too); uncommitted, nothing appears in the
 * store. Errors are malloc'd messages (the caller frees) and mf_obj_status
 * codes, as in objstore.h.
 */
#ifndef MF_GIM_CSVGZ_H
#define MF_GIM_CSVGZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <martflow/crypto.h>
#include <martflow/objstore.h>

typedef struct gim_csvgz gim_csvgz;

/* What a committed file holds. */
typedef struct gim_csvgz_result {
    uint64_t records;                     /* CSV records, the header included */
    uint64_t csv_bytes;                   /* uncompressed, after CRLF */
    uint64_t bytes;                       /* the object's size (gzip) */
    char sha256[2 * MF_SHA256_LEN + 1];   /* lower-case hex of the object's bytes */
} gim_csvgz_result;

/* A writer of key in store, gzip level 1..9. MF_OBJ_OK with *out, else the
 * status with *error. */
int gim_csvgz_open(mf_objstore *store, const char *key, int level, gim_csvgz **out, char **error);

/* Append CSV as PostgreSQL writes it (any piece: a record may span calls). */
int gim_csvgz_write(gim_csvgz *w, const void *data, size_t len, char **error);

/* End the gzip stream and commit the object: it appears whole. *res filled
 * on MF_OBJ_OK. */
int gim_csvgz_commit(gim_csvgz *w, gim_csvgz_result *res, char **error);

void gim_csvgz_free(gim_csvgz *w);

/* ---- the manifest ---------------------------------------------------------- */

typedef struct gim_manifest_table {
    const char *table; /* "interaction_fact" */
    const char *file;  /* "interaction_fact.csv.gz", relative to the folder */
    uint64_t rows;     /* data rows (header not counted) */
    gim_csvgz_result res;
} gim_manifest_table;

typedef struct gim_manifest {
    const char *folder;       /* export_<hwm>_<YYYY_MM_DD_HH_MI_SS> */
    int64_t audit_key_from;   /* exclusive */
    int64_t audit_key_hwm;    /* inclusive */
    int64_t created_ms;       /* epoch ms: the run's start */
    const char *job;
    const gim_manifest_table *tables;
    size_t ntables;
} gim_manifest;

/* The manifest as JSON text (malloc'd, the caller frees), one object:
 * {"format": "martflow-gim-export", "version": 1, "folder", "job", "created",
 * "audit_key_from", "audit_key_hwm", "rows", "tables": [{"table", "file",
 * "rows", "bytes", "csv_bytes", "sha256"}]}, with a final newline. */
char *gim_manifest_json(const gim_manifest *m);

#endif
