/* agent_queue.c — see agent_queue.h. */
#include <stdlib.h>
#include <string.h>

#include "agent_queue.h"

static int cmp_pos(const aq_pos *a, const aq_pos *b)
{
    if (a->time_ms != b->time_ms)
        return a->time_ms < b->time_ms ? -1 : 1;
    if (a->seq != b->seq)
        return a->seq < b->seq ? -1 : 1;
    return (a->id > b->id) - (a->id < b->id);
}

static bool recently_applied(const aq_queue *q, const aq_pos *pos)
{
    for (uint32_t i = 0; i < q->n_recent; i++)
        if (cmp_pos(&q->recent[i], pos) == 0)
            return true;
    return false;
}

/* The first index in [head, head + n) whose position is not below pos. */
static uint32_t lower_bound(const aq_queue *q, const aq_pos *pos)
{
    uint32_t lo = q->head, hi = q->head + q->n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (cmp_pos(&q->v[mid].pos, pos) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Open a free slot at index at (head <= at <= head + n) and return it: the
 * shorter side moves, into the room at its end. Room at the back is made by
 * moving everything to the front when half the array is free there, else by
 * growing, so that each event costs O(1) moves on average besides the
 * shorter side's. */
static aq_entry *open_slot(aq_queue *q, uint32_t at)
{
    uint32_t before = at - q->head, after = q->n - before;
    if (q->head > 0 && before < after) {
        memmove(q->v + q->head - 1, q->v + q->head, before * sizeof *q->v);
        q->head--;
        q->n++;
        return &q->v[at - 1];
    }
    if (q->head + q->n == q->cap) {
        if (q->head >= q->cap / 2 && q->head > 0) {
            memmove(q->v, q->v + q->head, q->n * sizeof *q->v);
            at -= q->head;
            q->head = 0;
        } else {
            q->cap = q->cap ? q->cap * 2 : 4;
            q->v = mf_xrealloc(q->v, q->cap * sizeof *q->v);
        }
    }
    memmove(q->v + at + 1, q->v + at, after * sizeof *q->v);
    q->n++;
    return &q->v[at];
}

aq_result aq_add(aq_queue *q, aq_pos pos, const void *value, size_t len, const gsp_packed_event *ev)
{
    if (q->any_applied && cmp_pos(&pos, &q->applied) <= 0)
        return recently_applied(q, &pos) ? AQ_DUPLICATE : AQ_LATE;
    uint32_t end = q->head + q->n, at = end;
    /* most events come in order: after the last one */
    if (q->n && cmp_pos(&q->v[end - 1].pos, &pos) >= 0) {
        at = lower_bound(q, &pos);
        if (cmp_pos(&q->v[at].pos, &pos) == 0)
            return AQ_DUPLICATE;
    }
    aq_entry *e = open_slot(q, at);
    e->pos = pos;
    if (ev) {
        e->ev = mf_xmalloc(sizeof *ev + len);
        *e->ev = *ev;
        e->value = (uint8_t *)(e->ev + 1);
    } else {
        e->ev = NULL;
        e->value = mf_xmalloc(len ? len : 1);
    }
    memcpy(e->value, value, len);
    e->len = (uint32_t)len;
    return AQ_ADDED;
}

static void free_entry(aq_entry *e)
{
    free(e->ev ? (void *)e->ev : (void *)e->value);
}

const aq_entry *aq_first(const aq_queue *q)
{
    return q->n ? &q->v[q->head] : NULL;
}

void aq_pop(aq_queue *q)
{
    if (!q->n)
        return;
    q->applied = q->v[q->head].pos;
    q->any_applied = true;
    q->recent[q->next_recent] = q->applied;
    q->next_recent = (q->next_recent + 1) % AQ_RECENT;
    if (q->n_recent < AQ_RECENT)
        q->n_recent++;
    free_entry(&q->v[q->head]);
    q->head++;
    if (--q->n == 0)
        q->head = 0;
}

size_t aq_bytes(const aq_queue *q)
{
    size_t b = q->cap * sizeof *q->v;
    for (uint32_t i = q->head; i < q->head + q->n; i++)
        b += q->v[i].len + (q->v[i].ev ? sizeof *q->v[i].ev : 0);
    return b;
}

void aq_free(aq_queue *q)
{
    for (uint32_t i = q->head; i < q->head + q->n; i++)
        free_entry(&q->v[i]);
    free(q->v);
    memset(q, 0, sizeof *q);
}

static void put_pos(mf_buffer *out, const mf_host *host, const aq_pos *p)
{
    gsp_put(out, host, (uint64_t)p->time_ms, 8);
    gsp_put(out, host, (uint64_t)p->seq, 8);
    gsp_put(out, host, p->id, 1);
}

static void get_pos(gsp_reader *r, aq_pos *p)
{
    p->time_ms = (int64_t)gsp_get(r, 8);
    p->seq = (int64_t)gsp_get(r, 8);
    p->id = (uint8_t)gsp_get(r, 1);
}

void aq_save(const aq_queue *q, const mf_host *host, mf_buffer *out)
{
    gsp_put(out, host, q->any_applied, 1);
    put_pos(out, host, &q->applied);
    gsp_put(out, host, q->n_recent, 1);
    gsp_put(out, host, q->next_recent, 1);
    for (uint32_t i = 0; i < q->n_recent; i++)
        put_pos(out, host, &q->recent[i]);
    gsp_put(out, host, q->n, 4);
    for (uint32_t i = q->head; i < q->head + q->n; i++) {
        put_pos(out, host, &q->v[i].pos);
        gsp_put_str(out, host, (const char *)q->v[i].value, q->v[i].len);
    }
}

bool aq_load(aq_queue *q, gsp_reader *r)
{
    memset(q, 0, sizeof *q);
    q->any_applied = gsp_get(r, 1) != 0;
    get_pos(r, &q->applied);
    q->n_recent = (uint32_t)gsp_get(r, 1);
    q->next_recent = (uint32_t)gsp_get(r, 1);
    if (q->n_recent > AQ_RECENT || q->next_recent >= AQ_RECENT)
        goto fail;
    for (uint32_t i = 0; i < q->n_recent; i++)
        get_pos(r, &q->recent[i]);
    uint64_t n = gsp_get(r, 4);
    if (!r->ok || n > r->left / 21)
        goto fail;
    for (uint64_t i = 0; i < n; i++) {
        aq_pos pos;
        size_t len;
        get_pos(r, &pos);
        const char *v = gsp_get_str(r, &len);
        if (!v || aq_add(q, pos, v, len, NULL) != AQ_ADDED ||
            cmp_pos(&q->v[q->head + q->n - 1].pos, &pos) != 0) /* out of order */
            goto fail;
    }
    if (r->ok)
        return true;
fail:
    aq_free(q);
    return gsp_get_fail(r);
}
