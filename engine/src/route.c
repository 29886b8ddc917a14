/*
 * route.c — the output path behind host->emit: per-port staging batches,
 * fan-out to several consumers, routing by key group into parallel workers
 * (or to all of them: broadcast inputs),
 * what happens to output nobody consumes, and the output a process() call
 * holds back until it has succeeded.
 *
 * Held output: a transform or sink that emits and then returns MF_RETRY would
 * otherwise have its first attempt's records sent downstream and emitted again
 * on the retry. So during process() full staging batches are queued on the
 * node instead of pushed; they go downstream, in emit order, when process()
 * succeeds; when it fails, what was derived from the batch's own records is
 * dropped (drop_attempt_output says what else goes on). A plugin that emits more than
 * hold_limit bytes from one input batch fails the node rather than breaking
 * the bound on memory.
 */
#include <martflow/helpers.h>
#include <martflow/keyed.h>

#include "log.h"
#include "record.h"
#include "runtime_internal.h"

static bool staging_full(const mf_node *n, const mf_batch_impl *b)
{
    const mf_settings *s = n->rt->settings;
    return b->pub.count >= (size_t)s->batch_records || b->pub.bytes >= s->batch_bytes;
}

static void push(mf_node *n, mf_node *to, mf_batch_impl *b)
{
    b->from = n->id; /* host->record_stream */
    mf_msg m = {.type = MF_MSG_BATCH, .from = n->id, .batch = b};
    mf_queue_push(to->inq, &m, -1); /* blocks while the queue is full: backpressure */
}

static mf_batch_impl *clone_batch(mf_batch_impl *b)
{
    mf_batch_impl *c = mf_batch_new();
    for (size_t i = 0; i < b->pub.count; i++) {
        mf_record *r = &b->pub.records[i];
        if (r->ack)
            mf_ack_ref(r->ack, 1);
        mf_batch_append(c, r, r->ack);
    }
    return c;
}

/* Split a batch over the workers of a parallel consumer by key group, so a
 * key always reaches the worker that owns its group (per-key state and
 * order); key-less records go round-robin. The counter is this producer
 * worker's own: workers of a parallel producer never share it. */
static void route_parallel(mf_node *n, mf_group *c, mf_batch_impl *b)
{
    mf_batch_impl *parts[256] = {0};
    int nw = c->n_workers;
    for (size_t i = 0; i < b->pub.count; i++) {
        mf_record *r = &b->pub.records[i];
        int idx = (r->flags & MF_RECORD_KEY_NULL)
                      ? (int)(n->rr++ % (uint64_t)nw)
                      : mf_key_group_worker(mf_key_group(r->key, r->key_len), nw);
        if (!parts[idx])
            parts[idx] = mf_batch_new();
        if (r->ack)
            mf_ack_ref(r->ack, 1);
        mf_batch_append(parts[idx], r, r->ack);
    }
    mf_batch_free(b, true);
    for (int i = 0; i < nw; i++)
        if (parts[i])
            push(n, c->workers[i], parts[i]);
}

/* A broadcast input (the consumer's `broadcast` key): every worker gets the
 * whole batch, each copy holding its own reference on the records' acks, so
 * a source record is acknowledged once every worker has handled it. */
static void route_broadcast(mf_node *n, mf_group *c, mf_batch_impl *b)
{
    for (int i = 0; i < c->n_workers; i++)
        push(n, c->workers[i], i + 1 == c->n_workers ? b : clone_batch(b));
}

/* Output that no node consumes. Rejects are logged and make the run fail;
 * other ports are counted as dropped. Either way nothing is lost silently. */
static void unwired(mf_node *n, int port, mf_batch_impl *b)
{
    mf_group *g = n->g;
    if (port == MF_PORT_ERRORS) {
        for (size_t i = 0; i < b->pub.count; i++) {
            const mf_header *h = mf_rec_header(&b->pub.records[i], MF_HEADER_ERROR);
            mf_node_log(n, MF_LOG_WARN, "rejected record (no errors port wired): %.*s", h ? (int)h->value_len : 0,
                        h ? (const char *)h->value : "");
        }
        mf_metric_add(g->m_unhandled, (double)b->pub.count);
        atomic_fetch_add(&n->rt->unhandled_rejects, b->pub.count);
    } else {
        mf_node_log(n, MF_LOG_WARN, "output port '%s' is not wired: %zu records dropped", g->def->ports[port],
                    b->pub.count);
        mf_metric_add(g->m_dropped, (double)b->pub.count);
    }
    mf_batch_free(b, true);
}

/* Send one batch of `port` downstream (or count it as unwired). */
static void deliver(mf_node *n, int port, mf_batch_impl *b)
{
    struct mf_port_wiring *w = &n->g->ports[port];
    mf_metric_add(n->g->m_out, (double)b->pub.count);
    mf_metric_add(n->g->m_batches, 1);
    if (port == MF_PORT_ERRORS)
        mf_metric_add(n->g->m_rejected, (double)b->pub.count);
    if (w->n == 0) {
        unwired(n, port, b);
        return;
    }
    for (size_t i = 0; i < w->n; i++) {
        mf_group *c = w->consumers[i];
        mf_batch_impl *mine = (i + 1 == w->n) ? b : clone_batch(b);
        if (c->n_workers == 1)
            push(n, c->workers[0], mine);
        else if (w->broadcast[i])
            route_broadcast(n, c, mine);
        else
            route_parallel(n, c, mine);
    }
}

static void hold(mf_node *n, int port, mf_batch_impl *b)
{
    struct mf_held *h = &n->held[port];
    if (n->hold_overflow) {
        /* The node fails when the call returns: keep memory bounded until
         * then. Nothing of this is acknowledged (the run fails). */
        mf_batch_free(b, false);
        return;
    }
    b->next_free = NULL;
    if (h->tail)
        h->tail->next_free = b;
    else
        h->head = b;
    h->tail = b;
    n->held_bytes += b->pub.bytes;
    if (n->held_bytes > n->hold_limit && !n->hold_overflow) {
        n->hold_overflow = true;
        mf_node_log(n, MF_LOG_ERROR,
                    "one process() call emitted more than %zu bytes; its output is held until it returns "
                    "(so a retry cannot emit it twice) and this is the bound",
                    n->hold_limit);
    }
}

void mf_node_staged(mf_node *n, int port)
{
    mf_batch_impl *b = n->staging[port];
    if (!staging_full(n, b))
        return;
    n->staging[port] = NULL;
    if (n->holding)
        hold(n, port, b);
    else
        deliver(n, port, b);
}

void mf_node_flush_port(mf_node *n, int port)
{
    struct mf_held *h = &n->held[port];
    while (h->head) {
        mf_batch_impl *b = h->head;
        h->head = b->next_free;
        b->next_free = NULL;
        deliver(n, port, b);
    }
    h->tail = NULL;
    mf_batch_impl *b = n->staging[port];
    if (!b || b->pub.count == 0)
        return;
    n->staging[port] = NULL;
    deliver(n, port, b);
}

void mf_node_flush_all(mf_node *n)
{
    for (size_t p = 0; p < n->g->def->n_ports; p++)
        mf_node_flush_port(n, (int)p);
    n->held_bytes = 0;
}

void mf_node_begin_hold(mf_node *n)
{
    n->holding = true;
    n->held_bytes = 0;
    n->hold_overflow = false;
}

void mf_node_drop_output(mf_node *n, bool ack)
{
    for (size_t p = 0; p < n->g->def->n_ports; p++) {
        struct mf_held *h = &n->held[p];
        while (h->head) {
            mf_batch_impl *b = h->head;
            h->head = b->next_free;
            b->next_free = NULL;
            mf_batch_free(b, ack);
        }
        h->tail = NULL;
        mf_batch_free(n->staging[p], ack);
        n->staging[p] = NULL;
    }
    n->held_bytes = 0;
}

/* Is `a` the ack of one of the input batch's records? Runs of records share
 * an ack (a source poll, a forwarded batch), so the scan is short. */
static bool is_input_ack(const mf_batch_impl *in, const mf_ack *a)
{
    const mf_ack *last = NULL;
    for (size_t i = 0; i < in->pub.count; i++) {
        const mf_ack *x = in->pub.records[i].ack;
        if (x == last)
            continue;
        if (x == a)
            return true;
        last = x;
    }
    return false;
}

/* Split what a failed attempt staged: a record that joined one of the input
 * records' acks was derived from this batch, and the retry derives it again,
 * so it is dropped (its reference on the input's ack released; the batch
 * still holds the input). Anything else is about records outside this batch
 * (a sink rejecting an earlier record whose delivery failed, facts a
 * stateful transform built from earlier inputs): dropping it could complete
 * an ack for output that never went anywhere, so it goes downstream. */
static void drop_attempt_output(mf_batch_impl *b, const mf_batch_impl *in, mf_batch_impl **keep)
{
    for (size_t i = 0; i < b->pub.count; i++) {
        mf_record *r = &b->pub.records[i];
        if (!r->ack || is_input_ack(in, r->ack))
            continue;
        if (!*keep)
            *keep = mf_batch_new();
        mf_batch_append(*keep, r, r->ack); /* the reference moves with it */
        r->ack = NULL;
    }
    mf_batch_free(b, true);
}

void mf_node_end_hold(mf_node *n, bool keep, const mf_batch_impl *input)
{
    n->holding = false;
    if (keep) {
        mf_node_flush_all(n);
        return;
    }
    for (size_t p = 0; p < n->g->def->n_ports; p++) {
        struct mf_held *h = &n->held[p];
        mf_batch_impl *survivors = NULL;
        while (h->head) {
            mf_batch_impl *b = h->head;
            h->head = b->next_free;
            b->next_free = NULL;
            drop_attempt_output(b, input, &survivors);
        }
        h->tail = NULL;
        if (n->staging[p])
            drop_attempt_output(n->staging[p], input, &survivors);
        n->staging[p] = NULL;
        if (survivors)
            deliver(n, (int)p, survivors);
    }
    n->held_bytes = 0;
}

void mf_node_broadcast(mf_node *n, mf_msg_type type, uint64_t arg)
{
    mf_msg m = {.type = type, .from = n->id, .arg = arg};
    for (size_t i = 0; i < n->n_downstream; i++)
        mf_queue_push(n->downstream[i]->inq, &m, -1);
}
