/* record.c — see record.h. */
#include "record.h"

#include <stdio.h>
#include <string.h>

#include <martflow/plugin.h>

#include "batch.h"
#include "json_fast.h"

#define DUMP_FLAGS (JSON_COMPACT | JSON_ENCODE_ANY)

bool mf_rec_json_valid(const mf_record *rec)
{
    return (rec->flags & MF_RECORD_JSON_VALID) && rec->reserved[1] == (const void *)rec->value;
}

void mf_rec_set_json_valid(mf_record *rec)
{
    rec->flags |= MF_RECORD_JSON_VALID;
    rec->reserved[1] = (void *)rec->value;
}

json_t *mf_rec_json(mf_record *rec, char *errbuf, size_t errlen, const char **error)
{
    if (rec->json)
        return rec->json;
    if (rec->flags & MF_RECORD_VALUE_NULL) {
        snprintf(errbuf, errlen, "record has no value");
        *error = errbuf;
        return NULL;
    }
    const char *bytes = rec->value ? (const char *)rec->value : "";
    /* The rule first (docs/architecture.md, "What is valid JSON"): jansson
     * alone would accept duplicate keys and nesting beyond the limit, so a
     * value must not be valid for one reader and invalid for the other. */
    if (!mf_rec_json_valid(rec)) {
        if (!mf_json_check((const uint8_t *)bytes, rec->value_len, errbuf, errlen)) {
            *error = errbuf;
            return NULL;
        }
        mf_rec_set_json_valid(rec);
    }
    json_error_t jerr;
    json_t *j = json_loadb(bytes, rec->value_len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
    if (!j) {
        snprintf(errbuf, errlen, "invalid JSON at byte %d: %s", jerr.position, jerr.text);
        *error = errbuf;
        return NULL;
    }
    rec->json = j;
    return j;
}

json_t *mf_rec_json_mut(mf_record *rec, char *errbuf, size_t errlen, const char **error)
{
    json_t *j = mf_rec_json(rec, errbuf, errlen, error);
    if (!j)
        return NULL;
    /* jansson changes refcounts atomically (records share trees across
     * threads), so read it the same way. */
    if (__atomic_load_n(&j->refcount, __ATOMIC_ACQUIRE) > 1) {
        /* Shared with another record (forwarded, fanned out): copy on write. */
        json_t *copy = json_deep_copy(j);
        json_decref(j);
        rec->json = j = copy;
    }
    rec->flags |= MF_RECORD_VALUE_STALE;
    rec->flags &= ~(MF_RECORD_VALUE_NULL | MF_RECORD_JSON_VALID);
    return j;
}

void mf_rec_set_json(mf_record *rec, json_t *json)
{
    json_decref(rec->json);
    rec->json = json;
    rec->flags &= ~(MF_RECORD_VALUE_NULL | MF_RECORD_JSON_VALID);
    rec->flags |= MF_RECORD_VALUE_STALE;
}

const uint8_t *mf_rec_value(mf_record *rec, size_t *len, mf_batch_impl **arena)
{
    if (!(rec->flags & MF_RECORD_VALUE_STALE) || !rec->json) {
        *len = (rec->flags & MF_RECORD_VALUE_NULL) ? 0 : rec->value_len;
        return rec->value ? rec->value : (const uint8_t *)"";
    }
    size_t need = json_dumpb(rec->json, NULL, 0, DUMP_FLAGS);
    if (need == 0) {
        *len = 0;
        return (const uint8_t *)"";
    }
    mf_batch_impl *b = mf_record_batch(rec);
    bool in_batch = b != NULL;
    if (!in_batch) {
        if (!*arena)
            *arena = mf_batch_new();
        b = *arena;
    }
    char *dst = mf_batch_alloc_value(b, need);
    json_dumpb(rec->json, dst, need, DUMP_FLAGS);
    if (in_batch) {
        /* Cache it: the next reader (another sink format, a retry) reuses it. */
        rec->value = (const uint8_t *)dst;
        rec->value_len = (uint32_t)need;
        rec->flags &= ~MF_RECORD_VALUE_STALE;
    }
    *len = need;
    return (const uint8_t *)dst;
}

const mf_header *mf_rec_header(const mf_record *rec, const char *name)
{
    if (!name)
        return NULL;
    for (uint16_t i = 0; i < rec->n_headers; i++)
        if (rec->headers[i].name && strcmp(rec->headers[i].name, name) == 0)
            return &rec->headers[i];
    return NULL;
}

mf_record mf_rec_rejected(const mf_record *rec, const char *reason, const char *node, mf_header **scratch,
                          size_t *scratch_cap)
{
    size_t need = (size_t)rec->n_headers + 2;
    if (need > *scratch_cap) {
        *scratch_cap = need * 2;
        *scratch = mf_xrealloc(*scratch, *scratch_cap * sizeof **scratch);
    }
    mf_header *h = *scratch;
    size_t k = 0;
    for (uint16_t i = 0; i < rec->n_headers; i++) {
        const char *hn = rec->headers[i].name;
        if (!hn || (strcmp(hn, MF_HEADER_ERROR) != 0 && strcmp(hn, MF_HEADER_ERROR_NODE) != 0))
            h[k++] = rec->headers[i];
    }
    h[k++] = (mf_header){MF_HEADER_ERROR, (const uint8_t *)reason, (uint32_t)strlen(reason)};
    h[k++] = (mf_header){MF_HEADER_ERROR_NODE, (const uint8_t *)node, (uint32_t)strlen(node)};
    mf_record copy = *rec;
    copy.headers = h;
    copy.n_headers = (uint16_t)k;
    return copy;
}
