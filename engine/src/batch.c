/* batch.c — see batch.h. */
#include "batch.h"

#include <pthread.h>
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include "ack.h"
#include "util.h"

#define CHUNK_MIN (64u * 1024u)
#define POOL_MAX 256

struct mf_arena_chunk {
    struct mf_arena_chunk *next;
    size_t used, cap;
    alignas(max_align_t) unsigned char data[];
};

static pthread_mutex_t pool_mu = PTHREAD_MUTEX_INITIALIZER;
static mf_batch_impl *pool;
static size_t pool_len;

mf_batch_impl *mf_batch_new(void)
{
    pthread_mutex_lock(&pool_mu);
    mf_batch_impl *b = pool;
    if (b) {
        pool = b->next_free;
        pool_len--;
    }
    pthread_mutex_unlock(&pool_mu);
    if (!b)
        b = mf_xcalloc(1, sizeof *b);
    b->next_free = NULL;
    b->from = -1;
    return b;
}

static void free_chunks(struct mf_arena_chunk *c)
{
    while (c) {
        struct mf_arena_chunk *next = c->next;
        free(c);
        c = next;
    }
}

void mf_batch_free(mf_batch_impl *b, bool ack)
{
    if (!b)
        return;
    mf_record *r = b->pub.records;
    size_t n = b->pub.count;
    /* Runs of records share an ack (a source's poll, a forwarded batch):
     * release each run with one atomic operation. */
    size_t i = 0;
    while (i < n) {
        mf_ack *a = r[i].ack;
        size_t j = i;
        while (j < n && r[j].ack == a) {
            json_decref(r[j].json);
            j++;
        }
        if (ack && a)
            mf_ack_unref(a, (int64_t)(j - i));
        i = j;
    }
    b->pub.count = 0;
    b->pub.bytes = 0;
    /* Keep the newest chunk for the next use, unless it was sized for an
     * outsized record. */
    if (b->chunks) {
        free_chunks(b->chunks->next);
        b->chunks->next = NULL;
        b->chunks->used = 0;
        if (b->chunks->cap > 4 * CHUNK_MIN) {
            free(b->chunks);
            b->chunks = NULL;
        }
    }
    pthread_mutex_lock(&pool_mu);
    if (pool_len < POOL_MAX) {
        b->next_free = pool;
        pool = b;
        pool_len++;
        b = NULL;
    }
    pthread_mutex_unlock(&pool_mu);
    if (b) {
        free_chunks(b->chunks);
        free(b->pub.records);
        free(b);
    }
}

void mf_batch_pool_drain(void)
{
    pthread_mutex_lock(&pool_mu);
    mf_batch_impl *b = pool;
    pool = NULL;
    pool_len = 0;
    pthread_mutex_unlock(&pool_mu);
    while (b) {
        mf_batch_impl *next = b->next_free;
        free_chunks(b->chunks);
        free(b->pub.records);
        free(b);
        b = next;
    }
}

void *mf_batch_alloc(mf_batch_impl *b, size_t n)
{
    size_t need = (n + 15u) & ~(size_t)15u;
    struct mf_arena_chunk *c = b->chunks;
    if (!c || c->cap - c->used < need) {
        size_t cap = need > CHUNK_MIN ? need : CHUNK_MIN;
        c = mf_xmalloc(sizeof *c + cap);
        c->cap = cap;
        c->used = 0;
        c->next = b->chunks;
        b->chunks = c;
    }
    void *p = c->data + c->used;
    c->used += need;
    return p;
}

void *mf_batch_alloc_value(mf_batch_impl *b, size_t n)
{
    uint8_t *p = mf_batch_alloc(b, n + MF_BATCH_VALUE_PADDING);
    memset(p + n, 0, MF_BATCH_VALUE_PADDING);
    return p;
}

size_t mf_batch_readable(const mf_batch_impl *b, const void *p)
{
    const unsigned char *q = p;
    for (const struct mf_arena_chunk *c = b ? b->chunks : NULL; c; c = c->next)
        if (q >= c->data && q < c->data + c->used)
            return (size_t)(c->data + c->used - q);
    return 0;
}

static const uint8_t *copy_value(mf_batch_impl *b, const void *src, size_t n)
{
    /* Zeroed padding: the NUL keeps text C-string safe, and simdjson may read
     * MF_BATCH_VALUE_PADDING bytes past the end, so values parse in place. */
    uint8_t *p = mf_batch_alloc_value(b, n);
    if (n)
        memcpy(p, src, n);
    return p;
}

static const uint8_t *copy_bytes(mf_batch_impl *b, const void *src, size_t n)
{
    if (!src || n == 0)
        return (const uint8_t *)"";
    void *p = mf_batch_alloc(b, n + 1);
    memcpy(p, src, n);
    ((char *)p)[n] = '\0'; /* values are often text: keep them C-string safe */
    return p;
}

mf_record *mf_batch_append(mf_batch_impl *b, const mf_record *rec, mf_ack *ack)
{
    if (b->pub.count == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 256;
        b->pub.records = mf_xrealloc(b->pub.records, b->cap * sizeof *b->pub.records);
    }
    mf_record *r = &b->pub.records[b->pub.count++];
    memset(r, 0, sizeof *r);
    r->flags = rec->flags;
    r->time_ms = rec->time_ms;
    r->origin = rec->origin;
    size_t bytes = 0;
    if (!(rec->flags & MF_RECORD_KEY_NULL)) {
        r->key = copy_bytes(b, rec->key, rec->key_len);
        r->key_len = rec->key_len;
        bytes += rec->key_len;
    }
    if (!(rec->flags & (MF_RECORD_VALUE_STALE | MF_RECORD_VALUE_NULL))) {
        r->value = copy_value(b, rec->value, rec->value_len);
        r->value_len = rec->value_len;
        bytes += rec->value_len;
        /* The check holds for the same bytes (see MF_RECORD_JSON_VALID). */
        if ((rec->flags & MF_RECORD_JSON_VALID) && rec->reserved[1] == (const void *)rec->value)
            r->reserved[1] = (void *)r->value;
        else
            r->flags &= ~MF_RECORD_JSON_VALID;
    } else {
        r->flags &= ~MF_RECORD_JSON_VALID;
    }
    if ((rec->flags & MF_RECORD_VALUE_STALE) && !rec->json) {
        r->flags &= ~MF_RECORD_VALUE_STALE;
        r->flags |= MF_RECORD_VALUE_NULL;
    }
    if (rec->origin.topic)
        r->origin.topic = (const char *)copy_bytes(b, rec->origin.topic, strlen(rec->origin.topic));
    if (rec->n_headers) {
        mf_header *h = mf_batch_alloc(b, rec->n_headers * sizeof *h);
        for (uint16_t i = 0; i < rec->n_headers; i++) {
            const mf_header *src = &rec->headers[i];
            size_t nl = src->name ? strlen(src->name) : 0;
            h[i].name = (const char *)copy_bytes(b, src->name, nl);
            h[i].value = copy_bytes(b, src->value, src->value_len);
            h[i].value_len = src->value_len;
            bytes += nl + src->value_len;
        }
        r->headers = h;
        r->n_headers = rec->n_headers;
    }
    r->json = rec->json ? json_incref(rec->json) : NULL;
    r->ack = ack;
    r->reserved[0] = b;
    b->pub.bytes += bytes + 64; /* + per-record overhead, so empty records still count */
    return r;
}

mf_batch_impl *mf_record_batch(const mf_record *rec)
{
    return rec->reserved[0];
}
