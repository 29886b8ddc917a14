/* digital_model.c — see digital_model.h. */
#include <stdlib.h>
#include <string.h>

#include "digital_model.h"

static const char *const results[DG_RES_COUNT][2] = {
    [DG_RES_OPEN] = {"Unspecified", "Unspecified"},
    [DG_RES_DIVERTED] = {"Diverted", "Unspecified"},
    [DG_RES_ANSWERED] = {"Diverted", "AnsweredByAgent"},
    [DG_RES_ABANDONED] = {"Abandoned", "AbandonedWhileQueued"},
    [DG_RES_COMPLETED] = {"Completed", "Unspecified"},
    [DG_RES_TRANSFERRED] = {"Transferred", "Unspecified"},
    [DG_RES_REDIRECTED] = {"Redirected", "Unspecified"},
    [DG_RES_RONA] = {"Redirected", "RouteOnNoAnswer"},
    [DG_RES_REVOKED] = {"Revoked", "Unspecified"},
};

const char *dg_result_name(dg_result r, const char **reason)
{
    if ((unsigned)r >= DG_RES_COUNT)
        r = DG_RES_OPEN;
    *reason = results[r][1];
    return results[r][0];
}

static const char *const roles[DG_ROLE_COUNT][2] = {
    [DG_ROLE_RECEIVED] = {"Received", "Unspecified"},
    [DG_ROLE_TRANSFER] = {"ReceivedTransfer", "Unspecified"},
    [DG_ROLE_CONFERENCE] = {"Received", "ConferenceJoined"},
};

const char *dg_role_name(dg_role r, const char **reason)
{
    if ((unsigned)r >= DG_ROLE_COUNT)
        r = DG_ROLE_RECEIVED;
    *reason = roles[r][1];
    return roles[r][0];
}

/* ---- applying ----------------------------------------------------------------------- */

static void take(gsp_btext *t, gsp_str v)
{
    gsp_btext_take(t, v.s, v.len);
}

/* The open involvement of agent a, or NULL. */
static dg_inv *find(dg_ixn *x, gsp_str a)
{
    for (uint32_t i = 0; i < x->n_inv; i++)
        if (x->inv[i].phase != DG_ENDED && gsp_btext_eq(&x->inv[i].agent, a.s, a.len))
            return &x->inv[i];
    return NULL;
}

static void notice(dg_ixn *x, dg_inv *v, bool start)
{
    if (x->n_handling < DG_MAX_OPEN)
        x->handling[x->n_handling++] = (dg_handling){(uint8_t)(v - x->inv), start};
}

static void end_inv(dg_ixn *x, dg_inv *v, dg_result r, int64_t t)
{
    if (v->phase == DG_HANDLING)
        notice(x, v, false);
    v->phase = DG_ENDED;
    v->result = (uint8_t)r;
    v->end_ms = t;
}

/* Close the open stay at t: it becomes the last closed one (written once
 * more), with the offer that closed it as its target when v is given. */
static void close_stay(dg_ixn *x, dg_result r, int64_t t, const dg_inv *v)
{
    if (!x->stay.open)
        return;
    dg_stay tmp = x->prev; /* swapped, so both keep their texts' capacity */
    x->prev = x->stay;
    x->stay = tmp;
    x->stay.open = x->stay.kept = x->stay.dirty = false;
    dg_stay *s = &x->prev;
    s->open = false;
    s->dirty = true;
    s->result = (uint8_t)r;
    s->end_ms = t;
    s->has_target = s->kept = v != NULL;
    if (v) {
        gsp_btext_set(&s->target_agent, v->agent.s, v->agent.len);
        s->target_seq = v->seq;
    }
}

static void open_stay(dg_ixn *x, const dg_event *ev, bool workbin)
{
    dg_stay *s = &x->stay;
    gsp_str name = workbin ? ev->workbin : ev->queue;
    gsp_btext_set(&s->name, name.s, name.len);
    s->open = s->dirty = true;
    s->kept = s->has_target = false;
    s->workbin = workbin;
    s->result = DG_RES_OPEN;
    s->seq = ev->seq;
    s->start_ms = ev->time_ms;
    s->end_ms = MF_TIME_UNSET;
    s->target_agent.len = 0;
    s->target_seq = 0;
}

/* A new involvement of the event's agent; NULL when DG_MAX_OPEN are open. */
static dg_inv *open_inv(dg_ixn *x, const dg_event *ev, dg_role role)
{
    if (x->n_inv >= DG_MAX_OPEN)
        return NULL;
    dg_inv *v = &x->inv[x->n_inv++];
    gsp_btext_set(&v->agent, ev->agent_id.s, ev->agent_id.len);
    gsp_btext_set(&v->place, ev->place.s, ev->place.len);
    v->phase = DG_RINGING;
    v->role = (uint8_t)role;
    v->result = DG_RES_OPEN;
    v->rang = v->has_stay = v->stay_workbin = v->has_from = false;
    v->ordinal = ++x->ordinals;
    v->seq = ev->seq;
    v->start_ms = ev->time_ms;
    v->accept_ms = v->end_ms = MF_TIME_UNSET;
    v->stay_name.len = v->from_agent.len = 0;
    v->stay_seq = v->from_seq = 0;
    return v;
}

static dg_outcome offered(dg_ixn *x, const dg_event *ev)
{
    if (find(x, ev->agent_id))
        return DG_IGNORED; /* offered again while its offer rings or it handles */
    bool transfer = x->has_transfer && gsp_btext_eq(&x->transfer_to, ev->agent_id.s, ev->agent_id.len);
    dg_inv *v = open_inv(x, ev, transfer ? DG_ROLE_TRANSFER : DG_ROLE_RECEIVED);
    if (!v)
        return DG_TOO_MANY;
    v->rang = true;
    if (transfer) {
        v->has_from = true;
        gsp_btext_set(&v->from_agent, x->transfer_from.s, x->transfer_from.len);
        v->from_seq = x->transfer_seq;
        x->has_transfer = false;
    }
    if (x->stay.open) {
        v->has_stay = true;
        v->stay_workbin = x->stay.workbin;
        gsp_btext_set(&v->stay_name, x->stay.name.s, x->stay.name.len);
        v->stay_seq = x->stay.seq;
        close_stay(x, DG_RES_DIVERTED, ev->time_ms, v);
    }
    return DG_APPLIED;
}

static dg_outcome accepted(dg_ixn *x, const dg_event *ev)
{
    dg_inv *v = find(x, ev->agent_id);
    if (!v || v->phase != DG_RINGING)
        return DG_IGNORED;
    v->phase = DG_HANDLING;
    v->accept_ms = ev->time_ms;
    take(&v->place, ev->place);
    notice(x, v, true);
    dg_stay *s = &x->prev;
    if (s->kept && gsp_btext_eq(&s->target_agent, v->agent.s, v->agent.len) && s->target_seq == v->seq) {
        s->result = DG_RES_ANSWERED;
        s->dirty = true;
    }
    return DG_APPLIED;
}

static dg_outcome ring_ended(dg_ixn *x, const dg_event *ev, dg_result r)
{
    dg_inv *v = find(x, ev->agent_id);
    if (!v || v->phase != DG_RINGING)
        return DG_IGNORED;
    end_inv(x, v, r, ev->time_ms);
    return DG_APPLIED;
}

static dg_outcome transferred(dg_ixn *x, const dg_event *ev)
{
    dg_inv *v = find(x, ev->agent_id);
    if (!v || v->phase != DG_HANDLING)
        return DG_IGNORED;
    end_inv(x, v, DG_RES_TRANSFERRED, ev->time_ms);
    x->has_transfer = ev->target_agent_id.len > 0;
    if (x->has_transfer) {
        gsp_btext_set(&x->transfer_to, ev->target_agent_id.s, ev->target_agent_id.len);
        gsp_btext_set(&x->transfer_from, v->agent.s, v->agent.len);
        x->transfer_seq = v->seq;
    }
    return DG_APPLIED;
}

static dg_outcome placed(dg_ixn *x, const dg_event *ev, bool workbin)
{
    if (workbin && ev->agent_id.len) { /* an agent hands it to a workbin */
        dg_inv *v = find(x, ev->agent_id);
        if (v && v->phase == DG_HANDLING)
            end_inv(x, v, DG_RES_TRANSFERRED, ev->time_ms);
    }
    close_stay(x, DG_RES_DIVERTED, ev->time_ms, NULL);
    open_stay(x, ev, workbin);
    return DG_APPLIED;
}

static dg_outcome conferenced(dg_ixn *x, const dg_event *ev)
{
    if (find(x, ev->agent_id))
        return DG_IGNORED;
    dg_inv *v = open_inv(x, ev, DG_ROLE_CONFERENCE);
    if (!v)
        return DG_TOO_MANY;
    v->phase = DG_HANDLING;
    v->accept_ms = ev->time_ms;
    notice(x, v, true);
    return DG_APPLIED;
}

/* Every open involvement ends, an open stay is abandoned. */
static void stop_all(dg_ixn *x, int64_t t)
{
    for (uint32_t i = 0; i < x->n_inv; i++) {
        dg_inv *v = &x->inv[i];
        if (v->phase != DG_ENDED)
            end_inv(x, v, v->phase == DG_HANDLING ? DG_RES_COMPLETED : DG_RES_REDIRECTED, t);
    }
    close_stay(x, DG_RES_ABANDONED, t, NULL);
}

static bool any_open(const dg_ixn *x)
{
    for (uint32_t i = 0; i < x->n_inv; i++)
        if (x->inv[i].phase != DG_ENDED)
            return true;
    return x->stay.open;
}

static dg_outcome completed(dg_ixn *x, const dg_event *ev)
{
    if (!ev->agent_id.len)
        stop_all(x, ev->time_ms);
    else {
        dg_inv *v = find(x, ev->agent_id);
        if (v && v->phase == DG_HANDLING)
            end_inv(x, v, DG_RES_COMPLETED, ev->time_ms);
        else if (any_open(x))
            return DG_IGNORED; /* not this agent's to end */
    }
    if (!any_open(x))
        x->ended = true;
    return DG_APPLIED;
}

dg_outcome dg_apply(dg_ixn *x, const dg_event *ev)
{
    if (x->media == DG_MEDIA_NONE) {
        if (ev->media == DG_MEDIA_NONE)
            return DG_NO_MEDIA;
        x->media = (uint8_t)ev->media;
    }
    if (!x->started) {
        x->started = true;
        x->start_ms = ev->time_ms;
        gsp_btext_set(&x->guid, ev->interaction_id.s, ev->interaction_id.len);
    }
    x->last_ms = ev->time_ms;
    x->last_seq = ev->seq;
    x->last_event = (uint8_t)ev->id;
    switch (ev->id) {
    case DG_EV_CREATED:
        take(&x->from, ev->from);
        take(&x->to, ev->to);
        return DG_APPLIED;
    case DG_EV_QUEUED: return placed(x, ev, false);
    case DG_EV_WORKBIN: return placed(x, ev, true);
    case DG_EV_OFFERED: return offered(x, ev);
    case DG_EV_ACCEPTED: return accepted(x, ev);
    case DG_EV_REJECTED: return ring_ended(x, ev, DG_RES_REDIRECTED);
    case DG_EV_TIMED_OUT: return ring_ended(x, ev, DG_RES_RONA);
    case DG_EV_REVOKED: return ring_ended(x, ev, DG_RES_REVOKED);
    case DG_EV_TRANSFERRED: return transferred(x, ev);
    case DG_EV_CONFERENCED: return conferenced(x, ev);
    case DG_EV_COMPLETED: return completed(x, ev);
    case DG_EV_NONE:
    case DG_EV_COUNT: break;
    }
    return DG_IGNORED;
}

void dg_stop(dg_ixn *x)
{
    stop_all(x, x->last_ms);
    x->ended = true;
}

/* ---- writing ------------------------------------------------------------------------ */

/* Forget what no later event can change: ended involvements (moved to the
 * end, so their texts' capacity is kept), a closed stay no ringing offer
 * can answer any more. The order of the open ones is kept. */
static void settle(dg_ixn *x)
{
    uint32_t k = 0;
    for (uint32_t i = 0; i < x->n_inv; i++) {
        if (x->inv[i].phase == DG_ENDED)
            continue;
        if (i != k) {
            dg_inv tmp = x->inv[k];
            x->inv[k] = x->inv[i];
            x->inv[i] = tmp;
        }
        k++;
    }
    x->n_inv = k;
    x->n_handling = 0;
    x->stay.dirty = x->prev.dirty = false;
    dg_stay *s = &x->prev;
    if (s->kept) {
        dg_inv *v = NULL;
        for (uint32_t i = 0; i < x->n_inv && !v; i++)
            if (x->inv[i].seq == s->target_seq &&
                gsp_btext_eq(&x->inv[i].agent, s->target_agent.s, s->target_agent.len))
                v = &x->inv[i];
        s->kept = v && v->phase == DG_RINGING;
    }
}

int dg_emit(dg_ixn *x, const dg_sink *sink, void *arg)
{
    int rc = sink->ixn(arg, x);
    if (rc == MF_OK && x->prev.dirty)
        rc = sink->stay(arg, x, &x->prev);
    if (rc == MF_OK && x->stay.open)
        rc = sink->stay(arg, x, &x->stay);
    for (uint32_t i = 0; i < x->n_inv && rc == MF_OK; i++)
        rc = sink->inv(arg, x, &x->inv[i]);
    for (uint32_t i = 0; i < x->n_handling && rc == MF_OK; i++)
        rc = sink->handling(arg, x, &x->inv[x->handling[i].inv], x->handling[i].start);
    settle(x);
    return rc;
}

static void stay_free(dg_stay *s)
{
    gsp_btext_free(&s->name);
    gsp_btext_free(&s->target_agent);
}

static void inv_free(dg_inv *v)
{
    gsp_btext_free(&v->agent);
    gsp_btext_free(&v->place);
    gsp_btext_free(&v->stay_name);
    gsp_btext_free(&v->from_agent);
}

void dg_free(dg_ixn *x)
{
    gsp_btext_free(&x->guid);
    gsp_btext_free(&x->from);
    gsp_btext_free(&x->to);
    gsp_btext_free(&x->transfer_to);
    gsp_btext_free(&x->transfer_from);
    stay_free(&x->stay);
    stay_free(&x->prev);
    for (int i = 0; i < DG_MAX_OPEN; i++)
        inv_free(&x->inv[i]);
    memset(x, 0, sizeof *x);
}

/* ---- snapshots (taken between events: nothing dirty, no handling pending) ----------- */

static void put_i64(mf_buffer *out, const mf_host *host, int64_t v)
{
    gsp_put(out, host, (uint64_t)v, 8);
}

static void stay_save(const dg_stay *s, const mf_host *host, mf_buffer *out)
{
    gsp_put(out, host, (uint64_t)s->open | (uint64_t)s->kept << 1 | (uint64_t)s->workbin << 2 |
                           (uint64_t)s->has_target << 3, 1);
    gsp_put(out, host, s->result, 1);
    gsp_btext_save(&s->name, host, out);
    gsp_btext_save(&s->target_agent, host, out);
    put_i64(out, host, s->seq);
    put_i64(out, host, s->start_ms);
    put_i64(out, host, s->end_ms);
    put_i64(out, host, s->target_seq);
}

static bool stay_load(dg_stay *s, gsp_reader *r)
{
    uint64_t f = gsp_get(r, 1);
    s->open = f & 1;
    s->kept = f >> 1 & 1;
    s->workbin = f >> 2 & 1;
    s->has_target = f >> 3 & 1;
    s->result = (uint8_t)gsp_get(r, 1);
    if (!gsp_btext_load(&s->name, r) || !gsp_btext_load(&s->target_agent, r))
        return false;
    s->seq = (int64_t)gsp_get(r, 8);
    s->start_ms = (int64_t)gsp_get(r, 8);
    s->end_ms = (int64_t)gsp_get(r, 8);
    s->target_seq = (int64_t)gsp_get(r, 8);
    return r->ok && s->result < DG_RES_COUNT;
}

static void inv_save(const dg_inv *v, const mf_host *host, mf_buffer *out)
{
    gsp_put(out, host, v->phase, 1);
    gsp_put(out, host, v->role, 1);
    gsp_put(out, host, v->result, 1);
    gsp_put(out, host, (uint64_t)v->rang | (uint64_t)v->has_stay << 1 | (uint64_t)v->stay_workbin << 2 |
                           (uint64_t)v->has_from << 3, 1);
    gsp_put(out, host, (uint32_t)v->ordinal, 4);
    gsp_btext_save(&v->agent, host, out);
    gsp_btext_save(&v->place, host, out);
    gsp_btext_save(&v->stay_name, host, out);
    gsp_btext_save(&v->from_agent, host, out);
    put_i64(out, host, v->seq);
    put_i64(out, host, v->start_ms);
    put_i64(out, host, v->accept_ms);
    put_i64(out, host, v->end_ms);
    put_i64(out, host, v->stay_seq);
    put_i64(out, host, v->from_seq);
}

static bool inv_load(dg_inv *v, gsp_reader *r)
{
    v->phase = (uint8_t)gsp_get(r, 1);
    v->role = (uint8_t)gsp_get(r, 1);
    v->result = (uint8_t)gsp_get(r, 1);
    uint64_t f = gsp_get(r, 1);
    v->rang = f & 1;
    v->has_stay = f >> 1 & 1;
    v->stay_workbin = f >> 2 & 1;
    v->has_from = f >> 3 & 1;
    v->ordinal = (int32_t)gsp_get(r, 4);
    if (!gsp_btext_load(&v->agent, r) || !gsp_btext_load(&v->place, r) || !gsp_btext_load(&v->stay_name, r) ||
        !gsp_btext_load(&v->from_agent, r))
        return false;
    v->seq = (int64_t)gsp_get(r, 8);
    v->start_ms = (int64_t)gsp_get(r, 8);
    v->accept_ms = (int64_t)gsp_get(r, 8);
    v->end_ms = (int64_t)gsp_get(r, 8);
    v->stay_seq = (int64_t)gsp_get(r, 8);
    v->from_seq = (int64_t)gsp_get(r, 8);
    return r->ok && v->phase < DG_ENDED && v->role < DG_ROLE_COUNT && v->result < DG_RES_COUNT;
}

void dg_save(const dg_ixn *x, const mf_host *host, mf_buffer *out)
{
    gsp_btext_save(&x->guid, host, out);
    gsp_btext_save(&x->from, host, out);
    gsp_btext_save(&x->to, host, out);
    gsp_put(out, host, x->media, 1);
    gsp_put(out, host, (uint64_t)x->started | (uint64_t)x->has_transfer << 1, 1);
    gsp_put(out, host, x->last_event, 1);
    put_i64(out, host, x->start_ms);
    put_i64(out, host, x->last_ms);
    put_i64(out, host, x->last_seq);
    gsp_put(out, host, (uint32_t)x->ordinals, 4);
    stay_save(&x->stay, host, out);
    stay_save(&x->prev, host, out);
    gsp_btext_save(&x->transfer_to, host, out);
    gsp_btext_save(&x->transfer_from, host, out);
    put_i64(out, host, x->transfer_seq);
    gsp_put(out, host, x->n_inv, 1);
    for (uint32_t i = 0; i < x->n_inv; i++)
        inv_save(&x->inv[i], host, out);
}

bool dg_load(dg_ixn *x, gsp_reader *r)
{
    memset(x, 0, sizeof *x);
    if (!gsp_btext_load(&x->guid, r) || !gsp_btext_load(&x->from, r) || !gsp_btext_load(&x->to, r))
        goto fail;
    x->media = (uint8_t)gsp_get(r, 1);
    uint64_t f = gsp_get(r, 1);
    x->started = f & 1;
    x->has_transfer = f >> 1 & 1;
    x->last_event = (uint8_t)gsp_get(r, 1);
    x->start_ms = (int64_t)gsp_get(r, 8);
    x->last_ms = (int64_t)gsp_get(r, 8);
    x->last_seq = (int64_t)gsp_get(r, 8);
    x->ordinals = (int32_t)gsp_get(r, 4);
    if (!stay_load(&x->stay, r) || !stay_load(&x->prev, r) || !gsp_btext_load(&x->transfer_to, r) ||
        !gsp_btext_load(&x->transfer_from, r))
        goto fail;
    x->transfer_seq = (int64_t)gsp_get(r, 8);
    x->n_inv = (uint32_t)gsp_get(r, 1);
    if (x->n_inv > DG_MAX_OPEN)
        goto fail;
    for (uint32_t i = 0; i < x->n_inv; i++)
        if (!inv_load(&x->inv[i], r))
            goto fail;
    if (r->ok && x->media < DG_MEDIA_COUNT && x->last_event < DG_EV_COUNT && x->ordinals >= 0)
        return true;
fail:
    dg_free(x);
    return gsp_get_fail(r);
}
