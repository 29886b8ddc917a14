/*
 * keyed_internal.h — the inside of mf_keyed, shared by keyed_state.c (table,
 * timers, acks) and keyed_snapshot.c (the snapshot format). Not installed.
 */
#ifndef MF_KEYED_INTERNAL_H
#define MF_KEYED_INTERNAL_H

#include <stddef.h>

#include <martflow/keyed.h>

struct ktimer;

/* One key: this header, then the user state (ops.state_size rounded up), then
 * the key bytes; one allocation that never moves while the key exists. */
struct kentry {
    uint32_t hash;           /* mf_key_hash of the key */
    uint32_t key_len;
    mf_ack *group;           /* pending ack group, or NULL */
    mf_ack *last_input;      /* the input ack added to group last */
    struct ktimer *timers;   /* this key's timers, unordered */
};

struct ktimer {
    int64_t time;
    struct kentry *e;
    struct ktimer *next;     /* the next timer of e */
    size_t pos;              /* index in the heap */
    uint32_t id;
};

struct kslot {
    uint32_t hash;
    struct kentry *e;        /* NULL: empty */
};

struct mf_keyed {
    const mf_host *host;
    mf_node *node;
    mf_keyed_ops ops;
    void *arg;
    size_t state_span;       /* state_size rounded up to the key's alignment */
    uint32_t kg_first, kg_last; /* the key groups this worker owns */

    struct kslot *slots;     /* open addressing, linear probing, power-of-two size */
    size_t cap, count;

    struct ktimer **heap;    /* min-heap in firing order */
    size_t n_heap, cap_heap;
    int64_t watermark;
    bool restored;

    /* Ack groups a checkpoint covers (mf_keyed_checkpoint): released by
     * mf_keyed_commit of that checkpoint or a later one. Oldest first. */
    struct kcovered {
        uint64_t checkpoint;
        mf_ack *group;
    } *covered;
    size_t n_covered, cap_covered;

    mf_metric *m_keys, *m_timers, *m_fired, *m_misrouted;
    double shown_keys, shown_timers; /* what this worker added to the gauges */
    bool warned_misrouted;
};

#define MF_KEYED_ALIGN _Alignof(max_align_t)
#define MF_KEYED_HDR ((sizeof(struct kentry) + MF_KEYED_ALIGN - 1) / MF_KEYED_ALIGN * MF_KEYED_ALIGN)

static inline void *kentry_state(struct kentry *e)
{
    return (char *)e + MF_KEYED_HDR;
}

static inline struct kentry *kentry_of(const void *state)
{
    return (struct kentry *)(void *)((char *)(uintptr_t)state - MF_KEYED_HDR);
}

static inline const uint8_t *kentry_key(const mf_keyed *k, const struct kentry *e)
{
    return (const uint8_t *)e + MF_KEYED_HDR + k->state_span;
}

/* keyed_state.c */
struct kentry *mf_keyed_find(const mf_keyed *k, uint32_t hash, const void *key, size_t len);
/* Add a key known to be absent, with a zeroed state. */
struct kentry *mf_keyed_insert(mf_keyed *k, uint32_t hash, const void *key, size_t len);
/* Remove and free an entry (timers, state) without touching its ack group. */
void mf_keyed_drop(mf_keyed *k, struct kentry *e);
/* Every entry in snapshot order (key group, then key bytes): a malloc'd
 * array of count items. The key's group and length are copied in, so the
 * sort and the writer do not go back to the entry for them. */
struct ksorted {
    const uint8_t *key;
    struct kentry *e;
    uint32_t kg, key_len;
};
struct ksorted *mf_keyed_sorted(const mf_keyed *k);
/* Order of two keys: bytes, then the shorter first. */
int mf_keyed_key_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen);
/* Move the key and timer counts onto the gauges. */
void mf_keyed_publish(mf_keyed *k);

#endif
