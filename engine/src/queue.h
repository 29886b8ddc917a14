/*
 * queue.h — the bounded queue in front of every transform and sink worker.
 *
 * Bounded in records and in bytes: a producer blocks while the queue is over
 * either bound (a batch is always admitted into an empty queue, so a batch
 * larger than the bound cannot deadlock). Control messages (checkpoint
 * barriers, end of stream) are never blocked and never counted. Many producers,
 * one consumer.
 */
#ifndef MF_QUEUE_H
#define MF_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "batch.h"

typedef enum mf_msg_type {
    MF_MSG_BATCH = 1,
    MF_MSG_BARRIER, /* arg: checkpoint id */
    MF_MSG_EOS      /* arg: 1 = end of input (flush everything), 0 = stop */
} mf_msg_type;

typedef struct mf_msg {
    mf_msg_type type;
    int from;            /* producer id (a worker index in the runtime) */
    uint64_t arg;
    mf_batch_impl *batch;
} mf_msg;

typedef struct mf_queue mf_queue;

mf_queue *mf_queue_new(size_t max_records, size_t max_bytes);
/* Free the queue and any batches still in it (their acks abandoned). */
void mf_queue_free(mf_queue *q);

/* Push. timeout_ms < 0 waits without limit. Returns 0, or -1 on timeout. */
int mf_queue_push(mf_queue *q, const mf_msg *msg, int64_t timeout_ms);
/* Pop. timeout_ms < 0 waits without limit. false on timeout. */
bool mf_queue_pop(mf_queue *q, mf_msg *out, int64_t timeout_ms);
/* Is there room for more data now? */
bool mf_queue_has_room(mf_queue *q);
/* Is the queue below half of both bounds? */
bool mf_queue_below_half(mf_queue *q);
/* Wait until it is (woken by the consumer's pop), at most timeout_ms.
 * Returns whether it is. */
bool mf_queue_wait_below_half(mf_queue *q, int64_t timeout_ms);
void mf_queue_stats(mf_queue *q, size_t *records, size_t *bytes);

#endif
