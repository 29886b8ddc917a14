/*
 * runtime.h — running a validated pipeline: one plugin instance and one thread
 * per worker, bounded queues between them, end-to-end acknowledgement back to
 * the sources, checkpoints, signals and the exit status.
 */
#ifndef MF_RUNTIME_H
#define MF_RUNTIME_H

#include "pipeline.h"

enum {
    MF_EXIT_OK = 0,
    MF_EXIT_FAILED = 1,  /* a node failed, records were rejected with no errors port, or the grace period ran out */
    MF_EXIT_CONFIG = 2,  /* the pipeline file or command line is wrong */
    MF_EXIT_SIGNAL = 130 /* a second SIGINT/SIGTERM cut the shutdown short */
};

typedef struct mf_runtime mf_runtime;

/* Build the running pipeline and init every plugin instance (sinks first).
 * Takes ownership of def. NULL with *error (malloc'd) if an init failed. */
mf_runtime *mf_runtime_new(mf_pipeline_def *def, char **error);
/* Run until every source ends (or a signal, or a failure); returns the exit
 * status. SIGINT and SIGTERM are handled here. */
int mf_runtime_run(mf_runtime *rt);
void mf_runtime_free(mf_runtime *rt);

/* `martflow job`: run the job `name` that a node declares (plugin ABI 1.4
 * list_jobs/run_job): that node alone is initialised (no source starts, no
 * checkpoint is restored), its run_job called once, then it is stopped and
 * freed. An unknown name is an error listing the jobs that exist, each with
 * its file:line. Takes ownership of def. Returns the exit status: MF_EXIT_OK
 * when the job succeeded, MF_EXIT_FAILED when it failed, MF_EXIT_CONFIG for
 * an unknown name. argv[0..argc): the job's arguments (after `--`), given to
 * run_job_args (ABI 1.5); arguments for a plugin without it are an error
 * (MF_EXIT_CONFIG). */
int mf_runtime_job(mf_pipeline_def *def, const char *name, int argc, const char *const *argv);

#endif
