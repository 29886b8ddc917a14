/* agent_calls.c — see agent_calls.h. */
#include <stdlib.h>
#include <string.h>

#include "agent_calls.h"

static ac_thread *find_thread(ac_calls *c, const gsp_str *ctid, bool create)
{
    for (uint32_t i = 0; i < c->n; i++)
        if (strlen(c->v[i].ctid) == ctid->len && memcmp(c->v[i].ctid, ctid->s, ctid->len) == 0)
            return &c->v[i];
    if (!create)
        return NULL;
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 2;
        c->v = mf_xrealloc(c->v, c->cap * sizeof *c->v);
    }
    ac_thread *t = &c->v[c->n++];
    memset(t, 0, sizeof *t);
    t->ctid = mf_xstrndup(ctid->s, ctid->len);
    return t;
}

/* What is open on the thread, and the latest established involvement it
 * ended. The id of an involvement is hashed only when it may win. */
static void review(ac_calls *c, cm_work *w, ac_thread *t, const char *tenant, size_t tenant_len)
{
    cm_params p = {.tenant = tenant, .tenant_len = tenant_len, .ctid = t->ctid, .ctid_len = strlen(t->ctid)};
    size_t n;
    const cm_involvement *v = cm_involvements(w, &t->store, &n);
    t->open = false;
    for (size_t i = 0; i < n; i++) {
        if (v[i].open) {
            t->open = true;
            continue;
        }
        if (!v[i].established || !v[i].has_irf || (c->last_irf && v[i].end_ms < c->last_end_ms))
            continue;
        /* the latest end wins; at the same time the one whose id is higher,
         * so the choice does not depend on the order threads arrived in */
        int64_t irf = cm_involvement_irf(w, &t->store, &p, i);
        if (!c->last_irf || v[i].end_ms > c->last_end_ms || irf > c->last_irf) {
            c->last_irf = irf;
            c->last_end_ms = v[i].end_ms;
            free(c->last_ctid);
            c->last_ctid = mf_xstrdup(t->ctid);
        }
    }
}

ct_add_result ac_add(ac_calls *c, cm_work *w, const char *tenant, size_t tenant_len, const gsp_voice_event *ev,
                     uint32_t max_events)
{
    ac_thread *t = find_thread(c, &ev->call_thread_id, true);
    ct_add_result r = ct_store_add(&t->store, ev, max_events);
    if (r == CT_ADDED) {
        if (ev->time_ms > t->last_ms || t->store.n_ev == 1)
            t->last_ms = ev->time_ms;
        review(c, w, t, tenant, tenant_len);
    } else if (t->store.n_ev == 0) { /* the thread was made for this event: drop it */
        ct_store_free(&t->store);
        free(t->ctid);
        c->n--;
    }
    return r;
}

bool ac_busy(const ac_calls *c)
{
    for (uint32_t i = 0; i < c->n; i++)
        if (c->v[i].open)
            return true;
    return false;
}

void ac_forget(ac_calls *c, int64_t before_ms, int64_t window_ms, int64_t *next_ms)
{
    *next_ms = MF_TIME_UNSET;
    for (uint32_t i = 0; i < c->n;) {
        ac_thread *t = &c->v[i];
        if (!t->open && t->last_ms < before_ms) {
            ct_store_free(&t->store);
            free(t->ctid);
            c->v[i] = c->v[--c->n]; /* order does not matter: threads are found by id */
            continue;
        }
        if (!t->open && (*next_ms == MF_TIME_UNSET || t->last_ms + window_ms < *next_ms))
            *next_ms = t->last_ms + window_ms;
        i++;
    }
}

size_t ac_bytes(const ac_calls *c)
{
    size_t b = c->cap * sizeof *c->v;
    for (uint32_t i = 0; i < c->n; i++)
        b += ct_store_bytes(&c->v[i].store) + strlen(c->v[i].ctid) + 1;
    return b;
}

void ac_free(ac_calls *c)
{
    for (uint32_t i = 0; i < c->n; i++) {
        ct_store_free(&c->v[i].store);
        free(c->v[i].ctid);
    }
    free(c->v);
    free(c->last_ctid);
    memset(c, 0, sizeof *c);
}

void ac_save(const ac_calls *c, const mf_host *host, mf_buffer *out)
{
    gsp_put(out, host, (uint64_t)c->last_irf, 8);
    gsp_put(out, host, (uint64_t)c->last_end_ms, 8);
    const char *lc = c->last_ctid ? c->last_ctid : "";
    gsp_put_str(out, host, lc, strlen(lc));
    gsp_put(out, host, c->n, 4);
    for (uint32_t i = 0; i < c->n; i++) {
        const ac_thread *t = &c->v[i];
        gsp_put_str(out, host, t->ctid, strlen(t->ctid));
        gsp_put(out, host, (uint64_t)t->last_ms, 8);
        gsp_put(out, host, t->open, 1);
        ct_store_save(&t->store, host, out);
    }
}

bool ac_load(ac_calls *c, gsp_reader *r)
{
    size_t len;
    const char *s;
    memset(c, 0, sizeof *c);
    c->last_irf = (int64_t)gsp_get(r, 8);
    c->last_end_ms = (int64_t)gsp_get(r, 8);
    if (!(s = gsp_get_str(r, &len)))
        goto fail;
    if (c->last_irf)
        c->last_ctid = mf_xstrndup(s, len);
    uint64_t n = gsp_get(r, 4);
    if (!r->ok || n > r->left / 17)
        goto fail;
    c->cap = (uint32_t)(n ? n : 1);
    c->v = mf_xcalloc(c->cap, sizeof *c->v);
    for (uint64_t i = 0; i < n; i++) {
        ac_thread *t = &c->v[i];
        if (!(s = gsp_get_str(r, &len)))
            goto fail;
        t->ctid = mf_xstrndup(s, len);
        c->n++;
        t->last_ms = (int64_t)gsp_get(r, 8);
        uint64_t open = gsp_get(r, 1);
        size_t used = 0;
        if (!r->ok || open > 1 || !ct_store_load(&t->store, r->p, r->left, &used) || t->store.n_ev == 0)
            goto fail;
        t->open = open;
        r->p += used;
        r->left -= used;
    }
    if (r->ok)
        return true;
fail:
    ac_free(c);
    return gsp_get_fail(r);
}
