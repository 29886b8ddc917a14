/*
 * transform outbound — voice-outbound events (CX Contact / OCS campaign
 * activity, docs/events.md §1) in, one CONTACT_ATTEMPT_FACT per dial
 * attempt out on port `attempts` (the gsp-outbound records), when the
 * attempt completes (outbound_model.h says when).
 *
 * One state per record key "{tenant}:{CampaignID}:{ChainID}" in an
 * mf_keyed. Event time drives everything, as in agentstate: the watermark
 * is, over the input streams (martflow/eventtime.h), the lowest of each
 * stream's highest event time minus max_out_of_order. A chain's events wait
 * in its queue (agent_queue.h, shared with agentstate: ordered by
 * (time, seq, id), exact duplicates refused, late ones told apart) until the
 * watermark passes them, then are applied in order to its model. A chain
 * closes `grace` after its final event, or `stuck_timeout` after its last
 * event (closed as stuck: the attempt in progress is emitted as it is).
 * The inputs of a chain stay unacknowledged until it closes (or, with a
 * checkpoint store, until a snapshot covers them). docs/plugins/outbound.md.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <martflow/eventtime.h>
#include <martflow/keyed.h>
#include <martflow/martflow.h>

#include "agent_queue.h"
#include "gsp_keyed.h"
#include "gsp_queued.h"
#include "gsp_record.h"
#include "outbound_event.h"
#include "outbound_facts.h"
#include "outbound_model.h"

enum { T_APPLY = 1, T_CLOSE = 2, T_STUCK = 3 };

/* Reject reasons besides the decoder's (below OB_REJECT_KIND_COUNT). */
enum { R_NO_KEY = OB_REJECT_KIND_COUNT, R_KEY_MISMATCH, R_LATE, R_COUNT };
static const char *const extra_reasons[] = {"no_key", "key_mismatch", "late"};

struct chain {
    gsp_queued q; /* its queue and tenant (gsp_queued.h) */
    ob_chain model;
};

GSP_MODEL_OPS(chain_model, ob_chain, ob_free, ob_save, ob_load);

struct ctx {
    int64_t max_out_of_order, idle_timeout, grace, stuck_timeout;

    const mf_host *host;
    mf_node *node;
    mf_keyed *keyed;
    gsp_keyed gk;
    gsp_queued_kind state_kind; /* the ops' arg: the state's layout and model */
    ob_decoder *decoder;
    gsp_rec writer;
    mf_buffer scratch, keybuf;
    mf_watermark *wm;
    int port;
    int64_t now;    /* monotonic ms of the batch (idle streams) */
    int64_t wm_now; /* the watermark timers fire under */
    bool ending;    /* MF_FLUSH_END: stuck timers do not fire */
    int rc;

    mf_metric *m_events, *m_chains, *m_processed, *m_attempts, *m_ignored, *m_duplicates, *m_stuck, *m_open;
    mf_metric *m_unfinished;
    mf_metric *m_rejected[R_COUNT];
};

static const mf_option options[] = {
    MF_OPTION_RANGE(MF_OPT_DURATION, "max_out_of_order", "5s", 0, struct ctx, max_out_of_order, 0, 3600000,
                    "How far behind the latest event time of its input stream an event may arrive and still be "
                    "ordered in"),
    MF_OPTION_RANGE(MF_OPT_DURATION, "idle_timeout", "30s", 0, struct ctx, idle_timeout, 0, 86400000,
                    "An input stream (upstream worker, partition) silent this long stops holding the watermark "
                    "back until it sends again; 0: never"),
    MF_OPTION_RANGE(MF_OPT_DURATION, "grace", "10s", 0, struct ctx, grace, 0, 86400000,
                    "A chain is kept this long (event time) after its final event, so that late duplicates are "
                    "still recognised"),
    MF_OPTION_RANGE(MF_OPT_DURATION, "stuck_timeout", "24h", 0, struct ctx, stuck_timeout, 1000, 2592000000LL,
                    "A chain with no event for this long (event time) is closed as stuck: the attempt in progress "
                    "is emitted as it is (call_result Unknown when none came)"),
    MF_OPTION_END,
};

static const char *const ports[] = {"attempts", NULL};

/* ---- emitting --------------------------------------------------------------------------- */

struct emit_arg {
    struct ctx *c;
    struct chain *ch;
};

static int emit_attempt(void *arg, const ob_chain *model, const ob_attempt *a)
{
    struct emit_arg *e = arg;
    struct ctx *c = e->c;
    size_t key_len;
    const uint8_t *key = mf_keyed_key(c->keyed, e->ch, &key_len);
    of_write(&c->writer, &c->scratch, (const char *)key, e->ch->q.tenant_len, model, a);
    c->host->metric_add(c->m_attempts, 1);
    int rc = gsp_rec_emit(&c->writer, c->host, c->node, c->port, key, key_len, mf_keyed_ack_group(c->keyed, e->ch));
    if (rc != MF_OK && c->rc == MF_OK)
        c->rc = rc;
    return rc;
}

static void reject(struct ctx *c, mf_record *rec, int reason, const char *text)
{
    c->host->metric_add(c->m_rejected[reason], 1);
    c->host->reject(c->node, rec, "%s", text);
}

/* ---- applying what the watermark passed --------------------------------------------------- */

static void apply_one(struct ctx *c, struct chain *ch, const aq_entry *e)
{
    /* kept as the record value only (outbound events are few): decoded again */
    mf_record rec = gsp_queued_record(c->keyed, ch, e);
    ob_event ev;
    const char *why;
    if (ob_decode(c->decoder, &rec, &ev, &why) != GSP_REJECT_NONE) { /* it decoded when it came */
        c->rc = gsp_queued_lost(c->host, c->node, why);
        return;
    }
    struct emit_arg arg = {c, ch};
    if (ob_apply(&ch->model, &ev, emit_attempt, &arg) == OB_IGNORED)
        c->host->metric_add(c->m_ignored, 1);
}

static void close_chain(struct ctx *c, struct chain *ch)
{
    c->host->metric_add(c->m_processed, 1);
    c->host->metric_add(c->m_open, -1);
    mf_keyed_remove(c->keyed, ch);
}

static int on_timer(void *arg, void *state, uint32_t id, int64_t time_ms)
{
    (void)time_ms;
    struct ctx *c = arg;
    struct chain *ch = state;
    if (id == T_STUCK && aq_first(&ch->q.queue))
        return c->rc; /* an event is due after the silence: applying it re-arms the timer */
    if (id == T_CLOSE || (id == T_STUCK && !c->ending)) {
        c->host->metric_add(c->m_ignored, ch->q.queue.n); /* events after the final one, still queued */
        if (id == T_STUCK) {
            struct emit_arg e = {c, ch};
            c->host->metric_add(c->m_stuck, 1);
            ob_close(&ch->model, false, emit_attempt, &e);
        }
        close_chain(c, ch);
        return c->rc;
    }
    if (id != T_APPLY)
        return c->rc;
    const aq_entry *e;
    while ((e = aq_first(&ch->q.queue)) && e->pos.time_ms <= c->wm_now && c->rc == MF_OK) {
        apply_one(c, ch, e);
        aq_pop(&ch->q.queue);
    }
    if ((e = aq_first(&ch->q.queue)))
        mf_keyed_timer_set(c->keyed, ch, T_APPLY, e->pos.time_ms);
    if (ch->model.final)
        mf_keyed_timer_set(c->keyed, ch, T_CLOSE, gsp_time_add(ch->model.final_ms, c->grace));
    mf_keyed_timer_set(c->keyed, ch, T_STUCK, gsp_time_add(ch->model.last_ms, c->stuck_timeout));
    return c->rc;
}

/* ---- one input event ---------------------------------------------------------------------- */

static void handle(struct ctx *c, mf_record *rec)
{
    ob_event ev;
    const char *why;
    char text[320];
    char num[24];
    c->host->metric_add(c->m_events, 1);
    int k = ob_decode(c->decoder, rec, &ev, &why);
    if (k != GSP_REJECT_NONE) {
        reject(c, rec, k, why);
        return;
    }
    c->keybuf.len = 0;
    mf_buffer_append(&c->keybuf, ev.tenant.s, ev.tenant.len);
    mf_buffer_append(&c->keybuf, ":", 1);
    mf_buffer_append(&c->keybuf, ev.campaign_id.s, ev.campaign_id.len);
    mf_buffer_append(&c->keybuf, num, (size_t)snprintf(num, sizeof num, ":%lld", (long long)ev.chain_id));
    switch (gsp_keyed_check_key(rec, &c->keybuf, "outbound", "{tenant}:{CampaignID}:{ChainID}", text, sizeof text)) {
    case GSP_KEY_NONE: reject(c, rec, R_NO_KEY, text); return;
    case GSP_KEY_MISMATCH: reject(c, rec, R_KEY_MISMATCH, text); return;
    case GSP_KEY_OK: break;
    }
    uint32_t stream = c->host->record_stream(c->node, rec);
    mf_watermark_streams(c->wm, c->host->stream_count(c->node), c->now);
    if (mf_watermark_observe(c->wm, stream, ev.time_ms, c->now))
        gsp_keyed_advance(&c->gk, c->now);
    struct chain *ch = mf_keyed_get(c->keyed, rec->key, rec->key_len);
    int64_t passed = mf_keyed_watermark(c->keyed); /* advanced to, or restored */
    if (!ch && passed != MF_TIME_UNSET && ev.time_ms <= passed) {
        /* a straggler of a chain closed already, or one beyond max_out_of_order */
        snprintf(text, sizeof text,
                 "late event: time %lld ms is at or before the watermark (%lld ms) and chain '%.*s' is not open",
                 (long long)ev.time_ms, (long long)passed, (int)c->keybuf.len, (const char *)c->keybuf.data);
        reject(c, rec, R_LATE, text);
        return;
    }
    if (!ch) {
        ch = mf_keyed_get_or_create(c->keyed, rec->key, rec->key_len, NULL);
        ch->q.tenant_len = (uint32_t)ev.tenant.len;
        c->host->metric_add(c->m_chains, 1);
        c->host->metric_add(c->m_open, 1);
    }
    size_t len;
    const uint8_t *value = c->host->record_value(c->node, rec, &len);
    aq_pos pos = {ev.time_ms, ev.seq, (uint8_t)ev.id};
    switch (aq_add(&ch->q.queue, pos, value, len, NULL)) {
    case AQ_DUPLICATE: c->host->metric_add(c->m_duplicates, 1); return;
    case AQ_LATE:
        snprintf(text, sizeof text, "late event: time %lld ms is at or before the last event applied for chain '%.*s'",
                 (long long)ev.time_ms, (int)c->keybuf.len, (const char *)c->keybuf.data);
        reject(c, rec, R_LATE, text);
        return;
    case AQ_ADDED: break;
    }
    mf_keyed_absorb(c->keyed, ch, rec);
    mf_keyed_timer_set(c->keyed, ch, T_APPLY, aq_first(&ch->q.queue)->pos.time_ms);
    gsp_keyed_advance(&c->gk, c->now);
}

static int process(void *vctx, mf_batch *batch)
{
    struct ctx *c = vctx;
    c->now = c->host->monotonic_ms();
    mf_watermark_streams(c->wm, c->host->stream_count(c->node), c->now);
    for (size_t i = 0; i < batch->count && c->rc == MF_OK; i++)
        handle(c, &batch->records[i]);
    if (c->rc == MF_OK)
        gsp_keyed_advance(&c->gk, c->now);
    return c->rc;
}

/* End of input: an attempt that has ended (its record not yet processed) is
 * emitted; one still in progress is not (counted: a later run completes it). */
static int end_chain(void *arg, void *state)
{
    struct ctx *c = arg;
    struct chain *ch = state;
    struct emit_arg e = {c, ch};
    if (!ob_close(&ch->model, true, emit_attempt, &e) && ch->model.in_attempt)
        c->host->metric_add(c->m_unfinished, 1);
    c->host->metric_add(c->m_open, -1);
    return c->rc;
}

static int flush(void *vctx, mf_flush_reason reason)
{
    struct ctx *c = vctx;
    if (reason != MF_FLUSH_END)
        return c->rc; /* open chains stay open: their inputs are replayed after a restart */
    gsp_keyed_end(&c->gk, c->max_out_of_order, &c->ending, end_chain, &c->rc);
    return c->rc;
}

/* ---- snapshots -------------------------------------------------------------------------- */

static int snapshot(void *vctx, uint64_t checkpoint_id, mf_buffer *out)
{
    return gsp_keyed_snapshot(&((struct ctx *)vctx)->gk, checkpoint_id, out);
}

static int commit(void *vctx, uint64_t checkpoint_id)
{
    gsp_keyed_commit(&((struct ctx *)vctx)->gk, checkpoint_id);
    return MF_OK;
}

static bool is_open(const void *state)
{
    (void)state;
    return true; /* every chain kept is open */
}

static int restore(void *vctx, const uint8_t *data, size_t len)
{
    return gsp_keyed_restore(&((struct ctx *)vctx)->gk, data, len);
}

/* ---- life cycle ------------------------------------------------------------------------- */

static mf_metric *counter(struct ctx *c, const char *name, const char *labels, const char *help)
{
    return c->host->counter(c->node, name, labels, help);
}

static int init(void *vctx, mf_node *node, const mf_host *host)
{
    struct ctx *c = vctx;
    c->host = host;
    c->node = node;
    c->wm_now = MF_TIME_UNSET;
    if ((c->port = host->port(node, "attempts")) < 0)
        return MF_FATAL;
    if (!(c->decoder = ob_decoder_new(host, node)))
        return MF_FATAL;
    c->wm = mf_watermark_new(c->max_out_of_order, c->idle_timeout);
    c->state_kind = (gsp_queued_kind){.host = host, .state_size = sizeof(struct chain),
                                    .model_offset = offsetof(struct chain, model), .model = &chain_model};
    c->keyed = gsp_queued_keyed_new(host, node, &c->state_kind);
    c->m_events = counter(c, "martflow_outbound_events_total", NULL, "Outbound events read");
    c->m_chains = counter(c, "martflow_outbound_chains_total", NULL, "Chains opened (first event of a chain key)");
    c->m_processed = counter(c, "martflow_outbound_chains_processed_total", NULL,
                             "Chains closed: grace after their final event, or stuck");
    c->m_attempts = counter(c, "martflow_outbound_attempts_total", NULL, "CONTACT_ATTEMPT_FACT records emitted");
    c->m_ignored = counter(c, "martflow_outbound_ignored_total", NULL,
                           "Events that changed nothing (no attempt in progress, after the chain's final event)");
    c->m_duplicates = counter(c, "martflow_outbound_duplicates_total", NULL,
                              "Exact duplicate events dropped (same id, time and seq)");
    c->m_stuck = counter(c, "martflow_outbound_stuck_total", NULL, "Chains closed by stuck_timeout");
    c->m_unfinished = counter(c, "martflow_outbound_unfinished_total", NULL,
                              "Attempts still in progress at the end of input (not emitted)");
    c->m_open = host->gauge(node, "martflow_outbound_open_chains", NULL, "Chains open now");
    c->gk = (gsp_keyed){.host = host, .keyed = c->keyed, .wm = c->wm, .m_open = c->m_open, .is_open = is_open,
                        .on_timer = on_timer, .arg = c, .wm_now = &c->wm_now};
    gsp_reject_counters(host, node, c->m_rejected, R_COUNT, OB_REJECT_KIND_COUNT, ob_reject_kind_name,
                        extra_reasons, "martflow_outbound_rejected_total",
                        "Events rejected to the errors port, by reason");
    return MF_OK;
}

static void free_cb(void *vctx)
{
    struct ctx *c = vctx;
    mf_keyed_free(c->keyed);
    mf_watermark_free(c->wm);
    ob_decoder_free(c->decoder);
    gsp_rec_free(&c->writer);
    mf_buffer_free(&c->scratch);
    mf_buffer_free(&c->keybuf);
}

MF_PLUGIN_DEFINE = {
    MF_PLUGIN_HEADER,
    .kind = MF_KIND_TRANSFORM,
    .name = "outbound",
    .version = "1.0.0",
    .description = "Outbound campaign events (CX Contact / OCS) to Info Mart contact attempt facts (GSP)",
    .options = options,
    .ports = ports,
    .flags = MF_PLUGIN_KEYED_STATE,
    .ctx_size = sizeof(struct ctx),
    .init = init,
    .free = free_cb,
    .process = process,
    .flush = flush,
    .snapshot = snapshot,
    .restore = restore,
    .commit = commit,
};
