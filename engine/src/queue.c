/* queue.c — see queue.h. A ring of messages under one mutex with two
 * condition variables; a batch is hundreds of records, so the lock is taken
 * once per batch, not per record. */
#include "queue.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include <martflow/helpers.h>

#include "util.h"

struct mf_queue {
    pthread_mutex_t mu;
    pthread_cond_t not_empty, not_full;
    mf_msg *ring;
    size_t cap, head, len;
    size_t records, bytes;
    size_t max_records, max_bytes;
};

mf_queue *mf_queue_new(size_t max_records, size_t max_bytes)
{
    mf_queue *q = mf_xcalloc(1, sizeof *q);
    pthread_mutex_init(&q->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&q->not_empty, &ca);
    pthread_cond_init(&q->not_full, &ca);
    pthread_condattr_destroy(&ca);
    q->cap = 16;
    q->ring = mf_xcalloc(q->cap, sizeof *q->ring);
    q->max_records = max_records ? max_records : 1;
    q->max_bytes = max_bytes ? max_bytes : 1;
    return q;
}

void mf_queue_free(mf_queue *q)
{
    if (!q)
        return;
    for (size_t i = 0; i < q->len; i++) {
        mf_msg *m = &q->ring[(q->head + i) % q->cap];
        if (m->type == MF_MSG_BATCH)
            mf_batch_free(m->batch, false);
    }
    free(q->ring);
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->not_empty);
    pthread_cond_destroy(&q->not_full);
    free(q);
}

static void deadline_after(struct timespec *ts, int64_t ms)
{
    *ts = mf_timespec_after(CLOCK_MONOTONIC, ms);
}

static bool full_for(const mf_queue *q, size_t records, size_t bytes)
{
    if (q->records == 0)
        return false;
    return q->records + records > q->max_records || q->bytes + bytes > q->max_bytes;
}

int mf_queue_push(mf_queue *q, const mf_msg *msg, int64_t timeout_ms)
{
    size_t records = 0, bytes = 0;
    if (msg->type == MF_MSG_BATCH) {
        records = msg->batch->pub.count;
        bytes = msg->batch->pub.bytes;
    }
    struct timespec ts;
    if (timeout_ms >= 0)
        deadline_after(&ts, timeout_ms);
    pthread_mutex_lock(&q->mu);
    while (records && full_for(q, records, bytes)) {
        int rc = timeout_ms >= 0 ? pthread_cond_timedwait(&q->not_full, &q->mu, &ts)
                                 : pthread_cond_wait(&q->not_full, &q->mu);
        if (rc == ETIMEDOUT) {
            pthread_mutex_unlock(&q->mu);
            return -1;
        }
    }
    if (q->len == q->cap) {
        mf_msg *ring = mf_xcalloc(q->cap * 2, sizeof *ring);
        for (size_t i = 0; i < q->len; i++)
            ring[i] = q->ring[(q->head + i) % q->cap];
        free(q->ring);
        q->ring = ring;
        q->head = 0;
        q->cap *= 2;
    }
    q->ring[(q->head + q->len) % q->cap] = *msg;
    q->len++;
    q->records += records;
    q->bytes += bytes;
    pthread_cond_signal(&q->not_empty);
    pthread_mutex_unlock(&q->mu);
    return 0;
}

bool mf_queue_pop(mf_queue *q, mf_msg *out, int64_t timeout_ms)
{
    struct timespec ts;
    if (timeout_ms >= 0)
        deadline_after(&ts, timeout_ms);
    pthread_mutex_lock(&q->mu);
    while (q->len == 0) {
        int rc = timeout_ms >= 0 ? pthread_cond_timedwait(&q->not_empty, &q->mu, &ts)
                                 : pthread_cond_wait(&q->not_empty, &q->mu);
        if (rc == ETIMEDOUT && q->len == 0) {
            pthread_mutex_unlock(&q->mu);
            return false;
        }
    }
    *out = q->ring[q->head];
    q->head = (q->head + 1) % q->cap;
    q->len--;
    if (out->type == MF_MSG_BATCH) {
        q->records -= out->batch->pub.count;
        q->bytes -= out->batch->pub.bytes;
        pthread_cond_broadcast(&q->not_full);
    }
    pthread_mutex_unlock(&q->mu);
    return true;
}

bool mf_queue_has_room(mf_queue *q)
{
    pthread_mutex_lock(&q->mu);
    bool room = q->records < q->max_records && q->bytes < q->max_bytes;
    pthread_mutex_unlock(&q->mu);
    return room;
}

static bool below_half(const mf_queue *q)
{
    return q->records * 2 < q->max_records && q->bytes * 2 < q->max_bytes;
}

bool mf_queue_below_half(mf_queue *q)
{
    pthread_mutex_lock(&q->mu);
    bool below = below_half(q);
    pthread_mutex_unlock(&q->mu);
    return below;
}

bool mf_queue_wait_below_half(mf_queue *q, int64_t timeout_ms)
{
    struct timespec ts;
    deadline_after(&ts, timeout_ms > 0 ? timeout_ms : 0);
    pthread_mutex_lock(&q->mu);
    while (!below_half(q))
        if (pthread_cond_timedwait(&q->not_full, &q->mu, &ts) == ETIMEDOUT)
            break;
    bool below = below_half(q);
    pthread_mutex_unlock(&q->mu);
    return below;
}

void mf_queue_stats(mf_queue *q, size_t *records, size_t *bytes)
{
    pthread_mutex_lock(&q->mu);
    *records = q->records;
    *bytes = q->bytes;
    pthread_mutex_unlock(&q->mu);
}
