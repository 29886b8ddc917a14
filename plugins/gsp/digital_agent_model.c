/*
 * digital_agent_model.c — see digital_agent_model.h. The rules, each with
 * the scenario that tests it, are in docs/digital-rules.md.
 */
#include <stdlib.h>
#include <string.h>

#include "digital_agent_model.h"

/* ---- small helpers ------------------------------------------------------------------ */

static char *dup_str(const gsp_str *v)
{
    return v->len ? mf_xstrndup(v->s, v->len) : NULL;
}

static bool same_str(const char *a, const gsp_str *b)
{
    size_t la = a ? strlen(a) : 0;
    return la == b->len && (la == 0 || memcmp(a, b->s, la) == 0);
}

/* FNV-1a: the handled set keeps 8 bytes per interaction, whatever its id's length. */
static uint64_t hash_id(const gsp_str *id)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < id->len; i++) {
        h ^= (uint8_t)id->s[i];
        h *= 0x100000001b3ULL;
    }
    return h;
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

static am_fact base(const dam_media *m, da_media media, am_table table, int64_t start_ms, int64_t end_ms,
                    bool active)
{
    return (am_fact){.table = table, .media = da_media_name(media), .session_ms = m->session_ms,
                     .start_ms = start_ms, .end_ms = end_ms, .active = active, .place = m->place,
                     .reason_code = "", .work_mode = ""};
}

/* ---- the rows ------------------------------------------------------------------------ */

static void emit_reason(const dam_media *m, da_media media, const struct out *o, int64_t end_ms, bool active)
{
    am_fact f = base(m, media, AM_REASON, m->reason_ms, end_ms, active);
    f.state = AM_NOT_READY;
    f.reason_code = m->reason ? m->reason : "";
    put(o, &f);
}

static void emit_state(const dam_media *m, da_media media, const struct out *o, int64_t end_ms, bool active)
{
    am_fact f = base(m, media, AM_STATE, m->state_ms, end_ms, active);
    f.state = m->state;
    put(o, &f);
}

static void emit_session(const dam_media *m, da_media media, const struct out *o, int64_t end_ms, bool active)
{
    am_fact f = base(m, media, AM_SESSION, m->session_ms, end_ms, active);
    put(o, &f);
}

/* ---- transitions ------------------------------------------------------------------- */

static uint8_t summary(const dam_media *m)
{
    if (!m->ready)
        return AM_NOT_READY;
    return m->n_handled >= m->capacity ? AM_BUSY : AM_READY;
}

/* A new state row when the summary changed; one that would begin and end at
 * the same millisecond is not emitted (it lasted nothing). */
static void update_state(dam_media *m, da_media media, const struct out *o, int64_t t)
{
    if (!m->logged_in)
        return;
    uint8_t s = summary(m);
    if (s == m->state)
        return;
    if (m->state_ms != t)
        emit_state(m, media, o, t, false);
    m->state = s;
    m->state_ms = t;
}

static void close_reason(dam_media *m, da_media media, const struct out *o, int64_t t)
{
    if (m->reason_open && m->reason_ms != t)
        emit_reason(m, media, o, t, false);
    m->reason_open = false;
    free(m->reason);
    m->reason = NULL;
}

static void login(dam_media *m, da_media media, const struct out *o, const da_event *ev)
{
    if (m->logged_in)
        return; /* opens the session only if not open */
    m->logged_in = true;
    m->session_ms = ev->time_ms;
    m->place = dup_str(&ev->place);
    m->ready = false; /* Not Ready until the first Ready */
    m->capacity = 1;  /* of the session: a forgotten agent must not change what a replay gives */
    m->state = summary(m);
    m->state_ms = ev->time_ms;
    emit_session(m, media, o, ev->time_ms, true);
}

static void logout(dam_media *m, da_media media, const struct out *o, int64_t t)
{
    close_reason(m, media, o, t);
    if (m->state_ms != t)
        emit_state(m, media, o, t, false);
    emit_session(m, media, o, t, false);
    m->logged_in = false;
    free(m->place);
    m->place = NULL;
    m->ready = false;
}

static void not_ready(dam_media *m, da_media media, const struct out *o, const da_event *ev)
{
    if (!m->ready && same_str(m->reason, &ev->reason_code))
        return;
    close_reason(m, media, o, ev->time_ms);
    m->ready = false;
    m->reason = dup_str(&ev->reason_code);
    if (m->reason) {
        m->reason_open = true;
        m->reason_ms = ev->time_ms;
    }
    update_state(m, media, o, ev->time_ms);
}

static void ready(dam_media *m, da_media media, const struct out *o, int64_t t)
{
    if (m->ready)
        return;
    close_reason(m, media, o, t);
    m->ready = true;
    update_state(m, media, o, t);
}

static int64_t find_handled(const dam_media *m, uint64_t h)
{
    for (uint32_t i = 0; i < m->n_handled; i++)
        if (m->handled[i] == h)
            return i;
    return -1;
}

static void add_handled(dam_media *m, uint64_t h)
{
    if (m->n_handled == m->cap_handled) {
        m->cap_handled = m->cap_handled ? m->cap_handled * 2 : 2;
        m->handled = mf_xrealloc(m->handled, m->cap_handled * sizeof *m->handled);
    }
    m->handled[m->n_handled++] = h;
}

dam_result dam_apply(dam_agent *a, const dam_config *cfg, const da_event *ev, am_emit_fn emit, void *arg, int *rc)
{
    struct out o = {emit, arg, rc};
    da_media media = ev->media;
    dam_media *m = &a->media[media];
    int64_t t = ev->time_ms;
    if (ev->id == DA_EV_HANDLING_STARTED || ev->id == DA_EV_HANDLING_ENDED) {
        /* counted whether the media is logged in or not: who logs in while
         * handling is BUSY once Ready */
        uint64_t h = hash_id(&ev->interaction_id);
        int64_t at = find_handled(m, h);
        if (ev->id == DA_EV_HANDLING_STARTED) {
            if (at >= 0)
                return DAM_REPEATED;
            if (m->n_handled >= cfg->max_handled)
                return DAM_FULL;
            add_handled(m, h);
        } else {
            if (at < 0)
                return DAM_REPEATED;
            m->handled[at] = m->handled[--m->n_handled];
        }
        a->last_ms = t > a->last_ms ? t : a->last_ms;
        update_state(m, media, &o, t);
        return DAM_APPLIED;
    }
    if (!m->logged_in && ev->id != DA_EV_MEDIA_LOGIN)
        return DAM_IGNORED;
    a->last_ms = t > a->last_ms ? t : a->last_ms;
    if (m->logged_in && !m->place && ev->place.len)
        m->place = dup_str(&ev->place);
    switch (ev->id) {
    case DA_EV_MEDIA_LOGIN: login(m, media, &o, ev); break;
    case DA_EV_MEDIA_LOGOUT: logout(m, media, &o, t); break;
    case DA_EV_MEDIA_READY: ready(m, media, &o, t); break;
    case DA_EV_MEDIA_NOT_READY: not_ready(m, media, &o, ev); break;
    case DA_EV_CAPACITY:
        m->capacity = (uint32_t)ev->capacity;
        update_state(m, media, &o, t);
        break;
    default: break;
    }
    return DAM_APPLIED;
}

int dam_end(const dam_agent *a, am_emit_fn emit, void *arg)
{
    int rc = MF_OK;
    struct out o = {emit, arg, &rc};
    for (unsigned i = 1; i < DA_MEDIA_COUNT; i++) {
        const dam_media *m = &a->media[i];
        if (!m->logged_in)
            continue;
        if (m->reason_open)
            emit_reason(m, (da_media)i, &o, a->last_ms, true);
        emit_state(m, (da_media)i, &o, a->last_ms, true);
        emit_session(m, (da_media)i, &o, a->last_ms, true);
    }
    return rc;
}

unsigned dam_open_sessions(const dam_agent *a)
{
    unsigned n = 0;
    for (unsigned i = 1; i < DA_MEDIA_COUNT; i++)
        n += a->media[i].logged_in;
    return n;
}

bool dam_quiet(const dam_agent *a)
{
    for (unsigned i = 1; i < DA_MEDIA_COUNT; i++)
        if (a->media[i].logged_in || a->media[i].n_handled)
            return false;
    return true;
}

static void media_free(dam_media *m)
{
    free(m->place);
    free(m->reason);
    free(m->handled);
    memset(m, 0, sizeof *m);
}

void dam_free(dam_agent *a)
{
    for (unsigned i = 0; i < DA_MEDIA_COUNT; i++)
        media_free(&a->media[i]);
    memset(a, 0, sizeof *a);
}

/* ---- snapshot bytes ------------------------------------------------------------------
 * Only the media in use (logged in or handling): a logged-out media keeps
 * nothing (its capacity and state begin again at the next login). */

static bool in_use(const dam_media *m)
{
    return m->logged_in || m->n_handled;
}

void dam_save(const dam_agent *a, const mf_host *host, mf_buffer *out)
{
    unsigned n = 0;
    for (unsigned i = 1; i < DA_MEDIA_COUNT; i++)
        n += in_use(&a->media[i]);
    gsp_put(out, host, (uint64_t)a->last_ms, 8);
    gsp_put(out, host, n, 1);
    for (unsigned i = 1; i < DA_MEDIA_COUNT; i++) {
        const dam_media *m = &a->media[i];
        if (!in_use(m))
            continue;
        gsp_put(out, host, i, 1);
        gsp_put(out, host, m->logged_in, 1);
        gsp_put(out, host, m->n_handled, 4);
        for (uint32_t h = 0; h < m->n_handled; h++)
            gsp_put(out, host, m->handled[h], 8);
        if (!m->logged_in)
            continue;
        gsp_put(out, host, (uint64_t)m->session_ms, 8);
        gsp_put_opt_str(out, host, m->place);
        gsp_put(out, host, m->ready, 1);
        gsp_put_opt_str(out, host, m->reason);
        gsp_put(out, host, m->reason_open, 1);
        gsp_put(out, host, (uint64_t)m->reason_ms, 8);
        gsp_put(out, host, m->capacity, 4);
        gsp_put(out, host, m->state, 1);
        gsp_put(out, host, (uint64_t)m->state_ms, 8);
    }
}

static bool load_media(dam_media *m, gsp_reader *r)
{
    uint64_t logged_in = gsp_get(r, 1), n = gsp_get(r, 4);
    if (!r->ok || logged_in > 1 || n > r->left / 8 || (!logged_in && n == 0))
        return gsp_get_fail(r);
    m->logged_in = logged_in;
    for (uint64_t h = 0; h < n; h++)
        add_handled(m, gsp_get(r, 8));
    if (!logged_in)
        return r->ok;
    m->session_ms = (int64_t)gsp_get(r, 8);
    if (!gsp_get_opt_str(r, &m->place))
        return false;
    uint64_t rd = gsp_get(r, 1);
    if (!gsp_get_opt_str(r, &m->reason))
        return false;
    uint64_t ro = gsp_get(r, 1);
    m->reason_ms = (int64_t)gsp_get(r, 8);
    uint64_t capacity = gsp_get(r, 4);
    m->state = (uint8_t)gsp_get(r, 1);
    m->state_ms = (int64_t)gsp_get(r, 8);
    if (!r->ok || rd > 1 || ro > 1 || (ro && !m->reason) || capacity > 1000000 || m->state == AM_ACW ||
        m->state >= AM_N_STATES)
        return gsp_get_fail(r);
    m->ready = rd;
    m->reason_open = ro;
    m->capacity = (uint32_t)capacity;
    return true;
}

bool dam_load(dam_agent *a, gsp_reader *r)
{
    memset(a, 0, sizeof *a);
    a->last_ms = (int64_t)gsp_get(r, 8);
    uint64_t n = gsp_get(r, 1);
    unsigned prev = 0;
    if (!r->ok || n >= DA_MEDIA_COUNT)
        goto fail;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t media = gsp_get(r, 1);
        if (!r->ok || media <= prev || media >= DA_MEDIA_COUNT) /* ascending, each once */
            goto fail;
        prev = (unsigned)media;
        if (!load_media(&a->media[media], r))
            goto fail;
    }
    return true;
fail:
    dam_free(a);
    return gsp_get_fail(r);
}
