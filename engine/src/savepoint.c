/*
 * savepoint.c — savepoints (docs/checkpoints.md, "Savepoints"): a checkpoint
 * taken on demand into settings.savepoints, asked for by POST /savepoint on
 * the operations listener (`martflow savepoint`) or by SIGUSR1.
 *
 * A request waits in rt->sp_queue (on the requester's stack, its thread
 * blocked until it is answered or its timeout passes). The coordinator (main
 * thread) starts the next barrier at once when one waits and no checkpoint
 * is in flight, marks that barrier as the savepoint, and once every sink has
 * passed it stores the snapshots into the savepoint location instead of the
 * checkpoint store, as sp-<N>, N one above the highest savepoint there: a
 * savepoint is never overwritten, and checkpoint retention never looks at
 * these names. It is then committed like a checkpoint.
 *
 * With stop the sources hold at the savepoint's barrier (they emit nothing
 * after it until it is resolved): stored, the pipeline stops, so the output
 * written before the stop is exactly what the savepoint's state accounts
 * for and a run started from it continues without duplicates; failed, the
 * sources go on and the pipeline keeps running.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <martflow/helpers.h>

#include "checkpoint_store.h"
#include "log.h"
#include "runtime_internal.h"

#define SP_PREFIX "sp-"

struct mf_savepoint_wait {
    bool stop;
    bool done;
    int status;  /* HTTP status of the answer */
    char *body;  /* JSON answer (the waiter's once done) */
    mf_savepoint_wait *next;
};

void mf_savepoint_init(mf_runtime *rt, const char *labels)
{
    pthread_mutex_init(&rt->sp_mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&rt->sp_cv, &ca);
    pthread_condattr_destroy(&ca);
    mf_metrics *m = rt->metrics;
    rt->m_sp = mf_metrics_get(m, MF_METRIC_COUNTER, "martflow_savepoints_total", labels, "Savepoints stored");
    rt->m_sp_failed = mf_metrics_get(m, MF_METRIC_COUNTER, "martflow_savepoint_failures_total", labels,
                                     "Savepoints that could not be taken or stored");
    rt->m_sp_duration = mf_metrics_get(m, MF_METRIC_GAUGE, "martflow_savepoint_duration_seconds", labels,
                                       "Last stored savepoint: from its barrier request to its manifest");
    rt->m_sp_bytes = mf_metrics_get(m, MF_METRIC_GAUGE, "martflow_savepoint_size_bytes", labels,
                                    "Last stored savepoint: bytes of its objects and manifest");
}

void mf_savepoint_free(mf_runtime *rt)
{
    mf_ckpt_store_close(rt->sp_store);
    rt->sp_store = NULL;
    free(rt->sp_url);
    free(rt->sp_result);
    pthread_mutex_destroy(&rt->sp_mu);
    pthread_cond_destroy(&rt->sp_cv);
}

/* settings.savepoints without its trailing slashes (malloc'd). */
static char *location(const char *url)
{
    size_t n = strlen(url);
    while (n && url[n - 1] == '/')
        n--;
    return mf_xstrndup(url, n);
}

bool mf_savepoint_open(mf_runtime *rt, const struct mf_objstore_opts *opts, char **error)
{
    const char *url = rt->settings->savepoints;
    if (!url || !*url)
        return true;
    char *err = NULL;
    rt->sp_store = mf_ckpt_store_open_as(url, opts, rt->def->name, SP_PREFIX, &err);
    if (!rt->sp_store) {
        *error = mf_xasprintf("settings.savepoints: %s", err ? err : "cannot open");
        free(err);
        return false;
    }
    rt->sp_url = location(url);
    return true;
}

bool mf_savepoint_parse_url(const char *url, char **loc, uint64_t *id)
{
    char *u = location(url);
    char *slash = strrchr(u, '/');
    const char *name = slash ? slash + 1 : "";
    char *end = NULL;
    bool ok = slash && strstr(u, "://") && strstr(u, "://") + 2 < slash &&
              !strncmp(name, SP_PREFIX, strlen(SP_PREFIX)) && name[strlen(SP_PREFIX)] >= '0' &&
              name[strlen(SP_PREFIX)] <= '9';
    if (ok) {
        *id = strtoull(name + strlen(SP_PREFIX), &end, 10);
        ok = !*end;
    }
    if (ok) {
        *slash = '\0';
        *loc = u;
    } else {
        free(u);
    }
    return ok;
}

/* ---- answers ------------------------------------------------------------------------- */

static char *error_body(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *error_body(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    mf_str msg = {0};
    mf_str_vprintf(&msg, fmt, ap);
    va_end(ap);
    mf_str out = {0};
    mf_str_puts(&out, "{\"error\": \"");
    mf_str_json_escape(&out, msg.data ? msg.data : "", msg.len);
    mf_str_puts(&out, "\"}\n");
    mf_str_free(&msg);
    return mf_str_take(&out);
}

/* Answer every request of list; under sp_mu. */
static void answer_all(mf_runtime *rt, mf_savepoint_wait **list, int status, const char *body)
{
    for (mf_savepoint_wait *w = *list; w; w = w->next) {
        w->status = status;
        w->body = mf_xstrdup(body);
        w->done = true;
    }
    *list = NULL;
    pthread_cond_broadcast(&rt->sp_cv);
}

static void unlink_wait(mf_savepoint_wait **list, mf_savepoint_wait *me)
{
    for (mf_savepoint_wait **p = list; *p; p = &(*p)->next)
        if (*p == me) {
            *p = me->next;
            return;
        }
}

int mf_savepoint_http(void *arg, const char *pipeline, bool stop, int64_t timeout_ms, char **body)
{
    mf_runtime *rt = arg;
    if (pipeline && *pipeline && strcmp(pipeline, rt->def->name) != 0) {
        *body = error_body("this listener runs pipeline '%s', not '%s'", rt->def->name, pipeline);
        return 409;
    }
    if (!rt->sp_store) {
        *body = error_body("settings.savepoints is not set in the running pipeline '%s': no location to store a "
                           "savepoint in",
                           rt->def->name);
        return 409;
    }
    mf_savepoint_wait me = {.stop = stop};
    struct timespec until = mf_timespec_after(CLOCK_MONOTONIC, timeout_ms);
    pthread_mutex_lock(&rt->sp_mu);
    if (rt->sp_closed || atomic_load(&rt->stopping)) {
        pthread_mutex_unlock(&rt->sp_mu);
        *body = error_body("pipeline '%s' is stopping: no savepoint taken", rt->def->name);
        return 503;
    }
    me.next = rt->sp_queue;
    rt->sp_queue = &me;
    atomic_store(&rt->sp_wanted, true);
    pthread_mutex_unlock(&rt->sp_mu);
    mf_runtime_wake(rt);

    pthread_mutex_lock(&rt->sp_mu);
    while (!me.done)
        if (pthread_cond_timedwait(&rt->sp_cv, &rt->sp_mu, &until) != 0)
            break;
    if (!me.done) {
        /* nobody may answer into this frame once it returns */
        unlink_wait(&rt->sp_queue, &me);
        unlink_wait(&rt->sp_taking, &me);
        pthread_mutex_unlock(&rt->sp_mu);
        *body = error_body("the savepoint did not complete within %.0f s (it may still: see the pipeline's log)",
                           (double)timeout_ms / 1000.0);
        return 504;
    }
    pthread_mutex_unlock(&rt->sp_mu);
    *body = me.body;
    return me.status;
}

void mf_savepoint_signal(mf_runtime *rt)
{
    if (!rt->sp_store) {
        mf_log_warn("SIGUSR1 asks for a savepoint, but settings.savepoints is not set: ignored");
        return;
    }
    pthread_mutex_lock(&rt->sp_mu);
    rt->sp_signal = true;
    atomic_store(&rt->sp_wanted, true);
    pthread_mutex_unlock(&rt->sp_mu);
}

/* ---- the coordinator's side ------------------------------------------------------------ */

bool mf_savepoint_start(mf_runtime *rt, uint64_t barrier)
{
    if (!atomic_load(&rt->sp_wanted))
        return false;
    pthread_mutex_lock(&rt->sp_mu);
    rt->sp_taking = rt->sp_queue;
    rt->sp_queue = NULL;
    rt->sp_stop = false;
    for (mf_savepoint_wait *w = rt->sp_taking; w; w = w->next)
        rt->sp_stop |= w->stop;
    bool wanted = rt->sp_taking || rt->sp_signal;
    rt->sp_signal = false;
    atomic_store(&rt->sp_wanted, false);
    pthread_mutex_unlock(&rt->sp_mu);
    if (!wanted) /* every requester gave up */
        return false;
    rt->sp_barrier = barrier;
    if (rt->sp_stop) /* before the barrier is requested: sources hold right behind it */
        atomic_store(&rt->sp_hold, barrier);
    mf_log_info("savepoint requested%s: checkpoint barrier %" PRIu64, rt->sp_stop ? " (then stop)" : "",
                rt->ckpt_base + barrier);
    return true;
}

bool mf_savepoint_store(mf_runtime *rt, uint64_t barrier)
{
    char *why = NULL;
    uint64_t high = 0, bytes = 0;
    bool skipped;
    free(rt->sp_result);
    rt->sp_result = NULL;
    rt->sp_ok = false;
    if (mf_ckpt_highest_id(rt->sp_store, &high, &why) != MF_OBJ_OK) {
        rt->sp_result = mf_xasprintf("cannot list %s: %s", rt->sp_url, why ? why : "object store error");
        free(why);
    } else if (!mf_checkpoint_write(rt, rt->sp_store, high + 1, barrier, &bytes, &skipped, &why)) {
        rt->sp_result = why;
    } else {
        char dir[32];
        mf_ckpt_store_dir_name(rt->sp_store, high + 1, dir, sizeof dir);
        int64_t took = mf_time_mono_ms() - rt->ckpt_started_ms;
        rt->sp_ok = true;
        mf_metric_add(rt->m_sp, 1);
        mf_metric_set(rt->m_sp_duration, (double)took / 1000.0);
        mf_metric_set(rt->m_sp_bytes, (double)bytes);
        mf_str b = {0};
        mf_str_puts(&b, "{\"savepoint\": \"");
        char *url = mf_xasprintf("%s/%s", rt->sp_url, dir);
        mf_str_json_escape(&b, url, strlen(url));
        mf_str_printf(&b, "\", \"id\": %" PRIu64 ", \"checkpoint\": %" PRIu64 ", \"bytes\": %" PRIu64
                          ", \"duration_ms\": %lld, \"stopping\": %s}\n",
                      high + 1, rt->ckpt_base + barrier, bytes, (long long)took, rt->sp_stop ? "true" : "false");
        mf_log_info("savepoint stored: %s (%" PRIu64 " bytes, %lld ms)%s", url, bytes, (long long)took,
                    rt->sp_stop ? "; stopping the pipeline" : "");
        free(url);
        rt->sp_result = mf_str_take(&b);
        return true;
    }
    mf_metric_add(rt->m_sp_failed, 1);
    mf_log_warn("savepoint failed (the pipeline goes on): %s", rt->sp_result);
    return false;
}

void mf_savepoint_done(mf_runtime *rt)
{
    bool stop = rt->sp_ok && rt->sp_stop;
    if (stop) /* before the hold is released: the held sources stop, they do not read on */
        mf_runtime_begin_stop(rt);
    atomic_store(&rt->sp_hold, 0);
    rt->sp_barrier = 0;
    char *fail = rt->sp_ok ? NULL : error_body("savepoint failed: %s", rt->sp_result ? rt->sp_result : "");
    pthread_mutex_lock(&rt->sp_mu);
    answer_all(rt, &rt->sp_taking, rt->sp_ok ? 200 : 500, fail ? fail : rt->sp_result);
    pthread_mutex_unlock(&rt->sp_mu);
    free(fail);
    if (stop)
        mf_runtime_wake(rt);
}

void mf_savepoint_abort(mf_runtime *rt, const char *why, bool close)
{
    if (!close && !atomic_load(&rt->sp_wanted) && !rt->sp_barrier)
        return;
    if (rt->sp_barrier || atomic_load(&rt->sp_wanted))
        mf_log_warn("savepoint not taken: %s", why);
    atomic_store(&rt->sp_hold, 0);
    rt->sp_barrier = 0;
    char *body = error_body("savepoint not taken: %s", why);
    pthread_mutex_lock(&rt->sp_mu);
    answer_all(rt, &rt->sp_taking, 503, body);
    answer_all(rt, &rt->sp_queue, 503, body);
    rt->sp_signal = false;
    atomic_store(&rt->sp_wanted, false);
    if (close)
        rt->sp_closed = true;
    pthread_mutex_unlock(&rt->sp_mu);
    free(body);
}

bool mf_savepoint_holds(const mf_node *n)
{
    uint64_t h = atomic_load(&n->rt->sp_hold);
    return h && n->barrier_sent >= h;
}
