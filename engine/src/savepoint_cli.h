/*
 * savepoint_cli.h — `martflow savepoint FILE [--stop]`: ask the pipeline of
 * FILE, running, for a savepoint through POST /savepoint on its operations
 * listener (settings.metrics_listen, or --listen HOST:PORT), print the
 * savepoint's URL, and with stop wait until the pipeline has stopped. The
 * protocol is docs/checkpoints.md, "Savepoints".
 */
#ifndef MF_SAVEPOINT_CLI_H
#define MF_SAVEPOINT_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include "pipeline.h"

/* listen: NULL for the file's settings.metrics_listen. An MF_EXIT_* code,
 * after a message on stderr when it is not OK. */
int mf_savepoint_cli(const mf_pipeline_def *def, const char *file, const char *listen, int64_t timeout_ms, bool stop);

#endif
