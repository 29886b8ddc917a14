/*
 * offset_tracker.h — which offsets of which partitions the Kafka source may
 * store, given acknowledgements that complete in any order.
 *
 * Each poll's records form one batch (the cookie the engine gives back when
 * everything derived from them is handled). Per partition the tracker keeps
 * the batches that read from it, oldest first, with the last offset each read.
 * When a batch is done its entries are marked; a partition's watermark then
 * moves over the contiguous run of done entries at its head, so a batch still
 * held stops it even if later ones are done. Assigning or revoking a
 * partition forgets its pending entries (its generation changes), and a batch
 * acknowledged later does not move it.
 *
 * Ownership: the tracker owns its partitions (topic names copied) and its
 * batches; a batch handed out by mfk_batch_new comes back in mfk_batch_done,
 * or is freed with the tracker. Not thread-safe: the source's thread only.
 */
#ifndef MF_KAFKA_OFFSET_TRACKER_H
#define MF_KAFKA_OFFSET_TRACKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mfk_pend;

/* A topic-partition the source has seen. The first four fields are the
 * source's to read and write; the rest is the tracker's. */
typedef struct mfk_part {
    char *topic;
    int32_t partition;
    bool assigned;
    bool at_end;  /* stop_at_end: read up to its end */
    int64_t next; /* offset after the last one read, -1: none yet */

    uint32_t gen;           /* bumped on assign and revoke */
    struct mfk_pend *q;     /* ring: batches that read it, oldest first */
    size_t head, len, cap;
    uint64_t open_seq;      /* the batch whose entry is the newest, 0: none */
} mfk_part;

typedef struct mfk_batch mfk_batch;

/* Zero-initialised; free with mfk_tracker_free. */
typedef struct mfk_tracker {
    mfk_part *parts; /* index with what mfk_part_index returns; may move */
    size_t n_parts, cap_parts;
    uint32_t *index; /* open addressing: part index + 1, 0 empty */
    size_t index_cap;
    mfk_batch *free_list;
    mfk_batch **all;
    size_t n_all, cap_all;
    uint64_t next_seq;
} mfk_tracker;

/* The index of (topic, partition), created unassigned on first sight. Indexes
 * never change; pointers into t->parts may (after a new partition). */
size_t mfk_part_index(mfk_tracker *t, const char *topic, int32_t partition);

/* The partition was assigned (true) or revoked (false): its pending entries
 * are forgotten, acks of earlier batches no longer move it. */
void mfk_part_reset(mfk_tracker *t, size_t idx, bool assigned);

/* A new, empty batch (the cookie of one poll). */
mfk_batch *mfk_batch_new(mfk_tracker *t);

/* Batch b read `offset` of partition idx (offsets of a partition increase). */
void mfk_batch_track(mfk_tracker *t, mfk_batch *b, size_t idx, int64_t offset);

/* Batch b is acknowledged: for each assigned partition whose watermark moved,
 * store(arg, part, next) is called with the offset to store (the last offset
 * of the contiguous done run, plus one). b is recycled. */
void mfk_batch_done(mfk_tracker *t, mfk_batch *b, void (*store)(void *arg, const mfk_part *p, int64_t next),
                    void *arg);

void mfk_tracker_free(mfk_tracker *t);

#endif
