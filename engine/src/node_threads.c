/*
 * node_threads.c — the loop each worker thread runs.
 *
 * Source: deliver completed acks, inject a checkpoint barrier when one is due,
 * pause the plugin while downstream is full (it is still polled every
 * PAUSED_POLL_MS, so a Kafka consumer stays in its group, and in between the
 * thread waits for downstream to drain), poll, push what was emitted. At the end (input
 * exhausted, shutdown, failure) it sends end-of-stream downstream and keeps
 * delivering acks until everything it read is acknowledged or the sinks are
 * done, then stops the plugin.
 *
 * Transform / sink: pop a message; a batch is processed (with retries and
 * backoff), a barrier is aligned across all producers and then flushes the
 * node (MF_FLUSH_CHECKPOINT), end-of-stream from every producer flushes it for
 * good (MF_FLUSH_END or MF_FLUSH_STOP) and ends the thread.
 */
#include <string.h>
#include <time.h>

#include "backoff.h"
#include "log.h"
#include "runtime_internal.h"

#define IDLE_WAIT_MS 100
/* A paused source is polled this often (a Kafka consumer must keep polling to
 * stay in its group); in between its thread sleeps until downstream drains. */
#define PAUSED_POLL_MS 20

void mf_source_deliver_ack(void *arg, void *cookie)
{
    mf_node *n = arg;
    if (n->g->desc->ack)
        n->g->desc->ack(n->ctx, cookie);
}

static void maybe_commit(mf_node *n)
{
    uint64_t c = atomic_load(&n->rt->checkpoint_committed);
    if (c > n->committed_seen) {
        n->committed_seen = c;
        if (n->g->desc->commit && n->g->desc->commit(n->ctx, c) == MF_FATAL)
            mf_runtime_fail(n->rt, n, "commit of a checkpoint failed");
    }
}

static void maybe_tick(mf_node *n)
{
    if (!n->tick_ms || !n->g->desc->tick)
        return;
    int64_t now = mf_time_mono_ms();
    if (now < n->next_tick)
        return;
    n->next_tick = now + n->tick_ms;
    int st = n->g->desc->tick(n->ctx);
    mf_node_flush_all(n);
    if (st == MF_FATAL)
        mf_runtime_fail(n->rt, n, "tick failed");
}

static int64_t wait_budget(const mf_node *n)
{
    int64_t budget = IDLE_WAIT_MS;
    if (n->tick_ms) {
        int64_t until = n->next_tick - mf_time_mono_ms();
        if (until < budget)
            budget = until < 0 ? 0 : until;
    }
    return budget;
}

/* Sleep for a retry. (Past the grace period the process exits anyway.) */
static void backoff_sleep(mf_node *n, unsigned attempt)
{
    int64_t ms = mf_backoff_delay_ms(attempt, n->g->retry_base_ms, n->g->retry_cap_ms, &n->rng);
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* Pause when a downstream queue is full, resume only once every one is below
 * half: without the gap a busy pipeline would pause and resume on every batch. */
static bool downstream_full(mf_node *n)
{
    for (size_t i = 0; i < n->n_downstream; i++)
        if (!mf_queue_has_room(n->downstream[i]->inq))
            return true;
    return false;
}

static bool downstream_drained(mf_node *n)
{
    for (size_t i = 0; i < n->n_downstream; i++)
        if (!mf_queue_below_half(n->downstream[i]->inq))
            return false;
    return true;
}

/* Sleep until every downstream queue is below half or `until` (monotonic
 * ms): the source resumes the moment its consumers have drained, rather than
 * on its next poll. */
static void wait_drained(mf_node *n, int64_t until)
{
    for (size_t i = 0; i < n->n_downstream; i++) {
        int64_t left = until - mf_time_mono_ms();
        if (left <= 0 || !mf_queue_wait_below_half(n->downstream[i]->inq, left))
            return;
    }
}

/* What a source does between polls, and while its plugin waits in ack_wait:
 * deliver acknowledgements, commit a completed checkpoint, pass on a due
 * checkpoint barrier. */
void mf_source_service(mf_node *n)
{
    mf_ack_tracker_drain(n->tracker, mf_source_deliver_ack, n);
    maybe_commit(n);
    uint64_t want = atomic_load(&n->rt->checkpoint_requested);
    if (!n->ended && want > n->barrier_sent) {
        mf_node_flush_all(n);
        mf_node_broadcast(n, MF_MSG_BARRIER, want);
        n->barrier_sent = want;
    }
}

/* End of one poll: everything it emitted goes downstream, and the poll's ack
 * token loses its creator reference (it completes once all records are done). */
void mf_source_finish_poll(mf_node *n)
{
    mf_node_flush_all(n);
    if (n->poll_ack) {
        mf_ack *a = n->poll_ack;
        n->poll_ack = NULL;
        mf_ack_unref(a, 1);
    }
    n->poll_cookie = NULL;
}

void *mf_source_thread(void *arg)
{
    mf_node *n = arg;
    mf_runtime *rt = n->rt;
    const mf_plugin_desc *d = n->g->desc;
    bool eof = false;
    unsigned attempt = 0;

    while (!atomic_load(&rt->stopping) && !eof) {
        mf_source_service(n);
        if (d->pause && !n->paused && downstream_full(n)) {
            if (d->pause(n->ctx) == MF_OK) {
                n->paused = true;
                n->paused_poll_at = mf_time_mono_ms() + PAUSED_POLL_MS;
                mf_node_log(n, MF_LOG_DEBUG, "downstream full: paused");
            }
        } else if (n->paused && downstream_drained(n)) {
            if (!d->resume || d->resume(n->ctx) == MF_OK) {
                n->paused = false;
                mf_node_log(n, MF_LOG_DEBUG, "downstream has room: resumed");
            }
        }
        if (n->paused) {
            int64_t now = mf_time_mono_ms();
            if (now < n->paused_poll_at) {
                int64_t until = now + wait_budget(n);
                wait_drained(n, until < n->paused_poll_at ? until : n->paused_poll_at);
                maybe_tick(n);
                continue;
            }
            n->paused_poll_at = now + PAUSED_POLL_MS;
        }
        int st = d->poll(n->ctx, (int)wait_budget(n));
        mf_source_finish_poll(n);
        maybe_tick(n);
        switch (st) {
        case MF_OK:
            attempt = 0;
            break;
        case MF_EOF:
            eof = true;
            mf_node_log(n, MF_LOG_INFO, "end of input");
            break;
        case MF_RETRY:
            mf_metric_add(n->g->m_retries, 1);
            if (n->g->retry_max && attempt >= (unsigned)n->g->retry_max) {
                mf_runtime_fail(rt, n, "poll kept failing (retry_max reached)");
                eof = true;
                break;
            }
            backoff_sleep(n, attempt++);
            break;
        default:
            mf_runtime_fail(rt, n, "poll failed");
            eof = true;
            break;
        }
    }
    if (n->paused && d->resume)
        d->resume(n->ctx);
    mf_node_flush_all(n);
    bool end = eof && !atomic_load(&rt->stopping) && !atomic_load(&rt->failed);
    mf_node_broadcast(n, MF_MSG_EOS, end ? 1 : 0);
    n->ended = true;

    /* Deliver acks until everything read is acknowledged, or every sink is done
     * (what is still unacknowledged is held and will be read again next run).
     * Ticks go on, so a plugin can keep its client alive (a Kafka consumer
     * must poll within max.poll.interval.ms). */
    for (;;) {
        mf_source_service(n);
        maybe_tick(n);
        if (mf_ack_tracker_outstanding(n->tracker) == 0)
            break;
        if (atomic_load(&rt->sinks_done)) {
            mf_ack_tracker_drain(n->tracker, mf_source_deliver_ack, n);
            uint64_t left = mf_ack_tracker_outstanding(n->tracker);
            if (left)
                mf_node_log(n, MF_LOG_INFO, "%llu poll batches stay unacknowledged (held or not delivered)",
                            (unsigned long long)left);
            break;
        }
        mf_ack_tracker_wait(n->tracker, (int)wait_budget(n));
    }
    if (d->stop)
        d->stop(n->ctx, mf_time_mono_ms() + rt->settings->grace_ms);
    atomic_store(&n->finished, true);
    atomic_fetch_sub(&rt->threads_running, 1);
    mf_runtime_wake(rt);
    return NULL;
}

/* ---- transforms and sinks ----------------------------------------------------------- */

static void reject_all(mf_node *n, mf_batch_impl *b)
{
    for (size_t i = 0; i < b->pub.count; i++)
        n->rt->host.reject(n, &b->pub.records[i], "rejected by plugin %s (whole batch)", n->g->desc->name);
}

/* Process one batch; returns false if the node failed (the batch must then be
 * abandoned, not acknowledged). */
static bool process_batch(mf_node *n, mf_batch_impl *b)
{
    const mf_plugin_desc *d = n->g->desc;
    mf_runtime *rt = n->rt;
    mf_metric_add(n->g->m_in, (double)b->pub.count);
    for (unsigned attempt = 0;; attempt++) {
        int st = d->process(n->ctx, &b->pub);
        switch (st) {
        case MF_OK:
            mf_node_flush_all(n);
            return true;
        case MF_REJECT:
            reject_all(n, b);
            mf_node_flush_all(n);
            return true;
        case MF_RETRY:
            mf_metric_add(n->g->m_retries, 1);
            if (n->g->retry_max && attempt >= (unsigned)n->g->retry_max) {
                mf_runtime_fail(rt, n, "batch kept failing (retry_max reached)");
                return false;
            }
            if (attempt == 0 || attempt % 10 == 0)
                mf_node_log(n, MF_LOG_WARN, "batch of %zu records failed; retrying (attempt %u)", b->pub.count,
                            attempt + 1);
            backoff_sleep(n, attempt);
            break;
        default:
            mf_runtime_fail(rt, n, "processing a batch failed");
            return false;
        }
    }
}

static int producer_index(const mf_node *n, int from)
{
    for (size_t i = 0; i < n->n_producers; i++)
        if (n->producers[i] == from)
            return (int)i;
    return -1;
}

static bool barrier_aligned(const mf_node *n, uint64_t id)
{
    for (size_t i = 0; i < n->n_producers; i++)
        if (!n->eos_from[i] && n->barrier_from[i] < id)
            return false;
    return true;
}

static void complete_barrier(mf_node *n, uint64_t id)
{
    const mf_plugin_desc *d = n->g->desc;
    if (id <= n->barrier_done)
        return;
    n->barrier_done = id;
    if (d->flush && d->flush(n->ctx, MF_FLUSH_CHECKPOINT) == MF_FATAL)
        mf_runtime_fail(n->rt, n, "checkpoint flush failed");
    mf_node_flush_all(n);
    /* Forward the barrier (a sink too: its errors port may feed another sink). */
    mf_node_broadcast(n, MF_MSG_BARRIER, id);
    if (n->g->def->kind == MF_KIND_SINK) {
        atomic_store(&n->sink_checkpoint, id);
        mf_runtime_wake(n->rt);
    }
}

void *mf_worker_thread(void *arg)
{
    mf_node *n = arg;
    mf_runtime *rt = n->rt;
    const mf_plugin_desc *d = n->g->desc;
    bool failed = false;
    uint64_t pending_barrier = 0;

    while (n->eos_count < n->n_producers) {
        maybe_commit(n);
        maybe_tick(n);
        mf_msg m;
        if (!mf_queue_pop(n->inq, &m, wait_budget(n)))
            continue;
        int p = producer_index(n, m.from);
        switch (m.type) {
        case MF_MSG_BATCH:
            if (failed || atomic_load(&rt->failed)) {
                /* Keep draining so upstream never blocks, but acknowledge
                 * nothing: the data was not handled. */
                mf_batch_free(m.batch, false);
                break;
            }
            if (!process_batch(n, m.batch)) {
                failed = true;
                mf_batch_free(m.batch, false);
                break;
            }
            mf_batch_free(m.batch, true);
            break;
        case MF_MSG_BARRIER:
            if (p >= 0 && m.arg > n->barrier_from[p])
                n->barrier_from[p] = m.arg;
            if (m.arg > pending_barrier)
                pending_barrier = m.arg;
            break;
        case MF_MSG_EOS:
            if (p >= 0 && !n->eos_from[p]) {
                n->eos_from[p] = true;
                n->eos_count++;
                if (m.arg == 0)
                    n->eos_stop = true;
            }
            break;
        }
        if (pending_barrier > n->barrier_done && barrier_aligned(n, pending_barrier) && !failed)
            complete_barrier(n, pending_barrier);
    }

    if (!failed) {
        bool end = !n->eos_stop && !atomic_load(&rt->failed);
        if (d->flush && d->flush(n->ctx, end ? MF_FLUSH_END : MF_FLUSH_STOP) == MF_FATAL)
            mf_runtime_fail(rt, n, "final flush failed");
        mf_node_flush_all(n);
    }
    if (d->stop)
        d->stop(n->ctx, mf_time_mono_ms() + rt->settings->grace_ms);
    mf_node_flush_all(n);
    mf_node_broadcast(n, MF_MSG_EOS, (n->eos_stop || failed) ? 0 : 1);
    atomic_store(&n->finished, true);
    atomic_fetch_sub(&rt->threads_running, 1);
    mf_runtime_wake(rt);
    return NULL;
}
