/*
 * agent_model.c — see agent_model.h. The rules, each with the scenario
 * that tests it, are in docs/agent-state-rules.md.
 */
#include <stdlib.h>
#include <string.h>

#include "agent_model.h"
#include "gsp_record.h"

bool am_parse_priority(const char *const *items, size_t n, uint8_t rank[AM_N_STATES], const char **bad)
{
    bool seen[AM_N_STATES] = {false};
    *bad = NULL;
    for (size_t i = 0; i < n; i++) {
        unsigned s = 0;
        while (s < AM_N_STATES && strcmp(items[i], am_state_name(s)) != 0)
            s++;
        if (s == AM_N_STATES || seen[s] || i >= AM_N_STATES) {
            *bad = items[i];
            return false;
        }
        seen[s] = true;
        rank[s] = (uint8_t)i;
    }
    return n == AM_N_STATES;
}

/* ---- small helpers ------------------------------------------------------------------ */

static char *dup_str(const gsp_str *v)
{
    return v->s ? mf_xstrndup(v->s, v->len) : NULL;
}

static bool same_str(const char *a, const gsp_str *b)
{
    size_t la = a ? strlen(a) : 0;
    return la == b->len && (la == 0 || memcmp(a, b->s, la) == 0);
}

static const char *or_empty(const char *s)
{
    return s ? s : "";
}

struct out {
    am_emit_fn emit;
    void *arg;
    int *rc;
};

static void put(const struct out *o, const am_fact *f)
{
    int rc = o->emit(o->arg, f);
    if (rc != MF_OK && *o->rc == MF_OK)
        *o->rc = rc;
}

static am_fact base(const am_agent *a, am_table table, int64_t start_ms, int64_t end_ms, bool active)
{
    return (am_fact){.table = table, .session_ms = a->session_ms, .start_ms = start_ms, .end_ms = end_ms,
                     .active = active, .place = a->place, .reason_code = "", .work_mode = ""};
}

/* ---- the rows ------------------------------------------------------------------------ */

static void emit_reason(const am_agent *a, const struct out *o, int64_t end_ms, bool active)
{
    am_fact f = base(a, AM_REASON, a->reason_ms, end_ms, active);
    f.state = a->mode;
    f.reason_code = or_empty(a->reason);
    f.work_mode = or_empty(a->work_mode);
    put(o, &f);
}

static void emit_state(const am_agent *a, const struct out *o, int64_t end_ms, bool active)
{
    am_fact f = base(a, AM_STATE, a->state_ms, end_ms, active);
    f.state = a->state;
    put(o, &f);
}

static void emit_session(const am_agent *a, const struct out *o, int64_t end_ms, bool active)
{
    am_fact f = base(a, AM_SESSION, a->session_ms, end_ms, active);
    put(o, &f);
}

/* The after-call work attributed to acw_irf so far, plus an open period up
 * to open_end_ms (MF_TIME_UNSET: none). */
static void emit_acw(const am_agent *a, const struct out *o, int64_t open_end_ms)
{
    am_fact f = base(a, AM_ACW_UPDATE, a->acw_ms, open_end_ms, open_end_ms != MF_TIME_UNSET);
    f.irf_id = a->acw_irf;
    f.ctid = a->acw_ctid;
    f.acw_count = a->acw_count;
    f.acw_duration_s = a->acw_duration_s;
    if (open_end_ms != MF_TIME_UNSET) {
        f.acw_count++;
        f.acw_duration_s += gsp_secs(open_end_ms) - gsp_secs(a->acw_ms);
    }
    put(o, &f);
}

/* ---- transitions ------------------------------------------------------------------- */

/* The state that wins among those that hold now. */
static uint8_t winner(const am_agent *a, const am_config *cfg)
{
    uint8_t best = a->mode;
    if (ac_busy(&a->calls) && cfg->rank[AM_BUSY] < cfg->rank[best])
        best = AM_BUSY;
    return best;
}

/* A row that would begin and end at the same millisecond is not emitted:
 * it lasted nothing, and its successor starts at the same instant. */
static void update_state(am_agent *a, const am_config *cfg, const struct out *o, int64_t t)
{
    if (!a->logged_in)
        return;
    uint8_t w = winner(a, cfg);
    if (w == a->state)
        return;
    if (a->state_ms != t)
        emit_state(a, o, t, false);
    a->state = w;
    a->state_ms = t;
}

static void close_reason(am_agent *a, const struct out *o, int64_t t)
{
    if (a->reason_open && a->reason_ms != t)
        emit_reason(a, o, t, false);
    a->reason_open = false;
}

/* Entering ACW: it counts for the IRF the agent released last when that
 * ended at most acw_window before. */
static void begin_acw(am_agent *a, const am_config *cfg, int64_t t)
{
    const ac_calls *c = &a->calls;
    a->acw_ms = t;
    a->acw_attributed = false;
    if (!c->last_irf || c->last_end_ms > t || t - c->last_end_ms > cfg->acw_window_ms)
        return;
    if (a->acw_irf != c->last_irf) {
        free(a->acw_ctid);
        a->acw_irf = c->last_irf;
        a->acw_ctid = mf_xstrdup(c->last_ctid);
        a->acw_count = a->acw_duration_s = 0;
    }
    a->acw_attributed = true;
}

static void end_acw(am_agent *a, const struct out *o, int64_t t)
{
    if (!a->acw_attributed)
        return;
    a->acw_count++;
    a->acw_duration_s += gsp_secs(t) - gsp_secs(a->acw_ms);
    a->acw_attributed = false;
    emit_acw(a, o, MF_TIME_UNSET);
}

static void set_mode(am_agent *a, const am_config *cfg, const struct out *o, int64_t t, uint8_t mode,
                     const gsp_str *reason, const gsp_str *work_mode)
{
    if (mode == a->mode && same_str(a->reason, reason) && same_str(a->work_mode, work_mode))
        return;
    close_reason(a, o, t);
    if (a->mode == AM_ACW && mode != AM_ACW)
        end_acw(a, o, t);
    if (mode == AM_ACW && a->mode != AM_ACW)
        begin_acw(a, cfg, t);
    a->mode = mode;
    free(a->reason);
    free(a->work_mode);
    a->reason = dup_str(reason);
    a->work_mode = dup_str(work_mode);
    if (mode != AM_READY && (a->reason || a->work_mode)) {
        a->reason_open = true;
        a->reason_ms = t;
    }
    update_state(a, cfg, o, t);
}

static void add_queue(am_agent *a, const gsp_str *q)
{
    for (uint32_t i = 0; i < a->n_queues; i++)
        if (same_str(a->queues[i], q))
            return;
    a->queues = mf_xrealloc(a->queues, (a->n_queues + 1) * sizeof *a->queues);
    a->queues[a->n_queues++] = q->s ? mf_xstrndup(q->s, q->len) : mf_xstrdup("");
}

static void clear_queues(am_agent *a)
{
    for (uint32_t i = 0; i < a->n_queues; i++)
        free(a->queues[i]);
    free(a->queues);
    a->queues = NULL;
    a->n_queues = 0;
}

/* Logout from q (every queue when none is given); a login that named no
 * queue is left by any logout. True when none is left. */
static bool remove_queue(am_agent *a, const gsp_str *q)
{
    if (!q->len) {
        clear_queues(a);
        return true;
    }
    for (uint32_t i = 0; i < a->n_queues;) {
        if (same_str(a->queues[i], q) || a->queues[i][0] == '\0') {
            free(a->queues[i]);
            a->queues[i] = a->queues[--a->n_queues];
            continue;
        }
        i++;
    }
    return a->n_queues == 0;
}

static void login(am_agent *a, const am_config *cfg, const struct out *o, const gsp_voice_event *ev)
{
    add_queue(a, &ev->this_queue);
    if (a->logged_in)
        return;
    a->logged_in = true;
    a->session_ms = ev->time_ms;
    free(a->place);
    a->place = dup_str(&ev->place);
    /* After login the agent is Not Ready until the first Ready (T-Server's default). */
    a->mode = AM_NOT_READY;
    free(a->reason);
    free(a->work_mode);
    a->reason = a->work_mode = NULL;
    a->reason_open = false;
    a->state = winner(a, cfg);
    a->state_ms = ev->time_ms;
    emit_session(a, o, ev->time_ms, true);
}

static void logout(am_agent *a, const struct out *o, int64_t t)
{
    close_reason(a, o, t);
    if (a->mode == AM_ACW)
        end_acw(a, o, t);
    if (a->state_ms != t)
        emit_state(a, o, t, false);
    emit_session(a, o, t, false);
    a->logged_in = false;
    clear_queues(a);
    a->mode = AM_NOT_READY;
    free(a->reason);
    free(a->work_mode);
    a->reason = a->work_mode = NULL;
}

am_result am_apply(am_agent *a, const am_config *cfg, cm_work *w, const gsp_voice_event *ev, am_emit_fn emit,
                   void *arg, int *rc)
{
    struct out o = {emit, arg, rc};
    int64_t t = ev->time_ms;
    if (gsp_event_is_call(ev->id)) {
        size_t key_tenant = ev->tenant.len;
        switch (ac_add(&a->calls, w, ev->tenant.s, key_tenant, ev, cfg->max_events)) {
        case CT_DUPLICATE: return AM_DUPLICATE;
        case CT_FULL: return AM_FULL;
        case CT_ADDED: break;
        }
        a->last_ms = t > a->last_ms ? t : a->last_ms;
        update_state(a, cfg, &o, t);
        return AM_APPLIED;
    }
    if (!a->logged_in && ev->id != GSP_EV_AGENT_LOGIN)
        return AM_IGNORED;
    a->last_ms = t > a->last_ms ? t : a->last_ms;
    if (a->logged_in && !a->place && ev->place.len)
        a->place = dup_str(&ev->place);
    static const gsp_str none = {NULL, 0};
    switch (ev->id) {
    case GSP_EV_AGENT_LOGIN: login(a, cfg, &o, ev); break;
    case GSP_EV_AGENT_LOGOUT:
        if (remove_queue(a, &ev->this_queue))
            logout(a, &o, t);
        break;
    case GSP_EV_AGENT_READY: set_mode(a, cfg, &o, t, AM_READY, &none, &none); break;
    case GSP_EV_AGENT_NOT_READY: {
        bool acw = ev->work_mode.len == 13 && memcmp(ev->work_mode.s, "AfterCallWork", 13) == 0;
        set_mode(a, cfg, &o, t, acw ? AM_ACW : AM_NOT_READY, &ev->reason_code, &ev->work_mode);
        break;
    }
    default: break; /* DND on / off: no state of its own */
    }
    return AM_APPLIED;
}

int am_end(const am_agent *a, am_emit_fn emit, void *arg)
{
    int rc = MF_OK;
    struct out o = {emit, arg, &rc};
    if (!a->logged_in)
        return MF_OK;
    if (a->reason_open)
        emit_reason(a, &o, a->last_ms, true);
    emit_state(a, &o, a->last_ms, true);
    if (a->mode == AM_ACW && a->acw_attributed)
        emit_acw(a, &o, a->last_ms);
    emit_session(a, &o, a->last_ms, true);
    return rc;
}

bool am_quiet(const am_agent *a)
{
    return !a->logged_in && !ac_busy(&a->calls);
}

void am_free(am_agent *a)
{
    free(a->place);
    clear_queues(a);
    free(a->reason);
    free(a->work_mode);
    free(a->acw_ctid);
    ac_free(&a->calls);
    memset(a, 0, sizeof *a);
}

/* ---- snapshot bytes ------------------------------------------------------------------ */

void am_save(const am_agent *a, const mf_host *host, mf_buffer *out)
{
    gsp_put(out, host, (uint64_t)a->last_ms, 8);
    gsp_put(out, host, a->logged_in, 1);
    gsp_put(out, host, (uint64_t)a->session_ms, 8);
    gsp_put_opt_str(out, host, a->place);
    gsp_put(out, host, a->n_queues, 4);
    for (uint32_t i = 0; i < a->n_queues; i++)
        gsp_put_str(out, host, a->queues[i], strlen(a->queues[i]));
    gsp_put(out, host, a->mode, 1);
    gsp_put_opt_str(out, host, a->reason);
    gsp_put_opt_str(out, host, a->work_mode);
    gsp_put(out, host, a->reason_open, 1);
    gsp_put(out, host, (uint64_t)a->reason_ms, 8);
    gsp_put(out, host, a->state, 1);
    gsp_put(out, host, (uint64_t)a->state_ms, 8);
    gsp_put(out, host, (uint64_t)a->acw_ms, 8);
    gsp_put(out, host, (uint64_t)a->acw_irf, 8);
    gsp_put_opt_str(out, host, a->acw_ctid);
    gsp_put(out, host, (uint64_t)a->acw_count, 8);
    gsp_put(out, host, (uint64_t)a->acw_duration_s, 8);
    gsp_put(out, host, a->acw_attributed, 1);
    ac_save(&a->calls, host, out);
}

bool am_load(am_agent *a, gsp_reader *r)
{
    memset(a, 0, sizeof *a);
    a->last_ms = (int64_t)gsp_get(r, 8);
    uint64_t logged_in = gsp_get(r, 1);
    a->session_ms = (int64_t)gsp_get(r, 8);
    if (logged_in > 1 || !gsp_get_opt_str(r, &a->place))
        goto fail;
    a->logged_in = logged_in;
    uint64_t nq = gsp_get(r, 4);
    if (!r->ok || nq > r->left / 4)
        goto fail;
    a->queues = mf_xcalloc(nq ? nq : 1, sizeof *a->queues);
    for (uint64_t i = 0; i < nq; i++) {
        size_t len;
        const char *q = gsp_get_str(r, &len);
        if (!q)
            goto fail;
        a->queues[a->n_queues++] = mf_xstrndup(q, len);
    }
    a->mode = (uint8_t)gsp_get(r, 1);
    if (!gsp_get_opt_str(r, &a->reason) || !gsp_get_opt_str(r, &a->work_mode))
        goto fail;
    uint64_t reason_open = gsp_get(r, 1);
    a->reason_ms = (int64_t)gsp_get(r, 8);
    a->state = (uint8_t)gsp_get(r, 1);
    a->state_ms = (int64_t)gsp_get(r, 8);
    a->acw_ms = (int64_t)gsp_get(r, 8);
    a->acw_irf = (int64_t)gsp_get(r, 8);
    if (!gsp_get_opt_str(r, &a->acw_ctid))
        goto fail;
    a->acw_count = (int64_t)gsp_get(r, 8);
    a->acw_duration_s = (int64_t)gsp_get(r, 8);
    uint64_t attributed = gsp_get(r, 1);
    if (!r->ok || reason_open > 1 || attributed > 1 || a->mode >= AM_N_STATES || a->mode == AM_BUSY ||
        a->state >= AM_N_STATES || (a->acw_irf && !a->acw_ctid))
        goto fail;
    a->reason_open = reason_open;
    a->acw_attributed = attributed;
    if (!ac_load(&a->calls, r))
        goto fail;
    return true;
fail:
    am_free(a);
    return gsp_get_fail(r);
}
