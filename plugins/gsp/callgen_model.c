/*
 * callgen_model — agents, calls, one queue, in event time.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <martflow/helpers.h>

#include "callgen_model.h"

const char *const cg_port_names[CG_PORT_COUNT] = {"callthread", "agentstate", "outbound", "digital_itx",
                                                   "digital_agentstate"};
/* The plan's input counts, by port. */
static const char *const input_names[CG_PORT_COUNT] = {"callthread_events", "agentstate_events", "outbound_events",
                                                        "digital_itx_events", "digital_agentstate_events"};

const char *const cg_shape_names[CG_SHAPE_COUNT] = {
    "abandon_in_queue", "abandon_ringing", "rona", "transfer_single_step", "transfer_two_step",
    "conference", "outbound", "internal"};

#define RP_DN "5000"
#define EXT_ANI_PREFIX "+1555"
static const char *const queues[] = {"7001", "7002"};
static const char *const dnis_of_queue[] = {"8005551000", "8005552000"};
static const char *const break_reasons[] = {"Break", "Lunch", "Meeting", "Training"};
static const char *const acw_reasons[] = {"Wrapup", "Callback", "Notes"};
#define LOGIN_SPREAD_MS 60000
#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* ---- PRNG --------------------------------------------------------------------------- */

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* A bijection of 64-bit values (splitmix64's finaliser): distinct inputs give
 * distinct ids. */
static uint64_t mix64(uint64_t z)
{
    uint64_t x = z - 0x9E3779B97F4A7C15ull;
    return splitmix64(&x);
}

uint64_t cg_rng_mix(uint64_t z)
{
    return mix64(z);
}

void cg_rng_seed(cg_rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t cg_rng_next(cg_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double cg_rng_unit(cg_rng *r)
{
    return (double)(cg_rng_next(r) >> 11) * 0x1.0p-53;
}

int64_t cg_rng_range(cg_rng *r, int64_t lo, int64_t hi)
{
    if (hi <= lo)
        return lo;
    return lo + (int64_t)(cg_rng_next(r) % (uint64_t)(hi - lo + 1));
}

/* ---- the world ------------------------------------------------------------------------ */

enum { A_OUT = 0, A_NR_INITIAL, A_READY, A_NR, A_ACW };

struct agent {
    int idx;
    char id[32], dn[24], place[32];
    int mode;          /* A_* */
    const char *reason; /* NR / ACW reason */
    int64_t reason_since;
    int legs;          /* call legs at the agent's DN (BUSY while > 0) */
    uint32_t gen;      /* bumps on every mode change: a stale timer is ignored */
    int state;         /* the summarised state now, -1 logged out */
    int64_t state_since;
    struct agent *prev, *next; /* the Ready-and-idle list, longest idle first */
    bool idle;
};

/* Steps of a call's script. */
enum {
    S_ARRIVE, S_ROUTED, S_QUEUED, S_ABANDON_QUEUE, S_ABANDON_RING, S_RONA, S_ANSWER, S_HOLD, S_RETRIEVE, S_TALK_END,
    S_B_ANSWER, S_B_END, S_CONSULT_DIAL, S_CONSULT_EST, S_CONSULT_END, S_CONF_B_END, S_CONF_A_END,
    S_PLAIN_END, S_OUT_REACHED, S_OUT_EST, S_OUT_END, S_INT_EST, S_INT_END, S_OB_FIRST_RESULT
};

enum { SHAPE_PLAIN = CG_SHAPE_COUNT };

struct call {
    uint64_t n;
    int shape;
    bool hold, busy, rona_done, waiting;
    int q;            /* queue index */
    char thread[20], conn[2][20], uuid[2][40], ani[16], ext[16];
    struct agent *a, *b;
    int64_t queued_ms, talk_ms;
    int64_t dial_seq; /* campaign: seq of the agent's EventDialing (its IRF's first event) */
};

enum { ACT_ARRIVAL = 1, ACT_CALL, ACT_READY, ACT_LOGIN, ACT_LOGOUT, ACT_DIGITAL };

struct action {
    int64_t t;
    uint64_t order;
    int type, step;
    uint32_t gen;
    void *p;
};

struct cg_model {
    cg_options o;
    cg_rng rng;
    uint64_t salt;
    int64_t now, seq, arrivals, open_calls;
    bool ending;
    struct agent *agents;
    struct agent *idle_head, *idle_tail;
    int64_t n_idle;
    struct action *heap;
    size_t n_heap, cap_heap;
    uint64_t order;
    struct call **wait; /* the queue, first come first served */
    size_t n_wait, cap_wait;
    cg_event *out;      /* events written, not yet taken: a FIFO */
    size_t out_head, out_count, out_cap;
    mf_buffer b;        /* the event being written */
    int b_port;
    uint32_t b_key_len;
    cg_plan plan;
    cg_digital *digital; /* NULL when off */
};

/* ---- the action heap ----------------------------------------------------------------- */

static bool before(const struct action *x, const struct action *y)
{
    return x->t < y->t || (x->t == y->t && x->order < y->order);
}

static void schedule(cg_model *m, int64_t t, int type, void *p, int step, uint32_t gen)
{
    if (m->n_heap == m->cap_heap) {
        m->cap_heap = m->cap_heap ? 2 * m->cap_heap : 256;
        m->heap = mf_xrealloc(m->heap, m->cap_heap * sizeof *m->heap);
    }
    size_t i = m->n_heap++;
    struct action a = {.t = t, .order = m->order++, .type = type, .step = step, .gen = gen, .p = p};
    while (i > 0 && before(&a, &m->heap[(i - 1) / 2])) {
        m->heap[i] = m->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    m->heap[i] = a;
}

static struct action pop(cg_model *m)
{
    struct action top = m->heap[0];
    struct action last = m->heap[--m->n_heap];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, k = i;
        const struct action *best = &last;
        if (l < m->n_heap && before(&m->heap[l], best))
            best = &m->heap[k = l];
        if (r < m->n_heap && before(&m->heap[r], best))
            k = r;
        if (k == i)
            break;
        m->heap[i] = m->heap[k];
        i = k;
    }
    if (m->n_heap > 0)
        m->heap[i] = last;
    return top;
}

static void call_at(cg_model *m, struct call *c, int64_t delay_ms, int step)
{
    schedule(m, m->now + delay_ms, ACT_CALL, c, step, 0);
}

/* ---- writing events ------------------------------------------------------------------- */

static void put(cg_model *m, const char *s)
{
    mf_buffer_append(&m->b, s, strlen(s));
}

static void put_time(cg_model *m, int64_t ms)
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char text[64];
    snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
    put(m, text);
}

/* ,"name":"value" (our values need no escaping: digits, letters, '-', '+', '_') */
static void field(cg_model *m, const char *name, const char *value)
{
    put(m, ",\"");
    put(m, name);
    put(m, "\":\"");
    put(m, value);
    put(m, "\"");
}

/* Begin an event: the key first, then {"key"?, "id", "time", "seq". */
static void ev_open(cg_model *m, int port, const char *id, const char *key_id)
{
    mf_buffer_reset(&m->b);
    put(m, m->o.tenant);
    put(m, ":");
    put(m, key_id);
    m->b_key_len = (uint32_t)m->b.len;
    m->b_port = port;
    put(m, "{");
    if (m->o.key_member) {
        put(m, "\"key\":\"");
        mf_buffer_append(&m->b, m->b.data, m->b_key_len);
        put(m, "\",");
    }
    put(m, "\"id\":\"");
    put(m, id);
    put(m, "\",\"time\":\"");
    put_time(m, m->now);
    char seq[32];
    snprintf(seq, sizeof seq, "\",\"seq\":%lld", (long long)++m->seq);
    put(m, seq);
}

static void ev_close(cg_model *m)
{
    put(m, "}");
    if (m->out_count == m->out_cap) {
        size_t cap = m->out_cap ? 2 * m->out_cap : 64;
        cg_event *q = mf_xmalloc(cap * sizeof *q);
        for (size_t i = 0; i < m->out_count; i++)
            q[i] = m->out[(m->out_head + i) % m->out_cap];
        free(m->out);
        m->out = q;
        m->out_cap = cap;
        m->out_head = 0;
    }
    char *data = mf_xmalloc(m->b.len);
    memcpy(data, m->b.data, m->b.len);
    m->out[(m->out_head + m->out_count++) % m->out_cap] =
        (cg_event){.port = m->b_port, .time_ms = m->now, .key_len = m->b_key_len,
                   .json_len = (uint32_t)(m->b.len - m->b_key_len), .data = data};
    cg_counts_add(&m->plan.input, input_names[m->b_port], 1);
    if (m->plan.first_ms == INT64_MIN)
        m->plan.first_ms = m->now;
    m->plan.last_ms = m->now;
}

/* A call event at dn on the call's leg (0: the customer's call, 1: the
 * consultation), with the agent's fields when a is set. Left open. */
static void call_ev(cg_model *m, const struct call *c, int leg, const char *id, const char *dn, const char *dn_type,
                    const struct agent *a)
{
    ev_open(m, CG_PORT_CALLTHREAD, id, c->thread);
    field(m, "CallThreadID", c->thread);
    field(m, "ConnID", c->conn[leg]);
    field(m, "ThisDN", a ? a->dn : dn);
    if (dn_type)
        field(m, "ThisDNType", dn_type);
    if (a) {
        field(m, "AgentID", a->id);
        field(m, "Place", a->place);
    }
    const char *type = leg == 1 ? "Consult"
                       : c->shape == CG_OUTBOUND ? "Outbound"
                       : c->shape == CG_INTERNAL ? "Internal"
                                                 : "Inbound";
    field(m, "CallType", type);
}

static void agent_ev(cg_model *m, const struct agent *a, const char *id)
{
    ev_open(m, CG_PORT_AGENTSTATE, id, a->id);
    field(m, "AgentID", a->id);
    field(m, "ThisDN", a->dn);
    field(m, "ThisQueue", queues[0]);
    field(m, "Place", a->place);
}

/* ---- the writer callgen_digital uses ------------------------------------------------------ */

void cg_ev_open(cg_model *m, int port, const char *id, const char *key_id)
{
    ev_open(m, port, id, key_id);
}

void cg_ev_str(cg_model *m, const char *name, const char *value)
{
    field(m, name, value);
}

void cg_ev_raw(cg_model *m, const char *json)
{
    put(m, json);
}

void cg_ev_close(cg_model *m)
{
    ev_close(m);
}

int64_t cg_model_now(const cg_model *m)
{
    return m->now;
}

void cg_model_schedule_digital(cg_model *m, int64_t t, void *p, int step, uint32_t gen)
{
    schedule(m, t, ACT_DIGITAL, p, step, gen);
}

/* ---- campaign (voice-outbound) events ------------------------------------------------- */

static void int_field(cg_model *m, const char *name, int64_t v)
{
    char text[64];
    snprintf(text, sizeof text, ",\"%s\":%lld", name, (long long)v);
    put(m, text);
}

void cg_ev_int(cg_model *m, const char *name, int64_t v)
{
    int_field(m, name, v);
}

/* An outbound event of the call's chain: campaign `Campaign<queue>`, chain
 * the call's number, keyed "{tenant}:{CampaignID}:{ChainID}". Left open. */
static void ob_ev(cg_model *m, const struct call *c, const char *id)
{
    char campaign[24], key[48];
    snprintf(campaign, sizeof campaign, "Campaign%d", c->q + 1);
    snprintf(key, sizeof key, "%s:%llu", campaign, (unsigned long long)c->n);
    ev_open(m, CG_PORT_OUTBOUND, id, key);
    field(m, "CampaignID", campaign);
    int_field(m, "ChainID", (int64_t)c->n);
}

static void ob_result(cg_model *m, const struct call *c, const char *result)
{
    ob_ev(m, c, "EventOCSCallResult");
    field(m, "CallResult", result);
    ev_close(m);
    cg_counts_add(&m->plan.attempts, result, 1);
}

static int summary(const struct agent *a)
{
    if (a->mode == A_OUT)
        return -1;
    if (a->mode == A_ACW)
        return CG_ACW;
    if (a->mode == A_NR || a->mode == A_NR_INITIAL)
        return CG_NOT_READY;
    return a->legs > 0 ? CG_BUSY : CG_READY;
}

static void idle_remove(cg_model *m, struct agent *a)
{
    if (!a->idle)
        return;
    if (a->prev)
        a->prev->next = a->next;
    else
        m->idle_head = a->next;
    if (a->next)
        a->next->prev = a->prev;
    else
        m->idle_tail = a->prev;
    a->prev = a->next = NULL;
    a->idle = false;
    m->n_idle--;
}

/* After any change of an agent: account the summarised state's time (the
 * plan) and keep the idle list (Ready without a call). */
static void agent_sync(cg_model *m, struct agent *a)
{
    int s = summary(a);
    if (s != a->state) {
        if (a->state >= 0)
            m->plan.agents[a->idx].state_s[a->state] += cg_sec(m->now) - cg_sec(a->state_since);
        a->state = s;
        a->state_since = m->now;
    }
    bool want = s == CG_READY;
    if (want && !a->idle) {
        a->prev = m->idle_tail;
        a->next = NULL;
        if (m->idle_tail)
            m->idle_tail->next = a;
        else
            m->idle_head = a;
        m->idle_tail = a;
        a->idle = true;
        m->n_idle++;
    } else if (!want) {
        idle_remove(m, a);
    }
}

static struct agent *take_idle(cg_model *m)
{
    struct agent *a = m->idle_head;
    if (a)
        idle_remove(m, a);
    return a;
}

/* Leave Not Ready / ACW: its reason's time goes to the plan. */
static void end_reason(cg_model *m, struct agent *a)
{
    if ((a->mode != A_NR && a->mode != A_ACW) || !a->reason)
        return;
    char key[64];
    snprintf(key, sizeof key, "%s|%s", a->mode == A_ACW ? "ACW" : "NOT_READY", a->reason);
    cg_plan_agent *pa = &m->plan.agents[a->idx];
    cg_counts_add(&pa->reasons, key, cg_sec(m->now) - cg_sec(a->reason_since));
    cg_counts_add(&pa->reason_periods, key, 1);
    a->reason = NULL;
}

static void set_not_ready(cg_model *m, struct agent *a, bool acw, const char *reason, int64_t for_ms)
{
    end_reason(m, a);
    agent_ev(m, a, "EventAgentNotReady");
    field(m, "AgentWorkMode", acw ? "AfterCallWork" : "AuxWork");
    put(m, ",\"Reasons\":{\"ReasonCode\":\"");
    put(m, reason);
    put(m, "\"}");
    ev_close(m);
    a->mode = acw ? A_ACW : A_NR;
    a->reason = reason;
    a->reason_since = m->now;
    a->gen++;
    schedule(m, m->now + for_ms, ACT_READY, a, 0, a->gen);
    agent_sync(m, a);
}

/* A leg at the agent began (ringing, dialing). */
static void leg_begin(cg_model *m, struct agent *a)
{
    a->legs++;
    m->plan.agents[a->idx].calls++;
    agent_sync(m, a);
}

/* A leg at the agent ended; after its last one (of a call it talked on) the
 * agent may go to after-call work or a break. */
static void leg_end(cg_model *m, struct agent *a, bool talked)
{
    a->legs--;
    if (a->legs == 0 && a->mode == A_READY && talked && !m->o.keep_open) {
        double u = cg_rng_unit(&m->rng);
        if (u < m->o.acw) {
            m->plan.agents[a->idx].acw_after_call++;
            set_not_ready(m, a, true, acw_reasons[cg_rng_range(&m->rng, 0, N_OF(acw_reasons) - 1)],
                          cg_rng_range(&m->rng, 5000, 60000));
            return;
        }
        if (u < m->o.acw + (1 - m->o.acw) * m->o.not_ready) {
            set_not_ready(m, a, false, break_reasons[cg_rng_range(&m->rng, 0, N_OF(break_reasons) - 1)],
                          cg_rng_range(&m->rng, 60000, 600000));
            return;
        }
    }
    agent_sync(m, a);
}

static void agent_action(cg_model *m, const struct action *act)
{
    struct agent *a = act->p;
    switch (act->type) {
    case ACT_LOGIN:
        agent_ev(m, a, "EventAgentLogin");
        ev_close(m);
        m->plan.agents[a->idx].login_ms = m->now;
        a->mode = A_NR_INITIAL;
        a->gen++;
        schedule(m, m->now + cg_rng_range(&m->rng, 3000, 30000), ACT_READY, a, 0, a->gen);
        break;
    case ACT_READY:
        if (act->gen != a->gen)
            return; /* logged out meanwhile */
        end_reason(m, a);
        agent_ev(m, a, "EventAgentReady");
        ev_close(m);
        a->mode = A_READY;
        a->gen++;
        break;
    case ACT_LOGOUT:
        end_reason(m, a);
        agent_ev(m, a, "EventAgentLogout");
        ev_close(m);
        m->plan.agents[a->idx].logout_ms = m->now;
        a->mode = A_OUT;
        a->gen++;
        break;
    }
    agent_sync(m, a);
}

/* ---- calls ----------------------------------------------------------------------------- */

static void count(cg_counts *t, const char *key)
{
    cg_counts_add(t, key, 1);
}

static void irf(cg_model *m, const char *type, const char *descriptor)
{
    char key[160];
    snprintf(key, sizeof key, "%s|%s", type, descriptor);
    count(&m->plan.resources, key);
}

static void msf(cg_model *m, const char *type, const char *result)
{
    char key[160];
    snprintf(key, sizeof key, "%s|%s", type, result);
    count(&m->plan.segments, key);
}

static int64_t talk_time(cg_model *m)
{
    double mean = (double)m->o.talk_ms;
    double t = -log(1.0 - cg_rng_unit(&m->rng)) * mean * 0.8 + mean * 0.2;
    return t > 10 * mean ? (int64_t)(10 * mean) : (int64_t)t;
}

static struct call *call_new(cg_model *m)
{
    struct call *c = mf_xcalloc(1, sizeof *c);
    c->n = (uint64_t)m->arrivals;
    double u = cg_rng_unit(&m->rng), acc = 0;
    c->shape = SHAPE_PLAIN;
    for (int s = 0; s < CG_SHAPE_COUNT; s++) {
        acc += m->o.share[s];
        if (u < acc) {
            c->shape = s;
            break;
        }
    }
    if (m->o.keep_open)
        c->shape = SHAPE_PLAIN;
    c->hold = cg_rng_unit(&m->rng) < m->o.hold;
    c->busy = cg_rng_unit(&m->rng) < 0.2;
    c->q = (int)cg_rng_range(&m->rng, 0, N_OF(queues) - 1);
    snprintf(c->thread, sizeof c->thread, "%016llX", (unsigned long long)mix64(m->salt ^ (c->n << 1)));
    for (int leg = 0; leg < 2; leg++) {
        uint64_t x = mix64((m->salt + 1) ^ ((c->n << 1) | (uint64_t)leg));
        snprintf(c->conn[leg], sizeof c->conn[leg], "%016llx", (unsigned long long)x);
        uint64_t y = mix64(x);
        snprintf(c->uuid[leg], sizeof c->uuid[leg], "%08llx-%04llx-4%03llx-a%03llx-%012llx",
                 (unsigned long long)(x >> 32), (unsigned long long)((x >> 16) & 0xffff),
                 (unsigned long long)(x & 0xfff), (unsigned long long)(y >> 52),
                 (unsigned long long)(y & 0xffffffffffffull));
    }
    snprintf(c->ani, sizeof c->ani, EXT_ANI_PREFIX "%07lld", (long long)cg_rng_range(&m->rng, 0, 9999999));
    snprintf(c->ext, sizeof c->ext, "+1444%07lld", (long long)cg_rng_range(&m->rng, 0, 9999999));
    c->talk_ms = talk_time(m);
    m->open_calls++;
    if (m->open_calls > m->plan.max_open_calls)
        m->plan.max_open_calls = m->open_calls;
    return c;
}

static void call_end(cg_model *m, struct call *c)
{
    count(&m->plan.interactions, c->shape == CG_OUTBOUND ? "Outbound"
                                 : c->shape == CG_INTERNAL ? "Internal"
                                                           : "Inbound");
    m->open_calls--;
    free(c);
}

static void wait_push(cg_model *m, struct call *c, bool front)
{
    if (m->n_wait == m->cap_wait) {
        m->cap_wait = m->cap_wait ? 2 * m->cap_wait : 64;
        m->wait = mf_xrealloc(m->wait, m->cap_wait * sizeof *m->wait);
    }
    if (front) {
        memmove(m->wait + 1, m->wait, m->n_wait * sizeof *m->wait);
        m->wait[0] = c;
    } else {
        m->wait[m->n_wait] = c;
    }
    m->n_wait++;
    c->waiting = true;
}

/* An agent (two for an internal call) takes a waiting call. */
static void offer(cg_model *m, struct call *c, struct agent *a, struct agent *b)
{
    c->a = a;
    c->b = b;
    switch (c->shape) {
    case CG_OUTBOUND:
        call_ev(m, c, 0, "EventDialing", NULL, NULL, a);
        field(m, "OtherDN", c->ext);
        field(m, "CallID", c->uuid[0]);
        field(m, "ANI", dnis_of_queue[c->q]);
        field(m, "DNIS", c->ext);
        ev_close(m);
        c->dial_seq = m->seq;
        if (m->o.campaign) { /* the agent previews the record and dials it */
            ob_ev(m, c, "EventOCSDialing");
            field(m, "Phone", c->ext);
            ev_close(m);
        }
        leg_begin(m, a);
        call_at(m, c, cg_rng_range(&m->rng, 1000, 3000), S_OUT_REACHED);
        return;
    case CG_INTERNAL:
        call_ev(m, c, 0, "EventDialing", NULL, NULL, a);
        field(m, "OtherDN", b->dn);
        field(m, "CallID", c->uuid[0]);
        ev_close(m);
        call_ev(m, c, 0, "EventRinging", NULL, NULL, b);
        field(m, "OtherDN", a->dn);
        ev_close(m);
        leg_begin(m, a);
        leg_begin(m, b);
        call_at(m, c, cg_rng_range(&m->rng, 2000, 8000), S_INT_EST);
        return;
    }
    int64_t waited = m->now - c->queued_ms;
    if (waited > m->plan.max_queue_wait_ms)
        m->plan.max_queue_wait_ms = waited;
    call_ev(m, c, 0, "EventRinging", NULL, NULL, a);
    field(m, "ThisQueue", queues[c->q]);
    ev_close(m);
    call_ev(m, c, 0, "EventDiverted", queues[c->q], NULL, NULL);
    field(m, "OtherDN", a->dn);
    ev_close(m);
    leg_begin(m, a);
    if (c->shape == CG_ABANDON_RINGING)
        call_at(m, c, cg_rng_range(&m->rng, 3000, 15000), S_ABANDON_RING);
    else if (c->shape == CG_RONA && !c->rona_done)
        call_at(m, c, cg_rng_range(&m->rng, 12000, 15000), S_RONA);
    else
        call_at(m, c, cg_rng_range(&m->rng, 2000, 8000), S_ANSWER);
}

/* Give waiting calls to idle agents, in queue order. */
static void dispatch(cg_model *m)
{
    if (m->n_idle == 0)
        return;
    size_t kept = 0;
    for (size_t i = 0; i < m->n_wait; i++) {
        struct call *c = m->wait[i];
        int need = c->shape == CG_INTERNAL ? 2 : 1;
        if (m->n_idle >= need) {
            struct agent *a = take_idle(m);
            struct agent *b = need == 2 ? take_idle(m) : NULL;
            c->waiting = false;
            offer(m, c, a, b);
        } else {
            m->wait[kept++] = c;
        }
    }
    m->n_wait = kept;
}

/* keep_open: the agent is not taken from the pool (calls pile up on agents
 * round-robin), and the call stays established. */
static void offer_open(cg_model *m, struct call *c)
{
    struct agent *a = &m->agents[c->n % (uint64_t)m->o.agents];
    call_ev(m, c, 0, "EventRinging", NULL, NULL, a);
    field(m, "ThisQueue", queues[c->q]);
    ev_close(m);
    call_ev(m, c, 0, "EventDiverted", queues[c->q], NULL, NULL);
    field(m, "OtherDN", a->dn);
    ev_close(m);
    c->a = a;
    call_at(m, c, cg_rng_range(&m->rng, 2000, 8000), S_ANSWER);
}

static void release(cg_model *m, struct call *c, int leg, struct agent *a, const char *third)
{
    call_ev(m, c, leg, "EventReleased", NULL, NULL, a);
    if (third)
        field(m, "ThirdPartyDN", third);
    ev_close(m);
}

static void call_step(cg_model *m, struct call *c, int step)
{
    struct agent *a = c->a, *b = c->b;
    const char *q = queues[c->q];
    switch (step) {
    case S_ARRIVE:
        call_ev(m, c, 0, "EventRouteRequest", RP_DN, "RoutingPoint", NULL);
        field(m, "CallID", c->uuid[0]);
        field(m, "ANI", c->ani);
        field(m, "DNIS", dnis_of_queue[c->q]);
        ev_close(m);
        call_at(m, c, cg_rng_range(&m->rng, 500, 4000), S_ROUTED);
        return;
    case S_ROUTED:
        call_ev(m, c, 0, "EventRouteUsed", RP_DN, "RoutingPoint", NULL);
        field(m, "OtherDN", q);
        ev_close(m);
        msf(m, "RoutingPoint", "Diverted|Unspecified");
        /* fall through */
    case S_QUEUED: /* (again, after a RONA) */
        call_ev(m, c, 0, "EventQueued", q, "ACDQueue", NULL);
        ev_close(m);
        c->queued_ms = m->now;
        if (c->shape == CG_ABANDON_QUEUE && !m->o.keep_open)
            call_at(m, c, cg_rng_range(&m->rng, 3000, 90000), S_ABANDON_QUEUE);
        else if (m->o.keep_open)
            offer_open(m, c);
        else
            wait_push(m, c, c->rona_done);
        return;
    case S_ABANDON_QUEUE:
        call_ev(m, c, 0, "EventAbandoned", q, "ACDQueue", NULL);
        ev_close(m);
        msf(m, "Queue", "Abandoned|AbandonedWhileQueued");
        irf(m, "Queue", "Received|Unspecified|Abandoned|AbandonedWhileQueued");
        count(&m->plan.situations, "abandoned_in_queue");
        call_end(m, c);
        return;
    case S_ABANDON_RING:
        call_ev(m, c, 0, "EventAbandoned", NULL, NULL, a);
        ev_close(m);
        msf(m, "Queue", "Diverted|AbandonedWhileRinging");
        irf(m, "Agent", "Received|Unspecified|Abandoned|AbandonedWhileRinging");
        count(&m->plan.situations, "abandoned_ringing");
        leg_end(m, a, false);
        call_end(m, c);
        return;
    case S_RONA:
        release(m, c, 0, a, NULL);
        msf(m, "Queue", "Diverted|RouteOnNoAnswer");
        irf(m, "Agent", "Received|Unspecified|Redirected|RouteOnNoAnswer");
        count(&m->plan.situations, "rona");
        c->rona_done = true;
        c->a = NULL;
        a->legs--;
        set_not_ready(m, a, false, "RONA", cg_rng_range(&m->rng, 20000, 90000));
        call_step(m, c, S_QUEUED);
        return;
    case S_ANSWER:
        call_ev(m, c, 0, "EventEstablished", NULL, NULL, a);
        ev_close(m);
        if (c->shape != CG_OUTBOUND && c->shape != CG_INTERNAL)
            msf(m, "Queue", "Diverted|AnsweredByAgent");
        if (m->o.keep_open) { /* stays open: nothing refers to it any more */
            count(&m->plan.interactions, "Inbound");
            free(c);
            return;
        }
        if (c->hold)
            call_at(m, c, cg_rng_range(&m->rng, 5000, 30000), S_HOLD);
        else
            call_at(m, c, c->talk_ms, S_TALK_END);
        return;
    case S_HOLD:
        call_ev(m, c, 0, "EventHeld", NULL, NULL, a);
        ev_close(m);
        count(&m->plan.situations, "holds");
        call_at(m, c, cg_rng_range(&m->rng, 10000, 60000), S_RETRIEVE);
        return;
    case S_RETRIEVE:
        call_ev(m, c, 0, "EventRetrieved", NULL, NULL, a);
        ev_close(m);
        call_at(m, c, c->talk_ms, S_TALK_END);
        return;
    case S_TALK_END:
        if (c->shape == CG_TRANSFER_SINGLE && (b = take_idle(m)) != NULL) {
            c->b = b;
            release(m, c, 0, a, b->dn);
            call_ev(m, c, 0, "EventRinging", NULL, NULL, b);
            ev_close(m);
            irf(m, "Agent", "Received|Unspecified|Transferred|Unspecified");
            irf(m, "Agent", "ReceivedTransfer|Unspecified|Completed|Unspecified");
            count(&m->plan.situations, "transfer_single_step");
            leg_begin(m, b);
            leg_end(m, a, true);
            call_at(m, c, cg_rng_range(&m->rng, 2000, 8000), S_B_ANSWER);
            return;
        }
        if (c->shape == CG_TRANSFER_TWO_STEP || c->shape == CG_CONFERENCE) {
            call_ev(m, c, 0, "EventHeld", NULL, NULL, a);
            ev_close(m);
            call_at(m, c, cg_rng_range(&m->rng, 1000, 3000), S_CONSULT_DIAL);
            return;
        }
        if (c->shape == CG_TRANSFER_SINGLE)
            count(&m->plan.situations, "transfer_nobody_ready");
        call_step(m, c, S_PLAIN_END);
        return;
    case S_PLAIN_END:
        call_ev(m, c, 0, "EventReleased", NULL, NULL, a);
        field(m, "ThisDNRole", "Destination");
        ev_close(m);
        irf(m, "Agent", "Received|Unspecified|Completed|Unspecified");
        count(&m->plan.situations, "answered");
        leg_end(m, a, true);
        call_end(m, c);
        return;
    case S_B_ANSWER:
        call_ev(m, c, 0, "EventEstablished", NULL, NULL, b);
        ev_close(m);
        call_at(m, c, talk_time(m), S_B_END);
        return;
    case S_B_END:
        release(m, c, 0, b, NULL);
        leg_end(m, b, true);
        call_end(m, c);
        return;
    case S_CONSULT_DIAL:
        if ((b = take_idle(m)) == NULL) { /* nobody to consult: back to the customer */
            call_ev(m, c, 0, "EventRetrieved", NULL, NULL, a);
            ev_close(m);
            count(&m->plan.situations, "consult_nobody_ready");
            call_at(m, c, cg_rng_range(&m->rng, 10000, 60000), S_PLAIN_END);
            return;
        }
        c->b = b;
        call_ev(m, c, 1, "EventDialing", NULL, NULL, a);
        field(m, "OtherDN", b->dn);
        field(m, "CallID", c->uuid[1]);
        ev_close(m);
        call_ev(m, c, 1, "EventRinging", NULL, NULL, b);
        field(m, "OtherDN", a->dn);
        ev_close(m);
        leg_begin(m, a);
        leg_begin(m, b);
        call_at(m, c, cg_rng_range(&m->rng, 2000, 8000), S_CONSULT_EST);
        return;
    case S_CONSULT_EST:
        call_ev(m, c, 1, "EventEstablished", NULL, NULL, b);
        ev_close(m);
        call_ev(m, c, 1, "EventEstablished", NULL, NULL, a);
        ev_close(m);
        call_at(m, c, cg_rng_range(&m->rng, 10000, 60000), S_CONSULT_END);
        return;
    case S_CONSULT_END:
        if (c->shape == CG_TRANSFER_TWO_STEP) {
            release(m, c, 0, a, b->dn);
            release(m, c, 1, a, NULL);
            call_ev(m, c, 0, "EventPartyChanged", NULL, NULL, b);
            field(m, "PreviousConnID", c->conn[1]);
            ev_close(m);
            irf(m, "Agent", "Received|Unspecified|Transferred|Unspecified");
            irf(m, "Agent", "ReceivedTransfer|Unspecified|Completed|Unspecified");
            count(&m->plan.situations, "transfer_two_step");
            a->legs--;
            leg_end(m, a, true);
            call_at(m, c, talk_time(m), S_B_END);
            return;
        }
        release(m, c, 1, a, NULL);
        call_ev(m, c, 0, "EventRetrieved", NULL, NULL, a);
        ev_close(m);
        call_ev(m, c, 0, "EventPartyAdded", NULL, NULL, a);
        field(m, "ThirdPartyDN", b->dn);
        ev_close(m);
        call_ev(m, c, 0, "EventPartyAdded", NULL, NULL, b);
        field(m, "PreviousConnID", c->conn[1]);
        ev_close(m);
        irf(m, "Agent", "Received|Unspecified|Conferenced|Unspecified");
        irf(m, "Agent", "Received|ConferenceJoined|Completed|Unspecified");
        count(&m->plan.situations, "conference");
        leg_end(m, a, false); /* the consultation leg; A stays on the call */
        call_at(m, c, cg_rng_range(&m->rng, 20000, 120000), S_CONF_B_END);
        return;
    case S_CONF_B_END:
        release(m, c, 0, b, NULL);
        leg_end(m, b, true);
        call_at(m, c, cg_rng_range(&m->rng, 5000, 60000), S_CONF_A_END);
        return;
    case S_CONF_A_END:
        release(m, c, 0, a, NULL);
        leg_end(m, a, true);
        call_end(m, c);
        return;
    case S_OUT_REACHED:
        call_ev(m, c, 0, c->busy ? "EventDestinationBusy" : "EventNetworkReached", NULL, NULL, a);
        ev_close(m);
        if (m->o.campaign && c->busy)
            ob_result(m, c, "Busy");
        call_at(m, c, c->busy ? cg_rng_range(&m->rng, 1000, 3000) : cg_rng_range(&m->rng, 3000, 20000),
                c->busy ? S_OUT_END : S_OUT_EST);
        return;
    case S_OUT_EST:
        call_ev(m, c, 0, "EventEstablished", NULL, NULL, a);
        ev_close(m);
        if (m->o.campaign) {
            ob_result(m, c, "Answered");
            ob_ev(m, c, "EventOCSCallConnected");
            field(m, "AgentID", a->id);
            field(m, "Place", a->place);
            field(m, "ThisDN", a->dn);
            field(m, "ConnID", c->conn[0]);
            field(m, "CallThreadID", c->thread);
            int_field(m, "ConnectedSeq", c->dial_seq);
            ev_close(m);
        }
        call_at(m, c, c->talk_ms, S_OUT_END);
        return;
    case S_OUT_END:
        release(m, c, 0, a, NULL);
        if (m->o.campaign) {
            if (!c->busy) {
                ob_ev(m, c, "EventOCSCallReleased");
                ev_close(m);
                ob_ev(m, c, "EventOCSRecordProcessed");
                field(m, "RecordDisposition", "Done");
                ev_close(m);
            }
            ob_ev(m, c, "EventOCSChainFinal");
            ev_close(m);
            m->plan.chains++;
        }
        irf(m, "Agent", c->busy ? "Initiated|Unspecified|Abandoned|DestinationBusy"
                                : "Initiated|Unspecified|Completed|Unspecified");
        count(&m->plan.situations, c->busy ? "outbound_busy" : "outbound");
        leg_end(m, a, !c->busy);
        call_end(m, c);
        return;
    case S_OB_FIRST_RESULT: /* the dialer's attempt failed: the record goes to an agent for preview */
        ob_result(m, c, (c->n & 1) ? "NoAnswer" : "Busy");
        c->queued_ms = m->now;
        wait_push(m, c, false);
        return;
    case S_INT_EST:
        call_ev(m, c, 0, "EventEstablished", NULL, NULL, b);
        ev_close(m);
        call_ev(m, c, 0, "EventEstablished", NULL, NULL, a);
        ev_close(m);
        call_at(m, c, c->talk_ms / 2, S_INT_END);
        return;
    case S_INT_END:
        release(m, c, 0, a, NULL);
        release(m, c, 0, b, NULL);
        irf(m, "Agent", "Initiated|Unspecified|Completed|Unspecified");
        irf(m, "Agent", "Received|Unspecified|Completed|Unspecified");
        count(&m->plan.situations, "internal");
        leg_end(m, a, true);
        leg_end(m, b, true);
        call_end(m, c);
        return;
    }
}

static void arrival(cg_model *m)
{
    struct call *c = call_new(m);
    m->arrivals++;
    if (c->shape == CG_OUTBOUND && m->o.campaign) { /* a chain: first a dialer attempt */
        ob_ev(m, c, "EventOCSChainStartProcessing");
        char list[24];
        snprintf(list, sizeof list, "List%d", c->q + 1);
        field(m, "CallingList", list);
        int_field(m, "ChainN", 1);
        int_field(m, "RecordHandle", (int64_t)c->n);
        field(m, "Phone", c->ext);
        ev_close(m);
        ob_ev(m, c, "EventOCSDialing");
        ev_close(m);
        call_at(m, c, cg_rng_range(&m->rng, 5000, 30000), S_OB_FIRST_RESULT);
    } else if (c->shape == CG_OUTBOUND || c->shape == CG_INTERNAL) {
        c->queued_ms = m->now;
        wait_push(m, c, false); /* an agent places it when Ready */
    } else {
        call_step(m, c, S_ARRIVE);
    }
    if (m->o.calls == 0 || m->arrivals < m->o.calls) {
        double gap = -log(1.0 - cg_rng_unit(&m->rng)) / m->o.rate * 1000.0;
        schedule(m, m->now + 1 + (int64_t)gap, ACT_ARRIVAL, NULL, 0, 0);
    }
}

/* A bounded run ends once every call has ended: the agents log out. */
static void maybe_end(cg_model *m)
{
    if (m->ending || m->o.calls == 0 || m->arrivals < m->o.calls || m->open_calls > 0)
        return;
    m->ending = true;
    if (m->o.keep_open)
        return;
    /* after the last login (within the first minute) */
    int64_t from = m->now > m->o.start_ms + LOGIN_SPREAD_MS ? m->now : m->o.start_ms + LOGIN_SPREAD_MS;
    for (int64_t i = 0; i < m->o.agents; i++)
        schedule(m, from + cg_rng_range(&m->rng, 1000, 60000), ACT_LOGOUT, &m->agents[i], 0, 0);
}

cg_model *cg_model_new(const cg_options *o)
{
    cg_model *m = mf_xcalloc(1, sizeof *m);
    m->o = *o;
    cg_rng_seed(&m->rng, o->seed);
    m->salt = cg_rng_next(&m->rng);
    m->now = o->start_ms;
    cg_plan_init(&m->plan, (size_t)o->agents);
    m->agents = mf_xcalloc((size_t)(o->agents ? o->agents : 1), sizeof *m->agents);
    for (int64_t i = 0; i < o->agents; i++) {
        struct agent *a = &m->agents[i];
        a->idx = (int)i;
        a->state = -1;
        snprintf(a->dn, sizeof a->dn, "%lld", (long long)(10001 + i));
        snprintf(a->id, sizeof a->id, "a%s", a->dn);
        snprintf(a->place, sizeof a->place, "Place_%s", a->dn);
        snprintf(m->plan.agents[i].id, sizeof m->plan.agents[i].id, "%s", a->id);
        if (!o->keep_open)
            schedule(m, o->start_ms + cg_rng_range(&m->rng, 0, LOGIN_SPREAD_MS), ACT_LOGIN, a, 0, 0);
    }
    schedule(m, o->start_ms + 30000 + cg_rng_range(&m->rng, 0, 30000), ACT_ARRIVAL, NULL, 0, 0);
    if (o->digital.enabled && !o->keep_open) /* its own PRNG: the voice events stay what they were */
        m->digital = cg_digital_new(m, &o->digital, o->seed, o->start_ms);
    return m;
}

void cg_model_free(cg_model *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n_heap; i++) /* a call has one pending step, or waits */
        if (m->heap[i].type == ACT_CALL)
            free(m->heap[i].p);
    cg_digital_free(m->digital); /* owns what its actions point to */
    for (size_t i = 0; i < m->n_wait; i++)
        free(m->wait[i]);
    for (size_t i = 0; i < m->out_count; i++)
        free(m->out[(m->out_head + i) % m->out_cap].data);
    free(m->out);
    free(m->heap);
    free(m->wait);
    free(m->agents);
    mf_buffer_free(&m->b);
    cg_plan_free(&m->plan);
    free(m);
}

bool cg_model_next(cg_model *m, cg_event *ev)
{
    while (m->out_count == 0) {
        if (m->n_heap == 0)
            return false;
        struct action act = pop(m);
        m->now = act.t;
        if (act.type == ACT_ARRIVAL)
            arrival(m);
        else if (act.type == ACT_CALL)
            call_step(m, act.p, act.step);
        else if (act.type == ACT_DIGITAL)
            cg_digital_action(m->digital, act.p, act.step, act.gen);
        else
            agent_action(m, &act);
        dispatch(m);
        maybe_end(m);
    }
    *ev = m->out[m->out_head];
    m->out_head = (m->out_head + 1) % m->out_cap;
    m->out_count--;
    return true;
}

cg_plan *cg_model_plan(cg_model *m)
{
    return &m->plan;
}
