/*
 * gim_forget.h — the loader's side of GDPR forget (docs/gdpr.md): a value
 * about to be written that a `martflow gdpr ... forget` request forgot is
 * replaced by its mask, so replaying a subject's records never brings their
 * data back.
 *
 * The database holds what to check (005_gdpr.sql): gim_gdpr_column, the
 * personal columns, and gim_forget_list, the SHA-256 of each forgotten
 * value with its mask. Each cycle calls gim_forget_refresh in its
 * transaction: a SHARE lock on gim_forget_list (a forget request, which
 * takes SHARE ROW EXCLUSIVE, waits for the cycle, and the cycle for a
 * request: no cycle writes a value that a request commits meanwhile), then
 * two counts; the lists are read again only when a count changed. The
 * lists live in memory as sorted hashes: gim_forget_apply costs nothing
 * while nothing is forgotten, else one SHA-256 per personal field of a
 * record (no query per row).
 *
 * The rule, as the request's: a customer column whose value is forgotten is
 * masked (that field); in a table with employee columns, when the value of
 * an employee key column (employee_id, user_name) is forgotten, every
 * employee column present in the record is masked.
 *
 * Ownership: gim_forget_new returns a state the caller frees with
 * gim_forget_free; the masks that gim_forget_apply puts into records are
 * the state's (valid until the next refresh).
 */
#ifndef MF_GIM_FORGET_H
#define MF_GIM_FORGET_H

#include <stdbool.h>
#include <stddef.h>

#include "gim_record.h"
#include "gim_tables.h"
#include "pg_client.h"

typedef struct gim_forget gim_forget;

gim_forget *gim_forget_new(void);
void gim_forget_free(gim_forget *f);

/* In the caller's open transaction: lock, and reread the lists when they
 * changed. why: the error (size bytes) when not PGC_OK. */
pgc_class gim_forget_refresh(gim_forget *f, pgc *c, const gim_tables *ts, char *why, size_t size);

/* Mask the forgotten personal values of record r (its fields rewritten to
 * point at the mask). Returns the fields masked. */
size_t gim_forget_apply(const gim_forget *f, const gim_tables *ts, gim_rec *r);

/* Values forgotten (both lists), for logs and tests. */
size_t gim_forget_size(const gim_forget *f);

#endif
