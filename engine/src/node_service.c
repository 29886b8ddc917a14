/*
 * node_service.c — what every worker thread does besides its main callback,
 * shared by the source loop (source_loop.c) and the transform/sink loop
 * (worker_loop.c): ticks, how long to wait for input, retry scheduling, the
 * end of a plugin callback, and stopping the plugin.
 */
#include "backoff.h"
#include "log.h"
#include "runtime_internal.h"

#define IDLE_WAIT_MS 100

void mf_node_callback_done(mf_node *n)
{
    /* Values record_value() serialised for stack records during the callback
     * were promised until it returned; they may go now. */
    if (n->cb_arena) {
        mf_batch_free(n->cb_arena, false);
        n->cb_arena = NULL;
    }
}

void mf_node_maybe_tick(mf_node *n)
{
    if (!n->tick_ms || !n->g->desc->tick)
        return;
    int64_t now = mf_time_mono_ms();
    if (now < n->next_tick)
        return;
    n->next_tick = now + n->tick_ms;
    int st = n->g->desc->tick(n->ctx);
    mf_node_callback_done(n);
    mf_node_flush_all(n);
    if (st == MF_FATAL)
        mf_runtime_fail(n->rt, n, "tick failed");
}

int64_t mf_node_wait_budget(const mf_node *n)
{
    int64_t budget = IDLE_WAIT_MS;
    if (n->tick_ms) {
        int64_t until = n->next_tick - mf_time_mono_ms();
        if (until < budget)
            budget = until < 0 ? 0 : until;
    }
    return budget;
}

int64_t mf_node_retry_at(mf_node *n, unsigned attempt)
{
    mf_metric_add(n->g->m_retries, 1);
    return mf_time_mono_ms() + mf_backoff_delay_ms(attempt, n->g->retry_base_ms, n->g->retry_cap_ms, &n->rng);
}

bool mf_node_retries_exhausted(const mf_node *n, unsigned attempt)
{
    return n->g->retry_max && attempt >= (unsigned)n->g->retry_max;
}

void mf_node_stop(mf_node *n)
{
    if (n->stopped || !n->started)
        return;
    n->stopped = true;
    if (n->g->desc->stop)
        n->g->desc->stop(n->ctx, mf_runtime_deadline(n->rt));
    mf_node_callback_done(n);
}
