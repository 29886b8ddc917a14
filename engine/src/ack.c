/* ack.c — see ack.h. */
#include "ack.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include <martflow/helpers.h>

#include "util.h"

struct mf_ack {
    _Atomic int64_t refs;
    mf_ack_tracker *tracker; /* source token; NULL for a group */
    void *cookie;
    mf_ack *next_done;
    mf_ack **parents;        /* group only; written only while the group is referenced */
    size_t n_parents, cap_parents;
    mf_ack_domain *domain;
    mf_ack *live_prev, *live_next;
};

/* Every token of a domain not yet freed, so a runtime that ends with tokens
 * still held (a failure, a shutdown with open state) can free them. */
struct mf_ack_domain {
    pthread_mutex_t mu;
    mf_ack *live;
};

mf_ack_domain *mf_ack_domain_new(void)
{
    mf_ack_domain *d = mf_xcalloc(1, sizeof *d);
    pthread_mutex_init(&d->mu, NULL);
    return d;
}

void mf_ack_domain_free(mf_ack_domain *d)
{
    if (!d)
        return;
    mf_ack *a = d->live;
    while (a) {
        mf_ack *next = a->live_next;
        free(a->parents);
        free(a);
        a = next;
    }
    pthread_mutex_destroy(&d->mu);
    free(d);
}

static mf_ack *token_new(mf_ack_domain *d)
{
    mf_ack *a = mf_xcalloc(1, sizeof *a);
    atomic_init(&a->refs, 1);
    a->domain = d;
    pthread_mutex_lock(&d->mu);
    a->live_next = d->live;
    if (d->live)
        d->live->live_prev = a;
    d->live = a;
    pthread_mutex_unlock(&d->mu);
    return a;
}

static void token_free(mf_ack *a)
{
    mf_ack_domain *d = a->domain;
    pthread_mutex_lock(&d->mu);
    if (a->live_prev)
        a->live_prev->live_next = a->live_next;
    else
        d->live = a->live_next;
    if (a->live_next)
        a->live_next->live_prev = a->live_prev;
    pthread_mutex_unlock(&d->mu);
    free(a->parents);
    free(a);
}

struct mf_ack_tracker {
    mf_ack_domain *domain;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    mf_ack *done_head, *done_tail;
    uint64_t outstanding;
    bool woken;
};

mf_ack_tracker *mf_ack_tracker_new(mf_ack_domain *d)
{
    mf_ack_tracker *t = mf_xcalloc(1, sizeof *t);
    t->domain = d;
    pthread_mutex_init(&t->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&t->cond, &ca);
    pthread_condattr_destroy(&ca);
    return t;
}

void mf_ack_tracker_free(mf_ack_tracker *t)
{
    if (!t)
        return;
    /* Completed but undelivered tokens stay on the domain's live list. */
    pthread_mutex_destroy(&t->mu);
    pthread_cond_destroy(&t->cond);
    free(t);
}

mf_ack *mf_ack_new_source(mf_ack_tracker *t, void *cookie)
{
    mf_ack *a = token_new(t->domain);
    a->tracker = t;
    a->cookie = cookie;
    pthread_mutex_lock(&t->mu);
    t->outstanding++;
    pthread_mutex_unlock(&t->mu);
    return a;
}

void mf_ack_set_cookie(mf_ack *a, void *cookie)
{
    a->cookie = cookie;
}

mf_ack *mf_ack_new_group(mf_ack_domain *d)
{
    return token_new(d);
}

void mf_ack_group_add(mf_ack *group, mf_ack *parent)
{
    mf_ack_ref(parent, 1);
    if (group->n_parents == group->cap_parents) {
        group->cap_parents = group->cap_parents ? group->cap_parents * 2 : 8;
        group->parents = mf_xrealloc(group->parents, group->cap_parents * sizeof *group->parents);
    }
    group->parents[group->n_parents++] = parent;
}

void mf_ack_ref(mf_ack *a, int64_t n)
{
    atomic_fetch_add_explicit(&a->refs, n, memory_order_relaxed);
}

static void complete(mf_ack *a)
{
    if (!a->tracker) {
        /* A group: release what it held. Parents may complete in turn. */
        for (size_t i = 0; i < a->n_parents; i++)
            mf_ack_unref(a->parents[i], 1);
        token_free(a);
        return;
    }
    mf_ack_tracker *t = a->tracker;
    pthread_mutex_lock(&t->mu);
    a->next_done = NULL;
    if (t->done_tail)
        t->done_tail->next_done = a;
    else
        t->done_head = a;
    t->done_tail = a;
    pthread_cond_signal(&t->cond);
    pthread_mutex_unlock(&t->mu);
}

void mf_ack_unref(mf_ack *a, int64_t n)
{
    int64_t before = atomic_fetch_sub_explicit(&a->refs, n, memory_order_acq_rel);
    if (before == n)
        complete(a);
    else if (before < n)
        abort(); /* more releases than references: an engine bug, never hide it */
}

size_t mf_ack_tracker_drain(mf_ack_tracker *t, void (*cb)(void *arg, void *cookie), void *arg)
{
    pthread_mutex_lock(&t->mu);
    mf_ack *a = t->done_head;
    t->done_head = t->done_tail = NULL;
    pthread_mutex_unlock(&t->mu);
    size_t n = 0;
    while (a) {
        mf_ack *next = a->next_done;
        if (cb)
            cb(arg, a->cookie);
        token_free(a);
        a = next;
        n++;
    }
    if (n) {
        pthread_mutex_lock(&t->mu);
        t->outstanding -= n;
        pthread_mutex_unlock(&t->mu);
    }
    return n;
}

uint64_t mf_ack_tracker_outstanding(mf_ack_tracker *t)
{
    pthread_mutex_lock(&t->mu);
    uint64_t n = t->outstanding;
    pthread_mutex_unlock(&t->mu);
    return n;
}

void mf_ack_tracker_wait(mf_ack_tracker *t, int timeout_ms)
{
    struct timespec ts = mf_timespec_after(CLOCK_MONOTONIC, timeout_ms);
    pthread_mutex_lock(&t->mu);
    while (!t->done_head && !t->woken)
        if (pthread_cond_timedwait(&t->cond, &t->mu, &ts) != 0)
            break;
    t->woken = false;
    pthread_mutex_unlock(&t->mu);
}

void mf_ack_tracker_wake(mf_ack_tracker *t)
{
    pthread_mutex_lock(&t->mu);
    t->woken = true;
    pthread_cond_signal(&t->cond);
    pthread_mutex_unlock(&t->mu);
}
