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

#endif
