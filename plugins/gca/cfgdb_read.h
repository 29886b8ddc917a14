/*
 * cfgdb_read.h — read one tenant's configuration from the configuration
 * database (the subset of share/martflow/cfgdb/schema.sql, docs/cfgdb.md)
 * into a set of gca-cfg objects, in one REPEATABLE READ READ ONLY
 * transaction, so the set is one consistent state of the database.
 *
 * A failed read is never a partial or an empty set: the caller keeps its
 * previous set and tries again (so an outage never looks like deletes).
 */
#ifndef GCA_CFGDB_READ_H
#define GCA_CFGDB_READ_H

#include "cfgdb_set.h"
#include "pg_client.h"

typedef enum cfgdb_read_result {
    CFGDB_READ_OK = 0,
    CFGDB_READ_RETRY, /* the database is unreachable or busy, or the tenant is not (yet) there */
    CFGDB_READ_FATAL  /* SQL or permission error: retrying does not help */
} cfgdb_read_result;

/* Read the objects of the tenant named `tenant` (cfg_tenant.name) into out
 * (emptied first; sorted on success). On failure out is emptied and why
 * holds a sentence (no secret: pg_client scrubs them). */
cfgdb_read_result cfgdb_read(pgc *db, const char *tenant, cfgdb_set *out, char *why, size_t why_len);

#endif
