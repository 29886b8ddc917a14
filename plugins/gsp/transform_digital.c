/*
 * transform digital — digital-itx events (chat, e-mail, SMS, social:
 * docs/events.md §1) in; INTERACTION_FACT, INTERACTION_RESOURCE_FACT and
 * MEDIATION_SEGMENT_FACT out on ports `interactions`, `resources`,
 * `segments` (keyed "{tenant}:{InteractionID}", the gsp-ixn records), and
 * one handling start or end per agent on `agent_events` (keyed
 * "{tenant}:{AgentID}", for digitalagentstate). docs/digital-rules.md.
 *
 * One state per interaction key in an mf_keyed, as outbound keeps chains:
 * an interaction's events wait in its queue (agent_queue.h: ordered by
 * (time, seq, id), exact duplicates refused, late ones told apart) until the
 * watermark (the lowest of the input streams' highest event times minus
 * max_out_of_order, martflow/eventtime.h) passes them, then are applied in
 * order to its model (digital_model.h), which says what rows to write after
 * each. The state is released when the interaction ends, or `stuck_timeout`
 * after its last event (closed as stopped, counted). Its inputs stay
 * unacknowledged until then (or, with a checkpoint store, until a snapshot
 * covers them).
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <martflow/eventtime.h>
#include <martflow/keyed.h>
#include <martflow/martflow.h>

#include "agent_queue.h"
#include "digital_event.h"
#include "digital_facts.h"
#include "digital_model.h"
#include "gsp_keyed.h"
#include "gsp_queued.h"
#include "gsp_record.h"

enum { T_APPLY = 1, T_STUCK = 2 };

/* Reject reasons besides the decoder's (below DG_REJECT_KIND_COUNT). */
enum { R_NO_KEY = DG_REJECT_KIND_COUNT, R_KEY_MISMATCH, R_LATE, R_TOO_MANY, R_COUNT };
static const char *const extra_reasons[] = {"no_key", "key_mismatch", "late", "too_many_involvements"};

struct ixn {
    gsp_queued q; /* its queue and tenant (gsp_queued.h) */
    dg_ixn model;
};

GSP_MODEL_OPS(ixn_model, dg_ixn, dg_free, dg_save, dg_load);

struct ctx {
    int64_t max_out_of_order, idle_timeout, stuck_timeout;

    const mf_host *host;
    mf_node *node;
    mf_keyed *keyed;
    gsp_keyed gk;
    gsp_queued_kind state_kind; /* the ops' arg: the state's layout and model */
    dg_decoder *decoder;
    gsp_rec writer;
    mf_buffer scratch, keybuf, agent_key;
    mf_watermark *wm;
    int port_ixn, port_irf, port_msf, port_agents; /* port_agents -1: not wired */
    int64_t now;    /* monotonic ms of the batch (idle streams) */
    int64_t wm_now; /* the watermark timers fire under */
    bool ending;    /* MF_FLUSH_END: stuck timers do not fire */
    int rc;

    mf_metric *m_events, *m_interactions, *m_ended, *m_ignored, *m_duplicates, *m_stuck, *m_open, *m_handling;
    mf_metric *m_rejected[R_COUNT];
};

static const mf_option options[] = {
    MF_OPTION_RANGE(MF_OPT_DURATION, "max_out_of_order", "5s", 0, struct ctx, max_out_of_order, 0, 3600000,
                    "How far behind the latest event time of its input stream an event may arrive and still be "
                    "ordered in"),
    MF_OPTION_RANGE(MF_OPT_DURATION, "idle_timeout", "30s", 0, struct ctx, idle_timeout, 0, 86400000,
                    "An input stream (upstream worker, partition) silent this long stops holding the watermark "
                    "back until it sends again; 0: never"),
    MF_OPTION_RANGE(MF_OPT_DURATION, "stuck_timeout", "30d", 0, struct ctx, stuck_timeout, 1000, 31536000000LL,
                    "An interaction with no event for this long (event time; an e-mail may wait days) is closed "
                    "as stopped at its last event and counted"),
    MF_OPTION_END,
};

static const char *const ports[] = {"interactions", "resources", "segments", "agent_events", NULL};

/* ---- emitting --------------------------------------------------------------------------- */

struct emit_arg {
    struct ctx *c;
    struct ixn *ix;
    dgf_out out;
};

static int emit_on(struct emit_arg *e, int port)
{
    struct ctx *c = e->c;
    size_t key_len;
    const uint8_t *key = mf_keyed_key(c->keyed, e->ix, &key_len);
    int rc = gsp_rec_emit(&c->writer, c->host, c->node, port, key, key_len, mf_keyed_ack_group(c->keyed, e->ix));
    if (rc != MF_OK && c->rc == MF_OK)
        c->rc = rc;
    return rc;
}

static int emit_ixn(void *arg, const dg_ixn *x)
{
    struct emit_arg *e = arg;
    dgf_ixn(&e->out, x);
    return emit_on(e, e->c->port_ixn);
}

static int emit_stay(void *arg, const dg_ixn *x, const dg_stay *s)
{
    struct emit_arg *e = arg;
    dgf_stay(&e->out, x, s);
    return emit_on(e, e->c->port_msf);
}

static int emit_inv(void *arg, const dg_ixn *x, const dg_inv *v)
{
    struct emit_arg *e = arg;
    dgf_inv(&e->out, x, v);
    return emit_on(e, e->c->port_irf);
}

/* A handling start or end, keyed by the agent; acknowledged with the
 * interaction's inputs like its facts. */
static int emit_handling(void *arg, const dg_ixn *x, const dg_inv *v, bool start)
{
    struct emit_arg *e = arg;
    struct ctx *c = e->c;
    if (c->port_agents < 0)
        return MF_OK;
    dgf_handling(&e->out, x, v, start);
    c->agent_key.len = 0;
    mf_buffer_append(&c->agent_key, e->out.tenant, e->out.tenant_len);
    mf_buffer_append(&c->agent_key, ":", 1);
    mf_buffer_append(&c->agent_key, v->agent.s, v->agent.len);
    c->host->metric_add(c->m_handling, 1);
    int rc = gsp_rec_emit(&c->writer, c->host, c->node, c->port_agents, c->agent_key.data, c->agent_key.len,
                          mf_keyed_ack_group(c->keyed, e->ix));
    if (rc != MF_OK && c->rc == MF_OK)
        c->rc = rc;
    return rc;
}

static const dg_sink sink = {emit_ixn, emit_stay, emit_inv, emit_handling};

static void emit_rows(struct ctx *c, struct ixn *ix)
{
    size_t key_len;
    const uint8_t *key = mf_keyed_key(c->keyed, ix, &key_len);
    struct emit_arg e = {c, ix, {&c->writer, &c->scratch, (const char *)key, ix->q.tenant_len}};
    dg_emit(&ix->model, &sink, &e);
}

static void reject(struct ctx *c, const mf_record *rec, int reason, const char *text)
{
    c->host->metric_add(c->m_rejected[reason], 1);
    int rc = c->host->reject(c->node, rec, "%s", text);
    if (rc != MF_OK && c->rc == MF_OK)
        c->rc = rc;
}

/* ---- applying what the watermark passed --------------------------------------------------- */

static void apply_one(struct ctx *c, struct ixn *ix, const aq_entry *e)
{
    /* kept as the record value only: decoded again */
    mf_record rec = gsp_queued_record(c->keyed, ix, e);
    dg_event ev;
    const char *why;
    if (dg_decode(c->decoder, &rec, &ev, &why) != GSP_REJECT_NONE) { /* it decoded when it came */
        c->rc = gsp_queued_lost(c->host, c->node, why);
        return;
    }
    /* an event rejected now joins the interaction's acknowledgement (its input was absorbed) */
    rec.ack = mf_keyed_ack_group(c->keyed, ix);
    switch (dg_apply(&ix->model, &ev)) {
    case DG_APPLIED: emit_rows(c, ix); break;
    case DG_IGNORED: c->host->metric_add(c->m_ignored, 1); break;
    case DG_NO_MEDIA:
        reject(c, &rec, DG_REJECT_BAD_MEDIA_TYPE,
               "no 'MediaType' and the interaction's media is not known yet (EventInteractionCreated names it)");
        break;
    case DG_TOO_MANY:
        reject(c, &rec, R_TOO_MANY, "too many open involvements in the interaction (at most 8)");
        break;
    }
}

static void release(struct ctx *c, struct ixn *ix)
{
    c->host->metric_add(c->m_open, -1);
    mf_keyed_remove(c->keyed, ix);
}

static int on_timer(void *arg, void *state, uint32_t id, int64_t time_ms)
{
    (void)time_ms;
    struct ctx *c = arg;
    struct ixn *ix = state;
    dg_ixn *x = &ix->model;
    if (id == T_STUCK) {
        if (aq_first(&ix->q.queue) || c->ending || !x->started)
            return c->rc; /* an event is due after the silence: applying it re-arms the timer */
        c->host->metric_add(c->m_stuck, 1);
        dg_stop(x);
        emit_rows(c, ix);
        c->host->metric_add(c->m_ended, 1);
        release(c, ix);
        return c->rc;
    }
    const aq_entry *e;
    while ((e = aq_first(&ix->q.queue)) && e->pos.time_ms <= c->wm_now && c->rc == MF_OK && !x->ended) {
        apply_one(c, ix, e);
        aq_pop(&ix->q.queue);
    }
    if (x->ended || (!x->started && !aq_first(&ix->q.queue))) {
        /* ended: events after its completion change nothing; never started: every event was rejected */
        c->host->metric_add(c->m_ignored, ix->q.queue.n);
        c->host->metric_add(c->m_ended, x->ended);
        release(c, ix);
        return c->rc;
    }
    if ((e = aq_first(&ix->q.queue)))
        mf_keyed_timer_set(c->keyed, ix, T_APPLY, e->pos.time_ms);
    if (x->started)
        mf_keyed_timer_set(c->keyed, ix, T_STUCK, gsp_time_add(x->last_ms, c->stuck_timeout));
    return c->rc;
}

/* ---- one input event ---------------------------------------------------------------------- */

static void handle(struct ctx *c, mf_record *rec)
{
    dg_event ev;
    const char *why;
    char text[320];
    c->host->metric_add(c->m_events, 1);
    int k = dg_decode(c->decoder, rec, &ev, &why);
    if (k != GSP_REJECT_NONE) {
        reject(c, rec, k, why);
        return;
    }
    c->keybuf.len = 0;
    mf_buffer_append(&c->keybuf, ev.tenant.s, ev.tenant.len);
    mf_buffer_append(&c->keybuf, ":", 1);
    mf_buffer_append(&c->keybuf, ev.interaction_id.s, ev.interaction_id.len);
    switch (gsp_keyed_check_key(rec, &c->keybuf, "digital", "{tenant}:{InteractionID}", text, sizeof text)) {
    case GSP_KEY_NONE: reject(c, rec, R_NO_KEY, text); return;
    case GSP_KEY_MISMATCH: reject(c, rec, R_KEY_MISMATCH, text); return;
    case GSP_KEY_OK: break;
    }
    uint32_t stream = c->host->record_stream(c->node, rec);
    mf_watermark_streams(c->wm, c->host->stream_count(c->node), c->now);
    if (mf_watermark_observe(c->wm, stream, ev.time_ms, c->now))
        gsp_keyed_advance(&c->gk, c->now);
    struct ixn *ix = mf_keyed_get(c->keyed, rec->key, rec->key_len);
    int64_t passed = mf_keyed_watermark(c->keyed); /* advanced to, or restored */
    if (!ix && passed != MF_TIME_UNSET && ev.time_ms <= passed) {
        /* a straggler of an interaction ended already, or one beyond max_out_of_order */
        snprintf(text, sizeof text,
                 "late event: time %lld ms is at or before the watermark (%lld ms) and interaction '%.*s' is not "
                 "open",
                 (long long)ev.time_ms, (long long)passed, (int)c->keybuf.len, (const char *)c->keybuf.data);
        reject(c, rec, R_LATE, text);
        return;
    }
    if (!ix) {
        ix = mf_keyed_get_or_create(c->keyed, rec->key, rec->key_len, NULL);
        ix->q.tenant_len = (uint32_t)ev.tenant.len;
        c->host->metric_add(c->m_interactions, 1);
        c->host->metric_add(c->m_open, 1);
    }
    size_t len;
    const uint8_t *value = c->host->record_value(c->node, rec, &len);
    aq_pos pos = {ev.time_ms, ev.seq, (uint8_t)ev.id};
    switch (aq_add(&ix->q.queue, pos, value, len, NULL)) {
    case AQ_DUPLICATE: c->host->metric_add(c->m_duplicates, 1); return;
    case AQ_LATE:
        snprintf(text, sizeof text,
                 "late event: time %lld ms is at or before the last event applied for interaction '%.*s'",
                 (long long)ev.time_ms, (int)c->keybuf.len, (const char *)c->keybuf.data);
        reject(c, rec, R_LATE, text);
        return;
    case AQ_ADDED: break;
    }
    mf_keyed_absorb(c->keyed, ix, rec);
    mf_keyed_timer_set(c->keyed, ix, T_APPLY, aq_first(&ix->q.queue)->pos.time_ms);
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

/* End of input: an interaction still open keeps the rows written so far
 * (active, ending at its last event); a later run goes on from its inputs. */
static int end_ixn(void *arg, void *state)
{
    (void)state;
    struct ctx *c = arg;
    c->host->metric_add(c->m_open, -1);
    return c->rc;
}

static int flush(void *vctx, mf_flush_reason reason)
{
    struct ctx *c = vctx;
    if (reason != MF_FLUSH_END)
        return c->rc; /* open interactions stay open: their inputs are replayed after a restart */
    gsp_keyed_end(&c->gk, c->max_out_of_order, &c->ending, end_ixn, &c->rc);
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
    return true; /* every interaction kept is open */
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
    if ((c->port_ixn = host->port(node, "interactions")) < 0 || (c->port_irf = host->port(node, "resources")) < 0 ||
        (c->port_msf = host->port(node, "segments")) < 0)
        return MF_FATAL;
    c->port_agents = host->port(node, "agent_events");
    if (c->port_agents >= 0 && !host->port_wired(node, c->port_agents))
        c->port_agents = -1;
    if (!(c->decoder = dg_decoder_new(host, node)))
        return MF_FATAL;
    c->wm = mf_watermark_new(c->max_out_of_order, c->idle_timeout);
    c->state_kind = (gsp_queued_kind){.host = host, .state_size = sizeof(struct ixn),
                                    .model_offset = offsetof(struct ixn, model), .model = &ixn_model};
    c->keyed = gsp_queued_keyed_new(host, node, &c->state_kind);
    c->m_events = counter(c, "martflow_digital_events_total", NULL, "Digital interaction events read");
    c->m_interactions = counter(c, "martflow_digital_interactions_total", NULL,
                                "Interactions opened (first event of an interaction key)");
    c->m_ended = counter(c, "martflow_digital_interactions_ended_total", NULL,
                         "Interactions ended (completed, or stopped as stuck)");
    c->m_ignored = counter(c, "martflow_digital_ignored_total", NULL,
                           "Events that changed nothing (an accept of no offer, after the interaction ended, ...)");
    c->m_duplicates = counter(c, "martflow_digital_duplicates_total", NULL,
                              "Exact duplicate events dropped (same id, time and seq)");
    c->m_stuck = counter(c, "martflow_digital_stuck_total", NULL, "Interactions closed by stuck_timeout");
    c->m_handling = counter(c, "martflow_digital_handling_events_total", NULL,
                            "Handling starts and ends emitted on agent_events");
    c->m_open = host->gauge(node, "martflow_digital_open_interactions", NULL, "Interactions open now");
    c->gk = (gsp_keyed){.host = host, .keyed = c->keyed, .wm = c->wm, .m_open = c->m_open, .is_open = is_open,
                        .on_timer = on_timer, .arg = c, .wm_now = &c->wm_now};
    gsp_reject_counters(host, node, c->m_rejected, R_COUNT, DG_REJECT_KIND_COUNT, dg_reject_kind_name,
                        extra_reasons, "martflow_digital_rejected_total",
                        "Events rejected to the errors port, by reason");
    return MF_OK;
}

static void free_cb(void *vctx)
{
    struct ctx *c = vctx;
    mf_keyed_free(c->keyed);
    mf_watermark_free(c->wm);
    dg_decoder_free(c->decoder);
    gsp_rec_free(&c->writer);
    mf_buffer_free(&c->scratch);
    mf_buffer_free(&c->keybuf);
    mf_buffer_free(&c->agent_key);
}

MF_PLUGIN_DEFINE = {
    MF_PLUGIN_HEADER,
    .kind = MF_KIND_TRANSFORM,
    .name = "digital",
    .version = "1.0.0",
    .description = "Digital interaction events (chat, e-mail, SMS, social) to Info Mart interaction, resource and "
                   "mediation facts and per-agent handling events (GSP)",
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
