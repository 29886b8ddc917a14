/* gim_jobs.c — see gim_jobs.h. */
#include "gim_jobs.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <martflow/helpers.h>

#include "gim_cron.h"
#include "gim_export.h"
#include "gim_gdpr.h"
#include "gim_maint.h"

/* The kinds a job may be. */
static const gim_job_kind *const kinds[] = {&gim_export_kind, &gim_maint_kind, &gim_gdpr_kind, NULL};

/* Keys every job has, besides its kind's. */
static const char *const common_keys[] = {"kind", "every", "at", "retry", NULL};

#define DEFAULT_RETRY_MS (5 * 60 * 1000)

struct job {
    const char *name;  /* the config's */
    const gim_job_kind *kind;
    void *state;
    int64_t every_ms, retry_ms; /* every_ms 0: `at` (cron) or on demand */
    bool has_at;
    gim_cron at;
    int64_t due_mono;  /* monotonic ms */
    mf_metric *m_ok, *m_failed, *m_duration, *m_rows, *m_last_ok;
};

struct gim_jobs {
    gim_job_env env;
    struct job *j;
    size_t n;
    bool loaded; /* the last starts were read from ctl_etl_history */
};

/* ---- checking ----------------------------------------------------------------------- */

static const gim_job_kind *kind_named(const char *name)
{
    for (size_t i = 0; name && kinds[i]; i++)
        if (!strcmp(kinds[i]->name, name))
            return kinds[i];
    return NULL;
}

static bool valid_name(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
            return false;
    return true;
}

static bool in_list(const char *const *list, const char *key)
{
    for (size_t i = 0; list && list[i]; i++)
        if (!strcmp(list[i], key))
            return true;
    return false;
}

/* A duration option: *ms (unchanged when absent); false after a problem. */
static bool duration(const json_t *job, const char *key, int64_t *ms, mf_check *check)
{
    const json_t *v = json_object_get(job, key);
    if (!v)
        return true;
    if (json_is_string(v) && mf_parse_duration_ms(json_string_value(v), ms) && *ms > 0)
        return true;
    if (check)
        check->problem(check, v, "%s: a duration such as 90s, 15m or 1h is needed", key);
    return false;
}

void gim_jobs_check(const json_t *jobs, mf_check *check)
{
    if (!jobs || json_is_null(jobs))
        return;
    if (!json_is_object(jobs)) {
        check->problem(check, jobs, "jobs: a map of job name -> {kind, every, ...} is needed");
        return;
    }
    const char *name;
    const json_t *job;
    json_object_foreach((json_t *)jobs, name, job)
    {
        if (!valid_name(name))
            check->problem(check, job, "job '%s': a name is [a-z0-9_]+", name);
        if (!json_is_object(job)) {
            check->problem(check, job, "job '%s': a map {kind, every, ...} is needed", name);
            continue;
        }
        const json_t *k = json_object_get(job, "kind");
        const gim_job_kind *kind = kind_named(json_string_value(k));
        if (!kind) {
            mf_buffer names = {0};
            for (size_t i = 0; kinds[i]; i++) {
                if (i)
                    mf_buffer_append_str(&names, ", ");
                mf_buffer_append_str(&names, kinds[i]->name);
            }
            mf_buffer_append(&names, "", 1);
            check->problem(check, k ? k : job, "job '%s': kind must be one of: %s", name, (const char *)names.data);
            mf_buffer_free(&names);
        }
        int64_t every = 0, retry = 0;
        const json_t *ev = json_object_get(job, "every"), *at = json_object_get(job, "at");
        if (kind && kind->on_demand && (ev || at))
            check->problem(check, ev ? ev : at, "job '%s': a %s job runs only on demand (martflow job): no %s", name,
                           kind->name, ev ? "every" : "at");
        else if (ev && at)
            check->problem(check, at, "job '%s': every or at, not both", name);
        else if (!ev && !at && !(kind && kind->on_demand))
            check->problem(check, job, "job '%s': every (an interval, e.g. 1h) or at (a cron-like schedule in UTC,"
                           " e.g. \"30 2 * * *\") is required", name);
        if (at) {
            gim_cron c;
            char why[256];
            if (!json_is_string(at))
                check->problem(check, at, "job '%s': at is a string \"MIN HOUR DAY MONTH WEEKDAY\" (UTC)", name);
            else if (!gim_cron_parse(json_string_value(at), &c, why, sizeof why))
                check->problem(check, at, "job '%s': at \"%s\": %s", name, json_string_value(at), why);
        }
        duration(job, "every", &every, check);
        duration(job, "retry", &retry, check);
        const char *key;
        const json_t *v;
        json_object_foreach((json_t *)job, key, v)
        {
            if (!in_list(common_keys, key) && !(kind && in_list(kind->keys, key)))
                check->problem(check, v, "job '%s': unknown option '%s'", name, key);
        }
        if (kind && kind->check)
            kind->check(job, check);
    }
}

void gim_jobs_list(const json_t *jobs, void (*fn)(void *arg, const char *name, const json_t *at), void *arg)
{
    const char *name;
    const json_t *job;
    if (json_is_object(jobs))
        json_object_foreach((json_t *)jobs, name, job) fn(arg, name, job);
}

/* ---- the set ------------------------------------------------------------------------ */

static mf_metric *job_metric(const gim_job_env *env, bool counter, const char *name, const char *job,
                             const char *status, const char *help)
{
    char labels[160];
    if (status)
        snprintf(labels, sizeof labels, "job=\"%s\",status=\"%s\"", job, status);
    else
        snprintf(labels, sizeof labels, "job=\"%s\"", job);
    return counter ? env->host->counter(env->node, name, labels, help) : env->host->gauge(env->node, name, labels, help);
}

gim_jobs *gim_jobs_new(const json_t *jobs, const gim_job_env *env, char *why, size_t why_size)
{
    gim_jobs *s = mf_xcalloc(1, sizeof *s);
    s->env = *env;
    size_t n = json_is_object(jobs) ? json_object_size(jobs) : 0;
    s->j = mf_xcalloc(n + 1, sizeof *s->j);
    const char *name;
    const json_t *job;
    if (!n)
        return s;
    json_object_foreach((json_t *)jobs, name, job)
    {
        struct job *j = &s->j[s->n];
        j->name = name;
        j->kind = kind_named(json_string_value(json_object_get(job, "kind")));
        j->retry_ms = DEFAULT_RETRY_MS;
        const json_t *at = json_object_get(job, "at");
        char cwhy[256];
        j->has_at = at != NULL;
        if (!j->kind || !duration(job, "every", &j->every_ms, NULL) ||
            (at && !gim_cron_parse(json_string_value(at), &j->at, cwhy, sizeof cwhy)) ||
            (!j->every_ms && !j->has_at && !j->kind->on_demand) ||
            !duration(job, "retry", &j->retry_ms, NULL)) {
            snprintf(why, why_size, "job '%s': not checked (kind, every, retry)", name);
            gim_jobs_free(s);
            return NULL;
        }
        char kwhy[512] = "";
        j->state = j->kind->open(job, &s->env, kwhy, sizeof kwhy);
        if (!j->state) {
            snprintf(why, why_size, "job '%s': %s", name, kwhy);
            gim_jobs_free(s);
            return NULL;
        }
        s->n++;
        if (gim_jobs_disabled(s, s->n - 1))
            env->host->log(env->node, MF_LOG_INFO, "job '%s' is disabled: %s", name, gim_jobs_disabled(s, s->n - 1));
        j->m_ok = job_metric(env, true, "gim_job_runs_total", name, "success", "Job runs, by job and outcome");
        j->m_failed = job_metric(env, true, "gim_job_runs_total", name, "failed", "Job runs, by job and outcome");
        j->m_duration = job_metric(env, false, "gim_job_duration_seconds", name, NULL, "The last run's duration");
        j->m_rows = job_metric(env, false, "gim_job_rows", name, NULL, "Rows the last run handled");
        j->m_last_ok = job_metric(env, false, "gim_job_last_success_seconds", name, NULL,
                                  "Epoch seconds when the last successful run started (0: none yet)");
    }
    return s;
}

void gim_jobs_free(gim_jobs *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        s->j[i].kind->close(s->j[i].state);
    free(s->j);
    free(s);
}

size_t gim_jobs_count(const gim_jobs *s)
{
    return s ? s->n : 0;
}

long gim_jobs_find(const gim_jobs *s, const char *name)
{
    for (size_t i = 0; s && i < s->n; i++)
        if (!strcmp(s->j[i].name, name))
            return (long)i;
    return -1;
}

const char *gim_jobs_disabled(const gim_jobs *s, size_t i)
{
    const struct job *j = &s->j[i];
    return j->kind->disabled ? j->kind->disabled(j->state) : NULL;
}

/* ---- schedule ----------------------------------------------------------------------- */

/* A job with `at`: the monotonic ms of its first fire after `from_s` (epoch s). */
static int64_t at_due(const struct job *j, int64_t from_s, int64_t now_ms, int64_t now_mono)
{
    int64_t next = gim_cron_next(&j->at, from_s);
    if (next < 0)
        return INT64_MAX; /* not for a parsed schedule */
    int64_t wait = next * 1000 - now_ms;
    return now_mono + (wait > 0 ? wait : 0);
}

/* When job j may be retried after a failure at now: after `retry`, but not
 * later than its next regular time. */
static int64_t retry_due(const gim_jobs *s, const struct job *j, int64_t now_mono)
{
    if (j->has_at) {
        int64_t next = at_due(j, s->env.host->now_ms() / 1000, s->env.host->now_ms(), now_mono);
        return next < now_mono + j->retry_ms ? next : now_mono + j->retry_ms;
    }
    return now_mono + (j->retry_ms < j->every_ms ? j->retry_ms : j->every_ms);
}

/* Each job due `every` after its last start in ctl_etl_history (one never run
 * is due now), or, with `at`, at its first fire after the last start (one
 * never run: the next from now). */
static bool load_last_starts(gim_jobs *s, pgc *pg, int64_t now_mono)
{
    int64_t now_ms = s->env.host->now_ms();
    for (size_t i = 0; i < s->n; i++) {
        const char *p[1] = {s->j[i].name};
        PGresult *r = NULL;
        if (pgc_exec(pg, "SELECT max(start_ts) FROM ctl_etl_history WHERE job_name = $1", 1, p, &r) != PGC_OK)
            return false;
        s->j[i].due_mono = now_mono;
        if (s->j[i].has_at) { /* the next fire after the last start (never run: after now) */
            int64_t from = PQgetisnull(r, 0, 0) ? now_ms / 1000 : strtoll(PQgetvalue(r, 0, 0), NULL, 10);
            s->j[i].due_mono = at_due(&s->j[i], from, now_ms, now_mono);
        } else if (!PQgetisnull(r, 0, 0)) {
            int64_t last_ms = strtoll(PQgetvalue(r, 0, 0), NULL, 10) * 1000;
            int64_t wait = last_ms + s->j[i].every_ms - now_ms;
            s->j[i].due_mono = now_mono + (wait > 0 ? wait : 0);
        }
        PQclear(r);
    }
    return true;
}

long gim_jobs_due(gim_jobs *s, pgc *pg, int64_t now_mono)
{
    if (!s || !s->n)
        return -1;
    if (!s->loaded) {
        if (!load_last_starts(s, pg, now_mono))
            return -1;
        s->loaded = true;
    }
    for (size_t i = 0; i < s->n; i++)
        if (!s->j[i].kind->on_demand && now_mono >= s->j[i].due_mono && !gim_jobs_disabled(s, i))
            return (long)i;
    return -1;
}

/* ---- a run -------------------------------------------------------------------------- */

static pgc_class history_start(gim_jobs *s, struct job *j, pgc *pg, int64_t start_ms, int64_t *key)
{
    char st[24];
    snprintf(st, sizeof st, "%" PRId64, start_ms / 1000);
    const char *p[3] = {j->name, s->env.job_instance, st};
    PGresult *r = NULL;
    pgc_class cls = pgc_exec(pg,
                             "INSERT INTO ctl_etl_history (job_name, job_instance, status, start_ts)"
                             " VALUES ($1, $2, 'RUNNING', $3) RETURNING etl_history_key",
                             3, p, &r);
    if (cls == PGC_OK) {
        *key = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        PQclear(r);
    }
    return cls;
}

static pgc_class history_end(pgc *pg, int64_t key, bool ok, int64_t start_ms, int64_t end_ms, int64_t rows,
                             const char *error)
{
    char k[24], e[24], d[24], n[24];
    snprintf(k, sizeof k, "%" PRId64, key);
    snprintf(e, sizeof e, "%" PRId64, end_ms / 1000);
    snprintf(d, sizeof d, "%" PRId64, end_ms - start_ms);
    snprintf(n, sizeof n, "%" PRId64, rows);
    const char *p[6] = {k, ok ? "SUCCESS" : "FAILED", e, d, n, ok ? NULL : error};
    return pgc_exec(pg,
                    "UPDATE ctl_etl_history SET status = $2, end_ts = $3, duration_ms = $4, row_count = $5,"
                    " error_message = $6 WHERE etl_history_key = $1",
                    6, p, NULL);
}

int gim_jobs_run(gim_jobs *s, size_t i, pgc *pg, int lock_wait_ms, int argc, const char *const *argv)
{
    const mf_host *h = s->env.host;
    mf_node *node = s->env.node;
    struct job *j = &s->j[i];
    if (argc > 0 && !j->kind->takes_args) {
        h->log(node, MF_LOG_ERROR, "job '%s' (%s) takes no arguments", j->name, j->kind->name);
        return MF_FATAL;
    }
    bool got = false;
    pgc_class cls = pgc_lock_wait(pg, GIM_JOBS_LOCK_KEY, lock_wait_ms, &got);
    if (cls != PGC_OK || !got) {
        if (cls == PGC_OK)
            h->log(node, MF_LOG_INFO, "job '%s' waits: another job runs on this Info Mart (advisory lock %" PRId64
                   ")", j->name, GIM_JOBS_LOCK_KEY);
        else
            h->log(node, MF_LOG_WARN, "job '%s': %s", j->name, pgc_last_error(pg)->message);
        j->due_mono = retry_due(s, j, h->monotonic_ms());
        return cls == PGC_FATAL ? MF_FATAL : MF_RETRY;
    }
    gim_job_run run = {.env = &s->env, .pg = pg, .name = j->name, .start_ms = h->now_ms(), .argc = argc,
                       .argv = argv};
    int64_t t0 = h->monotonic_ms(), key = 0;
    cls = history_start(s, j, pg, run.start_ms, &key);
    if (cls == PGC_OK) {
        h->log(node, MF_LOG_INFO, "job '%s' (%s) started", j->name, j->kind->name);
        cls = j->kind->run(j->state, &run);
        if (pgc_in_transaction(pg))
            pgc_rollback(pg); /* a kind that failed half-way */
        pgc_class hc = history_end(pg, key, cls == PGC_OK, run.start_ms, h->now_ms(), run.rows, run.error);
        if (hc != PGC_OK) {
            h->log(node, MF_LOG_WARN, "job '%s': completing its ctl_etl_history row: %s", j->name,
                   pgc_last_error(pg)->message);
            if (cls == PGC_OK)
                cls = hc;
        }
    } else {
        snprintf(run.error, sizeof run.error, "writing ctl_etl_history: %.700s", pgc_last_error(pg)->message);
    }
    pgc_unlock(pg, GIM_JOBS_LOCK_KEY, NULL);
    int64_t ms = h->monotonic_ms() - t0;
    h->metric_set(j->m_duration, (double)ms / 1000.0);
    h->metric_set(j->m_rows, (double)run.rows);
    if (cls == PGC_OK) {
        h->metric_add(j->m_ok, 1);
        h->metric_set(j->m_last_ok, (double)(run.start_ms / 1000));
        h->log(node, MF_LOG_INFO, "job '%s' succeeded: %" PRId64 " rows in %" PRId64 " ms", j->name, run.rows, ms);
        j->due_mono = j->has_at ? at_due(j, run.start_ms / 1000, h->now_ms(), h->monotonic_ms()) : t0 + j->every_ms;
        return MF_OK;
    }
    h->metric_add(j->m_failed, 1);
    h->log(node, MF_LOG_ERROR, "job '%s' failed (%s) after %" PRId64 " ms: %s", j->name, pgc_class_name(cls), ms,
           run.error);
    j->due_mono = retry_due(s, j, h->monotonic_ms());
    return cls == PGC_TRANSIENT ? MF_RETRY : MF_FATAL;
}
