/*
 * gim_jobs.h — the Info Mart's jobs (the gim sink's `jobs:` option): named
 * runs of a kind (export, maintenance; GDPR plugs in the same way),
 * each on an interval, run by the loader between ETL cycles or at once by
 * `martflow job FILE NAME` (plugin ABI 1.4 run_job).
 *
 *   jobs:
 *     export:                  # the job's name: [a-z0-9_]+
 *       kind: export           # which gim_job_kind
 *       every: 1h              # due this long after its last run started
 *       retry: 5m              # after a failure, due again this long after it ended (at most `every`)
 *       ...                    # the kind's own options
 *
 * A run, whatever its kind: the jobs' advisory lock (GIM_JOBS_LOCK_KEY, on
 * the run's connection: never two jobs at once on one database, from any
 * process), a ctl_etl_history row (job_name = the job's name) written
 * RUNNING and completed SUCCESS or FAILED with rows, duration and the
 * error, and the metrics gim_job_runs_total{job,status},
 * gim_job_duration_seconds{job}, gim_job_rows{job} and
 * gim_job_last_success_seconds{job}. The schedule survives restarts: the
 * last start of each job is read back from ctl_etl_history.
 *
 * Ownership: gim_jobs_new returns a set the caller frees with
 * gim_jobs_free. The config it was made from (the node's) must outlive it.
 */
#ifndef MF_GIM_JOBS_H
#define MF_GIM_JOBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <martflow/martflow.h>
#include <martflow/objstore.h>

#include "pg_client.h"

/* "mf-jobs" in ASCII: the jobs' lock, besides the loader's and the schema's. */
#define GIM_JOBS_LOCK_KEY INT64_C(0x6d662d6a6f6273)

/* What the sink gives every job (borrowed for the set's life). */
typedef struct gim_job_env {
    const mf_host *host;
    mf_node *node;
    const struct mf_objstore_opts *s3; /* for s3:// targets (the sink's s3_* options) */
    const char *job_instance;          /* ctl_*.job_instance */
} gim_job_env;

/* One run of a job, as its kind sees it. */
typedef struct gim_job_run {
    const gim_job_env *env;
    pgc *pg;          /* connected, holding the jobs' lock, no transaction open */
    const char *name; /* the job's name */
    int64_t start_ms; /* epoch ms */
    int argc;                 /* the job's arguments (`martflow job ... -- ARG...`; kinds with args) */
    const char *const *argv;
    int64_t rows;     /* out: rows the run handled (ctl_etl_history.row_count) */
    char error[768];  /* out: why it failed */
} gim_job_run;

/*
 * A kind of job. keys: its own option names (NULL-ended). check: report
 * what is wrong in a job's options (no host: `martflow check`). open: the
 * kind's state from them (NULL with why: the sink does not start). run:
 * PGC_OK, PGC_TRANSIENT (failed; may succeed later), or another class
 * (failed); fills run->rows and run->error.
 */
typedef struct gim_job_kind {
    const char *name;
    const char *const *keys;
    void (*check)(const json_t *job, mf_check *check);
    void *(*open)(const json_t *job, const gim_job_env *env, char *why, size_t why_size);
    pgc_class (*run)(void *state, gim_job_run *run);
    void (*close)(void *state);
    /* Optional: NULL when the job is enabled, else why not (an export with an
     * empty target): never due, and `martflow job` refuses it. */
    const char *(*disabled)(const void *state);
    /* Run only on demand (`martflow job`, `martflow gdpr`): no schedule
     * (`every` refused), never due in the loader. */
    bool on_demand;
    /* Takes arguments (gim_job_run argc/argv); the others refuse any. */
    bool takes_args;
} gim_job_kind;

typedef struct gim_jobs gim_jobs;

/* Check the `jobs:` value (NULL: none) for `validate`. */
void gim_jobs_check(const json_t *jobs, mf_check *check);

/* Call fn for each job declared (list_jobs). */
void gim_jobs_list(const json_t *jobs, void (*fn)(void *arg, const char *name, const json_t *at), void *arg);

/* The set of jobs of a checked `jobs:` value (NULL: an empty set), or NULL
 * with why (a kind could not open). env is copied. */
gim_jobs *gim_jobs_new(const json_t *jobs, const gim_job_env *env, char *why, size_t why_size);
void gim_jobs_free(gim_jobs *s);
size_t gim_jobs_count(const gim_jobs *s);

/* The index of job `name`, or -1. */
long gim_jobs_find(const gim_jobs *s, const char *name);

/* Why job i is disabled, or NULL (enabled). */
const char *gim_jobs_disabled(const gim_jobs *s, size_t i);

/* The index of a job due at now_mono (monotonic ms), or -1. The first call
 * reads the jobs' last starts from ctl_etl_history on pg (until that
 * succeeds, nothing is due). */
long gim_jobs_due(gim_jobs *s, pgc *pg, int64_t now_mono);

/*
 * Run job i now on pg, with argv[0..argc) (refused, MF_FATAL, for a kind
 * that takes none). lock_wait_ms: how long to wait for the jobs' lock
 * (0: one try; the loader does not wait, `martflow job` does). MF_OK (it
 * succeeded), MF_RETRY (the lock is held elsewhere or the database is down:
 * not run, or failed transiently), MF_FATAL (it failed).
 */
int gim_jobs_run(gim_jobs *s, size_t i, pgc *pg, int lock_wait_ms, int argc, const char *const *argv);

#endif
