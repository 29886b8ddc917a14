/*
 * worker_loop.c — the loop of a transform or sink worker thread.
 *
 * Pop a message; a batch is processed, a barrier is aligned across all
 * producers and then flushes the node (MF_FLUSH_CHECKPOINT), end-of-stream
 * from every producer flushes it for good (MF_FLUSH_END or MF_FLUSH_STOP) and
 * ends the thread.
 *
 * A batch that fails with MF_RETRY stays with the worker and is tried again
 * at its retry time; the output of the failed attempt is dropped (route.c), so
 * a retry emits nothing twice. Meanwhile the worker does not take further
 * input (records keep their order, and a barrier behind the batch waits for
 * it), but it keeps ticking, hears of completed checkpoints and notices
 * shutdown at once: when the pipeline stops, the batch gets one last attempt
 * without waiting, and if that fails too it is abandoned unacknowledged (read
 * again on the next run), with everything queued behind it.
 */
#include <string.h>

#include "log.h"
#include "runtime_internal.h"

static void reject_all(mf_node *n, mf_batch_impl *b)
{
    for (size_t i = 0; i < b->pub.count; i++)
        n->rt->host.reject(n, &b->pub.records[i], "rejected by plugin %s (whole batch)", n->g->desc->name);
}

/* One attempt at a batch; its output goes downstream only if it succeeded. */
static int attempt(mf_node *n, mf_batch_impl *b)
{
    mf_node_begin_hold(n);
    int st = n->g->desc->process(n->ctx, &b->pub);
    mf_node_callback_done(n);
    if (n->hold_overflow && st != MF_FATAL) {
        mf_node_end_hold(n, false, b);
        mf_runtime_fail(n->rt, n, "a process() call emitted more than the held-output bound");
        return MF_FATAL;
    }
    switch (st) {
    case MF_OK:
        mf_node_end_hold(n, true, b);
        return MF_OK;
    case MF_REJECT:
        /* The whole batch is bad: what it emitted before saying so goes too. */
        mf_node_end_hold(n, false, b);
        reject_all(n, b);
        mf_node_flush_all(n);
        return MF_OK;
    case MF_RETRY:
        mf_node_end_hold(n, false, b);
        return MF_RETRY;
    default:
        mf_node_end_hold(n, false, b);
        mf_runtime_fail(n->rt, n, "processing a batch failed");
        return MF_FATAL;
    }
}

/* After an attempt: acknowledge, schedule the next try, or give up. */
static void settle(mf_node *n, mf_batch_impl *b, int st)
{
    mf_runtime *rt = n->rt;
    struct mf_retry *r = &n->retry;
    if (st == MF_OK) {
        mf_batch_free(b, true);
        r->batch = NULL;
        return;
    }
    if (st == MF_RETRY && atomic_load(&rt->stopping) && r->batch) {
        mf_node_log(n, MF_LOG_WARN,
                    "shutting down with a batch of %zu records still failing: it and what is queued behind it "
                    "stay unacknowledged and are read again on the next run",
                    b->pub.count);
        st = MF_FATAL;
        n->abandoning = true;
    } else if (st == MF_RETRY && mf_node_retries_exhausted(n, r->attempt)) {
        mf_runtime_fail(rt, n, "batch kept failing (retry_max reached)");
        st = MF_FATAL;
    }
    if (st != MF_RETRY) {
        if (!n->abandoning)
            n->failed = true;
        mf_batch_free(b, false); /* not handled: never acknowledged */
        r->batch = NULL;
        return;
    }
    if (r->attempt == 0 || r->attempt % 10 == 0)
        mf_node_log(n, MF_LOG_WARN, "batch of %zu records failed; retrying (attempt %u)", b->pub.count,
                    r->attempt + 1);
    r->batch = b;
    r->at = mf_node_retry_at(n, r->attempt);
    r->attempt++;
}

static void start_batch(mf_node *n, mf_batch_impl *b)
{
    mf_metric_add(n->g->m_in, (double)b->pub.count);
    n->retry.attempt = 0;
    settle(n, b, attempt(n, b));
}

/* A batch is waiting for its retry time: wait for it (or for shutdown), then
 * try again. */
static void serve_retry(mf_node *n)
{
    mf_runtime *rt = n->rt;
    mf_batch_impl *b = n->retry.batch;
    if (atomic_load(&rt->failed)) {
        mf_batch_free(b, false);
        n->retry.batch = NULL;
        return;
    }
    int64_t now = mf_time_mono_ms();
    if (!atomic_load(&rt->stopping) && now < n->retry.at) {
        int64_t wait = n->retry.at - now, budget = mf_node_wait_budget(n);
        mf_runtime_wait_stopping(rt, wait < budget ? wait : budget);
        return;
    }
    settle(n, b, attempt(n, b));
}

static void on_eos(mf_node *n, int from, uint64_t arg)
{
    int p = mf_checkpoint_producer_index(n, from);
    if (p >= 0 && !n->eos_from[p]) {
        n->eos_from[p] = true;
        n->eos_count++;
        if (arg == 0)
            n->eos_stop = true;
    }
}

static void handle(mf_node *n, mf_msg *m)
{
    mf_runtime *rt = n->rt;
    switch (m->type) {
    case MF_MSG_BATCH:
        if (n->failed || n->abandoning || atomic_load(&rt->failed)) {
            /* Keep draining so upstream never blocks, but acknowledge
             * nothing: the data was not handled. */
            mf_batch_free(m->batch, false);
            break;
        }
        start_batch(n, m->batch);
        break;
    case MF_MSG_BARRIER:
        mf_checkpoint_barrier_from(n, m->from, m->arg);
        break;
    case MF_MSG_EOS:
        on_eos(n, m->from, m->arg);
        break;
    }
    /* A barrier behind a failing batch waits for it: the checkpoint
     * covers the records before the barrier. */
    if (!n->failed && !n->abandoning && !n->retry.batch)
        mf_checkpoint_try_complete(n);
}

static void stash(mf_node *n, const mf_msg *m)
{
    if (n->n_stash == n->cap_stash) {
        n->cap_stash = n->cap_stash ? 2 * n->cap_stash : 16;
        n->stash = mf_xrealloc(n->stash, n->cap_stash * sizeof *n->stash);
    }
    n->stash[n->n_stash++] = *m;
}

/* After a barrier completed: handle, in their order, the stashed messages
 * whose producer is no longer held back (a later barrier may hold some of
 * them again). Stops at a batch left to retry. */
static void serve_stash(mf_node *n)
{
    while (n->stash_ready && !n->retry.batch) {
        n->stash_ready = false;
        size_t keep = 0, i = 0;
        for (; i < n->n_stash && !n->retry.batch; i++) {
            mf_msg m = n->stash[i];
            if (mf_checkpoint_must_wait(n, m.from))
                n->stash[keep++] = m;
            else
                handle(n, &m);
        }
        if (i < n->n_stash)
            n->stash_ready = true; /* stopped at a retry: the rest after it */
        memmove(n->stash + keep, n->stash + i, (n->n_stash - i) * sizeof *n->stash);
        n->n_stash = keep + (n->n_stash - i);
    }
}

void *mf_worker_thread(void *arg)
{
    mf_node *n = arg;
    mf_runtime *rt = n->rt;
    const mf_plugin_desc *d = n->g->desc;

    while (n->eos_count < n->n_producers) {
        mf_checkpoint_maybe_commit(n);
        mf_node_callback_done(n);
        mf_node_maybe_tick(n);
        if (n->retry.batch) {
            serve_retry(n);
            if (!n->retry.batch && !n->failed && !n->abandoning)
                mf_checkpoint_try_complete(n);
            continue;
        }
        if (n->n_stash && n->stash_ready) {
            serve_stash(n);
            continue;
        }
        n->stash_ready = false;
        mf_msg m;
        if (!mf_queue_pop(n->inq, &m, mf_node_wait_budget(n)))
            continue;
        /* Aligned barriers: what a producer sent after the barrier being
         * aligned waits until it arrived from every producer. */
        if (mf_checkpoint_must_wait(n, m.from))
            stash(n, &m);
        else
            handle(n, &m);
    }

    if (!n->failed) {
        bool end = !n->eos_stop && !n->abandoning && !atomic_load(&rt->failed);
        if (d->flush) {
            int st = d->flush(n->ctx, end ? MF_FLUSH_END : MF_FLUSH_STOP);
            mf_node_callback_done(n);
            if (st == MF_FATAL)
                mf_runtime_fail(rt, n, "final flush failed");
        }
        mf_node_flush_all(n);
        /* its state at the end, for the checkpoints the rest of the graph
         * still takes (a barrier no longer reaches it) */
        if (end && !n->failed)
            mf_checkpoint_take_snapshot(n, MF_SNAP_FINAL);
    }
    mf_node_stop(n);
    mf_node_flush_all(n);
    mf_node_broadcast(n, MF_MSG_EOS, (n->eos_stop || n->failed || n->abandoning) ? 0 : 1);
    atomic_store(&n->finished, true);
    atomic_fetch_sub(&rt->threads_running, 1);
    mf_runtime_wake(rt);
    return NULL;
}
