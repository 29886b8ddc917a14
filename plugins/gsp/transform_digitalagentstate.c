/*
 * transform digitalagentstate — digital-agentstate events and the handling
 * events of `digital` (its port agent_events) in, per-media agent facts out:
 * SM_RES_SESSION_FACT, SM_RES_STATE_FACT, SM_RES_STATE_REASON_FACT on ports
 * sessions, states, reasons (docs/digital-rules.md, "Agent states per
 * media").
 *
 * Built as the voice `agentstate` is, from the same parts: one state per
 * record key "{tenant}:{AgentID}" in an mf_keyed; the watermark per input
 * stream (martflow/eventtime.h); an agent's events wait in its queue
 * (agent_queue.h) until the watermark passes them, then are decoded again
 * (digital_agent_event.h) and applied in (time, seq, id) order to its
 * model (digital_agent_model.h), whose facts the voice writer emits
 * (agent_facts.h, with the media code). The inputs an agent absorbed stay
 * unacknowledged until it has no media session open and handles nothing,
 * and the facts emitted from them are handled; snapshots and restores go
 * through gsp_keyed.h.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <martflow/eventtime.h>
#include <martflow/keyed.h>
#include <martflow/martflow.h>

#include "agent_facts.h"
#include "agent_queue.h"
#include "digital_agent_event.h"
#include "digital_agent_model.h"
#include "gsp_keyed.h"
#include "gsp_queued.h"

enum { T_APPLY = 1, T_FORGET = 2 };

/* Reject reasons besides the decoder's. */
enum { R_NO_KEY = DA_REJECT_KIND_COUNT, R_KEY_MISMATCH, R_LATE, R_TOO_MANY, R_COUNT };
static const char *const extra_reasons[] = {"no_key", "key_mismatch", "late", "too_many_interactions"};

struct agent {
    gsp_queued q; /* its queue and tenant (gsp_queued.h) */
    dam_agent model;
};

GSP_MODEL_OPS(agent_model, dam_agent, dam_free, dam_save, dam_load);

struct ctx {
    int64_t max_out_of_order, idle_timeout, forget_after, max_handled;

    const mf_host *host;
    mf_node *node;
    mf_keyed *keyed;
    gsp_keyed gk;
    gsp_queued_kind state_kind; /* the ops' arg: the state's layout and model */
    da_decoder *decoder;
    gsp_rec writer;
    mf_buffer scratch, keybuf;
    af_target target;
    dam_config cfg;
    mf_watermark *wm; /* the input's event time, per stream */
    int64_t now;      /* monotonic ms of the batch being processed (idle streams) */
    int64_t wm_now;   /* the watermark timers fire under */
    int rc;           /* the first failed emit, returned by process/flush */

    mf_metric *m_events, *m_sessions, *m_ignored, *m_duplicates, *m_open, *m_open_agents;
    mf_metric *m_rejected[R_COUNT];
};

static const mf_option options[] = {
    MF_OPTION_RANGE(MF_OPT_DURATION, "max_out_of_order", "5s", 0, struct ctx, max_out_of_order, 0, 3600000,
                    "How far behind the latest event time of its input stream an event may arrive and still be "
                    "ordered in"),
    MF_OPTION_RANGE(MF_OPT_DURATION, "idle_timeout", "30s", 0, struct ctx, idle_timeout, 0, 86400000,
                    "An input stream (upstream worker, partition) silent this long stops holding the watermark "
                    "back until it sends again; 0: never"),
    MF_OPTION_RANGE(MF_OPT_DURATION, "forget_after", "30s", 0, struct ctx, forget_after, 0, 86400000,
                    "An agent with no media session open and nothing handled is forgotten this long (plus "
                    "max_out_of_order) after its last event; until then a late copy of its events is recognised"),
    MF_OPTION_RANGE(MF_OPT_INT, "max_handled", "64", 0, struct ctx, max_handled, 1, 100000,
                    "Most interactions one agent handles at once on one media; a handling start beyond is "
                    "dropped and counted (too_many_interactions)"),
    MF_OPTION_END,
};

static const char *const ports[] = {"sessions", "states", "reasons", NULL};

/* ---- emitting ------------------------------------------------------------------------- */

struct emit_arg {
    struct ctx *c;
    struct agent *a;
};

static int emit_fact(void *arg, const am_fact *f)
{
    struct emit_arg *e = arg;
    struct ctx *c = e->c;
    size_t key_len;
    const uint8_t *key = mf_keyed_key(c->keyed, e->a, &key_len);
    int rc = af_emit(&c->target, f, (const char *)key, key_len, e->a->q.tenant_len, mf_keyed_ack_group(c->keyed, e->a));
    if (rc != MF_OK && c->rc == MF_OK)
        c->rc = rc;
    return rc;
}

static void reject(struct ctx *c, mf_record *rec, int reason, const char *text)
{
    c->host->metric_add(c->m_rejected[reason], 1);
    c->host->reject(c->node, rec, "%s", text);
}

/* ---- applying what the watermark passed ------------------------------------------------ */

static void apply_one(struct ctx *c, struct agent *a, const aq_entry *e)
{
    mf_record rec = gsp_queued_record(c->keyed, a, e);
    da_event ev;
    const char *why;
    if (da_decode(c->decoder, &rec, &ev, &why) != GSP_REJECT_NONE) { /* it decoded when it came */
        c->rc = gsp_queued_lost(c->host, c->node, why);
        return;
    }
    unsigned open_before = dam_open_sessions(&a->model);
    struct emit_arg arg = {c, a};
    switch (dam_apply(&a->model, &c->cfg, &ev, emit_fact, &arg, &c->rc)) {
    case DAM_IGNORED:
    case DAM_REPEATED: c->host->metric_add(c->m_ignored, 1); break;
    case DAM_FULL:
        c->host->metric_add(c->m_rejected[R_TOO_MANY], 1);
        c->host->log(c->node, MF_LOG_WARN,
                     "agent '%.*s' handles max_handled (%lld) interactions of %s: the start of '%.*s' is dropped",
                     (int)ev.agent_id.len, ev.agent_id.s, (long long)c->max_handled, da_media_name(ev.media),
                     (int)ev.interaction_id.len, ev.interaction_id.s);
        break;
    case DAM_APPLIED: break;
    }
    unsigned open_after = dam_open_sessions(&a->model);
    if (open_after > open_before)
        c->host->metric_add(c->m_sessions, open_after - open_before);
    if (open_after != open_before)
        c->host->metric_add(c->m_open, (double)open_after - (double)open_before);
    if (!open_before != !open_after)
        c->host->metric_add(c->m_open_agents, open_after ? 1 : -1);
}

/* After applying: let the inputs go once nothing open depends on them, and
 * forget a quiet agent a while after its last event (so a late duplicate is
 * still recognised). */
static void settle(struct ctx *c, struct agent *a)
{
    if (!dam_quiet(&a->model) || aq_first(&a->q.queue)) {
        mf_keyed_timer_cancel(c->keyed, a, T_FORGET);
        return;
    }
    mf_keyed_ack_release(c->keyed, a);
    int64_t gone = gsp_time_add(gsp_time_add(a->model.last_ms, c->forget_after), c->max_out_of_order);
    if (gone <= c->wm_now)
        mf_keyed_remove(c->keyed, a);
    else
        mf_keyed_timer_set(c->keyed, a, T_FORGET, gone);
}

static int on_timer(void *arg, void *state, uint32_t id, int64_t time_ms)
{
    (void)time_ms;
    struct ctx *c = arg;
    struct agent *a = state;
    if (id == T_APPLY) {
        const aq_entry *e;
        while ((e = aq_first(&a->q.queue)) && e->pos.time_ms <= c->wm_now && c->rc == MF_OK) {
            apply_one(c, a, e);
            aq_pop(&a->q.queue);
        }
        if ((e = aq_first(&a->q.queue)))
            mf_keyed_timer_set(c->keyed, a, T_APPLY, e->pos.time_ms);
    }
    settle(c, a);
    return c->rc;
}

/* ---- one input event -------------------------------------------------------------------- */

static void handle(struct ctx *c, mf_record *rec)
{
    da_event ev;
    const char *why;
    char text[320];
    c->host->metric_add(c->m_events, 1);
    int k = da_decode(c->decoder, rec, &ev, &why);
    if (k != GSP_REJECT_NONE) {
        reject(c, rec, k, why);
        return;
    }
    c->keybuf.len = 0;
    mf_buffer_append(&c->keybuf, ev.tenant.s, ev.tenant.len);
    mf_buffer_append(&c->keybuf, ":", 1);
    mf_buffer_append(&c->keybuf, ev.agent_id.s, ev.agent_id.len);
    switch (gsp_keyed_check_key(rec, &c->keybuf, "agent", "{tenant}:{AgentID}", text, sizeof text)) {
    case GSP_KEY_NONE: reject(c, rec, R_NO_KEY, text); return;
    case GSP_KEY_MISMATCH: reject(c, rec, R_KEY_MISMATCH, text); return;
    case GSP_KEY_OK: break;
    }
    uint32_t stream = c->host->record_stream(c->node, rec);
    /* the first record of a stream may make others known: pending from now on */
    mf_watermark_sync(c->wm, c->host, c->node, c->now);
    if (mf_watermark_observe(c->wm, stream, ev.time_ms, c->now))
        gsp_keyed_advance(&c->gk, c->now);
    bool created;
    struct agent *a = mf_keyed_get_or_create(c->keyed, rec->key, rec->key_len, &created);
    if (created)
        a->q.tenant_len = (uint32_t)ev.tenant.len;
    size_t len;
    const uint8_t *value = c->host->record_value(c->node, rec, &len);
    aq_pos pos = {ev.time_ms, ev.seq, (uint8_t)ev.id};
    switch (aq_add(&a->q.queue, pos, value, len, NULL)) {
    case AQ_DUPLICATE: c->host->metric_add(c->m_duplicates, 1); return;
    case AQ_LATE:
        snprintf(text, sizeof text, "late event: time %lld ms is at or before the last event applied for agent '%.*s'",
                 (long long)ev.time_ms, (int)ev.agent_id.len, ev.agent_id.s);
        reject(c, rec, R_LATE, text); /* (never for a new agent: nothing applied yet) */
        return;
    case AQ_ADDED: break;
    }
    mf_keyed_absorb(c->keyed, a, rec);
    mf_keyed_timer_set(c->keyed, a, T_APPLY, aq_first(&a->q.queue)->pos.time_ms);
    mf_keyed_timer_cancel(c->keyed, a, T_FORGET);
    gsp_keyed_advance(&c->gk, c->now); /* the event may be due already */
}

static int process(void *vctx, mf_batch *batch)
{
    struct ctx *c = vctx;
    c->now = c->host->monotonic_ms();
    mf_watermark_sync(c->wm, c->host, c->node, c->now);
    for (size_t i = 0; i < batch->count && c->rc == MF_OK; i++)
        handle(c, &batch->records[i]);
    if (c->rc == MF_OK)
        gsp_keyed_advance(&c->gk, c->now); /* a stream may have gone idle */
    return c->rc;
}

static int emit_active(void *arg, void *state)
{
    struct ctx *c = arg;
    struct agent *a = state;
    struct emit_arg e = {c, a};
    unsigned open = dam_open_sessions(&a->model);
    if (open) {
        c->host->metric_add(c->m_open, -(double)open);
        c->host->metric_add(c->m_open_agents, -1);
    }
    return dam_end(&a->model, emit_fact, &e);
}

static int flush(void *vctx, mf_flush_reason reason)
{
    struct ctx *c = vctx;
    if (reason != MF_FLUSH_END)
        return c->rc; /* open sessions stay open: their inputs are replayed after a restart */
    gsp_keyed_end(&c->gk, c->max_out_of_order, NULL, emit_active, &c->rc);
    return c->rc;
}

/* ---- snapshots ------------------------------------------------------------------------- */

static int snapshot(void *vctx, uint64_t checkpoint_id, mf_buffer *out)
{
    return gsp_keyed_snapshot(&((struct ctx *)vctx)->gk, checkpoint_id, out);
}

static int commit(void *vctx, uint64_t checkpoint_id)
{
    gsp_keyed_commit(&((struct ctx *)vctx)->gk, checkpoint_id);
    return MF_OK;
}

/* gsp_keyed counts agents with a session open; the sessions gauge is moved here. */
static bool is_open(const void *state)
{
    return dam_open_sessions(&((const struct agent *)state)->model) > 0;
}

static int count_sessions(void *arg, void *state)
{
    *(double *)arg += dam_open_sessions(&((struct agent *)state)->model);
    return MF_OK;
}

static int restore(void *vctx, const uint8_t *data, size_t len)
{
    struct ctx *c = vctx;
    double before = 0, after = 0;
    mf_keyed_each(c->keyed, count_sessions, &before);
    int rc = gsp_keyed_restore(&c->gk, data, len);
    if (rc != MF_OK)
        return rc;
    mf_keyed_each(c->keyed, count_sessions, &after);
    c->host->metric_add(c->m_open, after - before);
    return MF_OK;
}

/* ---- life cycle ------------------------------------------------------------------------ */

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
    c->wm = mf_watermark_new(c->max_out_of_order, c->idle_timeout);
    c->cfg.max_handled = (uint32_t)c->max_handled;
    c->target = (af_target){.host = host, .node = node, .writer = &c->writer, .scratch = &c->scratch,
                            .port_sessions = host->port(node, "sessions"),
                            .port_states = host->port(node, "states"),
                            .port_reasons = host->port(node, "reasons"),
                            .port_resources = -1};
    if (c->target.port_sessions < 0 || c->target.port_states < 0 || c->target.port_reasons < 0)
        return MF_FATAL;
    if (!(c->decoder = da_decoder_new(host, node)))
        return MF_FATAL;
    c->state_kind = (gsp_queued_kind){.host = host, .state_size = sizeof(struct agent),
                                    .model_offset = offsetof(struct agent, model), .model = &agent_model};
    c->keyed = gsp_queued_keyed_new(host, node, &c->state_kind);
    c->m_events = counter(c, "martflow_digitalagentstate_events_total", NULL,
                          "Digital agent-state and handling events read");
    c->m_sessions = counter(c, "martflow_digitalagentstate_sessions_total", NULL, "Media sessions opened");
    c->m_ignored = counter(c, "martflow_digitalagentstate_ignored_total", NULL,
                           "Events that change nothing: agent-state events of a media not logged in (a login "
                           "excepted), handling starts of an interaction handled already, ends of one not handled");
    c->m_duplicates = counter(c, "martflow_digitalagentstate_duplicates_total", NULL,
                              "Exact duplicate events dropped (same id, time and seq)");
    c->m_open = host->gauge(node, "martflow_digitalagentstate_open_sessions", NULL, "Media sessions open now");
    c->m_open_agents = host->gauge(node, "martflow_digitalagentstate_open_agents", NULL,
                                   "Agents with a media session open now");
    c->gk = (gsp_keyed){.host = host, .keyed = c->keyed, .wm = c->wm, .m_open = c->m_open_agents,
                        .is_open = is_open, .on_timer = on_timer, .arg = c, .wm_now = &c->wm_now};
    gsp_reject_counters(host, node, c->m_rejected, R_COUNT, DA_REJECT_KIND_COUNT, da_reject_kind_name,
                        extra_reasons, "martflow_digitalagentstate_rejected_total",
                        "Events rejected to the errors port (or, too_many_interactions, dropped), by reason");
    return MF_OK;
}

static void free_cb(void *vctx)
{
    struct ctx *c = vctx;
    mf_keyed_free(c->keyed);
    mf_watermark_free(c->wm);
    da_decoder_free(c->decoder);
    gsp_rec_free(&c->writer);
    af_free(&c->target);
    mf_buffer_free(&c->scratch);
    mf_buffer_free(&c->keybuf);
}

MF_PLUGIN_DEFINE = {
    MF_PLUGIN_HEADER,
    .kind = MF_KIND_TRANSFORM,
    .name = "digitalagentstate",
    .version = "1.0.0",
    .description = "Digital agent-state events and digital's handling events to Info Mart agent session, state "
                   "and reason facts per media (GSP)",
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
