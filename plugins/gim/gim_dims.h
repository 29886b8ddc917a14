/*
 * gim_dims.h — natural references (docs/events.md §2.5) to surrogate keys:
 * a cache, and the resolution of what it misses in bulk, creating the rows
 * that do not exist yet.
 *
 * A reference is its kind, the tenant key (for tenant-scoped dimensions)
 * and its parts separated by GIM_SEP, as gim_record.h encodes them. What
 * the cache does not know is queued (gim_dims_want, deduplicated) and
 * resolved by gim_dims_resolve inside the cycle's transaction, one
 * statement per kind: the row is looked up by its natural key, and created
 * when missing — a placeholder resource_ / place (placeholder_flag 1), a
 * new technical_descriptor, media_type, interaction_type, resource_state,
 * resource_state_reason or resource_group_ row, the tenant row. A resource
 * named with switch "" resolves to the only resource of that type and name
 * on any switch when there is exactly one (§2.5), else to the row of switch "";
 * those are resolved after the other resources, so that one created for its
 * switch in the same cycle is found.
 *
 * Keys learnt in the open transaction are provisional: gim_dims_commit keeps
 * them, gim_dims_rollback forgets them (the rows they name were rolled back).
 *
 * Not thread-safe (one per worker). Ownership: the cache copies every key.
 */
#ifndef MF_GIM_DIMS_H
#define MF_GIM_DIMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gim_tables.h"
#include "pg_client.h"

typedef struct gim_dims gim_dims;

gim_dims *gim_dims_new(void);
void gim_dims_free(gim_dims *d);

/* The surrogate key of a reference, if known (committed or provisional). */
bool gim_dims_get(const gim_dims *d, gim_ref ref, int32_t tenant_key, const char *parts, size_t len, int32_t *key);

/* Queue a reference the cache does not know for gim_dims_resolve. */
void gim_dims_want(gim_dims *d, gim_ref ref, int32_t tenant_key, const char *parts, size_t len);

/* Resolve everything queued (the queue empties), in the caller's open
 * transaction; rows created carry audit_key, gmt_start_time now_s where the
 * table has one. why: the error (size bytes) when not PGC_OK. */
pgc_class gim_dims_resolve(gim_dims *d, pgc *c, int64_t audit_key, int64_t now_s, char *why, size_t size);

void gim_dims_commit(gim_dims *d);
void gim_dims_rollback(gim_dims *d);

/* Keys known (committed), for logs. */
size_t gim_dims_size(const gim_dims *d);

/* Whether references of kind ref are looked up within the record's tenant
 * (resources, places, campaigns, ...) rather than shared (media types, ...). */
bool gim_dims_scoped(gim_ref ref);

#endif
