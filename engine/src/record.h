/*
 * record.h — the record operations behind the host API (lazy JSON parse,
 * copy-on-write edits, re-serialisation of edited values, header lookup).
 * Shared by the runtime's host table and the test harness's fake host, so both
 * behave the same.
 */
#ifndef MF_RECORD_OPS_H
#define MF_RECORD_OPS_H

#include <martflow/record.h>

#include "util.h"

/* rec's value bytes passed mf_json_check (MF_RECORD_JSON_VALID, for these
 * very bytes); mark them so. */
bool mf_rec_json_valid(const mf_record *rec);
void mf_rec_set_json_valid(mf_record *rec);

/* Parse rec's value once (cached in rec->json). On failure NULL and *error
 * points into errbuf. */
json_t *mf_rec_json(mf_record *rec, char *errbuf, size_t errlen, const char **error);
/* As mf_rec_json, but the result is the record's own (copied if shared) and
 * the value is marked stale. */
json_t *mf_rec_json_mut(mf_record *rec, char *errbuf, size_t errlen, const char **error);
void mf_rec_set_json(mf_record *rec, json_t *json);
/* Value bytes; an edited value is serialised into the record's batch arena,
 * or, for a record outside any batch (built on a plugin's stack), into
 * *arena (created on first use; the caller frees it when the bytes may go:
 * the runtime at the end of the plugin callback, so every value returned
 * during one callback stays valid until it returns). */
struct mf_batch_impl;
const uint8_t *mf_rec_value(mf_record *rec, size_t *len, struct mf_batch_impl **arena);
const mf_header *mf_rec_header(const mf_record *rec, const char *name);

/* A shallow copy of rec that carries the reject reason and the rejecting node
 * as headers (replacing earlier ones). The headers live in *scratch (grown as
 * needed, owned by the caller) and point at reason/node, which must outlive
 * the copy's use. */
mf_record mf_rec_rejected(const mf_record *rec, const char *reason, const char *node, mf_header **scratch,
                          size_t *scratch_cap);

#endif
