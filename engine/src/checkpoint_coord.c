/*
 * checkpoint_coord.c — checkpoint barriers: the coordinator (run on the main
 * thread) that requests checkpoint N and decides when it is complete, and the
 * worker side of the protocol: a source injects barrier N, a transform or sink
 * aligns it across its producers, flushes and forwards it, and every node
 * learns that N completed (commit).
 *
 * The lifecycle every durability decision builds on (docs/architecture.md,
 * "One notion of durable"): positions are taken at barrier N, and are durable
 * — committed — only once checkpoint N completes. Where no checkpoint store is
 * configured, a source's acknowledged watermark is its position (what every
 * sink made durable); commit(N) then tells it that all sinks flushed what came
 * before barrier N.
 */
#include "log.h"
#include "runtime_internal.h"

void mf_checkpoint_coordinate(mf_runtime *rt, int64_t now, int64_t *next_at)
{
    if (rt->settings->checkpoint_ms <= 0)
        return;
    if (atomic_load(&rt->stopping)) {
        mf_savepoint_abort(rt, "the pipeline is stopping", false);
        return;
    }
    uint64_t req = atomic_load(&rt->checkpoint_requested);
    uint64_t done = atomic_load(&rt->checkpoint_finished);
    if (req == done) {
        /* a savepoint asked for is the next barrier, whatever the interval */
        bool savepoint = mf_savepoint_start(rt, req + 1);
        if (savepoint || now >= *next_at) {
            rt->ckpt_started_ms = now;
            atomic_store(&rt->checkpoint_requested, req + 1);
        }
        return;
    }
    for (size_t i = 0; i < rt->n_workers; i++) {
        mf_node *n = rt->workers[i];
        if (n->g->def->kind == MF_KIND_SINK && !atomic_load(&n->finished) && atomic_load(&n->sink_checkpoint) < req)
            return;
    }
    /* With a store, N is complete once its snapshots are stored; a failed
     * one is not committed (positions of N are not durable), and the next
     * one is requested as usual. A savepoint is stored in its own location
     * and committed like a checkpoint. */
    bool savepoint = rt->sp_barrier == req;
    bool durable = savepoint ? mf_savepoint_store(rt, req) : !rt->ckpt || mf_checkpoint_store(rt, req);
    if (durable) {
        atomic_store(&rt->checkpoint_committed, req);
        if (!savepoint)
            mf_metric_add(rt->m_checkpoints, 1);
        mf_log_debug("checkpoint %llu complete", (unsigned long long)(rt->ckpt_base + req));
    }
    atomic_store(&rt->checkpoint_finished, req);
    if (savepoint)
        mf_savepoint_done(rt);
    *next_at = mf_time_mono_ms() + rt->settings->checkpoint_ms;
}

void mf_checkpoint_maybe_commit(mf_node *n)
{
    uint64_t c = atomic_load(&n->rt->checkpoint_committed);
    if (c > n->committed_seen) {
        n->committed_seen = c;
        /* (a source may be inside poll()'s ack_wait here: its loop ends
         * the callback arena, not this) */
        if (n->g->desc->commit && n->g->desc->commit(n->ctx, c) == MF_FATAL)
            mf_runtime_fail(n->rt, n, "commit of a checkpoint failed");
    }
}

void mf_checkpoint_source_barrier(mf_node *n)
{
    uint64_t want = atomic_load(&n->rt->checkpoint_requested);
    /* Inside poll() (ack_wait) the plugin is mid-callback: its snapshot
     * waits until poll() returns. */
    if (!n->ended && want > n->barrier_sent && !(n->in_poll && n->rt->ckpt && n->g->desc->snapshot)) {
        mf_node_flush_all(n);
        /* the position at barrier N: everything emitted so far, no more */
        mf_checkpoint_take_snapshot(n, want);
        mf_node_broadcast(n, MF_MSG_BARRIER, want);
        n->barrier_sent = want;
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
    n->barrier_done = id;
    if (d->flush) {
        int st = d->flush(n->ctx, MF_FLUSH_CHECKPOINT);
        mf_node_callback_done(n);
        if (st == MF_FATAL)
            mf_runtime_fail(n->rt, n, "checkpoint flush failed");
    }
    mf_node_flush_all(n);
    /* The state after exactly the records before barrier N (aligned). */
    mf_checkpoint_take_snapshot(n, id);
    n->stash_ready = true;
    /* Forward the barrier (a sink too: its errors port may feed another sink). */
    mf_node_broadcast(n, MF_MSG_BARRIER, id);
    if (n->g->def->kind == MF_KIND_SINK) {
        atomic_store(&n->sink_checkpoint, id);
        mf_runtime_wake(n->rt);
    }
}

void mf_checkpoint_barrier_from(mf_node *n, int from, uint64_t id)
{
    int p = producer_index(n, from);
    if (p >= 0 && id > n->barrier_from[p])
        n->barrier_from[p] = id;
    if (id > n->barrier_pending)
        n->barrier_pending = id;
}

bool mf_checkpoint_must_wait(const mf_node *n, int from)
{
    if (!n->aligns || n->barrier_pending <= n->barrier_done)
        return false;
    int p = producer_index(n, from);
    return p >= 0 && n->barrier_from[p] > n->barrier_done;
}

int mf_checkpoint_producer_index(const mf_node *n, int from)
{
    return producer_index(n, from);
}

void mf_checkpoint_try_complete(mf_node *n)
{
    if (n->barrier_pending > n->barrier_done && barrier_aligned(n, n->barrier_pending))
        complete_barrier(n, n->barrier_pending);
}
