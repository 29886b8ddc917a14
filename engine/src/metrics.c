/* metrics.c — see metrics.h. */
#include "metrics.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

struct mf_metric {
    char *name, *labels, *help;
    mf_metric_type type;
    _Atomic uint64_t bits; /* a double */
    struct mf_metric *next;
};

struct sampler {
    void (*fn)(void *arg);
    void *arg;
};

struct renderer {
    void (*fn)(void *arg, mf_str *out);
    void *arg;
};

struct mf_metrics {
    pthread_mutex_t mu;
    struct mf_metric *head, *tail;
    struct sampler *samplers;
    size_t n_samplers;
    struct renderer *renderers;
    size_t n_renderers;
};

mf_metrics *mf_metrics_new(void)
{
    mf_metrics *m = mf_xcalloc(1, sizeof *m);
    pthread_mutex_init(&m->mu, NULL);
    return m;
}

void mf_metrics_free(mf_metrics *m)
{
    if (!m)
        return;
    struct mf_metric *x = m->head;
    while (x) {
        struct mf_metric *next = x->next;
        free(x->name);
        free(x->labels);
        free(x->help);
        free(x);
        x = next;
    }
    free(m->samplers);
    free(m->renderers);
    pthread_mutex_destroy(&m->mu);
    free(m);
}

static bool same(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

static const char *type_name(mf_metric_type t)
{
    return t == MF_METRIC_COUNTER ? "counter" : "gauge";
}

mf_metric *mf_metrics_get(mf_metrics *m, mf_metric_type type, const char *name, const char *labels,
                          const char *help)
{
    pthread_mutex_lock(&m->mu);
    struct mf_metric *x;
    /* Prometheus gives a name one TYPE, whatever its labels */
    for (x = m->head; x; x = x->next)
        if (strcmp(x->name, name) == 0 && x->type != type)
            break;
    if (x) {
        mf_metric_type had = x->type;
        pthread_mutex_unlock(&m->mu);
        mf_log_error("metric '%s' is already registered as a %s; it cannot also be a %s", name, type_name(had),
                     type_name(type));
        return NULL;
    }
    for (x = m->head; x; x = x->next)
        if (strcmp(x->name, name) == 0 && same(x->labels, labels))
            break;
    if (!x) {
        x = mf_xcalloc(1, sizeof *x);
        x->name = mf_xstrdup(name);
        x->labels = mf_xstrdup(labels ? labels : "");
        x->help = mf_xstrdup(help ? help : "");
        x->type = type;
        /* keep metrics of one name together: insert after the last of that name */
        struct mf_metric *after = NULL;
        for (struct mf_metric *y = m->head; y; y = y->next)
            if (strcmp(y->name, name) == 0)
                after = y;
        if (after) {
            x->next = after->next;
            after->next = x;
            if (m->tail == after)
                m->tail = x;
        } else {
            if (m->tail)
                m->tail->next = x;
            else
                m->head = x;
            m->tail = x;
        }
    }
    pthread_mutex_unlock(&m->mu);
    return x;
}

void mf_metrics_add_sampler(mf_metrics *m, void (*fn)(void *arg), void *arg)
{
    pthread_mutex_lock(&m->mu);
    m->samplers = mf_xrealloc(m->samplers, (m->n_samplers + 1) * sizeof *m->samplers);
    m->samplers[m->n_samplers++] = (struct sampler){fn, arg};
    pthread_mutex_unlock(&m->mu);
}

void mf_metrics_add_renderer(mf_metrics *m, void (*fn)(void *arg, mf_str *out), void *arg)
{
    pthread_mutex_lock(&m->mu);
    m->renderers = mf_xrealloc(m->renderers, (m->n_renderers + 1) * sizeof *m->renderers);
    m->renderers[m->n_renderers++] = (struct renderer){fn, arg};
    pthread_mutex_unlock(&m->mu);
}

static double from_bits(uint64_t b)
{
    double d;
    memcpy(&d, &b, sizeof d);
    return d;
}

static uint64_t to_bits(double d)
{
    uint64_t b;
    memcpy(&b, &d, sizeof b);
    return b;
}

void mf_metric_add(mf_metric *x, double v)
{
    if (!x)
        return;
    uint64_t old = atomic_load_explicit(&x->bits, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(&x->bits, &old, to_bits(from_bits(old) + v),
                                                  memory_order_relaxed, memory_order_relaxed))
        ;
}

void mf_metric_set(mf_metric *x, double v)
{
    if (!x)
        return;
    atomic_store_explicit(&x->bits, to_bits(v), memory_order_relaxed);
}

double mf_metric_value(const mf_metric *x)
{
    if (!x)
        return 0;
    return from_bits(atomic_load_explicit(&((struct mf_metric *)x)->bits, memory_order_relaxed));
}

size_t mf_metrics_each(mf_metrics *m, const char *name,
                       void (*fn)(void *arg, const char *labels, mf_metric_type type, double value), void *arg)
{
    size_t n = 0;
    pthread_mutex_lock(&m->mu);
    for (struct mf_metric *x = m->head; x; x = x->next)
        if (strcmp(x->name, name) == 0) {
            n++;
            if (fn)
                fn(arg, x->labels, x->type, mf_metric_value(x));
        }
    pthread_mutex_unlock(&m->mu);
    return n;
}

void mf_metrics_render(mf_metrics *m, mf_str *out)
{
    pthread_mutex_lock(&m->mu);
    size_t n = m->n_samplers;
    struct sampler *s = mf_xmalloc((n ? n : 1) * sizeof *s);
    if (n)
        memcpy(s, m->samplers, n * sizeof *s);
    pthread_mutex_unlock(&m->mu);
    for (size_t i = 0; i < n; i++)
        s[i].fn(s[i].arg);
    free(s);

    pthread_mutex_lock(&m->mu);
    const char *last = NULL;
    for (struct mf_metric *x = m->head; x; x = x->next) {
        if (!last || strcmp(last, x->name) != 0) {
            mf_str_printf(out, "# HELP %s %s\n# TYPE %s %s\n", x->name, x->help, x->name,
                          type_name(x->type));
            last = x->name;
        }
        if (*x->labels)
            mf_str_printf(out, "%s{%s} %.17g\n", x->name, x->labels, mf_metric_value(x));
        else
            mf_str_printf(out, "%s %.17g\n", x->name, mf_metric_value(x));
    }
    n = m->n_renderers;
    struct renderer *r = mf_xmalloc((n ? n : 1) * sizeof *r);
    if (n)
        memcpy(r, m->renderers, n * sizeof *r);
    pthread_mutex_unlock(&m->mu);
    for (size_t i = 0; i < n; i++)
        r[i].fn(r[i].arg, out);
    free(r);
}
