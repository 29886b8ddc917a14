/*
 * source_loop.c — the loop of a source worker thread.
 *
 * Deliver completed acks, inject a checkpoint barrier when one is due, pause
 * the plugin while downstream is full (it is still polled every
 * PAUSED_POLL_MS, so a Kafka consumer stays in its group, and in between the
 * thread waits for downstream to drain), poll, push what was emitted. A poll
 * that fails with MF_RETRY is tried again at its retry time, and until then
 * the thread goes on serving acks, barriers and ticks. At the end (input
 * exhausted, shutdown, failure) it sends end-of-stream downstream and keeps
 * delivering acks until everything it read is acknowledged or the sinks are
 * done, then stops the plugin.
 */
#include <string.h>

#include "log.h"
#include "runtime_internal.h"

/* A paused source is polled this often (a Kafka consumer must keep polling to
 * stay in its group); in between its thread sleeps until downstream drains. */
#define PAUSED_POLL_MS 20

void mf_source_deliver_ack(void *arg, void *cookie)
{
    mf_node *n = arg;
    if (n->g->desc->ack)
        n->g->desc->ack(n->ctx, cookie);
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
 * checkpoint barrier. (Inside ack_wait this runs within poll(), so the
 * callbacks it makes leave the per-callback arena to the end of poll().) */
void mf_source_service(mf_node *n)
{
    mf_ack_tracker_drain(n->tracker, mf_source_deliver_ack, n);
    mf_checkpoint_maybe_commit(n);
    mf_checkpoint_source_barrier(n);
}

/* service() from the thread's own loop, outside any plugin callback. */
static void serve(mf_node *n)
{
    mf_source_service(n);
    mf_node_callback_done(n);
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

/* Pause or resume the plugin by downstream's fill; true while the thread
 * should wait rather than poll. */
static bool paused_wait(mf_node *n)
{
    const mf_plugin_desc *d = n->g->desc;
    if (d->pause && !n->paused && downstream_full(n)) {
        if (d->pause(n->ctx) == MF_OK) {
            n->paused = true;
            n->paused_poll_at = mf_time_mono_ms() + PAUSED_POLL_MS;
            mf_node_log(n, MF_LOG_DEBUG, "downstream full: paused");
        }
        mf_node_callback_done(n);
    } else if (n->paused && downstream_drained(n)) {
        if (!d->resume || d->resume(n->ctx) == MF_OK) {
            n->paused = false;
            mf_node_log(n, MF_LOG_DEBUG, "downstream has room: resumed");
        }
        mf_node_callback_done(n);
    }
    if (!n->paused)
        return false;
    int64_t now = mf_time_mono_ms();
    if (now >= n->paused_poll_at) {
        n->paused_poll_at = now + PAUSED_POLL_MS;
        return false;
    }
    int64_t until = now + mf_node_wait_budget(n);
    wait_drained(n, until < n->paused_poll_at ? until : n->paused_poll_at);
    mf_node_maybe_tick(n);
    return true;
}

/* Poll once; false once the source has no more to read (end, failure). */
static bool poll_once(mf_node *n)
{
    mf_runtime *rt = n->rt;
    n->in_poll = true;
    int st = n->g->desc->poll(n->ctx, (int)mf_node_wait_budget(n));
    n->in_poll = false;
    mf_node_callback_done(n);
    mf_source_finish_poll(n);
    mf_node_maybe_tick(n);
    switch (st) {
    case MF_OK:
        n->retry.attempt = 0;
        return true;
    case MF_EOF:
        mf_node_log(n, MF_LOG_INFO, "end of input");
        n->eof = true;
        return false;
    case MF_RETRY:
        if (mf_node_retries_exhausted(n, n->retry.attempt)) {
            mf_runtime_fail(rt, n, "poll kept failing (retry_max reached)");
            return false;
        }
        n->retry.at = mf_node_retry_at(n, n->retry.attempt++);
        return true;
    default:
        mf_runtime_fail(rt, n, "poll failed");
        return false;
    }
}

/* A source with `after: [...]` reads only once those sources have sent their
 * end of stream: what they emitted is in every downstream queue before its
 * first record (the GCA snapshot before the gca-cfg topic that continues it). */
static bool after_done(mf_node *n)
{
    if (n->after_done)
        return true;
    const mf_strlist *after = &n->g->def->keys.after;
    mf_runtime *rt = n->rt;
    for (size_t i = 0; i < after->count; i++)
        for (size_t w = 0; w < rt->n_workers; w++) {
            mf_node *o = rt->workers[w];
            if (o->g->def->kind == MF_KIND_SOURCE && strcmp(o->g->def->name, after->items[i]) == 0 &&
                !atomic_load(&o->input_ended))
                return false;
        }
    n->after_done = true;
    if (after->count)
        mf_node_log(n, MF_LOG_INFO, "the sources it waits for (after) have ended: reading");
    return true;
}

void *mf_source_thread(void *arg)
{
    mf_node *n = arg;
    mf_runtime *rt = n->rt;
    const mf_plugin_desc *d = n->g->desc;

    while (!atomic_load(&rt->stopping)) {
        serve(n);
        int64_t now = mf_time_mono_ms();
        if (n->retry.at > now) {
            /* Backing off after a failed poll: acks and barriers go on; the
             * tracker's wait also ends when the pipeline stops. */
            mf_node_maybe_tick(n);
            int64_t wait = n->retry.at - now, budget = mf_node_wait_budget(n);
            mf_ack_tracker_wait(n->tracker, (int)(wait < budget ? wait : budget));
            continue;
        }
        if (mf_savepoint_holds(n)) {
            /* behind the barrier of a savepoint that stops the pipeline:
             * nothing more is read until it is stored (then the pipeline
             * stops) or failed (then reading goes on) */
            mf_node_maybe_tick(n);
            int64_t budget = mf_node_wait_budget(n);
            mf_ack_tracker_wait(n->tracker, (int)(budget < 10 ? budget : 10));
            continue;
        }
        if (!after_done(n)) {
            mf_node_maybe_tick(n);
            int64_t budget = mf_node_wait_budget(n);
            mf_ack_tracker_wait(n->tracker, (int)(budget < 10 ? budget : 10));
            continue;
        }
        if (paused_wait(n))
            continue;
        if (!poll_once(n))
            break;
    }
    if (n->paused && d->resume) {
        d->resume(n->ctx);
        mf_node_callback_done(n);
    }
    mf_node_flush_all(n);
    bool end = n->eof && !atomic_load(&rt->stopping) && !atomic_load(&rt->failed);
    if (end)
        mf_checkpoint_take_snapshot(n, MF_SNAP_FINAL); /* its position at the end, for later checkpoints */
    mf_node_broadcast(n, MF_MSG_EOS, end ? 1 : 0);
    n->ended = true;
    atomic_store(&n->input_ended, true);

    /* Deliver acks until everything read is acknowledged, or every sink is done
     * (what is still unacknowledged is held and will be read again next run).
     * Ticks go on, so a plugin can keep its client alive (a Kafka consumer
     * must poll within max.poll.interval.ms). */
    for (;;) {
        serve(n);
        mf_node_maybe_tick(n);
        if (mf_ack_tracker_outstanding(n->tracker) == 0)
            break;
        if (atomic_load(&rt->sinks_done)) {
            mf_ack_tracker_drain(n->tracker, mf_source_deliver_ack, n);
            mf_node_callback_done(n);
            uint64_t left = mf_ack_tracker_outstanding(n->tracker);
            if (left)
                mf_node_log(n, MF_LOG_INFO, "%llu poll batches stay unacknowledged (held or not delivered)",
                            (unsigned long long)left);
            break;
        }
        mf_ack_tracker_wait(n->tracker, (int)mf_node_wait_budget(n));
    }
    mf_node_stop(n);
    atomic_store(&n->finished, true);
    atomic_fetch_sub(&rt->threads_running, 1);
    mf_runtime_wake(rt);
    return NULL;
}
