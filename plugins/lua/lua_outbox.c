/* lua_outbox.c — see lua_outbox.h. */
#include "lua_outbox.h"

#include <stdlib.h>
#include <string.h>

#define CHUNK_MIN (16u * 1024u)

struct lpo_chunk {
    struct lpo_chunk *next;
    size_t used, cap;
    _Alignas(max_align_t) unsigned char data[];
};

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n);
    if (!q)
        abort(); /* as the engine's allocators: out of memory is fatal */
    return q;
}

static lpo_item *push(lp_outbox *o)
{
    if (o->n == o->cap) {
        o->cap = o->cap ? o->cap * 2 : 64;
        o->items = xrealloc(o->items, o->cap * sizeof *o->items);
    }
    lpo_item *it = &o->items[o->n++];
    memset(it, 0, sizeof *it);
    return it;
}

void lpo_forward(lp_outbox *o, int port, mf_record *in)
{
    lpo_item *it = push(o);
    it->port = port;
    it->src = in;
}

lpo_item *lpo_add(lp_outbox *o, int port, mf_ack *ack)
{
    lpo_item *it = push(o);
    it->port = port;
    it->ack = ack;
    it->rec.time_ms = MF_TIME_UNSET;
    it->rec.origin.partition = -1;
    it->rec.origin.offset = -1;
    return it;
}

void lpo_reject(lp_outbox *o, mf_record *in, const char *reason)
{
    const char *r = (const char *)lpo_copy(o, reason, strlen(reason));
    lpo_item *it = push(o);
    it->port = -1;
    it->src = in;
    it->reason = r;
}

void *lpo_alloc(lp_outbox *o, size_t n)
{
    size_t need = (n + 15u) & ~(size_t)15u;
    struct lpo_chunk *c = o->chunks;
    if (!c || c->cap - c->used < need) {
        size_t cap = need > CHUNK_MIN ? need : CHUNK_MIN;
        c = xrealloc(NULL, sizeof *c + cap);
        c->cap = cap;
        c->used = 0;
        c->next = o->chunks;
        o->chunks = c;
    }
    void *p = c->data + c->used;
    c->used += need;
    return p;
}

const uint8_t *lpo_copy(lp_outbox *o, const void *data, size_t n)
{
    uint8_t *p = lpo_alloc(o, n + 1);
    if (n)
        memcpy(p, data, n);
    p[n] = '\0';
    return p;
}

static void reset(lp_outbox *o)
{
    for (size_t i = 0; i < o->n; i++)
        json_decref(o->items[i].json);
    o->n = 0;
    /* keep the newest chunk if it is an ordinary one */
    struct lpo_chunk *c = o->chunks;
    if (c) {
        struct lpo_chunk *rest = c->next;
        while (rest) {
            struct lpo_chunk *next = rest->next;
            free(rest);
            rest = next;
        }
        c->next = NULL;
        c->used = 0;
        if (c->cap > CHUNK_MIN) {
            free(c);
            o->chunks = NULL;
        }
    }
}

int lpo_flush(lp_outbox *o, mf_node *node, const mf_host *host)
{
    int st = MF_OK;
    for (size_t i = 0; i < o->n && st == MF_OK; i++) {
        lpo_item *it = &o->items[i];
        if (it->port < 0)
            st = host->reject(node, it->src, "%s", it->reason);
        else if (it->src)
            st = host->emit(node, it->port, it->src, NULL);
        else
            st = host->emit(node, it->port, &it->rec, it->ack);
    }
    reset(o);
    return st;
}

void lpo_discard(lp_outbox *o)
{
    reset(o);
}

size_t lpo_count(const lp_outbox *o)
{
    return o->n;
}

void lpo_free(lp_outbox *o)
{
    reset(o);
    free(o->chunks);
    o->chunks = NULL;
    free(o->items);
    o->items = NULL;
    o->cap = 0;
}
