/*
 * record_view.h — the typed reads of martflow/jsonview.h on records: which
 * bytes to read (an edited value as it serialises), validation once per
 * value (MF_RECORD_JSON_VALID), in place or copied (batch values are
 * padded), and where unescaped text goes. Shared by the runtime's host table
 * and the test harness's fake host, so both behave the same.
 */
#ifndef MF_RECORD_VIEW_H
#define MF_RECORD_VIEW_H

#include <martflow/jsonview.h>
#include <martflow/record.h>

struct mf_batch_impl;

/* What every call needs from the node: an error buffer (*error points into
 * it on failure) and the arena that lives until the callback returns
 * (created on first use in *arena; the caller frees it). */
typedef struct mf_view_scratch {
    char *errbuf;
    size_t errlen;
    struct mf_batch_impl **arena;
} mf_view_scratch;

/* The host functions of the same names (plugin.h): MF_OK, MF_REJECT (no
 * value, invalid JSON) or, for json_get, MF_FATAL (an invalid path). */
int mf_rec_json_check(mf_record *rec, const mf_view_scratch *s, const char **error);
int mf_rec_json_get(mf_record *rec, const char *path, mf_json_view *out, const mf_view_scratch *s,
                    const char **error);
int mf_rec_json_fields(mf_record *rec, const mf_json_fieldset *set, mf_json_view *out, const mf_view_scratch *s,
                       const char **error);
int mf_rec_json_iter(const mf_json_view *container, mf_json_iter *it, const mf_view_scratch *s,
                     const char **error);
const mf_json_member *mf_rec_json_next(mf_json_iter *it);
/* NULL with *error in s->errbuf. */
mf_json_fieldset *mf_rec_fieldset_new(const char *const *paths, size_t n, const mf_view_scratch *s,
                                      const char **error);
void mf_rec_fieldset_free(mf_json_fieldset *set);

#endif
