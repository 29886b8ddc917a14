/*
 * gim_loader.c — one thread, one cycle at a time, handed over and collected
 * under a mutex (gim_loader.h).
 */
#include "gim_loader.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include <martflow/helpers.h>

struct gim_loader {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;  /* a job was given, it ended, or the thread is to stop */
    /* under mu */
    gim_cycle *cy;
    const gim_cycle_in *in;
    gim_cycle_out *out;
    bool given, done, quit;
    pgc_class cls;
    /* the sink's thread only */
    bool busy;
};

static void *loader_main(void *arg)
{
    gim_loader *l = arg;
    pthread_mutex_lock(&l->mu);
    for (;;) {
        while (!l->given && !l->quit)
            pthread_cond_wait(&l->cv, &l->mu);
        if (!l->given)
            break;
        l->given = false;
        gim_cycle *cy = l->cy;
        const gim_cycle_in *in = l->in;
        gim_cycle_out *out = l->out;
        pthread_mutex_unlock(&l->mu);
        pgc_class cls = gim_cycle_run(cy, in, out);
        pthread_mutex_lock(&l->mu);
        l->cls = cls;
        l->done = true;
        pthread_cond_broadcast(&l->cv);
    }
    pthread_mutex_unlock(&l->mu);
    return NULL;
}

gim_loader *gim_loader_new(void)
{
    gim_loader *l = mf_xcalloc(1, sizeof *l);
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->cv, NULL);
    int e = pthread_create(&l->thread, NULL, loader_main, l);
    if (e) {
        pthread_cond_destroy(&l->cv);
        pthread_mutex_destroy(&l->mu);
        free(l);
        errno = e;
        return NULL;
    }
    return l;
}

void gim_loader_free(gim_loader *l)
{
    if (!l)
        return;
    pgc_class cls;
    if (l->busy)
        gim_loader_collect(l, -1, &cls);
    pthread_mutex_lock(&l->mu);
    l->quit = true;
    pthread_cond_broadcast(&l->cv);
    pthread_mutex_unlock(&l->mu);
    pthread_join(l->thread, NULL);
    pthread_cond_destroy(&l->cv);
    pthread_mutex_destroy(&l->mu);
    free(l);
}

void gim_loader_start(gim_loader *l, gim_cycle *cy, const gim_cycle_in *in, gim_cycle_out *out)
{
    pthread_mutex_lock(&l->mu);
    l->cy = cy;
    l->in = in;
    l->out = out;
    l->given = true;
    l->done = false;
    pthread_cond_broadcast(&l->cv);
    pthread_mutex_unlock(&l->mu);
    l->busy = true;
}

bool gim_loader_busy(const gim_loader *l)
{
    return l->busy;
}

bool gim_loader_collect(gim_loader *l, int64_t wait_ms, pgc_class *cls)
{
    if (!l->busy)
        return false;
    pthread_mutex_lock(&l->mu);
    if (!l->done && wait_ms < 0) {
        while (!l->done)
            pthread_cond_wait(&l->cv, &l->mu);
    } else if (!l->done && wait_ms > 0) {
        struct timespec until = mf_timespec_after(CLOCK_REALTIME, wait_ms);
        while (!l->done && pthread_cond_timedwait(&l->cv, &l->mu, &until) != ETIMEDOUT) {
        }
    }
    bool done = l->done;
    if (done) {
        *cls = l->cls;
        l->done = false;
        l->busy = false;
    }
    pthread_mutex_unlock(&l->mu);
    return done;
}
