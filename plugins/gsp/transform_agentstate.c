/*
 * transform agentstate — voice-agentstate events and the call events of
 * each agent (re-keyed by callthread's `agent_events` port) in, agent facts
 * out: SM_RES_SESSION_FACT, SM_RES_STATE_FACT, SM_RES_STATE_REASON_FACT on
 * ports sessions, states, reasons, and the after-call-work `update`s of
 * INTERACTION_RESOURCE_FACT on resources.
 *
 * One state per record key "{tenant}:{AgentID}" in an mf_keyed. Event time
 * drives everything: the watermark of this worker is, over its input
 * streams (each upstream worker — the agent-state source's, every
 * callthread worker's — and each Kafka partition behind them:
 * martflow/eventtime.h), the lowest of each stream's highest accepted event
 * time, minus max_out_of_order, so that no stream, read at its own pace,
 * makes another's events late. An agent's events wait in its queue
 * (agent_queue.h), decoded, until the watermark passes them, then are
 * applied in (time, seq, id) order to its model (agent_model.h), which emits
 * the facts as they change. The inputs an agent absorbed stay unacknowledged until it
 * is logged out with no call open and the facts emitted from them are
 * handled. docs/agent-state-rules.md has the rules.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <martflow/eventtime.h>
#include <martflow/keyed.h>
#include <martflow/martflow.h>

#include "agent_facts.h"
#include "agent_model.h"
#include "agent_queue.h"
#include "gsp_keyed.h"
#include "gsp_queued.h"
#include "voice_event.h"

enum { T_APPLY = 1, T_FORGET = 2 };

/* Reject reasons besides the decoder's (gsp_reject_kind). */
enum { R_NO_KEY = GSP_REJECT_KIND_COUNT, R_KEY_MISMATCH, R_NO_AGENT, R_LATE, R_TOO_MANY, R_COUNT };
static const char *const extra_reasons[] = {"no_key", "key_mismatch", "no_agent", "late", "too_many_events"};

struct agent {
    gsp_queued q; /* its queue and tenant (gsp_queued.h) */
    am_agent model;
};

GSP_MODEL_OPS(agent_model, am_agent, am_free, am_save, am_load);

struct ctx {
    int64_t max_out_of_order, idle_timeout, acw_window, max_events;
    mf_strlist priority;
    bool call_events;

    const mf_host *host;
    mf_node *node;
    mf_keyed *keyed;
    gsp_queued_kind state_kind; /* the ops' arg: the state's layout and model */
    gsp_keyed gk; /* the shared timer, end-of-input and snapshot code (gsp_keyed.h) */
    gsp_decoder *decoder;
    cm_work *work;
    gsp_rec writer;
    mf_buffer scratch, keybuf;
    af_target target;
    am_config cfg;
    mf_watermark *wm; /* the input's event time, per stream */
    int64_t now;      /* monotonic ms of the batch being processed (idle streams) */
    int64_t wm_now;   /* the watermark timers fire under */
    int rc;           /* the first failed emit, returned by process/flush */

    mf_metric *m_events, *m_sessions, *m_ignored, *m_duplicates, *m_acw, *m_open;
    mf_metric *m_rejected[R_COUNT];
};

static const mf_option options[] = {
    MF_OPTION_RANGE(MF_OPT_DURATION, "max_out_of_order", "5s", 0, struct ctx, max_out_of_order, 0, 3600000,
                    "How far behind the latest event time of its input stream an event may arrive and still be "
                    "ordered in"),
    MF_OPTION_RANGE(MF_OPT_DURATION, "idle_timeout", "30s", 0, struct ctx, idle_timeout, 0, 86400000,
                    "An input stream (upstream worker, partition) silent this long stops holding the watermark "
                    "back until it sends again; 0: never"),
    MF_OPTION_RANGE(MF_OPT_DURATION, "acw_window", "30s", 0, struct ctx, acw_window, 0, 86400000,
                    "After-call work that begins within this time after the agent released a call counts for that "
                    "call's IRF"),
    MF_OPTION(MF_OPT_LIST, "priority", "ACW,NOT_READY,BUSY,READY", 0, struct ctx, priority,
              "The summarised state's winner among those that hold at once, highest first: each of ACW, "
              "NOT_READY, BUSY, READY once"),
    MF_OPTION(MF_OPT_BOOL, "call_events", "true", 0, struct ctx, call_events,
              "No effect, kept so that older pipelines load: every input stream (agent-state and call events "
              "alike) counts by itself in the watermark"),
    MF_OPTION_RANGE(MF_OPT_INT, "max_events", "1000", 0, struct ctx, max_events, 10, 1000000,
                    "Most events of one call thread kept for one agent; more are dropped and counted (too_many_events)"),
    MF_OPTION_END,
};

static const char *const ports[] = {"sessions", "states", "reasons", "resources", NULL};

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
    if (f->table == AM_ACW_UPDATE)
        c->host->metric_add(c->m_acw, 1);
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
    size_t key_len;
    const uint8_t *key = mf_keyed_key(c->keyed, a, &key_len);
    gsp_voice_event ev;
    if (e->ev) {
        gsp_event_unpack(e->ev, e->value, key, &ev);
    } else { /* restored from a snapshot, or not packable */
        mf_record rec = gsp_queued_record(c->keyed, a, e);
        const char *why;
        if (gsp_decode(c->decoder, &rec, &ev, &why) != GSP_REJECT_NONE) { /* it decoded when it came */
            c->rc = gsp_queued_lost(c->host, c->node, why);
            return;
        }
    }
    bool was_in = a->model.logged_in;
    struct emit_arg arg = {c, a};
    switch (am_apply(&a->model, &c->cfg, c->work, &ev, emit_fact, &arg, &c->rc)) {
    case AM_IGNORED: c->host->metric_add(c->m_ignored, 1); break;
    case AM_DUPLICATE: c->host->metric_add(c->m_duplicates, 1); break;
    case AM_FULL:
        c->host->metric_add(c->m_rejected[R_TOO_MANY], 1);
        c->host->log(c->node, MF_LOG_WARN, "call thread '%.*s' holds max_events (%lld) events of agent '%.*s'",
                     (int)ev.call_thread_id.len, ev.call_thread_id.s, (long long)c->max_events,
                     (int)ev.agent_id.len, ev.agent_id.s);
        break;
    case AM_APPLIED: break;
    }
    if (!was_in && a->model.logged_in) {
        c->host->metric_add(c->m_sessions, 1);
        c->host->metric_add(c->m_open, 1);
    } else if (was_in && !a->model.logged_in)
        c->host->metric_add(c->m_open, -1);
}

/* After applying: forget finished calls, let the inputs go once nothing
 * open depends on them, forget a quiet agent a while after its last event
 * (so a late duplicate is still recognised). Returns false when the agent
 * was removed. */
static bool settle(struct ctx *c, struct agent *a)
{
    int64_t next;
    ac_forget(&a->model.calls, c->wm_now - c->acw_window + 1, c->acw_window, &next);
    if (am_quiet(&a->model) && !aq_first(&a->q.queue)) {
        mf_keyed_ack_release(c->keyed, a);
        int64_t gone = gsp_time_add(gsp_time_add(a->model.last_ms, c->acw_window), c->max_out_of_order);
        if (a->model.calls.n == 0 && gone <= c->wm_now) {
            mf_keyed_remove(c->keyed, a);
            return false;
        }
        if (a->model.calls.n == 0 || next == MF_TIME_UNSET || gone < next)
            next = gone;
    }
    if (next != MF_TIME_UNSET)
        mf_keyed_timer_set(c->keyed, a, T_FORGET, next);
    else
        mf_keyed_timer_cancel(c->keyed, a, T_FORGET);
    return true;
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
    gsp_voice_event ev;
    const char *why;
    char text[320];
    c->host->metric_add(c->m_events, 1);
    gsp_reject_kind k = gsp_decode(c->decoder, rec, &ev, &why);
    if (k != GSP_REJECT_NONE) {
        reject(c, rec, k, why);
        return;
    }
    if (!ev.agent_id.len) {
        reject(c, rec, R_NO_AGENT, "call event without 'AgentID': not an agent's (callthread forwards only those)");
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
    /* the first record of a stream may make others known (a source's other
     * partitions): pending from now on */
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
    gsp_packed_event packed;
    bool keep = gsp_event_pack(&ev, value, len, rec->key, rec->key_len, &packed);
    switch (aq_add(&a->q.queue, pos, value, len, keep ? &packed : NULL)) {
    case AQ_DUPLICATE: c->host->metric_add(c->m_duplicates, 1); return;
    case AQ_LATE:
        snprintf(text, sizeof text, "late event: time %lld ms is at or before the last event applied for agent '%.*s'",
                 (long long)ev.time_ms, (int)ev.agent_id.len, ev.agent_id.s);
        reject(c, rec, R_LATE, text);
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
    mf_watermark_sync(c->wm, c->host, c->node, c->now); /* the upstream workers, and which of them ended */
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
    if (a->model.logged_in)
        c->host->metric_add(c->m_open, -1);
    return am_end(&a->model, emit_fact, &e);
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

static bool is_open(const void *state)
{
    return ((const struct agent *)state)->model.logged_in;
}

static int restore(void *vctx, const uint8_t *data, size_t len)
{
    return gsp_keyed_restore(&((struct ctx *)vctx)->gk, data, len);
}

/* ---- life cycle ------------------------------------------------------------------------ */

static bool parse_priority(const mf_strlist *l, uint8_t rank[AM_N_STATES], char *err, size_t errlen)
{
    const char *bad;
    if (am_parse_priority(l->items, l->count, rank, &bad))
        return true;
    if (bad)
        snprintf(err, errlen, "option 'priority': '%s' is not one of ACW, NOT_READY, BUSY, READY or is given twice",
                 bad);
    else
        snprintf(err, errlen, "option 'priority' must name each of ACW, NOT_READY, BUSY, READY once");
    return false;
}

static void validate(const json_t *config, mf_check *check)
{
    const json_t *p = json_object_get(config, "priority");
    if (!p)
        return;
    const char *items[8];
    size_t n = 0;
    char *copy = NULL;
    if (json_is_string(p)) { /* "a, b,c": split and trimmed as the engine does */
        copy = mf_xstrdup(json_string_value(p));
        for (char *item = copy; item && n < 8;) {
            char *comma = strchr(item, ',');
            if (comma)
                *comma = '\0';
            while (*item == ' ' || *item == '\t')
                item++;
            for (size_t len = strlen(item); len && (item[len - 1] == ' ' || item[len - 1] == '\t'); len--)
                item[len - 1] = '\0';
            items[n++] = item;
            item = comma ? comma + 1 : NULL;
        }
    } else if (json_is_array(p)) {
        size_t i;
        const json_t *v;
        json_array_foreach(p, i, v) if (n < 8 && json_is_string(v)) items[n++] = json_string_value(v);
    }
    uint8_t rank[AM_N_STATES];
    char err[200];
    mf_strlist l = {n, items};
    if (!parse_priority(&l, rank, err, sizeof err))
        check->problem(check, p, "%s", err);
    free(copy);
}

static mf_metric *counter(struct ctx *c, const char *name, const char *labels, const char *help)
{
    return c->host->counter(c->node, name, labels, help);
}

static int init(void *vctx, mf_node *node, const mf_host *host)
{
    struct ctx *c = vctx;
    char err[200];
    c->host = host;
    c->node = node;
    c->wm_now = MF_TIME_UNSET;
    c->wm = mf_watermark_new(c->max_out_of_order, c->idle_timeout);
    if (!parse_priority(&c->priority, c->cfg.rank, err, sizeof err)) {
        host->log(node, MF_LOG_ERROR, "%s", err);
        return MF_FATAL;
    }
    c->cfg.acw_window_ms = c->acw_window;
    c->cfg.max_events = (uint32_t)c->max_events;
    c->target = (af_target){.host = host, .node = node, .writer = &c->writer, .scratch = &c->scratch,
                            .port_sessions = host->port(node, "sessions"),
                            .port_states = host->port(node, "states"),
                            .port_reasons = host->port(node, "reasons"),
                            .port_resources = host->port(node, "resources")};
    if (c->target.port_sessions < 0 || c->target.port_states < 0 || c->target.port_reasons < 0 ||
        c->target.port_resources < 0)
        return MF_FATAL;
    if (!(c->decoder = gsp_decoder_new(host, node, GSP_DOMAIN_ANY)))
        return MF_FATAL;
    c->work = cm_work_new();
    c->state_kind = (gsp_queued_kind){.host = host, .state_size = sizeof(struct agent),
                                    .model_offset = offsetof(struct agent, model), .model = &agent_model};
    c->keyed = gsp_queued_keyed_new(host, node, &c->state_kind);
    c->m_events = counter(c, "martflow_agentstate_events_total", NULL, "Agent-state and agent call events read");
    c->m_sessions = counter(c, "martflow_agentstate_sessions_total", NULL, "Agent login sessions opened");
    c->m_ignored = counter(c, "martflow_agentstate_ignored_total", NULL,
                           "Agent-state events other than a login for an agent not logged in (nothing changes)");
    c->m_duplicates = counter(c, "martflow_agentstate_duplicates_total", NULL,
                              "Exact duplicate events dropped (same id, time and seq)");
    c->m_acw = counter(c, "martflow_agentstate_acw_updates_total", NULL,
                       "INTERACTION_RESOURCE_FACT updates emitted with after-call work");
    c->m_open = host->gauge(node, "martflow_agentstate_open_sessions", NULL, "Agent sessions open now");
    c->gk = (gsp_keyed){.host = host, .keyed = c->keyed, .wm = c->wm, .m_open = c->m_open, .is_open = is_open,
                        .on_timer = on_timer, .arg = c, .wm_now = &c->wm_now};
    gsp_reject_counters(host, node, c->m_rejected, R_COUNT, GSP_REJECT_KIND_COUNT, NULL,
                        extra_reasons, "martflow_agentstate_rejected_total",
                        "Events rejected to the errors port (or, too_many_events, dropped), by reason");
    return MF_OK;
}

static void free_cb(void *vctx)
{
    struct ctx *c = vctx;
    mf_keyed_free(c->keyed);
    mf_watermark_free(c->wm);
    cm_work_free(c->work);
    gsp_decoder_free(c->decoder);
    gsp_rec_free(&c->writer);
    af_free(&c->target);
    mf_buffer_free(&c->scratch);
    mf_buffer_free(&c->keybuf);
}

MF_PLUGIN_DEFINE = {
    MF_PLUGIN_HEADER,
    .kind = MF_KIND_TRANSFORM,
    .name = "agentstate",
    .version = "1.0.0",
    .description = "Voice agent-state and agent call events to Info Mart agent session, state and reason facts, "
                   "and after-call work on IRFs (GSP)",
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
    .validate = validate,
};
