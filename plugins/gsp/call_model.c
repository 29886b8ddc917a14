/*
 * call_model.c — from legs and involvements (call_legs.c) to the facts:
 * the technical descriptor of each involvement and stay, its counts and
 * durations, the stays that led to it, the ids. docs/call-thread-rules.md
 * states every rule with the scenario that tests it.
 */
#include <stdlib.h>
#include <string.h>

#include "call_internal.h"
#include "gsp_ids.h"

const char *const cm_count_names[CM_N_COUNTS] = {
    "dial", "ring", "talk", "hold", "cons_init_dial", "cons_init_talk", "cons_init_hold",
    "cons_rcv_ring", "cons_rcv_talk", "cons_rcv_hold", "customer_talk", "customer_hold",
};

/* ---- what happened to each leg ---------------------------------------------------- */

/* A stay diverted to a DN: its target is that DN's leg on the same call that
 * began nearest to the diversion (T-Servers report the ringing just before
 * or after EventDiverted). */
static void find_targets(cm_work *w)
{
    for (size_t i = 0; i < w->n_legs; i++) {
        struct leg *m = &w->legs[i];
        if (!is_stay(m) || m->end_kind != END_DIVERTED)
            continue;
        int best = NONE;
        uint32_t best_gap = UINT32_MAX;
        for (size_t j = 0; j < w->n_legs; j++) {
            const struct leg *l = &w->legs[j];
            if (j == i || l->conn != m->conn || l->dn == m->dn || l->begin_idx <= m->begin_idx ||
                l->targeted_by != NONE || (m->other_dn && l->dn != m->other_dn))
                continue;
            uint32_t gap = l->begin_idx > m->end_idx ? l->begin_idx - m->end_idx : m->end_idx - l->begin_idx;
            if (gap < best_gap) {
                best_gap = gap;
                best = (int)j;
            }
        }
        m->target = best;
        if (best != NONE)
            w->legs[best].targeted_by = (int)i;
    }
}

/* Did the call of leg l go on at another DN after l ended? */
static bool continued_after(const cm_work *w, const struct leg *l, int *next)
{
    for (size_t j = 0; j < w->n_legs; j++) {
        const struct leg *o = &w->legs[j];
        if (o->conn == l->conn && o->dn != l->dn && o->begin_idx > l->end_idx) {
            if (next)
                *next = (int)j;
            return true;
        }
    }
    return false;
}

/* The leg of an involvement that ended last (an open one if any). */
static const struct leg *last_leg(const cm_work *w, int inv, bool *open, bool *established)
{
    const struct leg *last = NULL;
    *open = *established = false;
    for (size_t j = 0; j < w->n_legs; j++) {
        const struct leg *l = &w->legs[j];
        if (l->inv != inv)
            continue;
        if (l->est_ms != UNSET)
            *established = true;
        if (l->end_kind == END_NONE)
            *open = true;
        if (!last || (last->end_kind != END_NONE && (l->end_kind == END_NONE || l->end_idx > last->end_idx)))
            last = l;
    }
    return last;
}

/* A single-step transfer: an answered involvement whose call went on with
 * another resource after it released; the first one that began after it
 * received the transfer. */
static void find_transfers(cm_work *w)
{
    for (size_t i = 0; i < w->n_invs; i++) {
        struct inv *v = &w->invs[i];
        bool open, est;
        const struct leg *l = last_leg(w, (int)i, &open, &est);
        int next = NONE;
        if (open || !est || v->conferenced || is_stay(l) || l->kind == K_EXTERNAL || l->cons != CONS_MAIN ||
            l->end_kind != END_RELEASED)
            continue;
        for (size_t j = 0; j < w->n_legs && next == NONE; j++) {
            const struct leg *o = &w->legs[j];
            if (o->conn == l->conn && o->dn != l->dn && o->begin_idx > l->end_idx && !is_stay(o) &&
                o->kind != K_EXTERNAL && w->invs[o->inv].root == (int)j)
                next = (int)j;
        }
        if (next == NONE)
            continue;
        v->transferred = true;
        struct inv *to = &w->invs[w->legs[next].inv];
        if (to->received_from == NONE) {
            to->received_from = (int)i;
            to->by_transfer = true;
        }
    }
}

static const cm_descriptor *td(cm_descriptor *out, const char *role, const char *role_reason, const char *result,
                               const char *result_reason)
{
    *out = (cm_descriptor){role, role_reason, result, result_reason};
    return out;
}

static cm_resource resource_of(const cm_work *w, const ct_store *s, const struct leg *l, uint16_t agent)
{
    cm_resource r = {0};
    uint8_t dn_type = 0;
    for (uint32_t i = l->begin_idx; i < s->n_ev && !dn_type; i++)
        if (s->ev[i].this_dn == l->dn)
            dn_type = s->ev[i].dn_type;
    switch (l->kind) {
    case K_RP: r.type = "RoutingPoint"; break;
    case K_QUEUE: r.type = "Queue"; break;
    case K_IVR: r.type = "IVR"; break;
    case K_AGENT:
        if (agent) {
            r.type = "Agent";
            r.name = agent;
            return r;
        }
        r.type = "Extension"; /* a DN without an agent this time */
        break;
    default: r.type = "Extension"; break;
    }
    r.name = l->dn;
    r.dn_type = dn_type;
    (void)w;
    return r;
}

/* ---- facts ------------------------------------------------------------------------ */

static int64_t id_of(cm_work *w, const cm_params *p, const ct_store *s, const char *kind, const struct leg *l)
{
    size_t conn_len, dn_len;
    const char *conn = ct_str(s, l->conn, &conn_len), *dn = ct_str(s, l->dn, &dn_len);
    return gsp_voice_leg_id(&w->scratch, kind, p->tenant, p->tenant_len, p->ctid, p->ctid_len, conn, conn_len, dn,
                            dn_len, s->ev[l->begin_idx].seq);
}

/* The MEDIATION_SEGMENT_FACT id of a stay: named by the stay's own row and
 * by the IRFs it led to, so hashed once per cm_compute (kept in the leg). */
static int64_t stay_id(cm_work *w, const cm_params *p, const ct_store *s, const struct leg *m)
{
    struct leg *l = &w->legs[m - w->legs];
    if (!l->msf_id)
        l->msf_id = id_of(w, p, s, "msf", l);
    return l->msf_id;
}

static void add_phase(cm_counts *c, int64_t from_ms, int64_t to_ms)
{
    c->count++;
    c->duration += secs(to_ms) - secs(from_ms);
}

/* The counts and durations of one involvement's legs. */
static void involvement_counts(const cm_work *w, int inv, const cm_params *p, bool customer, cm_irf *f)
{
    for (size_t j = 0; j < w->n_legs; j++) {
        const struct leg *l = &w->legs[j];
        if (l->inv != inv)
            continue;
        int64_t end = l->end_kind != END_NONE ? l->end_ms : p->horizon_ms;
        int64_t hold = l->hold_s + (l->hold_ms != UNSET ? secs(end) - secs(l->hold_ms) : 0);
        int64_t phase_end = l->est_ms != UNSET ? l->est_ms : end;
        int dial = l->cons == CONS_INIT ? CM_CONS_INIT_DIAL : CM_DIAL;
        int ring = l->cons == CONS_RCV ? CM_CONS_RCV_RING : CM_RING;
        int talk = l->cons == CONS_INIT ? CM_CONS_INIT_TALK : l->cons == CONS_RCV ? CM_CONS_RCV_TALK : CM_TALK;
        int held = l->cons == CONS_INIT ? CM_CONS_INIT_HOLD : l->cons == CONS_RCV ? CM_CONS_RCV_HOLD : CM_HOLD;
        if (l->dial_ms != UNSET)
            add_phase(&f->c[dial], l->dial_ms, phase_end);
        if (l->ring_ms != UNSET)
            add_phase(&f->c[ring], l->ring_ms, phase_end);
        if (l->est_ms != UNSET) {
            add_phase(&f->c[talk], l->est_ms, end);
            f->c[talk].duration -= hold;
        }
        f->c[held].count += l->hold_count;
        f->c[held].duration += hold;
        if (customer && l->cons == CONS_MAIN && l->est_ms != UNSET) {
            f->c[CM_CUSTOMER_TALK].count++;
            f->c[CM_CUSTOMER_TALK].duration += secs(end) - secs(l->est_ms) - hold;
            f->c[CM_CUSTOMER_HOLD].count += l->hold_count;
            f->c[CM_CUSTOMER_HOLD].duration += hold;
        }
    }
}

/* The stays on the call of leg r that led to it: those that began after the
 * last answered resource of that call before r ended, and before r began
 * (r itself included when it is a stay). */
static void mediation_before(cm_work *w, const ct_store *s, const cm_params *p, const struct leg *r, cm_irf *f)
{
    uint32_t cutoff = 0;
    bool have_cutoff = false;
    for (size_t j = 0; j < w->n_legs; j++) {
        const struct leg *o = &w->legs[j];
        if (o->conn == r->conn && !is_stay(o) && o->est_ms != UNSET && o->end_kind != END_NONE &&
            o->end_idx < r->begin_idx && (!have_cutoff || o->end_idx > cutoff)) {
            cutoff = o->end_idx;
            have_cutoff = true;
        }
    }
    const struct leg *last = NULL;
    for (size_t j = 0; j < w->n_legs; j++) {
        const struct leg *m = &w->legs[j];
        if (!is_stay(m) || m->conn != r->conn || (have_cutoff && m->begin_idx <= cutoff) ||
            m->begin_idx > r->begin_idx || (m->begin_idx == r->begin_idx && m != r))
            continue;
        int64_t d = secs(m->end_kind != END_NONE ? m->end_ms : r->start_ms) - secs(m->start_ms);
        if (m->kind == K_QUEUE) {
            f->queue_s += d;
            f->last_queue = resource_of(w, s, m, 0);
        } else {
            f->rp_s += d;
            f->last_rp = resource_of(w, s, m, 0);
        }
        f->mediation_s += d;
        last = m;
    }
    const struct leg *via = is_stay(r) ? r : r->targeted_by != NONE ? &w->legs[r->targeted_by] : last;
    if (via)
        f->msf_id = stay_id(w, p, s, via);
}

static void involvement_result(cm_work *w, int inv, const cm_params *p, cm_descriptor *d)
{
    struct inv *v = &w->invs[inv];
    const struct leg *root = &w->legs[v->root];
    bool open, est;
    const struct leg *last = last_leg(w, inv, &open, &est);
    bool initiated = root->begin_ev == GSP_EV_DIALING && root->cons == CONS_MAIN;
    bool consult_only = true;
    for (size_t j = 0; j < w->n_legs; j++)
        if (w->legs[j].inv == inv && w->legs[j].cons == CONS_MAIN)
            consult_only = false;
    d->role = initiated ? "Initiated" : v->by_transfer && v->received_from != NONE ? "ReceivedTransfer"
              : consult_only                                                    ? "ReceivedConsult"
                                                                                : "Received";
    d->role_reason = v->joined ? "ConferenceJoined" : "Unspecified";
    d->result_reason = "Unspecified";
    if (open)
        d->result = p->stuck ? "Stuck" : "Unspecified", d->result_reason = p->stuck ? "StuckTimeout" : "Unspecified";
    else if (v->conferenced)
        d->result = "Conferenced";
    else if (v->transferred)
        d->result = "Transferred";
    else if (est)
        d->result = "Completed";
    else if (initiated) {
        d->result = "Abandoned";
        for (size_t j = 0; j < w->n_legs; j++)
            if (w->legs[j].inv == inv && w->legs[j].busy)
                d->result_reason = "DestinationBusy";
    } else if (last->end_kind != END_ABANDONED && continued_after(w, last, NULL)) {
        d->result = "Redirected";
        d->result_reason = "RouteOnNoAnswer";
    } else {
        d->result = "Abandoned";
        d->result_reason = "AbandonedWhileRinging";
    }
}

static const char *interaction_type(const ct_store *s)
{
    for (uint32_t i = 0; i < s->n_ev; i++)
        switch ((gsp_call_type)s->ev[i].call_type) {
        case GSP_CALL_INBOUND: return "Inbound";
        case GSP_CALL_OUTBOUND: return "Outbound";
        case GSP_CALL_INTERNAL: return "Internal";
        default: break;
        }
    return "Unknown";
}

static void fill_ixn(cm_work *w, const ct_store *s, const cm_params *p, bool open)
{
    cm_ixn *x = &w->result.ixn;
    memset(x, 0, sizeof *x);
    x->id = gsp_voice_ixn_id(&w->scratch, p->tenant, p->tenant_len, p->ctid, p->ctid_len);
    for (uint32_t i = 0; i < s->n_ev; i++) {
        const ct_event *e = &s->ev[i];
        if (!x->guid)
            x->guid = e->call_id;
        if (!x->ani)
            x->ani = e->ani;
        if (!x->dnis)
            x->dnis = e->dnis;
    }
    x->type = interaction_type(s);
    x->start_s = secs(s->ev[0].time_ms);
    x->end_s = secs(p->horizon_ms);
    x->active = open && !p->stuck;
}

static cm_irf *new_irf(cm_work *w)
{
    GROW(w->irf, w->n_irf, w->cap_irf);
    cm_irf *f = &w->irf[w->n_irf++];
    memset(f, 0, sizeof *f);
    return f;
}

static void irf_times(cm_irf *f, const struct leg *root, int64_t end_ms, bool open, const cm_params *p,
                      const ct_store *s)
{
    f->start_s = secs(root->start_ms);
    f->end_s = secs(open ? p->horizon_ms : end_ms);
    f->active = open && !p->stuck;
    f->sort_ms = root->start_ms;
    f->sort_seq = s->ev[root->begin_idx].seq;
}

static void stay_facts(cm_work *w, const ct_store *s, const cm_params *p, size_t i)
{
    const struct leg *m = &w->legs[i];
    GROW(w->msf, w->n_msf, w->cap_msf);
    cm_msf *f = &w->msf[w->n_msf++];
    memset(f, 0, sizeof *f);
    bool open = m->end_kind == END_NONE;
    f->id = stay_id(w, p, s, m);
    f->resource = resource_of(w, s, m, 0);
    f->start_s = secs(m->start_ms);
    f->end_s = secs(open ? p->horizon_ms : m->end_ms);
    f->duration_s = f->end_s - f->start_s;
    f->active = open && !p->stuck;
    if (open) {
        td(&f->td, "Received", "Unspecified", p->stuck ? "Stuck" : "Unspecified",
           p->stuck ? "StuckTimeout" : "Unspecified");
    } else if (m->end_kind == END_ABANDONED) {
        td(&f->td, "Received", "Unspecified", "Abandoned", "AbandonedWhileQueued");
        f->short_abandoned = m->end_ms - m->start_ms < p->short_abandon_ms;
        /* The interaction ended in this stay: the queue / routing point gets an IRF. */
        cm_irf *r = new_irf(w);
        r->id = id_of(w, p, s, "irf", m);
        r->resource = f->resource;
        r->td = f->td;
        irf_times(r, m, m->end_ms, false, p, s);
        mediation_before(w, s, p, m, r);
    } else {
        const char *reason = "Unspecified";
        if (m->target != NONE && !is_stay(&w->legs[m->target]) && w->legs[m->target].kind != K_EXTERNAL) {
            cm_descriptor t;
            int inv = w->legs[m->target].inv;
            involvement_result(w, inv, p, &t);
            bool open_t, est_t;
            last_leg(w, inv, &open_t, &est_t);
            reason = est_t                                              ? "AnsweredByAgent"
                     : !strcmp(t.result_reason, "AbandonedWhileRinging") ? "AbandonedWhileRinging"
                     : !strcmp(t.result_reason, "RouteOnNoAnswer")       ? "RouteOnNoAnswer"
                                                                         : "Unspecified";
            f->target_irf = w->invs[inv].irf_id;
        }
        td(&f->td, "Received", "Unspecified", "Diverted", reason);
        f->met_threshold = !strcmp(reason, "AnsweredByAgent") && m->end_ms - m->start_ms <= p->answer_threshold_ms;
    }
}

/* The IRF id of an involvement (docs/events.md §2.3): the keys of its first
 * leg; none for a stay or an external party. */
static int64_t involvement_id(cm_work *w, const ct_store *s, const cm_params *p, int inv)
{
    const struct leg *root = &w->legs[w->invs[inv].root];
    return is_stay(root) || root->kind == K_EXTERNAL ? 0 : id_of(w, p, s, "irf", root);
}

const cm_involvement *cm_involvements(cm_work *w, const ct_store *s, size_t *n)
{
    cm_build_legs(w, s);
    if (w->n_invs > w->cap_involvements) {
        w->cap_involvements = w->n_invs;
        w->involvements = mf_xrealloc(w->involvements, w->cap_involvements * sizeof *w->involvements);
    }
    for (size_t i = 0; i < w->n_invs; i++) {
        cm_involvement *v = &w->involvements[i];
        const struct leg *root = &w->legs[w->invs[i].root];
        const struct leg *last = last_leg(w, (int)i, &v->open, &v->established);
        v->has_irf = !is_stay(root) && root->kind != K_EXTERNAL;
        v->dn = root->dn;
        v->agent = w->invs[i].agent;
        v->start_ms = root->start_ms;
        v->end_ms = last->end_ms;
    }
    *n = w->n_invs;
    return w->involvements;
}

int64_t cm_involvement_irf(cm_work *w, const ct_store *s, const cm_params *p, size_t i)
{
    return involvement_id(w, s, p, (int)i);
}

static int cmp_irf(const void *a, const void *b)
{
    const cm_irf *x = a, *y = b;
    if (x->sort_ms != y->sort_ms)
        return x->sort_ms < y->sort_ms ? -1 : 1;
    return (x->sort_seq > y->sort_seq) - (x->sort_seq < y->sort_seq);
}

const cm_result *cm_compute(cm_work *w, const ct_store *s, const cm_params *p)
{
    bool all = cm_all_released(w, s);
    find_targets(w);
    find_transfers(w);
    w->n_irf = w->n_msf = 0;
    fill_ixn(w, s, p, !all);
    bool customer = strcmp(w->result.ixn.type, "Inbound") == 0 || strcmp(w->result.ixn.type, "Outbound") == 0;
    /* Ids first: a stay names the IRF of its target. */
    for (size_t i = 0; i < w->n_invs; i++)
        w->invs[i].irf_id = involvement_id(w, s, p, (int)i);
    for (size_t i = 0; i < w->n_invs; i++) {
        struct inv *v = &w->invs[i];
        const struct leg *root = &w->legs[v->root];
        if (!v->irf_id)
            continue;
        cm_irf *f = new_irf(w);
        f->id = v->irf_id;
        f->resource = resource_of(w, s, root, v->agent);
        f->place = v->place;
        involvement_result(w, (int)i, p, &f->td);
        bool open, est;
        const struct leg *last = last_leg(w, (int)i, &open, &est);
        irf_times(f, root, last->end_ms, open, p, s);
        involvement_counts(w, (int)i, p, customer, f);
        mediation_before(w, s, p, root, f);
        if (v->received_from != NONE)
            f->received_from = w->invs[v->received_from].irf_id;
    }
    for (size_t i = 0; i < w->n_legs; i++)
        if (is_stay(&w->legs[i]))
            stay_facts(w, s, p, i);
    if (w->n_irf) /* qsort's array may not be NULL, even empty */
        qsort(w->irf, w->n_irf, sizeof *w->irf, cmp_irf);
    for (size_t i = 0; i < w->n_irf; i++)
        w->irf[i].ordinal = (int)i + 1;
    w->result.irf = w->irf;
    w->result.n_irf = w->n_irf;
    w->result.msf = w->msf;
    w->result.n_msf = w->n_msf;
    return &w->result;
}
