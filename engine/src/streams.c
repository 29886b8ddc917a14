/* streams.c — see streams.h. */
#include <stdlib.h>
#include <string.h>

#include <martflow/alloc.h>
#include <martflow/plugin.h>

#include "batch.h"
#include "runtime_internal.h"
#include "streams.h"

struct stream_key {
    int from;           /* producer id */
    bool bound;         /* false: the placeholder of `from`, no record yet */
    const char *source; /* engine-owned node name (lives as long as the run) */
    char *topic;        /* copied; NULL when the origin has none */
    int32_t partition;  /* -1: none */
};

struct mf_stream_table {
    struct stream_key *v;
    uint32_t n, cap;
    uint32_t last; /* the last hit: a batch is mostly one stream */
};

struct mf_announced {
    char *topic;
    int32_t partition;
};

static bool str_eq(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

static bool matches(const struct stream_key *k, int from, const mf_origin *o)
{
    int32_t part = o->partition < 0 ? -1 : o->partition;
    return k->bound && k->from == from && k->partition == part && str_eq(k->source, o->source) &&
           str_eq(k->topic, o->topic);
}

static struct mf_stream_table *table(mf_node *n)
{
    if (n->streams)
        return n->streams;
    struct mf_stream_table *t = mf_xcalloc(1, sizeof *t);
    t->cap = n->n_producers > 4 ? (uint32_t)n->n_producers : 4;
    t->v = mf_xcalloc(t->cap, sizeof *t->v);
    for (size_t i = 0; i < n->n_producers; i++)
        t->v[t->n++] = (struct stream_key){.from = n->producers[i], .partition = -1};
    n->streams = t;
    return t;
}

static uint32_t add(struct mf_stream_table *t, int from, const char *source, const char *topic, int32_t part)
{
    uint32_t id = t->n;
    for (uint32_t i = 0; i < t->n; i++)
        if (!t->v[i].bound && t->v[i].from == from) {
            id = i; /* the worker's placeholder becomes its first stream */
            break;
        }
    if (id == t->n) {
        if (t->n == t->cap) {
            t->cap *= 2;
            t->v = mf_xrealloc(t->v, t->cap * sizeof *t->v);
        }
        t->n++;
    }
    t->v[id] = (struct stream_key){.from = from, .bound = true, .source = source,
                                   .topic = topic ? mf_xstrdup(topic) : NULL, .partition = part};
    return id;
}

static mf_group *group_named(mf_runtime *rt, const char *name)
{
    for (size_t i = 0; i < rt->n_groups; i++)
        if (name && strcmp(rt->groups[i].def->name, name) == 0)
            return &rt->groups[i];
    return NULL;
}

/* The first record of (from, source, topic): every other partition of the
 * topic the source announced is expected from that worker too. */
static void add_announced(mf_node *n, struct mf_stream_table *t, int from, const mf_origin *o)
{
    mf_group *g = group_named(n->rt, o->source);
    if (!g || g->def->kind != MF_KIND_SOURCE || !o->topic)
        return;
    pthread_mutex_lock(&n->rt->streams_mu);
    for (int w = 0; w < g->n_workers; w++) {
        const mf_node *src = g->workers[w];
        for (size_t i = 0; i < src->n_announced; i++) {
            const struct mf_announced *a = &src->announced[i];
            mf_origin other = {.source = o->source, .topic = a->topic, .partition = a->partition};
            if (strcmp(a->topic, o->topic) != 0)
                continue;
            bool known = false;
            for (uint32_t k = 0; k < t->n && !known; k++)
                known = matches(&t->v[k], from, &other);
            if (!known)
                add(t, from, o->source, a->topic, a->partition);
        }
    }
    pthread_mutex_unlock(&n->rt->streams_mu);
}

uint32_t mf_streams_of(mf_node *n, const mf_record *rec)
{
    const mf_batch_impl *b = mf_record_batch(rec);
    if (!b || b->from < 0)
        return MF_STREAM_NONE;
    struct mf_stream_table *t = table(n);
    if (t->last < t->n && matches(&t->v[t->last], b->from, &rec->origin))
        return t->last;
    for (uint32_t i = 0; i < t->n; i++)
        if (matches(&t->v[i], b->from, &rec->origin))
            return t->last = i;
    bool first_of_topic = true;
    for (uint32_t i = 0; i < t->n && first_of_topic; i++)
        first_of_topic = !(t->v[i].bound && t->v[i].from == b->from && str_eq(t->v[i].source, rec->origin.source) &&
                           str_eq(t->v[i].topic, rec->origin.topic));
    t->last = add(t, b->from, rec->origin.source, rec->origin.topic,
                  rec->origin.partition < 0 ? -1 : rec->origin.partition);
    if (first_of_topic && rec->origin.partition >= 0)
        add_announced(n, t, b->from, &rec->origin);
    return t->last;
}

uint32_t mf_streams_count(mf_node *n)
{
    return table(n)->n;
}

bool mf_streams_ended(mf_node *n, uint32_t id)
{
    const struct mf_stream_table *t = table(n);
    if (id >= t->n)
        return false;
    /* eos_from is the worker thread's own (it pops the end-of-stream
     * messages), as is the stream table: no lock */
    for (size_t i = 0; i < n->n_producers; i++)
        if (n->producers[i] == t->v[id].from)
            return n->eos_from[i];
    return false;
}

static void free_announced(mf_node *n)
{
    for (size_t i = 0; i < n->n_announced; i++)
        free(n->announced[i].topic);
    free(n->announced);
    n->announced = NULL;
    n->n_announced = 0;
}

void mf_streams_announce(mf_node *src, const mf_origin *v, size_t count)
{
    struct mf_announced *a = count ? mf_xcalloc(count, sizeof *a) : NULL;
    size_t k = 0;
    for (size_t i = 0; i < count; i++)
        if (v[i].topic && v[i].partition >= 0)
            a[k++] = (struct mf_announced){.topic = mf_xstrdup(v[i].topic), .partition = v[i].partition};
    pthread_mutex_lock(&src->rt->streams_mu);
    free_announced(src);
    src->announced = a;
    src->n_announced = k;
    pthread_mutex_unlock(&src->rt->streams_mu);
}

void mf_streams_free(mf_node *n)
{
    struct mf_stream_table *t = n->streams;
    if (t) {
        for (uint32_t i = 0; i < t->n; i++)
            free(t->v[i].topic);
        free(t->v);
        free(t);
        n->streams = NULL;
    }
    free_announced(n);
}
