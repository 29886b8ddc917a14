/*
 * transform callthread — voice-callthread events in, Info Mart facts out
 * (INTERACTION_FACT, INTERACTION_RESOURCE_FACT, MEDIATION_SEGMENT_FACT as
 * GSP output records on ports interactions, resources, segments).
 *
 * One state per record key "{tenant}:{CallThreadID}" in an mf_keyed: the
 * thread's events (call_store.h). Event time drives everything: this
 * worker's watermark is, over its input streams (upstream workers, Kafka
 * partitions: martflow/eventtime.h), the lowest of each stream's highest
 * accepted event time, minus max_out_of_order; timers on it close a thread close_grace after its
 * last event once every party has ended, close it as stuck after
 * stuck_timeout of silence, and forget a closed thread late_window after it
 * closed. The facts are computed from all the thread's events when it closes
 * (call_model.h), and again for an event that arrives while it is closed
 * but remembered. The inputs a thread absorbed stay unacknowledged until the
 * facts emitted from them are. Every accepted event at an agent also goes out
 * at once, unchanged, on port agent_events keyed "{tenant}:{AgentID}" (the
 * agentstate transform's call input). docs/call-thread-rules.md has the rules.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <martflow/eventtime.h>
#include <martflow/keyed.h>
#include <martflow/martflow.h>

#include "call_config.h"
#include "call_facts.h"
#include "call_model.h"
#include "call_store.h"
#include "gsp_keyed.h"
#include "voice_event.h"

enum { ST_OPEN = 0, ST_CLOSED = 1 };
enum { T_CHECK = 1, T_STUCK = 2, T_EXPIRE = 3 };

/* Extra reject reasons besides the decoder's (gsp_reject_kind). */
enum { R_NO_KEY = GSP_REJECT_KIND_COUNT, R_KEY_MISMATCH, R_LATE, R_TOO_MANY, R_COUNT };
static const char *const extra_reasons[] = {"no_key", "key_mismatch", "late", "too_many_events"};

struct thread {
    ct_store store;
    int64_t last_ms;   /* the latest event time of the thread */
    uint32_t tenant_len;
    uint8_t status, stuck;
};

struct ctx {
    int64_t max_out_of_order, idle_timeout, close_grace, stuck_timeout, late_window;
    int64_t answer_threshold, short_abandon, max_events, max_config_objects;

    const mf_host *host;
    mf_node *node;
    mf_keyed *keyed;
    gsp_keyed gk; /* the shared timer, end-of-input and snapshot code (gsp_keyed.h) */
    gsp_decoder *decoder;
    call_config *config; /* gca-cfg records among the inputs (docs/plugins/gspconfig.md) */
    cm_work *work;
    gsp_rec writer;
    cf_target target;
    mf_watermark *wm; /* the input's event time, per stream */
    int64_t now;      /* monotonic ms of the batch being processed (idle streams) */
    bool ending;      /* MF_FLUSH_END: what is still open is emitted as active */
    int rc;           /* the first failed emit, returned by process/flush */
    mf_buffer keybuf;
    int port_agent_events; /* -1 when not wired: nothing to forward */
    mf_buffer agent_key;   /* "{tenant}:{AgentID}" of a forwarded event */

    mf_metric *m_events, *m_created, *m_closed, *m_stuck, *m_late_updates, *m_duplicates, *m_open;
    mf_metric *m_calls, *m_wm_in, *m_wm_out; /* the guide's GSP metrics (docs/operations.md) */
    mf_metric *m_rejected[R_COUNT];
};

static const mf_option options[] = {
    MF_OPTION_RANGE(MF_OPT_DURATION, "max_out_of_order", "5s", 0, struct ctx, max_out_of_order, 0, 3600000,
                    "How far behind the latest event time of its input stream an event may arrive and still be "
                    "ordered in"),
    MF_OPTION_RANGE(MF_OPT_DURATION, "idle_timeout", "30s", 0, struct ctx, idle_timeout, 0, 86400000,
                    "An input stream (upstream worker, partition) silent this long stops holding the watermark "
                    "back until it sends again; 0: never"),
    MF_OPTION_RANGE(MF_OPT_DURATION, "close_grace", "2s", 0, struct ctx, close_grace, 0, 3600000,
                    "Event time after the last event of a thread whose parties have all ended before it closes"),
    MF_OPTION_RANGE(MF_OPT_DURATION, "stuck_timeout", "4h", 0, struct ctx, stuck_timeout, 1000, 2592000000.0,
                    "Event time a thread with a party still open may stay silent before it is closed as stuck"),
    MF_OPTION_RANGE(MF_OPT_DURATION, "late_window", "5m", 0, struct ctx, late_window, 0, 604800000,
                    "Event time a closed thread is remembered: a late event within it upserts the facts again"),
    MF_OPTION_RANGE(MF_OPT_DURATION, "answer_threshold", "20s", 0, struct ctx, answer_threshold, 0, 86400000,
                    "MET_THRESHOLD_FLAG: a stay answered by an agent within this time"),
    MF_OPTION_RANGE(MF_OPT_DURATION, "short_abandon_threshold", "10s", 0, struct ctx, short_abandon, 0, 86400000,
                    "SHORT_ABANDONED_FLAG: a stay abandoned within this time"),
    MF_OPTION_RANGE(MF_OPT_INT, "max_events", "1000", 0, struct ctx, max_events, 10, 1000000,
                    "Most events one call thread holds; more are rejected"),
    MF_OPTION_RANGE(MF_OPT_INT, "max_config_objects", "1000000", 0, struct ctx, max_config_objects, 1, 1e9,
                    "Most gca-cfg objects the configuration cache holds (gca-cfg records among the inputs)"),
    MF_OPTION_END,
};

static const char *const ports[] = {"interactions", "resources", "segments", "agent_events", NULL};

/* ---- keyed state: a thread's bytes ------------------------------------------------ */

static void thread_destroy(void *arg, void *state)
{
    (void)arg;
    ct_store_free(&((struct thread *)state)->store);
}

static int thread_save(void *arg, const void *state, mf_buffer *out)
{
    struct ctx *c = arg;
    const struct thread *t = state;
    uint8_t head[14];
    head[0] = t->status;
    head[1] = t->stuck;
    for (int i = 0; i < 4; i++)
        head[2 + i] = (uint8_t)(t->tenant_len >> (8 * i));
    for (int i = 0; i < 8; i++)
        head[6 + i] = (uint8_t)((uint64_t)t->last_ms >> (8 * i));
    c->host->buffer_append(out, head, sizeof head);
    ct_store_save(&t->store, c->host, out);
    return MF_OK;
}

static int thread_load(void *arg, void *state, const uint8_t *data, size_t len)
{
    (void)arg;
    struct thread *t = state;
    size_t used = 0;
    if (len < 14 || data[0] > ST_CLOSED || data[1] > 1)
        return MF_FATAL;
    t->status = data[0];
    t->stuck = data[1];
    uint64_t last = 0;
    for (int i = 0; i < 4; i++)
        t->tenant_len |= (uint32_t)data[2 + i] << (8 * i);
    for (int i = 0; i < 8; i++)
        last |= (uint64_t)data[6 + i] << (8 * i);
    t->last_ms = (int64_t)last;
    if (!ct_store_load(&t->store, data + 14, len - 14, &used) || used != len - 14 || t->store.n_ev == 0)
        return MF_FATAL;
    return MF_OK;
}

static const mf_keyed_ops thread_ops = {
    .state_size = sizeof(struct thread),
    .destroy = thread_destroy,
    .save = thread_save,
    .load = thread_load,
};

/* ---- emitting facts ---------------------------------------------------------------- */

static int emit_facts(struct ctx *c, struct thread *t, bool stuck)
{
    size_t key_len;
    const uint8_t *key = mf_keyed_key(c->keyed, t, &key_len);
    cm_params p = {
        .tenant = (const char *)key,
        .tenant_len = t->tenant_len,
        .ctid = (const char *)key + t->tenant_len + 1,
        .ctid_len = key_len - t->tenant_len - 1,
        .stuck = stuck,
        .horizon_ms = t->last_ms,
        .answer_threshold_ms = c->answer_threshold,
        .short_abandon_ms = c->short_abandon,
    };
    const cm_result *r = cm_compute(c->work, &t->store, &p);
    int rc = cf_emit(&c->target, &t->store, r, p.tenant, p.tenant_len, key, key_len,
                     mf_keyed_ack_group(c->keyed, t));
    /* The facts now carry everything absorbed: hold the inputs only until
     * they are handled. */
    mf_keyed_ack_release(c->keyed, t);
    if (rc != MF_OK && c->rc == MF_OK)
        c->rc = rc;
    return rc;
}

static void close_thread(struct ctx *c, struct thread *t, bool stuck, int64_t at_ms)
{
    emit_facts(c, t, stuck);
    t->status = ST_CLOSED;
    t->stuck = stuck;
    c->host->metric_add(c->m_closed, 1);
    c->host->metric_add(c->m_open, -1);
    if (stuck)
        c->host->metric_add(c->m_stuck, 1);
    if (c->ending)
        mf_keyed_remove(c->keyed, t);
    else
        mf_keyed_timer_set(c->keyed, t, T_EXPIRE, gsp_time_add(at_ms, c->late_window));
}

/* End of input: a thread still open is emitted as it stands, active. */
static void emit_active(struct ctx *c, struct thread *t)
{
    emit_facts(c, t, false);
    c->host->metric_add(c->m_open, -1);
    mf_keyed_remove(c->keyed, t);
}

static int on_timer(void *arg, void *state, uint32_t id, int64_t time_ms)
{
    struct ctx *c = arg;
    struct thread *t = state;
    switch (id) {
    case T_CHECK:
        if (cm_all_released(c->work, &t->store))
            close_thread(c, t, false, time_ms);
        else if (c->ending)
            emit_active(c, t);
        else
            mf_keyed_timer_set(c->keyed, t, T_STUCK, gsp_time_add(t->last_ms, c->stuck_timeout));
        break;
    case T_STUCK:
        if (c->ending)
            emit_active(c, t);
        else
            close_thread(c, t, true, time_ms);
        break;
    case T_EXPIRE: mf_keyed_remove(c->keyed, t); break;
    default: break;
    }
    return c->rc;
}

/* The watermark: over the input streams, the lowest highest event time,
 * minus max_out_of_order (martflow/eventtime.h). */
static int64_t watermark(const struct ctx *c)
{
    return mf_watermark_get(c->wm, c->now);
}

/* ---- one input event --------------------------------------------------------------- */

static void reject(struct ctx *c, mf_record *rec, int reason, const char *text)
{
    c->host->metric_add(c->m_rejected[reason], 1);
    c->host->reject(c->node, rec, "%s", text);
}

/* The key the thread's records must carry, in c->keybuf. */
static void thread_key(struct ctx *c, const gsp_voice_event *ev)
{
    c->keybuf.len = 0;
    mf_buffer_append(&c->keybuf, ev->tenant.s, ev->tenant.len);
    mf_buffer_append(&c->keybuf, ":", 1);
    mf_buffer_append(&c->keybuf, ev->call_thread_id.s, ev->call_thread_id.len);
}

/* An accepted event at an agent, unchanged, keyed by the agent for
 * agentstate; acknowledged with the input (so the input waits for it too). */
static void forward_to_agent(struct ctx *c, const mf_record *rec, const gsp_voice_event *ev)
{
    if (c->port_agent_events < 0 || !ev->agent_id.len)
        return;
    c->agent_key.len = 0;
    mf_buffer_append(&c->agent_key, ev->tenant.s, ev->tenant.len);
    mf_buffer_append(&c->agent_key, ":", 1);
    mf_buffer_append(&c->agent_key, ev->agent_id.s, ev->agent_id.len);
    mf_record out = *rec;
    out.key = c->agent_key.data;
    out.key_len = (uint32_t)c->agent_key.len;
    out.flags &= ~(uint32_t)MF_RECORD_KEY_NULL;
    int rc = c->host->emit(c->node, c->port_agent_events, &out, NULL);
    if (rc != MF_OK && c->rc == MF_OK)
        c->rc = rc;
}

static void handle(struct ctx *c, mf_record *rec)
{
    gsp_voice_event ev;
    const char *why;
    char text[320];
    gsp_reject_kind k = gsp_decode(c->decoder, rec, &ev, &why);
    uint32_t stream = c->host->record_stream(c->node, rec);
    /* the first record of a stream may make others known (a source's other
     * partitions): pending from now on */
    mf_watermark_sync(c->wm, c->host, c->node, c->now);
    if (k == GSP_REJECT_MISSING_FIELD && call_config_take(c->config, rec)) {
        mf_watermark_observe(c->wm, stream, MF_TIME_UNSET, c->now); /* configuration: no event time */
        return;
    }
    c->host->metric_add(c->m_events, 1);
    if (k != GSP_REJECT_NONE) {
        reject(c, rec, k, why);
        return;
    }
    thread_key(c, &ev);
    switch (gsp_keyed_check_key(rec, &c->keybuf, "call", "{tenant}:{CallThreadID}", text, sizeof text)) {
    case GSP_KEY_NONE: reject(c, rec, R_NO_KEY, text); return;
    case GSP_KEY_MISMATCH: reject(c, rec, R_KEY_MISMATCH, text); return;
    case GSP_KEY_OK: break;
    }
    if (mf_watermark_observe(c->wm, stream, ev.time_ms, c->now))
        gsp_keyed_advance(&c->gk, c->now);
    struct thread *t = mf_keyed_get(c->keyed, rec->key, rec->key_len);
    int64_t wm = watermark(c);
    if (!t && wm != MF_TIME_UNSET && ev.time_ms < wm - c->late_window) {
        snprintf(text, sizeof text, "late event: time %lld ms is more than late_window behind the watermark %lld",
                 (long long)ev.time_ms, (long long)wm);
        reject(c, rec, R_LATE, text);
        return;
    }
    bool unknown_person = call_config_enrich(c->config, &ev);
    bool created = false, new_call = !t || !ct_store_has_conn(&t->store, &ev.conn_id);
    if (!t) {
        t = mf_keyed_get_or_create(c->keyed, rec->key, rec->key_len, &created);
        t->tenant_len = (uint32_t)ev.tenant.len;
        t->last_ms = ev.time_ms;
        c->host->metric_add(c->m_created, 1);
        c->host->metric_add(c->m_open, 1);
    }
    switch (ct_store_add(&t->store, &ev, (uint32_t)c->max_events)) {
    case CT_DUPLICATE:
        c->host->metric_add(c->m_duplicates, 1);
        return;
    case CT_FULL:
        snprintf(text, sizeof text, "call thread '%.*s' holds max_events (%lld) events already",
                 (int)ev.call_thread_id.len, ev.call_thread_id.s, (long long)c->max_events);
        reject(c, rec, R_TOO_MANY, text);
        return;
    case CT_ADDED:
        if (new_call)
            c->host->metric_add(c->m_calls, 1);
        break;
    }
    if (unknown_person)
        call_config_unknown_person(c->config, ev.tenant.s, ev.tenant.len);
    mf_keyed_absorb(c->keyed, t, rec);
    forward_to_agent(c, rec, &ev);
    if (ev.time_ms > t->last_ms)
        t->last_ms = ev.time_ms;
    if (t->status == ST_OPEN) {
        mf_keyed_timer_cancel(c->keyed, t, T_STUCK);
        mf_keyed_timer_set(c->keyed, t, T_CHECK, gsp_time_add(t->last_ms, c->close_grace));
        gsp_keyed_advance(&c->gk, c->now); /* the timer may be due already */
    } else {
        c->host->metric_add(c->m_late_updates, 1);
        emit_facts(c, t, t->stuck);
    }
}

/* The watermark gauges: what this worker has seen, and how far its timers
 * (so the facts they emit) have gone. */
static void set_watermarks(struct ctx *c)
{
    int64_t in = watermark(c), out = mf_keyed_watermark(c->keyed);
    if (in != MF_TIME_UNSET)
        c->host->metric_set(c->m_wm_in, (double)in);
    if (out != MF_TIME_UNSET && out != INT64_MAX)
        c->host->metric_set(c->m_wm_out, (double)out);
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
    set_watermarks(c);
    return c->rc;
}

static int flush(void *vctx, mf_flush_reason reason)
{
    struct ctx *c = vctx;
    if (reason != MF_FLUSH_END)
        return c->rc; /* open threads stay open: their inputs are replayed after a restart */
    gsp_keyed_end(&c->gk, c->max_out_of_order, &c->ending, NULL, &c->rc);
    c->ending = false;
    return c->rc;
}

/* ---- snapshots --------------------------------------------------------------------- */

/* The bytes: "CTC1", the length of the keyed part (8 bytes, little-endian),
 * the keyed part (mf_keyed), then the configuration cache (call_config_save;
 * every worker holds all of it: broadcast). Older checkpoints hold the keyed
 * part alone. */
#define SNAP_MAGIC "CTC1"

static int snapshot(void *vctx, uint64_t checkpoint_id, mf_buffer *out)
{
    struct ctx *c = vctx;
    size_t at = out->len;
    uint8_t head[12] = {'C', 'T', 'C', '1'};
    mf_buffer_append(out, head, sizeof head);
    int rc = gsp_keyed_snapshot(&c->gk, checkpoint_id, out);
    if (rc != MF_OK)
        return rc;
    uint64_t keyed = out->len - at - sizeof head;
    for (int i = 0; i < 8; i++)
        out->data[at + 4 + i] = (uint8_t)(keyed >> (8 * i));
    call_config_save(c->config, out);
    return MF_OK;
}

static int commit(void *vctx, uint64_t checkpoint_id)
{
    gsp_keyed_commit(&((struct ctx *)vctx)->gk, checkpoint_id);
    return MF_OK;
}

static bool is_open(const void *state)
{
    return ((const struct thread *)state)->status == ST_OPEN;
}

static int restore(void *vctx, const uint8_t *data, size_t len)
{
    struct ctx *c = vctx;
    size_t keyed = len;
    if (len >= 12 && memcmp(data, SNAP_MAGIC, 4) == 0) {
        uint64_t k = 0;
        for (int i = 0; i < 8; i++)
            k |= (uint64_t)data[4 + i] << (8 * i);
        if (k > len - 12 || !call_config_load(c->config, data + 12 + k, len - 12 - k)) {
            c->host->log(c->node, MF_LOG_ERROR, "the configuration in the checkpoint is malformed");
            return MF_FATAL;
        }
        data += 12;
        keyed = (size_t)k;
    }
    return gsp_keyed_restore(&c->gk, data, keyed);
}

/* ---- life cycle -------------------------------------------------------------------- */

static mf_metric *counter(struct ctx *c, const char *name, const char *labels, const char *help)
{
    return c->host->counter(c->node, name, labels, help);
}

static int init(void *vctx, mf_node *node, const mf_host *host)
{
    struct ctx *c = vctx;
    c->host = host;
    c->node = node;
    c->wm = mf_watermark_new(c->max_out_of_order, c->idle_timeout);
    c->target = (cf_target){.host = host, .node = node, .writer = &c->writer,
                            .port_interactions = host->port(node, "interactions"),
                            .port_resources = host->port(node, "resources"),
                            .port_segments = host->port(node, "segments")};
    c->config = call_config_new(host, node, (size_t)c->max_config_objects);
    c->target.switch_of = call_config_switch_of;
    c->target.switch_arg = c->config;
    if (c->target.port_interactions < 0 || c->target.port_resources < 0 || c->target.port_segments < 0)
        return MF_FATAL;
    c->port_agent_events = host->port(node, "agent_events");
    if (c->port_agent_events >= 0 && !host->port_wired(node, c->port_agent_events))
        c->port_agent_events = -1;
    if (!(c->decoder = gsp_decoder_new(host, node, GSP_DOMAIN_CALL)))
        return MF_FATAL;
    c->work = cm_work_new();
    c->keyed = mf_keyed_new(host, node, &thread_ops, c);
    c->m_events = counter(c, "martflow_callthread_events_total", NULL, "Call events read");
    c->m_created = counter(c, "martflow_callthread_threads_created_total", NULL, "Call threads opened");
    c->m_closed = counter(c, "martflow_callthread_threads_closed_total", NULL,
                          "Call threads closed (every party ended, or stuck)");
    c->m_stuck = counter(c, "martflow_callthread_threads_stuck_total", NULL,
                         "Call threads closed as stuck after stuck_timeout of silence");
    c->m_late_updates = counter(c, "martflow_callthread_late_updates_total", NULL,
                                "Events for a closed thread within late_window (its facts upserted again)");
    c->m_duplicates = counter(c, "martflow_callthread_duplicates_total", NULL,
                              "Exact duplicate events dropped (same id, time and seq)");
    c->m_open = host->gauge(node, "martflow_callthread_open_threads", NULL, "Call threads open now");
    c->gk = (gsp_keyed){.host = host, .keyed = c->keyed, .wm = c->wm, .m_open = c->m_open, .is_open = is_open,
                        .on_timer = on_timer, .arg = c, .wm_now = NULL};
    c->m_calls = counter(c, "martflow_callthread_calls_created_total", NULL,
                         "Calls seen: a ConnID at its first event in its thread");
    char wl[32];
    int workers = 1;
    snprintf(wl, sizeof wl, "worker=\"%d\"", host->worker(node, &workers));
    c->m_wm_in = host->gauge(node, "martflow_callthread_input_watermark_ms", wl,
                             "Event-time watermark of the input: over its streams, the lowest latest event time, minus "
                             "max_out_of_order (epoch ms)");
    c->m_wm_out = host->gauge(node, "martflow_callthread_output_watermark_ms", wl,
                              "Event time up to which threads were closed and their facts emitted (epoch ms)");
    gsp_reject_counters(host, node, c->m_rejected, R_COUNT, GSP_REJECT_KIND_COUNT, NULL,
                        extra_reasons, "martflow_callthread_rejected_total",
                        "Events rejected to the errors port, by reason");
    return MF_OK;
}

static void free_cb(void *vctx)
{
    struct ctx *c = vctx;
    mf_keyed_free(c->keyed);
    mf_watermark_free(c->wm);
    cm_work_free(c->work);
    gsp_decoder_free(c->decoder);
    call_config_free(c->config);
    gsp_rec_free(&c->writer);
    mf_buffer_free(&c->keybuf);
    mf_buffer_free(&c->agent_key);
}

MF_PLUGIN_DEFINE = {
    MF_PLUGIN_HEADER,
    .kind = MF_KIND_TRANSFORM,
    .name = "callthread",
    .version = "1.0.0",
    .description = "Voice call-thread events to Info Mart interaction, resource and mediation facts (GSP)",
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
