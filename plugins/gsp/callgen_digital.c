/*
 * callgen_digital — digital agents and interactions, in the voice model's
 * event time (callgen_digital.h).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <martflow/alloc.h>

#include "callgen_digital.h"
#include "callgen_model.h"

const char *const cg_media_codes[CG_DM_COUNT] = {"CHAT", "EMAIL"};
const char *const cg_digital_shape_names[CG_D_SHAPE_COUNT] = {
    "chat_timeout", "chat_reject", "chat_revoke", "chat_transfer", "chat_conference", "chat_abandon", "email"};

static const char *const chat_queues[] = {"ChatSales", "ChatSupport"};
#define EMAIL_QUEUE "EmailInbound"
#define WORKBIN "EmailWorkbin"
static const char *const break_reasons[] = {"Break", "Lunch", "Meeting", "Training"};
#define LOGIN_SPREAD_MS 60000
#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* ---- the world ------------------------------------------------------------------------ */

/* One agent's presence on one media. */
struct dmedia {
    bool has;       /* the agent works this media */
    bool in;        /* logged in */
    bool not_ready; /* Not Ready (from login to the first Ready, and on breaks) */
    const char *reason;
    int64_t reason_since;
    int64_t capacity, handled, offers; /* offers: offered, not answered yet (held against capacity) */
    int64_t last_offer;
    int state; /* the summarised state, -1 logged out */
    int64_t state_since;
    uint32_t gen; /* bumps on every readiness change: a stale Ready timer is ignored */
};

struct dagent {
    int idx;
    char id[32], place[32];
    struct dmedia m[CG_DM_COUNT];
};

/* Steps: interactions' (p = struct ixn) and agents' (p = struct dagent, the
 * media in the step's high bits). */
enum {
    X_QUEUE = 1, X_ABANDON, X_WORKBIN, X_WORKBIN_OUT, X_NO_ANSWER, X_REQUEUE, X_ACCEPT, X_END_TALK, X_T_OFFER,
    X_CONF_B_END, X_COMPLETE, X_ARRIVAL,
    G_LOGIN = 64, G_READY, G_LOGOUT
};
#define AGENT_STEP(kind, media) ((kind) | ((media) << 8))

/* An agent's part in an interaction: for the plan's IRF row. */
struct part {
    struct dagent *a;
    const char *role, *role_reason;
};

struct ixn {
    uint64_t n;
    int shape, media, q;
    char id[20], from[48], to[32], subject[32];
    bool retried;      /* the first offer went unanswered: this is the second */
    bool stay_offered; /* the offer open closed a queue / workbin stay */
    struct dagent *avoid; /* not offered again to the agent who let it go */
    struct part cur, other; /* the agent offered / handling; the conferenced or transfer target */
    int64_t queued_ms;
    struct ixn *prev, *next; /* live interactions (the model's heap points to them) */
};

struct cg_digital {
    cg_model *m;
    cg_digital_options o;
    cg_rng rng;
    uint64_t salt;
    cg_plan_digital *plan;
    struct dagent *agents;
    int64_t start_ms, arrivals, open;
    bool ending;
    struct ixn **wait[CG_DM_COUNT];
    size_t n_wait[CG_DM_COUNT], cap_wait[CG_DM_COUNT];
    struct ixn *live;
};

static int64_t now(const cg_digital *d)
{
    return cg_model_now(d->m);
}

static void at(cg_digital *d, int64_t delay_ms, void *p, int step, uint32_t gen)
{
    cg_model_schedule_digital(d->m, now(d) + delay_ms, p, step, gen);
}

static int64_t rnd(cg_digital *d, int64_t lo, int64_t hi)
{
    return cg_rng_range(&d->rng, lo, hi);
}

static void count(cg_counts *t, const char *key)
{
    cg_counts_add(t, key, 1);
}

/* ---- agents' states (the plan, with digitalagentstate's rules) ------------------------ */

static int summary(const struct dmedia *x)
{
    if (!x->in)
        return -1;
    if (x->not_ready)
        return CG_NOT_READY;
    return x->handled >= x->capacity ? CG_BUSY : CG_READY;
}

/* After any change of an agent's media: account the summarised state's time. */
static void media_sync(cg_digital *d, struct dagent *a, int media)
{
    struct dmedia *x = &a->m[media];
    cg_plan_media *pm = &d->plan->agents[a->idx].media[media];
    int s = summary(x);
    if (s != x->state) {
        if (x->state >= 0)
            pm->state_s[x->state] += cg_sec(now(d)) - cg_sec(x->state_since);
        x->state = s;
        x->state_since = now(d);
    }
    if (x->handled > pm->max_handled)
        pm->max_handled = x->handled;
}

static void agent_ev(cg_digital *d, const struct dagent *a, int media, const char *id)
{
    cg_ev_open(d->m, CG_PORT_DIGITAL_AGENTSTATE, id, a->id);
    cg_ev_str(d->m, "AgentID", a->id);
    cg_ev_str(d->m, "MediaType", cg_media_codes[media]);
    cg_ev_str(d->m, "Place", a->place);
}

static void end_reason(cg_digital *d, struct dagent *a, int media)
{
    struct dmedia *x = &a->m[media];
    if (!x->reason)
        return;
    cg_plan_media *pm = &d->plan->agents[a->idx].media[media];
    cg_counts_add(&pm->reasons, x->reason, cg_sec(now(d)) - cg_sec(x->reason_since));
    cg_counts_add(&pm->reason_periods, x->reason, 1);
    x->reason = NULL;
}

static void go_not_ready(cg_digital *d, struct dagent *a, int media)
{
    struct dmedia *x = &a->m[media];
    const char *reason = break_reasons[rnd(d, 0, N_OF(break_reasons) - 1)];
    agent_ev(d, a, media, "EventMediaNotReady");
    cg_ev_raw(d->m, ",\"Reasons\":{\"ReasonCode\":\"");
    cg_ev_raw(d->m, reason);
    cg_ev_raw(d->m, "\"}");
    cg_ev_close(d->m);
    x->not_ready = true;
    x->reason = reason;
    x->reason_since = now(d);
    x->gen++;
    at(d, rnd(d, 60000, 600000), a, AGENT_STEP(G_READY, media), x->gen);
    media_sync(d, a, media);
}

/* The agent handles one more / one fewer interaction of the media. */
static void handling(cg_digital *d, struct dagent *a, int media, int delta)
{
    struct dmedia *x = &a->m[media];
    x->handled += delta;
    if (delta > 0) {
        d->plan->handling_started++;
        d->plan->agents[a->idx].media[media].handled++;
    } else {
        d->plan->handling_ended++;
    }
    media_sync(d, a, media);
    /* idle on the media now: sometimes a break (never with an offer pending, so
     * an offer is always answered by a Ready agent) */
    if (delta < 0 && x->handled == 0 && x->offers == 0 && !x->not_ready && !d->ending &&
        cg_rng_unit(&d->rng) < d->o.not_ready)
        go_not_ready(d, a, media);
}

static void maybe_end(cg_digital *d);

static void agent_step(cg_digital *d, struct dagent *a, int kind, int media, uint32_t gen)
{
    struct dmedia *x = &a->m[media];
    cg_plan_media *pm = &d->plan->agents[a->idx].media[media];
    switch (kind) {
    case G_LOGIN:
        agent_ev(d, a, media, "EventMediaLogin");
        cg_ev_close(d->m);
        pm->login_ms = now(d);
        x->in = x->not_ready = true;
        x->capacity = media == CG_DM_CHAT ? rnd(d, 2, 3) : 1;
        agent_ev(d, a, media, "EventAgentCapacity");
        cg_ev_int(d->m, "Capacity", x->capacity);
        cg_ev_close(d->m);
        pm->capacity = x->capacity;
        x->gen++;
        at(d, rnd(d, 3000, 30000), a, AGENT_STEP(G_READY, media), x->gen);
        break;
    case G_READY:
        if (gen != x->gen || !x->in)
            return;
        end_reason(d, a, media);
        agent_ev(d, a, media, "EventMediaReady");
        cg_ev_close(d->m);
        x->not_ready = false;
        x->gen++;
        break;
    case G_LOGOUT:
        end_reason(d, a, media);
        agent_ev(d, a, media, "EventMediaLogout");
        cg_ev_close(d->m);
        pm->logout_ms = now(d);
        x->in = false;
        x->gen++;
        break;
    }
    media_sync(d, a, media);
}

/* ---- interactions --------------------------------------------------------------------- */

static void ixn_ev(cg_digital *d, const struct ixn *x, const char *id, const struct dagent *a)
{
    cg_ev_open(d->m, CG_PORT_DIGITAL_ITX, id, x->id);
    cg_ev_str(d->m, "InteractionID", x->id);
    cg_ev_str(d->m, "MediaType", cg_media_codes[x->media]);
    if (a) {
        cg_ev_str(d->m, "AgentID", a->id);
        cg_ev_str(d->m, "Place", a->place);
    }
}

/* The plan's IRF of an agent's part, ended with result / reason. */
static void irf(cg_digital *d, const struct ixn *x, const struct part *p, const char *result, const char *reason)
{
    char key[192];
    snprintf(key, sizeof key, "%s|Agent|%s|%s|%s|%s", cg_media_codes[x->media], p->role, p->role_reason, result,
             reason);
    count(&d->plan->resources, key);
}

static void msf(cg_digital *d, const struct ixn *x, const char *type, const char *result)
{
    char key[160];
    snprintf(key, sizeof key, "%s|%s|%s", cg_media_codes[x->media], type, result);
    count(&d->plan->segments, key);
}

static void situation(cg_digital *d, const char *name)
{
    count(&d->plan->situations, name);
}

static void ixn_end(cg_digital *d, struct ixn *x)
{
    count(&d->plan->interactions, cg_media_codes[x->media]);
    if (x->prev)
        x->prev->next = x->next;
    else
        d->live = x->next;
    if (x->next)
        x->next->prev = x->prev;
    d->open--;
    free(x);
    maybe_end(d);
}

static int64_t handle_time(cg_digital *d, int media)
{
    if (media == CG_DM_EMAIL)
        return rnd(d, 60000, 480000);
    double mean = (double)d->o.chat_ms;
    double t = -log(1.0 - cg_rng_unit(&d->rng)) * mean * 0.8 + mean * 0.2;
    return t > 10 * mean ? (int64_t)(10 * mean) : (int64_t)t;
}

/* Can a take one more interaction of the media now? */
static bool can_take(const struct dagent *a, int media)
{
    const struct dmedia *x = &a->m[media];
    return x->in && !x->not_ready && x->handled + x->offers < x->capacity;
}

/* The agent to offer to: able to take it, not `avoid`, the least loaded,
 * then the one offered least recently, then by index. NULL: nobody. */
static struct dagent *pick(cg_digital *d, int media, const struct dagent *avoid)
{
    struct dagent *best = NULL;
    for (int64_t i = 0; i < d->o.agents; i++) {
        struct dagent *a = &d->agents[i];
        if (a == avoid || !can_take(a, media))
            continue;
        const struct dmedia *x = &a->m[media], *y = best ? &best->m[media] : NULL;
        if (!best || x->handled + x->offers < y->handled + y->offers ||
            (x->handled + x->offers == y->handled + y->offers && x->last_offer < y->last_offer))
            best = a;
    }
    return best;
}

static void wait_push(cg_digital *d, struct ixn *x, bool front)
{
    int k = x->media;
    if (d->n_wait[k] == d->cap_wait[k]) {
        d->cap_wait[k] = d->cap_wait[k] ? 2 * d->cap_wait[k] : 64;
        d->wait[k] = mf_xrealloc(d->wait[k], d->cap_wait[k] * sizeof *d->wait[k]);
    }
    if (front) {
        memmove(d->wait[k] + 1, d->wait[k], d->n_wait[k] * sizeof *d->wait[k]);
        d->wait[k][0] = x;
    } else {
        d->wait[k][d->n_wait[k]] = x;
    }
    d->n_wait[k]++;
    x->queued_ms = now(d);
}

/* Offer x to a (who can take it): the open stay, if any, ends. */
static void offer(cg_digital *d, struct ixn *x, struct dagent *a, bool from_stay)
{
    struct dmedia *am = &a->m[x->media];
    ixn_ev(d, x, "EventInteractionOffered", a);
    cg_ev_close(d->m);
    am->offers++;
    am->last_offer = now(d);
    if (from_stay)
        x->cur = (struct part){.a = a, .role = "Received", .role_reason = "Unspecified"};
    else
        x->cur.a = a; /* a transfer's target: its role is set */
    x->stay_offered = from_stay;
    if (from_stay && now(d) - x->queued_ms > d->plan->max_wait_ms)
        d->plan->max_wait_ms = now(d) - x->queued_ms;
    bool first = !x->retried && from_stay;
    if (first && (x->shape == CG_D_TIMEOUT || x->shape == CG_D_REJECT || x->shape == CG_D_REVOKE))
        at(d, x->shape == CG_D_TIMEOUT ? rnd(d, 20000, 40000) : rnd(d, 2000, 10000), x, X_NO_ANSWER, 0);
    else
        at(d, x->media == CG_DM_EMAIL ? rnd(d, 5000, 60000) : rnd(d, 1000, 8000), x, X_ACCEPT, 0);
}

/* Offer waiting interactions to agents who can take them, in queue order. */
static void dispatch(cg_digital *d)
{
    for (int k = 0; k < CG_DM_COUNT; k++) {
        size_t kept = 0, i = 0;
        for (; i < d->n_wait[k]; i++) {
            struct ixn *x = d->wait[k][i];
            struct dagent *a = pick(d, k, x->avoid);
            if (a)
                offer(d, x, a, true);
            else
                d->wait[k][kept++] = x;
            if (!a && !pick(d, k, NULL)) { /* nobody at all: the rest keep waiting */
                i++;
                break;
            }
        }
        for (; i < d->n_wait[k]; i++)
            d->wait[k][kept++] = d->wait[k][i];
        d->n_wait[k] = kept;
    }
}

static struct ixn *ixn_new(cg_digital *d)
{
    struct ixn *x = mf_xcalloc(1, sizeof *x);
    x->n = (uint64_t)d->arrivals;
    double u = cg_rng_unit(&d->rng), acc = 0;
    x->shape = CG_D_SHAPE_COUNT; /* a plain chat */
    for (int s = 0; s < CG_D_SHAPE_COUNT; s++) {
        acc += d->o.share[s];
        if (u < acc) {
            x->shape = s;
            break;
        }
    }
    x->media = x->shape == CG_D_EMAIL ? CG_DM_EMAIL : CG_DM_CHAT;
    x->q = (int)rnd(d, 0, N_OF(chat_queues) - 1);
    snprintf(x->id, sizeof x->id, "%016llx", (unsigned long long)cg_rng_mix(d->salt ^ x->n));
    long long who = (long long)rnd(d, 0, 9999999);
    if (x->media == CG_DM_EMAIL) {
        snprintf(x->from, sizeof x->from, "customer%07lld@example.com", who);
        snprintf(x->to, sizeof x->to, "%s@example.com", x->q ? "support" : "sales");
    } else {
        snprintf(x->from, sizeof x->from, "visitor-%07lld", who);
        snprintf(x->to, sizeof x->to, "%s", chat_queues[x->q]);
    }
    snprintf(x->subject, sizeof x->subject, "Request %llu", (unsigned long long)x->n);
    x->next = d->live;
    if (d->live)
        d->live->prev = x;
    d->live = x;
    d->open++;
    return x;
}

static void arrival(cg_digital *d)
{
    struct ixn *x = ixn_new(d);
    d->arrivals++;
    ixn_ev(d, x, "EventInteractionCreated", NULL);
    cg_ev_str(d->m, "From", x->from);
    cg_ev_str(d->m, "To", x->to);
    cg_ev_str(d->m, "Subject", x->subject);
    cg_ev_close(d->m);
    at(d, rnd(d, 200, 2000), x, X_QUEUE, 0);
    if (d->o.interactions == 0 || d->arrivals < d->o.interactions) {
        double gap = -log(1.0 - cg_rng_unit(&d->rng)) / d->o.rate * 1000.0;
        at(d, 1 + (int64_t)gap, NULL, X_ARRIVAL, 0);
    }
}

static const char *queue_of(const struct ixn *x)
{
    return x->media == CG_DM_EMAIL ? EMAIL_QUEUE : chat_queues[x->q];
}

/* Queue x (again): a stay begins. */
static void enqueue(cg_digital *d, struct ixn *x, bool front)
{
    ixn_ev(d, x, "EventInteractionQueued", NULL);
    cg_ev_str(d->m, "Queue", queue_of(x));
    cg_ev_close(d->m);
    if (x->shape == CG_D_ABANDON)
        at(d, rnd(d, 5000, 120000), x, X_ABANDON, 0);
    else if (x->shape == CG_D_EMAIL && !x->retried)
        at(d, rnd(d, 10000, 120000), x, X_WORKBIN, 0);
    else
        wait_push(d, x, front);
}

/* The agent's part ends (completed or transferred): its handling ends. */
static void part_end(cg_digital *d, struct ixn *x, struct part *p, const char *event, const char *target,
                     const char *result)
{
    ixn_ev(d, x, event, p->a);
    if (target)
        cg_ev_str(d->m, "TargetAgentID", target);
    cg_ev_close(d->m);
    irf(d, x, p, result, "Unspecified");
    handling(d, p->a, x->media, -1);
}

static void ixn_step(cg_digital *d, struct ixn *x, int step)
{
    struct part *cur = &x->cur;
    switch (step) {
    case X_QUEUE:
        enqueue(d, x, false);
        return;
    case X_ABANDON:
        ixn_ev(d, x, "EventInteractionCompleted", NULL);
        cg_ev_close(d->m);
        msf(d, x, "Queue", "Abandoned|AbandonedWhileQueued");
        situation(d, "chat_abandon");
        ixn_end(d, x);
        return;
    case X_WORKBIN: /* routing parks it: the queue stay ends */
        ixn_ev(d, x, "EventInteractionPlacedInWorkbin", NULL);
        cg_ev_str(d->m, "Workbin", WORKBIN);
        cg_ev_close(d->m);
        msf(d, x, "Queue", "Diverted|Unspecified");
        x->retried = true; /* from now on it waits for an agent (no second workbin) */
        at(d, rnd(d, d->o.workbin_ms / 2, d->o.workbin_ms * 3 / 2), x, X_WORKBIN_OUT, 0);
        return;
    case X_WORKBIN_OUT: /* due: it waits in the workbin for an e-mail agent */
        wait_push(d, x, false);
        return;
    case X_NO_ANSWER: {
        static const char *const ev[] = {[CG_D_TIMEOUT] = "EventInteractionTimedOut",
                                         [CG_D_REJECT] = "EventInteractionRejected",
                                         [CG_D_REVOKE] = "EventInteractionRevoked"};
        static const char *const res[] = {[CG_D_TIMEOUT] = "Redirected|RouteOnNoAnswer",
                                          [CG_D_REJECT] = "Redirected|Unspecified",
                                          [CG_D_REVOKE] = "Revoked|Unspecified"};
        ixn_ev(d, x, ev[x->shape], cur->a);
        if (x->shape == CG_D_REJECT)
            cg_ev_raw(d->m, ",\"Reasons\":{\"ReasonCode\":\"Busy\"}");
        cg_ev_close(d->m);
        char key[192];
        snprintf(key, sizeof key, "%s|Agent|Received|Unspecified|%s", cg_media_codes[x->media], res[x->shape]);
        count(&d->plan->resources, key);
        msf(d, x, "Queue", "Diverted|Unspecified"); /* the stay the offer closed, never answered */
        cur->a->m[x->media].offers--;
        media_sync(d, cur->a, x->media);
        x->avoid = cur->a;
        x->retried = true;
        cur->a = NULL;
        at(d, rnd(d, 500, 3000), x, X_REQUEUE, 0);
        return;
    }
    case X_REQUEUE:
        enqueue(d, x, true);
        return;
    case X_ACCEPT:
        ixn_ev(d, x, "EventInteractionAccepted", cur->a);
        cg_ev_close(d->m);
        cur->a->m[x->media].offers--;
        if (x->stay_offered) /* the stay its offer closed was answered */
            msf(d, x, x->media == CG_DM_EMAIL ? "Workbin" : "Queue", "Diverted|AnsweredByAgent");
        handling(d, cur->a, x->media, +1);
        if (x->shape == CG_D_CONFERENCE && !x->other.a)
            at(d, rnd(d, 20000, 120000), x, X_END_TALK, 0);
        else if (x->shape == CG_D_TRANSFER && !x->other.a)
            at(d, handle_time(d, x->media) / 2 + 1000, x, X_END_TALK, 0);
        else
            at(d, handle_time(d, x->media), x, X_COMPLETE, 0);
        return;
    case X_END_TALK: { /* the first agent transfers, or brings in another agent */
        struct dagent *b = pick(d, x->media, cur->a);
        if (!b) { /* nobody can take it: the agent finishes it alone */
            situation(d, x->shape == CG_D_TRANSFER ? "chat_transfer_nobody_ready" : "chat_conference_nobody_ready");
            x->shape = CG_D_SHAPE_COUNT;
            at(d, handle_time(d, x->media) / 2, x, X_COMPLETE, 0);
            return;
        }
        if (x->shape == CG_D_TRANSFER) {
            part_end(d, x, cur, "EventInteractionTransferred", b->id, "Transferred");
            b->m[x->media].offers++; /* held for it until offered */
            b->m[x->media].last_offer = now(d);
            x->other = (struct part){.a = b, .role = "ReceivedTransfer", .role_reason = "Unspecified"};
            at(d, rnd(d, 500, 2000), x, X_T_OFFER, 0);
            return;
        }
        ixn_ev(d, x, "EventInteractionConferenced", b);
        cg_ev_close(d->m);
        x->other = (struct part){.a = b, .role = "Received", .role_reason = "ConferenceJoined"};
        b->m[x->media].last_offer = now(d);
        handling(d, b, x->media, +1);
        at(d, rnd(d, 20000, 120000), x, X_CONF_B_END, 0);
        return;
    }
    case X_T_OFFER: /* the transfer target is offered it (no stay) */
        x->other.a->m[x->media].offers--;
        *cur = x->other;
        situation(d, "chat_transfer");
        offer(d, x, cur->a, false);
        return;
    case X_CONF_B_END:
        part_end(d, x, &x->other, "EventInteractionCompleted", NULL, "Completed");
        situation(d, "chat_conference");
        at(d, rnd(d, 5000, 60000), x, X_COMPLETE, 0);
        return;
    case X_COMPLETE:
        part_end(d, x, cur, "EventInteractionCompleted", NULL, "Completed");
        if (x->shape == CG_D_EMAIL)
            situation(d, "email");
        else if (x->shape < CG_D_TRANSFER)
            situation(d, cg_digital_shape_names[x->shape]);
        else if (x->shape == CG_D_SHAPE_COUNT)
            situation(d, "chat");
        ixn_end(d, x);
        return;
    }
}

/* A bounded run ends once every interaction has ended: the agents log out. */
static void maybe_end(cg_digital *d)
{
    if (d->ending || d->o.interactions == 0 || d->arrivals < d->o.interactions || d->open > 0)
        return;
    d->ending = true;
    /* after the last login (within the first minute) */
    int64_t from = now(d) > d->start_ms + LOGIN_SPREAD_MS ? now(d) : d->start_ms + LOGIN_SPREAD_MS;
    for (int64_t i = 0; i < d->o.agents; i++)
        for (int k = 0; k < CG_DM_COUNT; k++)
            if (d->agents[i].m[k].has)
                cg_model_schedule_digital(d->m, from + rnd(d, 1000, 60000), &d->agents[i], AGENT_STEP(G_LOGOUT, k),
                                          0);
}

void cg_digital_action(cg_digital *d, void *p, int step, uint32_t gen)
{
    if (step == X_ARRIVAL)
        arrival(d);
    else if (step >= G_LOGIN)
        agent_step(d, p, step & 0xff, step >> 8, gen);
    else
        ixn_step(d, p, step);
    dispatch(d);
}

/* ---- life ------------------------------------------------------------------------------ */

cg_digital *cg_digital_new(cg_model *m, const cg_digital_options *o, uint64_t seed, int64_t start_ms)
{
    cg_digital *d = mf_xcalloc(1, sizeof *d);
    d->m = m;
    d->o = *o;
    d->start_ms = start_ms;
    cg_rng_seed(&d->rng, seed ^ 0x6469676974616c00ull); /* "digital" */
    d->salt = cg_rng_next(&d->rng);
    cg_plan *plan = cg_model_plan(m);
    cg_plan_digital_init(plan, (size_t)o->agents);
    d->plan = &plan->digital;
    d->agents = mf_xcalloc((size_t)o->agents, sizeof *d->agents);
    for (int64_t i = 0; i < o->agents; i++) {
        struct dagent *a = &d->agents[i];
        a->idx = (int)i;
        snprintf(a->id, sizeof a->id, "d%lld", (long long)(20001 + i));
        snprintf(a->place, sizeof a->place, "Place_%lld", (long long)(20001 + i));
        snprintf(d->plan->agents[i].id, sizeof d->plan->agents[i].id, "%s", a->id);
        /* a third chat only, a third e-mail only, a third both (so both media have agents from 2) */
        a->m[CG_DM_CHAT].has = i % 3 != 2;
        a->m[CG_DM_EMAIL].has = i % 3 != 0;
        for (int k = 0; k < CG_DM_COUNT; k++) {
            a->m[k].state = -1;
            a->m[k].last_offer = INT64_MIN;
            if (a->m[k].has)
                cg_model_schedule_digital(m, start_ms + rnd(d, 0, LOGIN_SPREAD_MS), a, AGENT_STEP(G_LOGIN, k), 0);
        }
    }
    cg_model_schedule_digital(m, start_ms + 30000 + rnd(d, 0, 30000), NULL, X_ARRIVAL, 0);
    return d;
}

void cg_digital_free(cg_digital *d)
{
    if (!d)
        return;
    while (d->live) {
        struct ixn *x = d->live;
        d->live = x->next;
        free(x);
    }
    for (int k = 0; k < CG_DM_COUNT; k++)
        free(d->wait[k]);
    free(d->agents);
    free(d);
}
