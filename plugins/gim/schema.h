/*
 * schema.h — the Info Mart schema's migration runner.
 *
 * The schema is a directory of SQL files NNN_name.sql (plugins/gim/sql/,
 * installed to $(pkgdatadir)/infomart/), numbered 001, 002, ... without gaps.
 * gim_schema_migrate brings a database to the newest of them:
 *   - under a session advisory lock (GIM_SCHEMA_LOCK_KEY), so two processes
 *     migrating one database at once do it one after the other: the second
 *     waits, then finds nothing left to do;
 *   - every file not yet recorded in ctl_schema_info is run in its own
 *     transaction, which also records it (version, file name, SHA-256 of the
 *     file's bytes, time): a failed migration leaves nothing behind;
 *   - it refuses (PGC_FATAL, nothing applied) a database where a recorded
 *     migration's checksum differs from its file's, where a recorded migration
 *     has no file, or whose version is newer than the files know (a newer
 *     martflow migrated it: this one must not write to it).
 * A migration file holds no BEGIN/COMMIT and does not write ctl_schema_info;
 * 001 creates ctl_schema_info (its absence means version 0).
 *
 * Compiled into the program that uses it together with pg_client.c (like
 * pg_client, every symbol stays hidden in a plugin). Synchronous, on the
 * caller's client; not thread-safe (as pgc).
 */
#ifndef MF_GIM_SCHEMA_H
#define MF_GIM_SCHEMA_H

#include <stdbool.h>

#include "pg_client.h"

/* The advisory lock key of schema migrations ("mf-ims" in ASCII). The
 * loader's own single-instance lock uses another key. */
#define GIM_SCHEMA_LOCK_KEY INT64_C(0x6d662d696d73)

/* The installed migrations, when the build defines it (plugins/gim/Makefile.inc). */
#ifdef MF_INFOMART_SQLDIR
#define GIM_SCHEMA_DIR MF_INFOMART_SQLDIR
#endif

typedef struct gim_schema_result {
    int from_version; /* the database's version before (0: no schema) */
    int version;      /* its version after: the newest file's on success */
    int applied;      /* migrations applied by this call */
    char message[1024]; /* why it failed (PGC_OK: empty); names the file or version */
} gim_schema_result;

/*
 * Migrate the database of client c with the migrations in dir (borrowed
 * during the call). lock_timeout_ms: how long to wait for another migrating
 * process (pgc_lock_wait; <= 0: one try); not getting the lock is
 * PGC_TRANSIENT ("another process is migrating the schema"), to retry.
 * Returns PGC_OK with out->version the resulting version; PGC_TRANSIENT (the
 * connection, the lock: retry later; nothing half-applied), PGC_FATAL (a
 * refused database, a bad directory or file, an SQL error in a migration:
 * the message says which) or PGC_DATA (a migration's data refused, as
 * fatal). out is always filled. The lock is released before returning.
 */
pgc_class gim_schema_migrate(pgc *c, const char *dir, int lock_timeout_ms, gim_schema_result *out);

/*
 * The database's current schema version without changing anything (0 when
 * it has no schema), in *version. Same classes as above (no lock taken).
 */
pgc_class gim_schema_version(pgc *c, int *version, gim_schema_result *out);

#endif
