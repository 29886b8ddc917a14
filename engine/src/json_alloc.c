/* json_alloc.c — see json_alloc.h. */
#include "json_alloc.h"

#include <jansson.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>

#include "util.h"

struct block;

/* One per thread that allocated JSON; never freed (threads are few and live
 * as long as the runtime), so a late free can always find its owner. */
struct owner {
    _Atomic(struct block *) remote; /* blocks freed by other threads */
    struct owner *next;
};

/* Header before every block; 16 bytes keeps malloc's alignment. */
struct block {
    alignas(16) struct owner *owner;
    struct block *next_remote;
};

static pthread_mutex_t owners_mu = PTHREAD_MUTEX_INITIALIZER;
static struct owner *owners;
static __thread struct owner *self;

static struct owner *my_owner(void)
{
    if (!self) {
        self = mf_xcalloc(1, sizeof *self);
        pthread_mutex_lock(&owners_mu);
        self->next = owners;
        owners = self;
        pthread_mutex_unlock(&owners_mu);
    }
    return self;
}

static void drain(struct owner *o)
{
    struct block *b = atomic_exchange_explicit(&o->remote, NULL, memory_order_acquire);
    while (b) {
        struct block *next = b->next_remote;
        free(b);
        b = next;
    }
}

static void *json_block_alloc(size_t n)
{
    struct owner *o = my_owner();
    if (atomic_load_explicit(&o->remote, memory_order_relaxed))
        drain(o);
    struct block *b = malloc(sizeof *b + n);
    if (!b)
        return NULL;
    b->owner = o;
    return b + 1;
}

static void json_block_free(void *p)
{
    if (!p)
        return;
    struct block *b = (struct block *)p - 1;
    struct owner *o = b->owner;
    if (o == self) {
        free(b);
        return;
    }
    struct block *head = atomic_load_explicit(&o->remote, memory_order_relaxed);
    do {
        b->next_remote = head;
    } while (!atomic_compare_exchange_weak_explicit(&o->remote, &head, b, memory_order_release,
                                                    memory_order_relaxed));
}

void mf_json_alloc_install(void)
{
    json_set_alloc_funcs(json_block_alloc, json_block_free);
}

void mf_json_alloc_drain_all(void)
{
    pthread_mutex_lock(&owners_mu);
    for (struct owner *o = owners; o; o = o->next)
        drain(o);
    pthread_mutex_unlock(&owners_mu);
}
