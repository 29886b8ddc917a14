/* runtime.c — see runtime.h and runtime_internal.h. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <martflow/helpers.h>

#include "config.h"
#include "log.h"
#include "runtime_internal.h"
#include "streams.h"

#define MAIN_TICK_MS 100
/* The main thread waits for SIGINT/SIGTERM in sigtimedwait; a worker with
 * news (it finished, a node failed, a sink completed a checkpoint) wakes it
 * with this signal, blocked in every thread, so the news is acted on at once
 * rather than at the next tick: a pipeline that has finished exits without
 * waiting up to MAIN_TICK_MS. */
#define WAKE_SIGNAL SIGUSR2

void mf_runtime_wake(mf_runtime *rt)
{
    if (atomic_load(&rt->main_waits))
        pthread_kill(rt->main_thread, WAKE_SIGNAL);
}

int64_t mf_runtime_deadline(mf_runtime *rt)
{
    int64_t d = atomic_load(&rt->deadline);
    return d ? d : mf_time_mono_ms() + rt->settings->grace_ms;
}

void mf_runtime_wait_stopping(mf_runtime *rt, int64_t ms)
{
    if (ms <= 0)
        return;
    struct timespec ts = mf_timespec_after(CLOCK_MONOTONIC, ms);
    pthread_mutex_lock(&rt->stop_mu);
    while (!atomic_load(&rt->stopping))
        if (pthread_cond_timedwait(&rt->stop_cv, &rt->stop_mu, &ts) != 0)
            break;
    pthread_mutex_unlock(&rt->stop_mu);
}

void mf_runtime_begin_stop(mf_runtime *rt)
{
    /* One grace period for the whole process, from the first reason to stop:
     * the main loop exits at this deadline, and every stop() is given it. */
    int64_t unset = 0;
    atomic_compare_exchange_strong(&rt->deadline, &unset, mf_time_mono_ms() + rt->settings->grace_ms);
    pthread_mutex_lock(&rt->stop_mu);
    atomic_store(&rt->stopping, true);
    pthread_cond_broadcast(&rt->stop_cv);
    pthread_mutex_unlock(&rt->stop_mu);
    for (size_t i = 0; i < rt->n_workers; i++)
        if (rt->workers[i]->tracker)
            mf_ack_tracker_wake(rt->workers[i]->tracker);
}

void mf_runtime_fail(mf_runtime *rt, mf_node *n, const char *why)
{
    mf_node_log(n, MF_LOG_ERROR, "%s: the node stops and the pipeline shuts down", why);
    atomic_store(&rt->failed, true);
    mf_metric_set(rt->m_up, 0);
    mf_runtime_begin_stop(rt);
    mf_runtime_wake(rt);
}

/* ---- building --------------------------------------------------------------------- */

static void add_unique(mf_node ***list, size_t *n, mf_node *x)
{
    for (size_t i = 0; i < *n; i++)
        if ((*list)[i] == x)
            return;
    *list = mf_xrealloc(*list, (*n + 1) * sizeof **list);
    (*list)[(*n)++] = x;
}

static void add_producer(mf_node *n, int id)
{
    for (size_t i = 0; i < n->n_producers; i++)
        if (n->producers[i] == id)
            return;
    n->producers = mf_xrealloc(n->producers, (n->n_producers + 1) * sizeof *n->producers);
    n->producers[n->n_producers++] = id;
}

static char *prom_escape(const char *s)
{
    mf_str out = {0};
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            mf_str_append(&out, "\\", 1);
        mf_str_append(&out, s, 1);
    }
    return mf_str_take(&out);
}

static void group_metrics(mf_runtime *rt, mf_group *g)
{
    char *p = prom_escape(rt->def->name), *nn = prom_escape(g->def->name);
    g->labels = mf_xasprintf("pipeline=\"%s\",node=\"%s\",plugin=\"%s\"", p, nn, g->desc->name);
    free(p);
    free(nn);
    mf_metrics *m = rt->metrics;
    g->m_in = mf_metrics_get(m, MF_METRIC_COUNTER, "martflow_node_records_in_total", g->labels,
                             "Records handed to the node");
    g->m_out = mf_metrics_get(m, MF_METRIC_COUNTER, "martflow_node_records_out_total", g->labels,
                              "Records the node emitted (all ports)");
    g->m_rejected = mf_metrics_get(m, MF_METRIC_COUNTER, "martflow_node_rejected_total", g->labels,
                                   "Records the node rejected to its errors port");
    g->m_retries = mf_metrics_get(m, MF_METRIC_COUNTER, "martflow_node_retries_total", g->labels,
                                  "Retries of failed polls or batches");
    g->m_dropped = mf_metrics_get(m, MF_METRIC_COUNTER, "martflow_node_dropped_unwired_total", g->labels,
                                  "Records emitted to a port nothing consumes");
    g->m_unhandled = mf_metrics_get(m, MF_METRIC_COUNTER, "martflow_node_rejects_unhandled_total", g->labels,
                                    "Rejected records with no errors port wired (logged)");
    g->m_batches = mf_metrics_get(m, MF_METRIC_COUNTER, "martflow_node_batches_out_total", g->labels,
                                  "Batches the node emitted");
}

static void sample_queues(void *arg)
{
    mf_runtime *rt = arg;
    for (size_t gi = 0; gi < rt->n_groups; gi++) {
        mf_group *g = &rt->groups[gi];
        if (!g->m_queue_records)
            continue;
        for (int w = 0; w < g->n_workers; w++) {
            size_t records, bytes;
            mf_queue_stats(g->workers[w]->inq, &records, &bytes);
            mf_metric_set(g->m_queue_records[w], (double)records);
        }
    }
}

static int64_t pick(int64_t node_value, int64_t pipeline_value, int64_t unset)
{
    return node_value == unset ? pipeline_value : node_value;
}

static void build(mf_runtime *rt)
{
    mf_pipeline_def *def = rt->def;
    const mf_settings *s = rt->settings;
    rt->n_groups = def->n_nodes;
    rt->groups = mf_xcalloc(def->n_nodes, sizeof *rt->groups);
    for (size_t i = 0; i < def->n_nodes; i++) {
        mf_group *g = &rt->groups[i];
        const mf_node_def *nd = &def->nodes[i];
        g->rt = rt;
        g->def = nd;
        g->desc = &nd->plugin->desc;
        g->n_workers = nd->kind == MF_KIND_TRANSFORM ? (int)nd->keys.parallelism : 1;
        g->ports = mf_xcalloc(nd->n_ports, sizeof *g->ports);
        g->retry_max = pick(nd->keys.retry_max, s->retry_max, -1);
        g->retry_base_ms = pick(nd->keys.retry_base_ms, s->retry_base_ms, 0);
        g->retry_cap_ms = pick(nd->keys.retry_cap_ms, s->retry_cap_ms, 0);
        group_metrics(rt, g);
        size_t qrec = (size_t)pick(nd->keys.queue_records, s->queue_records, 0);
        size_t qbytes = (size_t)(nd->keys.queue_bytes ? nd->keys.queue_bytes : s->queue_bytes);
        g->workers = mf_xcalloc((size_t)g->n_workers, sizeof *g->workers);
        if (nd->kind != MF_KIND_SOURCE)
            g->m_queue_records = mf_xcalloc((size_t)g->n_workers, sizeof *g->m_queue_records);
        for (int w = 0; w < g->n_workers; w++) {
            mf_node *n = mf_xcalloc(1, sizeof *n);
            n->rt = rt;
            n->g = g;
            n->worker = w;
            n->id = (int)rt->n_workers;
            n->staging = mf_xcalloc(nd->n_ports, sizeof *n->staging);
            n->held = mf_xcalloc(nd->n_ports, sizeof *n->held);
            /* Output one process() call may hold back (route.c): a few
             * queues' worth, and never under 16 MiB. */
            n->hold_limit = (size_t)(4 * s->queue_bytes) > (16u << 20) ? (size_t)(4 * s->queue_bytes) : (16u << 20);
            n->rng = (uint64_t)mf_time_now_ms() * 2654435761u + (uint64_t)n->id * 40503u + 1;
            atomic_init(&n->ready, true);
            if (nd->kind == MF_KIND_SOURCE) {
                n->tracker = mf_ack_tracker_new(rt->acks);
            } else {
                n->inq = mf_queue_new(qrec, qbytes);
                char *l = mf_xasprintf("%s,worker=\"%d\"", g->labels, w);
                g->m_queue_records[w] = mf_metrics_get(rt->metrics, MF_METRIC_GAUGE, "martflow_queue_records", l,
                                                       "Records waiting in the node's input queue");
                free(l);
            }
            g->workers[w] = n;
            rt->workers = mf_xrealloc(rt->workers, (rt->n_workers + 1) * sizeof *rt->workers);
            rt->workers[rt->n_workers++] = n;
        }
    }
    /* Wire ports to consumers, then derive each worker's downstream queues
     * and each queue's producers. */
    for (size_t ci = 0; ci < def->n_nodes; ci++) {
        mf_group *c = &rt->groups[ci];
        for (size_t k = 0; k < c->def->n_inputs; k++) {
            const mf_input_ref *in = &c->def->inputs[k];
            struct mf_port_wiring *w = &rt->groups[in->node].ports[in->port];
            bool dup = false;
            for (size_t j = 0; j < w->n; j++)
                dup |= w->consumers[j] == c;
            if (dup)
                continue;
            w->consumers = mf_xrealloc(w->consumers, (w->n + 1) * sizeof *w->consumers);
            w->broadcast = mf_xrealloc(w->broadcast, (w->n + 1) * sizeof *w->broadcast);
            w->broadcast[w->n] = in->broadcast;
            w->consumers[w->n++] = c;
        }
    }
    for (size_t gi = 0; gi < rt->n_groups; gi++) {
        mf_group *g = &rt->groups[gi];
        for (int w = 0; w < g->n_workers; w++) {
            mf_node *n = g->workers[w];
            for (size_t p = 0; p < g->def->n_ports; p++)
                for (size_t c = 0; c < g->ports[p].n; c++)
                    for (int cw = 0; cw < g->ports[p].consumers[c]->n_workers; cw++)
                        add_unique(&n->downstream, &n->n_downstream, g->ports[p].consumers[c]->workers[cw]);
            for (size_t d = 0; d < n->n_downstream; d++)
                add_producer(n->downstream[d], n->id);
        }
    }
    for (size_t i = 0; i < rt->n_workers; i++) {
        mf_node *n = rt->workers[i];
        n->eos_from = mf_xcalloc(n->n_producers + 1, sizeof *n->eos_from);
        n->barrier_from = mf_xcalloc(n->n_producers + 1, sizeof *n->barrier_from);
    }
    mf_metrics_add_sampler(rt->metrics, sample_queues, rt);
}

static bool init_worker(mf_runtime *rt, mf_node *n, char **error)
{
    const mf_plugin_desc *d = n->g->desc;
    mf_diag diag = {0};
    n->ctx = mf_xcalloc(1, d->ctx_size ? d->ctx_size : 1);
    n->vals = mf_options_apply(d->options, n->g->def->config, mf_node_reserved_keys, 0, rt->def->cfg,
                               mf_node_what(n->g->def), n->ctx, &diag);
    if (!n->vals) {
        *error = mf_xstrdup(diag.text.data ? diag.text.data : "option error");
        mf_diag_free(&diag);
        return false;
    }
    mf_diag_free(&diag);
    n->inited = true; /* free() runs even after a failed init: it cleans up a partial start */
    int st = d->init(n->ctx, n, &rt->host);
    mf_node_callback_done(n);
    n->started = st == MF_OK;
    if (st != MF_OK) {
        *error = mf_xasprintf("%s failed to start (see the log above)", mf_node_what(n->g->def));
        return false;
    }
    return true;
}

/* only: the index of the one node to init (`martflow job`: no checkpoint
 * restore either), or -1 for all. */
static mf_runtime *runtime_new(mf_pipeline_def *def, long only, char **error)
{
    mf_runtime *rt = mf_xcalloc(1, sizeof *rt);
    rt->def = def;
    rt->settings = &def->settings;
    pthread_mutex_init(&rt->stop_mu, NULL);
    pthread_mutex_init(&rt->streams_mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&rt->stop_cv, &ca);
    pthread_condattr_destroy(&ca);
    rt->metrics = mf_metrics_new();
    rt->acks = mf_ack_domain_new();
    mf_host_init(&rt->host);
    char *p = prom_escape(def->name);
    char *l = mf_xasprintf("pipeline=\"%s\"", p);
    rt->m_checkpoints = mf_metrics_get(rt->metrics, MF_METRIC_COUNTER, "martflow_checkpoints_total", l,
                                       "Completed checkpoints");
    rt->m_ckpt_failed = mf_metrics_get(rt->metrics, MF_METRIC_COUNTER, "martflow_checkpoint_failures_total", l,
                                       "Checkpoints that could not be stored (the pipeline went on)");
    rt->m_ckpt_duration = mf_metrics_get(rt->metrics, MF_METRIC_GAUGE, "martflow_checkpoint_duration_seconds", l,
                                         "Last stored checkpoint: from its barrier request to its manifest");
    rt->m_ckpt_bytes = mf_metrics_get(rt->metrics, MF_METRIC_GAUGE, "martflow_checkpoint_size_bytes", l,
                                      "Last stored checkpoint: bytes of its objects and manifest");
    rt->m_ckpt_last = mf_metrics_get(rt->metrics, MF_METRIC_GAUGE, "martflow_checkpoint_last_completed_seconds", l,
                                     "Epoch seconds when the last checkpoint was stored");
    mf_savepoint_init(rt, l);
    rt->m_up = mf_metrics_get(rt->metrics, MF_METRIC_GAUGE, "martflow_up", l, "1 while no node has failed");
    mf_metric_set(rt->m_up, 1);
    free(p);
    free(l);
    build(rt);
    /* Sinks first, sources last: nothing flows before its destination exists. */
    static const mf_kind order[] = {MF_KIND_SINK, MF_KIND_TRANSFORM, MF_KIND_SOURCE};
    for (size_t k = 0; k < MF_ARRAY_LEN(order); k++)
        for (size_t i = 0; i < rt->n_workers; i++)
            if (rt->workers[i]->g->def->kind == order[k] &&
                (only < 0 || rt->workers[i]->g == &rt->groups[only]) && !init_worker(rt, rt->workers[i], error)) {
                mf_runtime_free(rt);
                return NULL;
            }
    if (only < 0 && !mf_checkpoint_open(rt, error)) {
        mf_runtime_free(rt);
        return NULL;
    }
    /* after every init: the aliased metrics are registered by now */
    mf_diag diag = {0};
    rt->aliases = mf_metric_aliases_load(def->cfg, &diag); /* checked when the pipeline was loaded */
    mf_diag_free(&diag);
    mf_metric_aliases_attach(rt->aliases, rt->metrics);
    return rt;
}

mf_runtime *mf_runtime_new(mf_pipeline_def *def, char **error)
{
    return runtime_new(def, -1, error);
}

/* ---- one job (`martflow job`) ---------------------------------------------------- */

struct job_find {
    const char *name;
    const json_t *at;
    bool found;
    mf_str names; /* every job, for the error */
    const mf_config *cfg;
    const mf_node_def *node;
};

static void job_seen(void *arg, const char *name, const json_t *at)
{
    struct job_find *f = arg;
    if (!f->found && !strcmp(name, f->name)) {
        f->found = true;
        f->at = at;
        return;
    }
    mf_loc loc = mf_config_find_loc(f->cfg, f->node->config, at);
    char *line = mf_xasprintf("  %s (%s:%d, node %s)\n", name, loc.file ? loc.file : "?", loc.line, f->node->name);
    mf_str_puts(&f->names, line);
    free(line);
}

int mf_runtime_job(mf_pipeline_def *def, const char *name, int argc, const char *const *argv)
{
    struct job_find f = {.name = name, .cfg = def->cfg};
    long idx = -1;
    for (size_t i = 0; i < def->n_nodes && idx < 0; i++) {
        const mf_plugin_desc *d = &def->nodes[i].plugin->desc;
        if (!d->list_jobs)
            continue;
        f.node = &def->nodes[i];
        d->list_jobs(def->nodes[i].config, job_seen, &f);
        if (f.found)
            idx = (long)i;
    }
    if (idx < 0) {
        const char *file = mf_config_file(def->cfg);
        if (f.names.len)
            mf_log_error("%s: no job '%s'; the jobs of this pipeline:\n%s", file, name, f.names.data);
        else
            mf_log_error("%s: no job '%s': no node of this pipeline declares jobs", file, name);
        free(f.names.data);
        mf_pipeline_def_free(def);
        return MF_EXIT_CONFIG;
    }
    free(f.names.data);
    const mf_node_def *nd = &def->nodes[idx];
    if (argc > 0 && !nd->plugin->desc.run_job_args) {
        mf_log_error("%s: job '%s' of %s takes no arguments (its plugin has no run_job_args, ABI 1.5)",
                     mf_config_file(def->cfg), name, mf_node_what(nd));
        mf_pipeline_def_free(def);
        return MF_EXIT_CONFIG;
    }
    char *what = mf_xstrdup(mf_node_what(nd));
    char *error = NULL;
    mf_runtime *rt = runtime_new(def, idx, &error);
    if (!rt) {
        mf_log_error("%s", error);
        free(error);
        free(what);
        return MF_EXIT_FAILED;
    }
    mf_node *n = rt->groups[idx].workers[0];
    mf_log_info("job '%s' of %s: running", name, what);
    int64_t t0 = mf_time_mono_ms();
    int st = n->g->desc->run_job_args ? n->g->desc->run_job_args(n->ctx, name, argc, argv)
                                      : n->g->desc->run_job(n->ctx, name);
    mf_node_callback_done(n);
    int64_t ms = mf_time_mono_ms() - t0;
    if (st == MF_OK)
        mf_log_info("job '%s' of %s: succeeded in %lld ms", name, what, (long long)ms);
    else
        mf_log_error("job '%s' of %s: failed (%s) after %lld ms", name, what, st == MF_RETRY ? "transient" : "fatal",
                     (long long)ms);
    free(what);
    mf_runtime_free(rt);
    return st == MF_OK ? MF_EXIT_OK : MF_EXIT_FAILED;
}

/* ---- running -------------------------------------------------------------------- */

static bool probe_healthy(void *arg)
{
    mf_runtime *rt = arg;
    return !atomic_load(&rt->failed);
}

static bool probe_ready(void *arg)
{
    mf_runtime *rt = arg;
    if (atomic_load(&rt->failed) || atomic_load(&rt->stopping))
        return false;
    for (size_t i = 0; i < rt->n_workers; i++)
        if (!atomic_load(&rt->workers[i]->ready))
            return false;
    return true;
}

static bool all_sinks_finished(mf_runtime *rt)
{
    for (size_t i = 0; i < rt->n_workers; i++) {
        mf_node *n = rt->workers[i];
        if (n->g->def->kind == MF_KIND_SINK && !atomic_load(&n->finished))
            return false;
    }
    return true;
}

static void log_summary(mf_runtime *rt)
{
    for (size_t i = 0; i < rt->n_groups; i++) {
        mf_group *g = &rt->groups[i];
        mf_log_write(MF_LOG_INFO, g->def->name, g->desc->name, "in=%.0f out=%.0f rejected=%.0f retries=%.0f",
                     mf_metric_value(g->m_in), mf_metric_value(g->m_out), mf_metric_value(g->m_rejected),
                     mf_metric_value(g->m_retries));
    }
}

int mf_runtime_run(mf_runtime *rt)
{
    sigset_t sigs, old;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, WAKE_SIGNAL);
    sigaddset(&sigs, SIGUSR1); /* take a savepoint */
    pthread_sigmask(SIG_BLOCK, &sigs, &old); /* threads started below inherit the mask */
    rt->main_thread = pthread_self();
    signal(SIGPIPE, SIG_IGN);

    const mf_settings *s = rt->settings;
    if (s->metrics_listen && *s->metrics_listen) {
        char *err = NULL;
        rt->http = mf_http_start(s->metrics_listen, rt->metrics,
                                 (mf_http_probe){.healthy = probe_healthy, .ready = probe_ready,
                                                 .savepoint = mf_savepoint_http,
                                                 .remote_operations = s->remote_operations, .arg = rt},
                                 &err);
        if (!rt->http) {
            mf_log_error("%s", err);
            free(err);
            pthread_sigmask(SIG_SETMASK, &old, NULL);
            return MF_EXIT_FAILED;
        }
        mf_log_info("metrics, health and readiness on http://%s (port %d); POST /savepoint", s->metrics_listen,
                    mf_http_port(rt->http));
    }
    mf_log_info("pipeline '%s' starting: %zu nodes, %zu workers", rt->def->name, rt->n_groups, rt->n_workers);

    atomic_store(&rt->threads_running, rt->n_workers);
    atomic_store(&rt->main_waits, true);
    static const mf_kind order[] = {MF_KIND_SINK, MF_KIND_TRANSFORM, MF_KIND_SOURCE};
    for (size_t k = 0; k < MF_ARRAY_LEN(order); k++)
        for (size_t i = 0; i < rt->n_workers; i++) {
            mf_node *n = rt->workers[i];
            if (n->g->def->kind != order[k])
                continue;
            void *(*fn)(void *) = n->g->def->kind == MF_KIND_SOURCE ? mf_source_thread : mf_worker_thread;
            if (pthread_create(&n->thread, NULL, fn, n) != 0) {
                mf_log_error("cannot start a thread: %s", strerror(errno));
                abort();
            }
            n->thread_started = true;
        }

    int signals = 0;
    int64_t next_checkpoint = mf_time_mono_ms() + s->checkpoint_ms;
    struct timespec tick = {.tv_sec = 0, .tv_nsec = MAIN_TICK_MS * 1000000L};
    while (atomic_load(&rt->threads_running) > 0) {
        siginfo_t si;
        int sig = sigtimedwait(&sigs, &si, &tick);
        int64_t now = mf_time_mono_ms();
        if (sig == SIGINT || sig == SIGTERM) {
            if (++signals >= 2) {
                mf_log_warn("second %s: exiting now without waiting for acknowledgements", strsignal(sig));
                _exit(MF_EXIT_SIGNAL);
            }
            mf_log_info("%s: stopping sources, draining (grace period %lld ms; a second signal exits at once)",
                        strsignal(sig), (long long)s->grace_ms);
            mf_runtime_begin_stop(rt);
        } else if (sig == SIGUSR1) {
            mf_savepoint_signal(rt);
        }
        int64_t deadline = atomic_load(&rt->deadline);
        if (deadline && now > deadline) {
            mf_log_error("grace period of %lld ms ran out with %zu workers still busy: exiting; what they hold "
                         "is not acknowledged and will be read again",
                         (long long)s->grace_ms, atomic_load(&rt->threads_running));
            _exit(MF_EXIT_FAILED);
        }
        mf_checkpoint_coordinate(rt, now, &next_checkpoint);
        mf_metric_aliases_sample(rt->aliases, now);
        if (!atomic_load(&rt->sinks_done) && all_sinks_finished(rt)) {
            atomic_store(&rt->sinks_done, true);
            for (size_t i = 0; i < rt->n_workers; i++)
                if (rt->workers[i]->tracker)
                    mf_ack_tracker_wake(rt->workers[i]->tracker);
        }
    }
    mf_savepoint_abort(rt, "the pipeline ended", true);
    for (size_t i = 0; i < rt->n_workers; i++)
        if (rt->workers[i]->thread_started) {
            pthread_join(rt->workers[i]->thread, NULL);
            rt->workers[i]->thread_started = false;
        }
    /* no wake may stay pending once the signal is unblocked: its default
     * action ends the process */
    atomic_store(&rt->main_waits, false);
    sigset_t wake;
    sigemptyset(&wake);
    sigaddset(&wake, WAKE_SIGNAL);
    sigaddset(&wake, SIGUSR1); /* a savepoint asked for too late */
    while (sigtimedwait(&wake, NULL, &(struct timespec){0, 0}) > 0)
        ;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    log_summary(rt);

    uint64_t unhandled = atomic_load(&rt->unhandled_rejects);
    if (atomic_load(&rt->failed)) {
        mf_log_error("pipeline '%s' failed", rt->def->name);
        return MF_EXIT_FAILED;
    }
    if (unhandled) {
        mf_log_error("%llu records were rejected and no errors port was wired to take them (see the warnings above)",
                     (unsigned long long)unhandled);
        return MF_EXIT_FAILED;
    }
    mf_log_info("pipeline '%s' finished", rt->def->name);
    return MF_EXIT_OK;
}

void mf_runtime_free(mf_runtime *rt)
{
    if (!rt)
        return;
    mf_http_stop(rt->http);
    /* Every started plugin is stopped before it is freed, as plugin.h
     * promises, also when the pipeline never ran (a later node failed to
     * start, the metrics listener could not bind): sources first. */
    static const mf_kind stop_order[] = {MF_KIND_SOURCE, MF_KIND_TRANSFORM, MF_KIND_SINK};
    for (size_t k = 0; k < MF_ARRAY_LEN(stop_order); k++)
        for (size_t i = 0; i < rt->n_workers; i++)
            if (rt->workers[i]->g->def->kind == stop_order[k])
                mf_node_stop(rt->workers[i]);
    /* Plugins first: free() releases acks a plugin still holds. */
    for (size_t i = 0; i < rt->n_workers; i++) {
        mf_node *n = rt->workers[i];
        if (n->inited && n->g->desc->free)
            n->g->desc->free(n->ctx);
        mf_node_callback_done(n);
    }
    for (size_t i = 0; i < rt->n_workers; i++) {
        mf_node *n = rt->workers[i];
        mf_node_drop_output(n, false);
        mf_batch_free(n->retry.batch, false);
        for (size_t k = 0; k < n->n_stash; k++)
            if (n->stash[k].type == MF_MSG_BATCH)
                mf_batch_free(n->stash[k].batch, false);
        free(n->stash);
        mf_buffer_free(&n->snap);
        mf_buffer_free(&n->snap_end);
        free(n->staging);
        free(n->held);
        mf_queue_free(n->inq);
        if (n->tracker) {
            mf_ack_tracker_drain(n->tracker, NULL, NULL);
            mf_ack_tracker_free(n->tracker);
        }
        mf_optvals_free(n->vals);
        free(n->ctx);
        free(n->downstream);
        free(n->producers);
        free(n->eos_from);
        free(n->barrier_from);
        free(n->data_dir);
        free(n->hdr_scratch);
        mf_streams_free(n);
        free(n);
    }
    free(rt->workers);
    for (size_t i = 0; i < rt->n_groups; i++) {
        mf_group *g = &rt->groups[i];
        for (size_t p = 0; p < g->def->n_ports; p++) {
            free(g->ports[p].consumers);
            free(g->ports[p].broadcast);
        }
        free(g->ports);
        free(g->workers);
        free(g->m_queue_records);
        free(g->labels);
    }
    free(rt->groups);
    mf_checkpoint_close(rt);
    mf_savepoint_free(rt);
    mf_ack_domain_free(rt->acks);
    mf_metric_aliases_free(rt->aliases); /* the listener that renders them is stopped */
    mf_metrics_free(rt->metrics);
    mf_pipeline_def_free(rt->def);
    mf_batch_pool_drain();
    pthread_mutex_destroy(&rt->stop_mu);
    pthread_mutex_destroy(&rt->streams_mu);
    pthread_cond_destroy(&rt->stop_cv);
    free(rt);
}
