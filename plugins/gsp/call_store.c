/* call_store.c — see call_store.h. */
#include <stdlib.h>
#include <string.h>

#include "call_store.h"
#include "gsp_wire.h"

/* The length of string i (0-based): the strings lie back to back, each
 * with its NUL, so it is the distance to the next one. */
static size_t str_len(const ct_store *s, uint32_t i)
{
    uint32_t end = i + 1 < s->n_str ? s->str_off[i + 1] : s->arena_len;
    return end - s->str_off[i] - 1;
}

const char *ct_str(const ct_store *s, uint16_t i, size_t *len)
{
    bool known = i && i <= s->n_str;
    if (len)
        *len = known ? str_len(s, i - 1u) : 0;
    return known ? s->arena + s->str_off[i - 1] : "";
}

/* The index of string v among those interned, or 0. */
static uint32_t find(const ct_store *s, const gsp_str *v)
{
    for (uint32_t i = 0; i < s->n_str; i++)
        if (str_len(s, i) == v->len && memcmp(s->arena + s->str_off[i], v->s, v->len) == 0)
            return i + 1;
    return 0;
}

/* The index of a string, interned on first sight; 0 for an absent one,
 * UINT32_MAX when the table is full. */
static uint32_t intern(ct_store *s, const gsp_str *v)
{
    if (!v->s)
        return 0;
    uint32_t known = find(s, v);
    if (known)
        return known;
    if (s->n_str >= UINT16_MAX || v->len > UINT32_MAX / 2 - s->arena_len)
        return UINT32_MAX;
    if (s->n_str == s->cap_str) {
        s->cap_str = s->cap_str ? s->cap_str * 2 : 8;
        s->str_off = mf_xrealloc(s->str_off, s->cap_str * sizeof *s->str_off);
    }
    uint32_t need = s->arena_len + (uint32_t)v->len + 1;
    if (need > s->arena_cap) {
        uint32_t cap = s->arena_cap ? s->arena_cap : 128;
        while (cap < need)
            cap *= 2;
        s->arena = mf_xrealloc(s->arena, cap);
        s->arena_cap = cap;
    }
    memcpy(s->arena + s->arena_len, v->s, v->len);
    s->arena[s->arena_len + v->len] = '\0';
    s->str_off[s->n_str++] = s->arena_len;
    s->arena_len = need;
    return s->n_str;
}

/* (time, seq, id) order. */
static int cmp_event(const ct_event *a, const ct_event *b)
{
    if (a->time_ms != b->time_ms)
        return a->time_ms < b->time_ms ? -1 : 1;
    if (a->seq != b->seq)
        return a->seq < b->seq ? -1 : 1;
    return (a->id > b->id) - (a->id < b->id);
}

ct_add_result ct_store_add(ct_store *s, const gsp_voice_event *e, uint32_t max_events)
{
    ct_event ev = {.time_ms = e->time_ms, .seq = e->seq, .id = (uint8_t)e->id,
                   .call_type = (uint8_t)e->call_type, .dn_type = (uint8_t)e->dn_type};
    /* Most events come in order: search from the end. */
    uint32_t pos = s->n_ev;
    while (pos > 0 && cmp_event(&s->ev[pos - 1], &ev) > 0)
        pos--;
    if (pos > 0 && cmp_event(&s->ev[pos - 1], &ev) == 0)
        return CT_DUPLICATE;
    if (s->n_ev >= max_events)
        return CT_FULL;
    const gsp_str *strs[] = {&e->conn_id, &e->previous_conn_id, &e->this_dn, &e->other_dn, &e->third_party_dn,
                             &e->agent_id, &e->place,           &e->call_id, &e->ani,      &e->dnis};
    uint16_t *slots[] = {&ev.conn, &ev.prev_conn, &ev.this_dn, &ev.other_dn, &ev.third_dn,
                         &ev.agent, &ev.place,    &ev.call_id, &ev.ani,      &ev.dnis};
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) {
        uint32_t idx = intern(s, strs[i]);
        if (idx == UINT32_MAX)
            return CT_FULL;
        *slots[i] = (uint16_t)idx;
    }
    if (s->n_ev == s->cap_ev) {
        s->cap_ev = s->cap_ev ? s->cap_ev * 2 : 8;
        s->ev = mf_xrealloc(s->ev, s->cap_ev * sizeof *s->ev);
    }
    memmove(s->ev + pos + 1, s->ev + pos, (s->n_ev - pos) * sizeof *s->ev);
    s->ev[pos] = ev;
    s->n_ev++;
    return CT_ADDED;
}

bool ct_store_has_conn(const ct_store *s, const gsp_str *conn)
{
    if (!conn->s)
        return false;
    uint32_t idx = find(s, conn);
    for (uint32_t i = 0; idx && i < s->n_ev; i++)
        if (s->ev[i].conn == idx)
            return true;
    return false;
}

size_t ct_store_bytes(const ct_store *s)
{
    return s->cap_ev * sizeof *s->ev + s->arena_cap + s->cap_str * sizeof *s->str_off;
}

void ct_store_free(ct_store *s)
{
    free(s->ev);
    free(s->arena);
    free(s->str_off);
    memset(s, 0, sizeof *s);
}

/* ---- snapshot bytes (gsp_wire.h) ---------------------------------------------------- */

/* An event's bytes: time, seq (8 each), id, call type, DN type (1 each),
 * ten string references (2 each). */
#define EVENT_BYTES 39

/* Every field written straight into one reserve of the exact size (the
 * strings: a 4-byte length each and the arena's bytes without the NULs): a
 * call per field was most of callthread's part of a checkpoint. */
void ct_store_save(const ct_store *s, const mf_host *host, mf_buffer *out)
{
    (void)host; /* the bulk writer reserves through the engine's buffer directly */
    /* Three allocations, each a cache miss at 100,000 stores: asked for
     * together, they are waited for once. */
    __builtin_prefetch(s->str_off);
    __builtin_prefetch(s->arena);
    __builtin_prefetch(s->ev);
    size_t n = 4 + (size_t)s->arena_len + 3 * (size_t)s->n_str + 4 + (size_t)s->n_ev * EVENT_BYTES;
    uint8_t *p = gsp_put_begin(out, n);
    p = gsp_le(p, s->n_str, 4);
    for (uint32_t i = 0; i < s->n_str; i++) {
        size_t len = str_len(s, i);
        p = gsp_le(p, len, 4);
        memcpy(p, s->arena + s->str_off[i], len);
        p += len;
    }
    p = gsp_le(p, s->n_ev, 4);
    for (uint32_t i = 0; i < s->n_ev; i++) {
        const ct_event *e = &s->ev[i];
        p = gsp_le(p, (uint64_t)e->time_ms, 8);
        p = gsp_le(p, (uint64_t)e->seq, 8);
        p = gsp_le(p, e->id, 1);
        p = gsp_le(p, e->call_type, 1);
        p = gsp_le(p, e->dn_type, 1);
        const uint16_t refs[] = {e->conn, e->prev_conn, e->this_dn, e->other_dn, e->third_dn,
                                 e->agent, e->place,    e->call_id, e->ani,      e->dnis};
        for (size_t j = 0; j < sizeof refs / sizeof refs[0]; j++)
            p = gsp_le(p, refs[j], 2);
    }
    gsp_put_end(out, p);
}

bool ct_store_load(ct_store *s, const uint8_t *data, size_t len, size_t *used)
{
    gsp_reader r = {data, len, true};
    memset(s, 0, sizeof *s);
    uint64_t n_str = gsp_get(&r, 4);
    if (n_str > UINT16_MAX)
        goto fail;
    for (uint64_t i = 0; i < n_str && r.ok; i++) {
        gsp_str v;
        v.s = gsp_get_str(&r, &v.len);
        if (!v.s || intern(s, &v) != i + 1) /* a repeated string: not what save writes */
            goto fail;
    }
    uint64_t n_ev = gsp_get(&r, 4);
    if (!r.ok || n_ev > r.left / EVENT_BYTES)
        goto fail;
    s->cap_ev = (uint32_t)(n_ev ? n_ev : 1);
    s->ev = mf_xcalloc(s->cap_ev, sizeof *s->ev);
    for (uint64_t i = 0; i < n_ev; i++) {
        ct_event *e = &s->ev[i];
        e->time_ms = (int64_t)gsp_get(&r, 8);
        e->seq = (int64_t)gsp_get(&r, 8);
        e->id = (uint8_t)gsp_get(&r, 1);
        e->call_type = (uint8_t)gsp_get(&r, 1);
        e->dn_type = (uint8_t)gsp_get(&r, 1);
        uint16_t *refs[] = {&e->conn, &e->prev_conn, &e->this_dn, &e->other_dn, &e->third_dn,
                            &e->agent, &e->place,    &e->call_id, &e->ani,      &e->dnis};
        for (size_t j = 0; j < sizeof refs / sizeof refs[0]; j++) {
            *refs[j] = (uint16_t)gsp_get(&r, 2);
            if (*refs[j] > n_str)
                goto fail;
        }
        if (!r.ok || e->id == GSP_EV_NONE || !gsp_event_is_call((gsp_event_id)e->id) ||
            (i > 0 && cmp_event(&s->ev[i - 1], e) >= 0))
            goto fail;
    }
    s->n_ev = (uint32_t)n_ev;
    *used = len - r.left;
    return r.ok;
fail:
    ct_store_free(s);
    return false;
}
