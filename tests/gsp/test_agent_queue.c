/* agentstate's queue (agent_queue.h) against a plain sorted list, under
 * random adds (duplicates, late events, events far ahead and in between)
 * and pops; its snapshot bytes after pops; and the packed events it keeps
 * (voice_event.h: gsp_event_pack / unpack). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_queue.h"
#include "cunit_main.h"
#include "voice_event.h"

static int host_append(mf_buffer *b, const void *data, size_t len)
{
    mf_buffer_append(b, data, len);
    return MF_OK;
}

static int cmp(const aq_pos *a, const aq_pos *b)
{
    if (a->time_ms != b->time_ms)
        return a->time_ms < b->time_ms ? -1 : 1;
    if (a->seq != b->seq)
        return a->seq < b->seq ? -1 : 1;
    return (a->id > b->id) - (a->id < b->id);
}

/* The reference: a sorted array, and every position ever popped. */
struct model {
    aq_pos q[4096], popped[8192];
    int n, n_popped;
};

static aq_result model_add(struct model *m, aq_pos p)
{
    if (m->n_popped) {
        const aq_pos *last = &m->popped[m->n_popped - 1];
        if (cmp(&p, last) <= 0) {
            for (int i = m->n_popped - 1; i >= 0 && i >= m->n_popped - AQ_RECENT; i--)
                if (cmp(&m->popped[i], &p) == 0)
                    return AQ_DUPLICATE;
            return AQ_LATE;
        }
    }
    int at = 0;
    while (at < m->n && cmp(&m->q[at], &p) < 0)
        at++;
    if (at < m->n && cmp(&m->q[at], &p) == 0)
        return AQ_DUPLICATE;
    memmove(m->q + at + 1, m->q + at, (size_t)(m->n - at) * sizeof *m->q);
    m->q[at] = p;
    m->n++;
    return AQ_ADDED;
}

/* The value of an event at p: its position as text, so each entry's bytes
 * say where it belongs. */
static size_t value_of(aq_pos p, char *out, size_t cap)
{
    return (size_t)snprintf(out, cap, "{\"t\":%lld,\"s\":%lld,\"i\":%u}", (long long)p.time_ms, (long long)p.seq,
                            (unsigned)p.id);
}

static bool same_as_model(const aq_queue *q, const struct model *m)
{
    if (q->n != (uint32_t)m->n)
        return false;
    for (int i = 0; i < m->n; i++) {
        const aq_entry *e = &q->v[q->head + (uint32_t)i];
        char want[96];
        size_t n = value_of(m->q[i], want, sizeof want);
        if (cmp(&e->pos, &m->q[i]) != 0 || e->len != n || memcmp(e->value, want, n) != 0)
            return false;
        if (e->ev && (e->ev->time_ms != e->pos.time_ms || e->ev->seq != e->pos.seq))
            return false;
    }
    return true;
}

static void test_against_model(void)
{
    static struct model m;
    memset(&m, 0, sizeof m);
    aq_queue q = {0};
    srand(7);
    int64_t now = 1000;
    bool all_same = true, results_same = true;
    int added = 0, dups = 0, lates = 0;
    for (int step = 0; step < 20000 && all_same; step++) {
        int r = rand() % 100;
        if (r < 55 && m.n < 4000) {
            aq_pos p;
            int kind = rand() % 4; /* in order, far ahead, in between, an old one */
            p.time_ms = kind == 0 ? now + rand() % 20 : kind == 1 ? now + 500 + rand() % 500
                        : kind == 2 ? now + rand() % 500 : now - rand() % 50;
            p.seq = rand() % 3;
            p.id = (uint8_t)(rand() % 2);
            char v[96];
            size_t n = value_of(p, v, sizeof v);
            gsp_packed_event ev = {.time_ms = p.time_ms, .seq = p.seq};
            aq_result got = aq_add(&q, p, v, n, rand() % 2 ? &ev : NULL), want = model_add(&m, p);
            results_same &= got == want;
            added += got == AQ_ADDED;
            dups += got == AQ_DUPLICATE;
            lates += got == AQ_LATE;
        } else if (m.n) {
            const aq_entry *e = aq_first(&q);
            all_same &= e && cmp(&e->pos, &m.q[0]) == 0;
            if (m.q[0].time_ms > now)
                now = m.q[0].time_ms;
            m.popped[m.n_popped++ % 8192] = m.q[0];
            if (m.n_popped == 8192) { /* keep the last ones only */
                memmove(m.popped, m.popped + 8192 - AQ_RECENT, AQ_RECENT * sizeof *m.popped);
                m.n_popped = AQ_RECENT;
            }
            memmove(m.q, m.q + 1, (size_t)(m.n - 1) * sizeof *m.q);
            m.n--;
            aq_pop(&q);
        }
        all_same &= same_as_model(&q, &m);
    }
    CU_ASSERT(all_same);
    CU_ASSERT(results_same);
    CU_ASSERT(added > 1000 && dups > 10 && lates > 10); /* each case happened */
    CU_ASSERT(aq_bytes(&q) >= q.n * sizeof *q.v);
    aq_free(&q);
    CU_ASSERT_EQUAL(q.n, 0);
}

/* Saved after pops (the queue's first event not at index 0), loaded: the
 * same events, decoded again when applied (no packed event). */
static void test_snapshot_after_pops(void)
{
    static const mf_host host = {.buffer_append = host_append};
    aq_queue q = {0}, back;
    for (int i = 0; i < 40; i++) {
        aq_pos p = {.time_ms = 100 + (i * 7) % 40, .seq = i, .id = 1};
        char v[96];
        gsp_packed_event ev = {.time_ms = p.time_ms, .seq = p.seq};
        CU_ASSERT_EQUAL(aq_add(&q, p, v, value_of(p, v, sizeof v), &ev), AQ_ADDED);
    }
    for (int i = 0; i < 15; i++)
        aq_pop(&q);
    CU_ASSERT(q.head > 0 || q.n == 25);
    mf_buffer b = {0};
    aq_save(&q, &host, &b);
    gsp_reader r = {b.data, b.len, true};
    CU_ASSERT_FATAL(aq_load(&back, &r));
    CU_ASSERT_EQUAL(r.left, 0);
    CU_ASSERT_EQUAL_FATAL(back.n, q.n);
    for (uint32_t i = 0; i < q.n; i++) {
        const aq_entry *x = &q.v[q.head + i], *y = &back.v[back.head + i];
        CU_ASSERT(cmp(&x->pos, &y->pos) == 0 && x->len == y->len && memcmp(x->value, y->value, x->len) == 0);
        CU_ASSERT_PTR_NULL(y->ev);
    }
    /* the applied positions came along: a duplicate of a popped one is known */
    aq_pos dup = q.applied;
    CU_ASSERT_EQUAL(aq_add(&back, dup, "x", 1, NULL), AQ_DUPLICATE);
    mf_buffer_free(&b);
    aq_free(&q);
    aq_free(&back);
}

static bool same_str(gsp_str a, gsp_str b)
{
    if (!a.s || !b.s)
        return !a.s && !b.s;
    return a.len == b.len && memcmp(a.s, b.s, a.len) == 0;
}

static void test_pack(void)
{
    const char *value = "{\"id\":\"EventRinging\",\"CallThreadID\":\"T1\",\"ConnID\":\"c1\",\"ThisDN\":\"10021\","
                        "\"AgentID\":\"a1\",\"Place\":\"\"}";
    const char *key = "t1:a1";
    size_t vlen = strlen(value);
    gsp_voice_event ev = {.id = GSP_EV_RINGING, .time_ms = 1711841450776, .seq = 273,
                          .call_type = GSP_CALL_INBOUND, .dn_type = GSP_DN_EXTENSION};
    ev.tenant = (gsp_str){key, 2};
    ev.call_thread_id = (gsp_str){strstr(value, "T1"), 2};
    ev.conn_id = (gsp_str){strstr(value, "c1"), 2};
    ev.this_dn = (gsp_str){strstr(value, "10021"), 5};
    ev.agent_id = (gsp_str){strstr(value, "a1"), 2};
    ev.place = (gsp_str){strstr(value, "\"\"}") + 1, 0}; /* "" is not absent */
    gsp_packed_event p;
    CU_ASSERT_FATAL(gsp_event_pack(&ev, value, vlen, key, strlen(key), &p));
    /* unpacked against copies of the bytes: the same event */
    char *v2 = strdup(value), *k2 = strdup(key);
    gsp_voice_event back;
    gsp_event_unpack(&p, v2, k2, &back);
    CU_ASSERT(back.id == ev.id && back.time_ms == ev.time_ms && back.seq == ev.seq &&
              back.call_type == ev.call_type && back.dn_type == ev.dn_type);
    const gsp_str *a = &ev.tenant, *b = &back.tenant;
    for (int i = 0; i < GSP_PACKED_STRS; i++)
        CU_ASSERT(same_str(a[i], b[i]));
    CU_ASSERT_PTR_NOT_NULL(back.place.s);
    CU_ASSERT_PTR_NULL(back.call_id.s);
    CU_ASSERT(back.tenant.s == k2 && back.agent_id.s >= v2 && back.agent_id.s < v2 + vlen);
    /* a string outside the value (the decoder's unescaped copy) cannot be packed */
    char unescaped[] = "T\"1";
    ev.call_thread_id = (gsp_str){unescaped, 3};
    CU_ASSERT_FALSE(gsp_event_pack(&ev, value, vlen, key, strlen(key), &p));
    /* nor a string running past the end of the value */
    ev.call_thread_id = (gsp_str){value + vlen - 1, 2};
    CU_ASSERT_FALSE(gsp_event_pack(&ev, value, vlen, key, strlen(key), &p));
    /* only the tenant may lie in the key */
    ev.call_thread_id = (gsp_str){strstr(value, "T1"), 2};
    ev.agent_id = (gsp_str){key + 3, 2};
    CU_ASSERT_FALSE(gsp_event_pack(&ev, value, vlen, key, strlen(key), &p));
    free(v2);
    free(k2);
}

int main(void)
{
    static const mf_test tests[] = {
        {"random adds and pops against a sorted list", test_against_model},
        {"snapshot after pops", test_snapshot_after_pops},
        {"packed events: round trip, and what cannot be packed", test_pack},
        {NULL, NULL},
    };
    static const mf_suite suites[] = {{"agent_queue", tests}, {NULL, NULL}};
    return mf_cunit_run(suites);
}
