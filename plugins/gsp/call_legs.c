/*
 * call_legs.c — the events of a thread, in order, as legs and involvements
 * (call_internal.h): which DN is what, where each leg begins and ends, which
 * legs continue or consult from which, who transferred or conferenced.
 */
#include <stdlib.h>
#include <string.h>

#include "call_internal.h"

cm_work *cm_work_new(void)
{
    return mf_xcalloc(1, sizeof(cm_work));
}

void cm_work_free(cm_work *w)
{
    if (!w)
        return;
    free(w->legs);
    free(w->invs);
    free(w->dn_kind);
    free(w->dn_flags);
    free(w->consult);
    free(w->irf);
    free(w->msf);
    free(w->involvements);
    mf_buffer_free(&w->scratch);
    free(w);
}


/* ---- what kind of DN each DN is, which calls are consultations ------------------- */

static void classify(cm_work *w, const ct_store *s)
{
    size_t n = s->n_str + 1;
    if (n > w->cap_str) {
        w->cap_str = n;
        w->dn_kind = mf_xrealloc(w->dn_kind, n);
        w->dn_flags = mf_xrealloc(w->dn_flags, n);
        w->consult = mf_xrealloc(w->consult, n);
    }
    enum { SEEN_RP = 1, SEEN_QUEUE = 2, SEEN_AGENT = 4 };
    memset(w->dn_kind, 0, n); /* first the ThisDNType given, then the kind */
    memset(w->dn_flags, 0, n);
    memset(w->consult, 0, n);
    for (uint32_t i = 0; i < s->n_ev; i++) {
        const ct_event *e = &s->ev[i];
        if (e->call_type == GSP_CALL_CONSULT)
            w->consult[e->conn] = 1;
        if (e->id == GSP_EV_ROUTE_REQUEST || e->id == GSP_EV_ROUTE_USED)
            w->dn_flags[e->this_dn] |= SEEN_RP;
        if (e->id == GSP_EV_QUEUED)
            w->dn_flags[e->this_dn] |= SEEN_QUEUE;
        if (e->agent)
            w->dn_flags[e->this_dn] |= SEEN_AGENT;
        if (e->dn_type && !w->dn_kind[e->this_dn])
            w->dn_kind[e->this_dn] = e->dn_type;
    }
    for (size_t d = 0; d < n; d++) {
        uint8_t f = w->dn_flags[d];
        bool agent = f & SEEN_AGENT;
        switch ((gsp_dn_type)w->dn_kind[d]) {
        case GSP_DN_ROUTING_POINT: w->dn_kind[d] = K_RP; break;
        case GSP_DN_ACD_QUEUE:
        case GSP_DN_VIRTUAL_QUEUE: w->dn_kind[d] = K_QUEUE; break;
        case GSP_DN_IVR: w->dn_kind[d] = K_IVR; break;
        case GSP_DN_EXTERNAL: w->dn_kind[d] = K_EXTERNAL; break;
        case GSP_DN_EXTENSION:
        case GSP_DN_ACD_POSITION: w->dn_kind[d] = agent ? K_AGENT : K_EXT; break;
        default:
            w->dn_kind[d] = f & SEEN_RP ? K_RP : f & SEEN_QUEUE ? K_QUEUE : agent ? K_AGENT : K_EXT;
            break;
        }
    }
}

/* ---- legs ---------------------------------------------------------------------- */

static int new_inv(cm_work *w, int leg)
{
    GROW(w->invs, w->n_invs, w->cap_invs);
    struct inv *v = &w->invs[w->n_invs];
    memset(v, 0, sizeof *v);
    v->root = leg;
    v->received_from = NONE;
    v->irf = NONE;
    return (int)w->n_invs++;
}

static void end_leg(struct leg *l, const ct_event *e, uint32_t idx, uint8_t how)
{
    l->end_ms = e->time_ms;
    l->end_idx = idx;
    l->end_kind = how;
    if (l->hold_ms != UNSET) {
        l->hold_s += secs(e->time_ms) - secs(l->hold_ms);
        l->hold_ms = UNSET;
    }
}

/* The most recent leg of dn on conn (open_only: not ended), or NONE. */
static int find_leg(const cm_work *w, uint16_t conn, uint16_t dn, bool open_only)
{
    for (size_t i = w->n_legs; i-- > 0;) {
        const struct leg *l = &w->legs[i];
        if (l->conn == conn && l->dn == dn && (!open_only || l->end_kind == END_NONE))
            return (int)i;
    }
    return NONE;
}

/* The involvement of the DN that dialled consultation call conn (other than dn). */
static int consult_initiator(const cm_work *w, uint16_t conn, uint16_t dn)
{
    for (size_t i = 0; i < w->n_legs; i++) {
        const struct leg *l = &w->legs[i];
        if (l->conn == conn && l->dn != dn && l->begin_ev == GSP_EV_DIALING)
            return l->inv;
    }
    return NONE;
}

static int begin_leg(cm_work *w, const ct_store *s, const ct_event *e, uint32_t idx)
{
    GROW(w->legs, w->n_legs, w->cap_legs);
    int li = (int)w->n_legs++;
    struct leg *l = &w->legs[li];
    memset(l, 0, sizeof *l);
    l->conn = e->conn;
    l->dn = e->this_dn;
    l->begin_idx = idx;
    l->start_ms = e->time_ms;
    l->end_ms = l->ring_ms = l->dial_ms = l->est_ms = l->hold_ms = UNSET;
    l->kind = w->dn_kind[e->this_dn];
    l->begin_ev = e->id;
    l->inv = l->target = l->targeted_by = NONE;
    if (w->consult[e->conn])
        l->cons = CONS_RCV;

    bool joins = e->id == GSP_EV_PARTY_CHANGED || e->id == GSP_EV_PARTY_ADDED;
    if (joins) {
        l->est_ms = e->time_ms; /* connected from the start */
        int prev = e->prev_conn ? find_leg(w, e->prev_conn, e->this_dn, false) : NONE;
        if (prev != NONE) {
            struct leg *p = &w->legs[prev];
            if (p->end_kind == END_NONE)
                end_leg(p, e, idx, END_CONTINUED);
            l->inv = p->inv;
        }
        if (l->inv == NONE)
            l->inv = new_inv(w, li);
        struct inv *v = &w->invs[l->inv];
        int from = e->prev_conn ? consult_initiator(w, e->prev_conn, e->this_dn) : NONE;
        if (e->id == GSP_EV_PARTY_ADDED)
            v->joined = true;
        else
            v->by_transfer = true;
        if (from != NONE && from != l->inv) {
            v->received_from = from;
            if (e->id == GSP_EV_PARTY_ADDED)
                w->invs[from].conferenced = true;
            else
                w->invs[from].transferred = true;
        }
        return li;
    }
    if (e->id == GSP_EV_DIALING && w->consult[e->conn]) {
        /* A consultation dialled from this DN's call: part of that involvement. */
        for (size_t i = w->n_legs - 1; i-- > 0;) {
            const struct leg *o = &w->legs[i];
            if (o->dn == e->this_dn && o->conn != e->conn && o->end_kind == END_NONE && o->cons != CONS_INIT) {
                l->inv = o->inv;
                l->cons = CONS_INIT;
                break;
            }
        }
    }
    if (l->inv == NONE)
        l->inv = new_inv(w, li);
    return li;
}

static void apply(cm_work *w, struct leg *l, const ct_event *e, uint32_t idx)
{
    struct inv *v = &w->invs[l->inv];
    if (e->agent && !v->agent)
        v->agent = e->agent;
    if (e->place && !v->place)
        v->place = e->place;
    switch ((gsp_event_id)e->id) {
    case GSP_EV_RINGING:
        if (l->ring_ms == UNSET)
            l->ring_ms = e->time_ms;
        break;
    case GSP_EV_DIALING:
        if (l->dial_ms == UNSET)
            l->dial_ms = e->time_ms;
        break;
    case GSP_EV_DESTINATION_BUSY: l->busy = true; break;
    case GSP_EV_ESTABLISHED:
        if (l->est_ms == UNSET)
            l->est_ms = e->time_ms;
        break;
    case GSP_EV_HELD:
        if (l->hold_ms == UNSET) {
            l->hold_ms = e->time_ms;
            l->hold_count++;
        }
        break;
    case GSP_EV_RETRIEVED:
        if (l->hold_ms != UNSET) {
            l->hold_s += secs(e->time_ms) - secs(l->hold_ms);
            l->hold_ms = UNSET;
        }
        break;
    case GSP_EV_RELEASED: end_leg(l, e, idx, is_stay(l) ? END_ABANDONED : END_RELEASED); break;
    case GSP_EV_ABANDONED: end_leg(l, e, idx, END_ABANDONED); break;
    case GSP_EV_DIVERTED:
    case GSP_EV_ROUTE_USED:
        l->other_dn = e->other_dn;
        end_leg(l, e, idx, END_DIVERTED);
        break;
    case GSP_EV_PARTY_ADDED:
        /* A DN already on the call is told a party joined: it conferenced. */
        if ((uint32_t)l->begin_idx != idx)
            v->conferenced = true;
        break;
    default: break;
    }
}

void cm_build_legs(cm_work *w, const ct_store *s)
{
    w->n_legs = w->n_invs = 0;
    classify(w, s);
    for (uint32_t i = 0; i < s->n_ev; i++) {
        const ct_event *e = &s->ev[i];
        if (e->id == GSP_EV_ATTACHED_DATA_CHANGED || e->id == GSP_EV_USER_EVENT || e->id == GSP_EV_PARTY_DELETED)
            continue;
        int li = find_leg(w, e->conn, e->this_dn, true);
        if (li == NONE)
            li = begin_leg(w, s, e, i);
        apply(w, &w->legs[li], e, i);
    }
}

bool cm_all_released(cm_work *w, const ct_store *s)
{
    cm_build_legs(w, s);
    for (size_t i = 0; i < w->n_legs; i++)
        if (w->legs[i].end_kind == END_NONE)
            return false;
    return w->n_legs > 0;
}

