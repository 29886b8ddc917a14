/*
 * offset_tracker.c — the contiguous acknowledged watermark per partition.
 * See offset_tracker.h.
 */
#include "offset_tracker.h"

#include <stdlib.h>
#include <string.h>

#include <martflow/alloc.h>

/* One batch's share of one partition: up to which offset it read. */
struct mfk_pend {
    uint64_t seq;
    int64_t last;
    bool done;
};

struct entry {
    uint32_t part, gen;
};

struct mfk_batch {
    uint64_t seq;
    struct entry *e;
    size_t n, cap;
    mfk_batch *next_free;
};

static uint32_t hash_tp(const char *topic, int32_t partition)
{
    uint32_t h = 2166136261u;
    for (const char *p = topic; *p; p++)
        h = (h ^ (uint8_t)*p) * 16777619u;
    return (h ^ (uint32_t)partition) * 16777619u;
}

static void index_put(mfk_tracker *t, size_t idx)
{
    size_t mask = t->index_cap - 1;
    for (size_t i = hash_tp(t->parts[idx].topic, t->parts[idx].partition) & mask;; i = (i + 1) & mask)
        if (!t->index[i]) {
            t->index[i] = (uint32_t)idx + 1;
            return;
        }
}

size_t mfk_part_index(mfk_tracker *t, const char *topic, int32_t partition)
{
    if (t->index_cap) {
        size_t mask = t->index_cap - 1;
        for (size_t i = hash_tp(topic, partition) & mask; t->index[i]; i = (i + 1) & mask) {
            const mfk_part *p = &t->parts[t->index[i] - 1];
            if (p->partition == partition && strcmp(p->topic, topic) == 0)
                return t->index[i] - 1;
        }
    }
    if (t->n_parts == t->cap_parts) {
        t->cap_parts = t->cap_parts ? t->cap_parts * 2 : 16;
        t->parts = mf_xrealloc(t->parts, t->cap_parts * sizeof *t->parts);
    }
    if ((t->n_parts + 1) * 2 > t->index_cap) {
        free(t->index);
        t->index_cap = t->index_cap ? t->index_cap * 2 : 64;
        t->index = mf_xcalloc(t->index_cap, sizeof *t->index);
        for (size_t i = 0; i < t->n_parts; i++)
            index_put(t, i);
    }
    size_t idx = t->n_parts++;
    mfk_part *p = &t->parts[idx];
    memset(p, 0, sizeof *p);
    p->topic = mf_xstrdup(topic);
    p->partition = partition;
    p->next = -1;
    index_put(t, idx);
    return idx;
}

void mfk_part_reset(mfk_tracker *t, size_t idx, bool assigned)
{
    mfk_part *p = &t->parts[idx];
    p->gen++;
    p->assigned = assigned;
    p->at_end = false;
    p->head = p->len = 0;
    p->open_seq = 0;
}

static struct mfk_pend *pend_at(mfk_part *p, size_t i)
{
    return &p->q[(p->head + i) % p->cap];
}

static void pend_push(mfk_part *p, uint64_t seq, int64_t offset)
{
    if (p->len == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 16;
        struct mfk_pend *q = mf_xmalloc(cap * sizeof *q);
        for (size_t i = 0; i < p->len; i++)
            q[i] = *pend_at(p, i);
        free(p->q);
        p->q = q;
        p->cap = cap;
        p->head = 0;
    }
    *pend_at(p, p->len++) = (struct mfk_pend){.seq = seq, .last = offset, .done = false};
}

mfk_batch *mfk_batch_new(mfk_tracker *t)
{
    mfk_batch *b = t->free_list;
    if (b) {
        t->free_list = b->next_free;
    } else {
        b = mf_xcalloc(1, sizeof *b);
        if (t->n_all == t->cap_all) {
            t->cap_all = t->cap_all ? t->cap_all * 2 : 64;
            t->all = mf_xrealloc(t->all, t->cap_all * sizeof *t->all);
        }
        t->all[t->n_all++] = b;
    }
    b->seq = ++t->next_seq;
    b->n = 0;
    b->next_free = NULL;
    return b;
}

void mfk_batch_track(mfk_tracker *t, mfk_batch *b, size_t idx, int64_t offset)
{
    mfk_part *p = &t->parts[idx];
    if (p->open_seq == b->seq) {
        pend_at(p, p->len - 1)->last = offset;
        return;
    }
    pend_push(p, b->seq, offset);
    p->open_seq = b->seq;
    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 8;
        b->e = mf_xrealloc(b->e, b->cap * sizeof *b->e);
    }
    b->e[b->n++] = (struct entry){.part = (uint32_t)idx, .gen = p->gen};
}

void mfk_batch_done(mfk_tracker *t, mfk_batch *b, void (*store)(void *arg, const mfk_part *p, int64_t next),
                    void *arg)
{
    for (size_t i = 0; i < b->n; i++) {
        mfk_part *p = &t->parts[b->e[i].part];
        if (p->gen != b->e[i].gen)
            continue; /* revoked or reassigned since: its next owner reads it again */
        for (size_t j = 0; j < p->len; j++) {
            struct mfk_pend *x = pend_at(p, j);
            if (x->seq == b->seq) {
                x->done = true;
                break;
            }
        }
        if (p->open_seq == b->seq)
            p->open_seq = 0;
        int64_t next = -1;
        while (p->len && pend_at(p, 0)->done) {
            next = pend_at(p, 0)->last + 1;
            p->head = (p->head + 1) % p->cap;
            p->len--;
        }
        if (next >= 0 && p->assigned)
            store(arg, p, next);
    }
    b->next_free = t->free_list;
    t->free_list = b;
}

void mfk_tracker_free(mfk_tracker *t)
{
    for (size_t i = 0; i < t->n_parts; i++) {
        free(t->parts[i].topic);
        free(t->parts[i].q);
    }
    free(t->parts);
    free(t->index);
    for (size_t i = 0; i < t->n_all; i++) {
        free(t->all[i]->e);
        free(t->all[i]);
    }
    free(t->all);
    memset(t, 0, sizeof *t);
}
