/*
 * source callgen — a seeded, reproducible voice contact centre: agents
 * logging in, Ready / Not Ready / after-call work, calls through a routing
 * point and queues, answered, held, transferred, conferenced, abandoned,
 * RONA, agent outbound and internal calls (callgen_model.h). Ports:
 * `callthread` (voice-callthread events, key "{tenant}:{CallThreadID}"),
 * `agentstate` (voice-agentstate events, key "{tenant}:{AgentID}"),
 * `outbound` (campaign: true) and, with digital: true, `digital_itx` and
 * `digital_agentstate` (callgen_digital.h); the default port carries nothing. A port nothing consumes is not written (the
 * simulation, and so the other port, is the same).
 *
 * Event time is simulated from `start`; `realtime` paces the output to the
 * wall clock instead of as fast as downstream takes it. A share of events
 * can be delayed (disorder) or sent twice (duplicates), by at most
 * max_disorder of event time, from a PRNG stream of their own: the events
 * themselves stay what the clean run generates. A bounded run (calls > 0)
 * ends (MF_EOF) once every call has released and every agent logged out,
 * and writes the plan (callgen_plan.h) to `plan` if set.
 * docs/plugins/callgen.md documents it all.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <martflow/martflow.h>

#include "callgen_model.h"

/* An event waiting to be emitted: at emit_at (event time), then by order. */
struct pending {
    int64_t emit_at;
    uint64_t order;
    cg_event ev;
};

struct ctx {
    /* options */
    int64_t seed, agents, calls, talk_ms, per_poll, max_disorder;
    const char *tenant, *start, *plan_path;
    double rate, speed, disorder, duplicates, share[CG_SHAPE_COUNT], hold, acw, not_ready;
    bool realtime, key_member, keep_open, campaign;
    bool digital;
    int64_t d_agents, d_interactions, chat_ms, workbin_ms;
    double d_rate, d_share[CG_D_SHAPE_COUNT], d_not_ready;

    /* state */
    const mf_host *host;
    mf_node *node;
    cg_model *model;
    cg_rng rng; /* disorder and duplicates only */
    int port[CG_PORT_COUNT];
    bool wired[CG_PORT_COUNT];
    struct pending *heap;
    size_t n_heap, cap_heap;
    uint64_t order;
    int64_t gen_time; /* time of the latest event taken from the model */
    int64_t start_ms, wall0;
    bool ended, done;
    mf_metric *m_events[CG_PORT_COUNT], *m_dup, *m_disorder;
};

/* A call shape's share; its name is cg_shape_names[i] (validate relies on it). */
#define SHARE(i, name, def, doc) MF_OPTION_RANGE(MF_OPT_DOUBLE, name, def, 0, struct ctx, share[i], 0, 1, doc)
/* A digital shape's share; its name is cg_digital_shape_names[i]. */
#define DSHARE(i, name, def, doc) MF_OPTION_RANGE(MF_OPT_DOUBLE, name, def, 0, struct ctx, d_share[i], 0, 1, doc)

static const mf_option options[] = {
    MF_OPTION(MF_OPT_INT, "seed", "1", 0, struct ctx, seed,
              "Seed of the generator: the same seed and options give byte-identical events"),
    MF_OPTION(MF_OPT_STRING, "tenant", "t1", 0, struct ctx, tenant, "Tenant: the prefix of every record key"),
    MF_OPTION_RANGE(MF_OPT_INT, "agents", "20", 0, struct ctx, agents, 1, 10000,
                    "Agents (DNs 10001..., AgentIDs a10001..., places Place_10001...)"),
    MF_OPTION_RANGE(MF_OPT_INT, "calls", "1000", 0, struct ctx, calls, 0, 1e12,
                    "Calls to generate (inbound, outbound and internal); 0: unbounded (never ends)"),
    MF_OPTION_RANGE(MF_OPT_DOUBLE, "rate", "0.1", 0, struct ctx, rate, 1e-6, 1e6,
                    "Call arrivals per second of event time (Poisson)"),
    MF_OPTION(MF_OPT_STRING, "start", "2024-03-30T23:30:00Z", 0, struct ctx, start,
              "Event time the run starts at (RFC 3339 or epoch ms), or 'now'"),
    MF_OPTION_RANGE(MF_OPT_DURATION, "talk_time", "2m", 0, struct ctx, talk_ms, 1000, 86400000,
                    "Mean talk time of a call"),
    MF_OPTION(MF_OPT_BOOL, "realtime", "false", 0, struct ctx, realtime,
              "Emit events at the wall-clock pace of their event times (demos); false: as fast as possible"),
    MF_OPTION_RANGE(MF_OPT_DOUBLE, "speed", "1", 0, struct ctx, speed, 0.001, 1e6,
                    "realtime: event-time seconds per wall-clock second"),
    SHARE(CG_ABANDON_QUEUE, "abandon_in_queue", "0.05", "Share of calls whose caller abandons in the queue (3-90 s after queued)"),
    SHARE(CG_ABANDON_RINGING, "abandon_ringing", "0.03", "Share of calls whose caller abandons while the agent rings"),
    SHARE(CG_RONA, "rona", "0.04", "Share of calls the first agent does not answer (RONA: back to the queue, agent Not Ready)"),
    SHARE(CG_TRANSFER_SINGLE, "transfer_single_step", "0.04", "Share of calls the agent transfers single-step to a Ready agent"),
    SHARE(CG_TRANSFER_TWO_STEP, "transfer_two_step", "0.04", "Share of calls the agent transfers two-step (consultation) to a Ready agent"),
    SHARE(CG_CONFERENCE, "conference", "0.03", "Share of calls the agent conferences a Ready agent into"),
    SHARE(CG_OUTBOUND, "outbound", "0.08", "Share of calls that are agent outbound calls (a fifth of them meet a busy line)"),
    SHARE(CG_INTERNAL, "internal", "0.04", "Share of calls that are internal calls from one Ready agent to another"),
    MF_OPTION_RANGE(MF_OPT_DOUBLE, "hold", "0.15", 0, struct ctx, hold, 0, 1,
                    "Share of answered inbound calls with a hold and retrieve"),
    MF_OPTION_RANGE(MF_OPT_DOUBLE, "acw", "0.3", 0, struct ctx, acw, 0, 1,
                    "Share of an agent's calls followed by after-call work (5-60 s, with a reason code)"),
    MF_OPTION_RANGE(MF_OPT_DOUBLE, "not_ready", "0.05", 0, struct ctx, not_ready, 0, 1,
                    "Share of an agent's other calls followed by a Not Ready break (1-10 min, with a reason)"),
    MF_OPTION_RANGE(MF_OPT_DOUBLE, "disorder", "0", 0, struct ctx, disorder, 0, 1,
                    "Share of events emitted late, behind later events, by up to max_disorder of event time"),
    MF_OPTION_RANGE(MF_OPT_DOUBLE, "duplicates", "0", 0, struct ctx, duplicates, 0, 1,
                    "Share of events emitted twice (the copy up to max_disorder later)"),
    MF_OPTION_RANGE(MF_OPT_DURATION, "max_disorder", "4s", 0, struct ctx, max_disorder, 1, 3600000,
                    "Most event time an event is delayed by; keep it below the transforms' max_out_of_order"),
    MF_OPTION(MF_OPT_STRING, "plan", "", 0, struct ctx, plan_path,
              "Write the expected fact counts as JSON to this file at the end of a bounded run (empty: none)"),
    MF_OPTION(MF_OPT_BOOL, "key_member", "false", 0, struct ctx, key_member,
              "Also write each record's key into its event as member \"key\" (to read a file back with "
              "key_field: key)"),
    MF_OPTION(MF_OPT_BOOL, "keep_open", "false", 0, struct ctx, keep_open,
              "State benchmarks: every call is answered and stays established (no agent events, no ends)"),
    MF_OPTION(MF_OPT_BOOL, "campaign", "false", 0, struct ctx, campaign,
              "Agent outbound calls are preview-campaign chains: voice-outbound events on port outbound (a "
              "failed dialer attempt, then the agent's call), counted in the plan's outbound member"),
    MF_OPTION(MF_OPT_BOOL, "digital", "false", 0, struct ctx, digital,
              "Also generate digital traffic: agents per media on port digital_agentstate, chat and e-mail "
              "interactions on port digital_itx, counted in the plan's digital members (off: voice unchanged)"),
    MF_OPTION_RANGE(MF_OPT_INT, "digital_agents", "12", 0, struct ctx, d_agents, 2, 10000,
                    "digital: agents (AgentIDs d20001..., places Place_20001...; a third chat only, a third "
                    "e-mail only, a third both)"),
    MF_OPTION_RANGE(MF_OPT_INT, "digital_interactions", "1000", 0, struct ctx, d_interactions, 0, 1e12,
                    "digital: interactions to generate (chats and e-mails); 0: unbounded"),
    MF_OPTION_RANGE(MF_OPT_DOUBLE, "digital_rate", "0.05", 0, struct ctx, d_rate, 1e-6, 1e6,
                    "digital: interaction arrivals per second of event time (Poisson)"),
    DSHARE(CG_D_TIMEOUT, "chat_timeout", "0.06", "digital: share of chats whose first offer times out (then another agent accepts)"),
    DSHARE(CG_D_REJECT, "chat_reject", "0.05", "digital: share of chats whose first offer is rejected (then another agent accepts)"),
    DSHARE(CG_D_REVOKE, "chat_revoke", "0.04", "digital: share of chats whose first offer routing revokes (then another agent accepts)"),
    DSHARE(CG_D_TRANSFER, "chat_transfer", "0.08", "digital: share of chats the agent transfers to another agent"),
    DSHARE(CG_D_CONFERENCE, "chat_conference", "0.05", "digital: share of chats the agent conferences another agent into"),
    DSHARE(CG_D_ABANDON, "chat_abandon", "0.06", "digital: share of chats the contact ends while queued"),
    DSHARE(CG_D_EMAIL, "email", "0.25", "digital: share of interactions that are e-mails (queued, parked in the workbin, handled hours later)"),
    MF_OPTION_RANGE(MF_OPT_DOUBLE, "digital_not_ready", "0.1", 0, struct ctx, d_not_ready, 0, 1,
                    "digital: share of handling ends leaving an agent idle on a media followed by a Not Ready "
                    "break on it (1-10 min, with a reason)"),
    MF_OPTION_RANGE(MF_OPT_DURATION, "chat_time", "4m", 0, struct ctx, chat_ms, 1000, 86400000,
                    "digital: mean handling time of a chat"),
    MF_OPTION_RANGE(MF_OPT_DURATION, "workbin_time", "2h", 0, struct ctx, workbin_ms, 1000, 14 * 86400000.0,
                    "digital: mean time an e-mail waits in the workbin (uniform, half to one and a half of it; at "
                    "most 14d, so it stays below digital's stuck_timeout)"),
    MF_OPTION_RANGE(MF_OPT_INT, "events_per_poll", "512", 0, struct ctx, per_poll, 1, 1e6,
                    "Events emitted per poll (one source batch)"),
    MF_OPTION_END,
};

static const char *const ports[] = {"callthread", "agentstate", "outbound", "digital_itx", "digital_agentstate", NULL};

/* ---- the reorder heap ------------------------------------------------------------------- */

static bool before(const struct pending *x, const struct pending *y)
{
    return x->emit_at < y->emit_at || (x->emit_at == y->emit_at && x->order < y->order);
}

static void push(struct ctx *c, int64_t emit_at, cg_event ev)
{
    if (c->n_heap == c->cap_heap) {
        c->cap_heap = c->cap_heap ? 2 * c->cap_heap : 256;
        c->heap = mf_xrealloc(c->heap, c->cap_heap * sizeof *c->heap);
    }
    struct pending p = {.emit_at = emit_at, .order = c->order++, .ev = ev};
    size_t i = c->n_heap++;
    while (i > 0 && before(&p, &c->heap[(i - 1) / 2])) {
        c->heap[i] = c->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    c->heap[i] = p;
}

static struct pending pop(struct ctx *c)
{
    struct pending top = c->heap[0], last = c->heap[--c->n_heap];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, k = i;
        const struct pending *best = &last;
        if (l < c->n_heap && before(&c->heap[l], best))
            best = &c->heap[k = l];
        if (r < c->n_heap && before(&c->heap[r], best))
            k = r;
        if (k == i)
            break;
        c->heap[i] = c->heap[k];
        i = k;
    }
    if (c->n_heap > 0)
        c->heap[i] = last;
    return top;
}

/* Take the model's next event: delayed (disorder) and/or doubled by chance. */
static void take(struct ctx *c, cg_event ev)
{
    c->gen_time = ev.time_ms;
    cg_plan *plan = cg_model_plan(c->model);
    bool dup = c->duplicates > 0 && cg_rng_unit(&c->rng) < c->duplicates;
    bool late = c->disorder > 0 && cg_rng_unit(&c->rng) < c->disorder;
    int64_t at = ev.time_ms;
    if (late) {
        at += cg_rng_range(&c->rng, 1, c->max_disorder);
        cg_counts_add(&plan->input, "disordered", 1);
        c->host->metric_add(c->m_disorder, 1);
    }
    if (dup) {
        cg_event copy = ev;
        copy.data = mf_xmalloc((size_t)ev.key_len + ev.json_len);
        memcpy(copy.data, ev.data, (size_t)ev.key_len + ev.json_len);
        push(c, ev.time_ms + cg_rng_range(&c->rng, 0, c->max_disorder), copy);
        cg_counts_add(&plan->input, "duplicates", 1);
        c->host->metric_add(c->m_dup, 1);
    }
    push(c, at, ev);
}

/* Is an event ready to go? Every later event of the model comes at or after
 * gen_time, so what is due by then can go (ties: in order of taking). */
static bool fill(struct ctx *c)
{
    while (!c->ended && (c->n_heap == 0 || c->heap[0].emit_at > c->gen_time)) {
        cg_event ev;
        if (!cg_model_next(c->model, &ev))
            c->ended = true;
        else
            take(c, ev);
    }
    return c->n_heap > 0;
}

/* ---- the plan ------------------------------------------------------------------------ */

static json_t *generator_json(const struct ctx *c)
{
    json_t *g = json_pack("{s:I, s:s, s:I, s:I, s:f, s:I, s:I, s:f, s:f, s:f, s:f, s:f, s:I, s:b}", "seed",
                          (json_int_t)c->seed, "tenant", c->tenant, "agents", (json_int_t)c->agents, "calls",
                          (json_int_t)c->calls, "rate", c->rate, "start_ms", (json_int_t)c->start_ms, "talk_time_ms",
                          (json_int_t)c->talk_ms, "hold", c->hold, "acw", c->acw, "not_ready", c->not_ready,
                          "disorder", c->disorder, "duplicates", c->duplicates, "max_disorder_ms",
                          (json_int_t)c->max_disorder, "keep_open", c->keep_open);
    json_object_set_new(g, "campaign", json_boolean(c->campaign));
    for (int i = 0; i < CG_SHAPE_COUNT; i++)
        json_object_set_new(g, cg_shape_names[i], json_real(c->share[i]));
    if (c->digital) { /* only then: a voice-only plan stays what it was */
        json_t *d = json_pack("{s:I, s:I, s:f, s:f, s:I, s:I}", "agents", (json_int_t)c->d_agents, "interactions",
                              (json_int_t)c->d_interactions, "rate", c->d_rate, "not_ready", c->d_not_ready,
                              "chat_time_ms", (json_int_t)c->chat_ms, "workbin_time_ms", (json_int_t)c->workbin_ms);
        for (int i = 0; i < CG_D_SHAPE_COUNT; i++)
            json_object_set_new(d, cg_digital_shape_names[i], json_real(c->d_share[i]));
        json_object_set_new(g, "digital", d);
    }
    return g;
}

static int write_plan(struct ctx *c)
{
    if (!*c->plan_path)
        return MF_OK;
    json_t *g = generator_json(c);
    char err[512];
    bool ok = cg_plan_write(cg_model_plan(c->model), g, c->plan_path, err, sizeof err);
    json_decref(g);
    if (!ok) {
        c->host->log(c->node, MF_LOG_ERROR, "plan: %s", err);
        return MF_FATAL;
    }
    c->host->log(c->node, MF_LOG_INFO, "plan written to %s", c->plan_path);
    return MF_OK;
}

/* ---- the plugin ----------------------------------------------------------------------- */

/* The shares stored from offset `from` (n of them) as configured (else their
 * defaults): they must add up to at most 1. */
static double shares_sum(const json_t *config, size_t from, size_t n)
{
    double sum = 0;
    for (const mf_option *o = options; o->name; o++) {
        if (o->offset < (ptrdiff_t)from || o->offset >= (ptrdiff_t)(from + sizeof(double) * n))
            continue;
        const json_t *v = config ? json_object_get(config, o->name) : NULL;
        sum += json_is_number(v) ? json_number_value(v)
               : json_is_string(v) ? atof(json_string_value(v))
                                   : atof(o->default_value);
    }
    return sum;
}

static void validate(const json_t *config, mf_check *check)
{
    double sum = shares_sum(config, offsetof(struct ctx, share), CG_SHAPE_COUNT);
    if (sum > 1.0 + 1e-9)
        check->problem(check, NULL, "the call shares (abandon_in_queue ... internal) add up to %.3f: at most 1",
                       sum);
    sum = shares_sum(config, offsetof(struct ctx, d_share), CG_D_SHAPE_COUNT);
    if (sum > 1.0 + 1e-9)
        check->problem(check, NULL, "the digital shares (chat_timeout ... email) add up to %.3f: at most 1", sum);
    const json_t *start = json_object_get(config, "start");
    int64_t ms;
    if (json_is_string(start) && strcmp(json_string_value(start), "now") != 0 &&
        !mf_parse_time_ms(json_string_value(start), &ms))
        check->problem(check, start, "start: not an RFC 3339 time, epoch ms or 'now'");
}

static int init(void *vctx, mf_node *node, const mf_host *host)
{
    struct ctx *c = vctx;
    c->host = host;
    c->node = node;
    double sum = 0;
    for (int i = 0; i < CG_SHAPE_COUNT; i++)
        sum += c->share[i];
    if (sum > 1.0 + 1e-9) {
        host->log(node, MF_LOG_ERROR, "the call shares add up to %.3f: at most 1", sum);
        return MF_FATAL;
    }
    sum = 0;
    for (int i = 0; i < CG_D_SHAPE_COUNT; i++)
        sum += c->d_share[i];
    if (sum > 1.0 + 1e-9) {
        host->log(node, MF_LOG_ERROR, "the digital shares add up to %.3f: at most 1", sum);
        return MF_FATAL;
    }
    if (strcmp(c->start, "now") == 0)
        c->start_ms = host->now_ms();
    else if (!mf_parse_time_ms(c->start, &c->start_ms)) {
        host->log(node, MF_LOG_ERROR, "start: '%s' is not an RFC 3339 time, epoch ms or 'now'", c->start);
        return MF_FATAL;
    }
    for (int i = 0; i < CG_PORT_COUNT; i++) {
        const char *const *names = cg_port_names;
        c->port[i] = host->port(node, names[i]);
        c->wired[i] = c->port[i] >= 0 && host->port_wired(node, c->port[i]);
        char labels[64];
        snprintf(labels, sizeof labels, "port=\"%s\"", names[i]);
        c->m_events[i] = host->counter(node, "martflow_callgen_events_total", labels, "Events generated, per port");
    }
    c->m_dup = host->counter(node, "martflow_callgen_duplicates_total", NULL, "Events emitted twice");
    c->m_disorder = host->counter(node, "martflow_callgen_disordered_total", NULL, "Events emitted late");
    cg_options o = {.seed = (uint64_t)c->seed, .tenant = c->tenant, .agents = c->agents, .calls = c->calls,
                    .rate = c->rate, .start_ms = c->start_ms, .hold = c->hold, .acw = c->acw,
                    .not_ready = c->not_ready, .talk_ms = c->talk_ms, .key_member = c->key_member,
                    .keep_open = c->keep_open, .campaign = c->campaign,
                    .digital = {.enabled = c->digital, .agents = c->d_agents, .interactions = c->d_interactions,
                                .rate = c->d_rate, .not_ready = c->d_not_ready, .chat_ms = c->chat_ms,
                                .workbin_ms = c->workbin_ms}};
    memcpy(o.share, c->share, sizeof o.share);
    memcpy(o.digital.share, c->d_share, sizeof o.digital.share);
    c->model = cg_model_new(&o);
    cg_rng_seed(&c->rng, (uint64_t)c->seed ^ 0x6469736f72646572ull); /* "disorder" */
    c->gen_time = INT64_MIN;
    c->wall0 = host->monotonic_ms();
    return MF_OK;
}

static void emit(struct ctx *c, const cg_event *ev)
{
    int p = ev->port; /* CG_PORT_* are the indexes of port[] */
    c->host->metric_add(c->m_events[p], 1);
    if (!c->wired[p])
        return;
    mf_record r = {.key = (const uint8_t *)ev->data, .key_len = ev->key_len,
                   .value = (const uint8_t *)ev->data + ev->key_len, .value_len = ev->json_len,
                   .time_ms = ev->time_ms, .origin = {.topic = "callgen", .partition = -1, .offset = -1}};
    c->host->emit(c->node, c->port[p], &r, NULL);
}

static int poll_cb(void *vctx, int timeout_ms)
{
    struct ctx *c = vctx;
    if (c->done)
        return MF_EOF;
    for (int64_t n = 0; n < c->per_poll && fill(c); n++) {
        if (c->realtime) {
            int64_t due = c->wall0 + (int64_t)((double)(c->heap[0].emit_at - c->start_ms) / c->speed);
            int64_t wait = due - c->host->monotonic_ms();
            if (wait > 0) {
                if (n == 0) /* nothing emitted yet: wait a little here */
                    usleep((useconds_t)(wait < timeout_ms ? wait : timeout_ms > 0 ? timeout_ms : 1) * 1000u);
                return MF_OK;
            }
        }
        struct pending p = pop(c);
        emit(c, &p.ev);
        free(p.ev.data);
    }
    if (c->ended && c->n_heap == 0) {
        c->done = true;
        int rc = write_plan(c);
        return rc == MF_OK ? MF_EOF : rc;
    }
    return MF_OK;
}

static void free_cb(void *vctx)
{
    struct ctx *c = vctx;
    for (size_t i = 0; i < c->n_heap; i++)
        free(c->heap[i].ev.data);
    free(c->heap);
    cg_model_free(c->model);
}

MF_PLUGIN_DEFINE = {
    MF_PLUGIN_HEADER,
    .kind = MF_KIND_SOURCE,
    .name = "callgen",
    .version = "1.0.0",
    .description = "Generate reproducible voice-callthread and voice-agentstate traffic (seeded; voice-outbound "
                   "with campaign, digital-itx and digital-agentstate with digital), with a plan of the facts it "
                   "should make",
    .options = options,
    .ports = ports,
    .ctx_size = sizeof(struct ctx),
    .init = init,
    .validate = validate,
    .free = free_cb,
    .poll = poll_cb,
};
