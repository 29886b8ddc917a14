/*
 * testplugins.h — plugins linked into the unit tests (registered as built-ins)
 * to exercise the engine: a generator source that records its acks, pass and
 * grouping transforms, and a collecting sink with scripted failures.
 */
#ifndef MF_TESTPLUGINS_H
#define MF_TESTPLUGINS_H

#include <martflow/martflow.h>
#include <pthread.h>

#include "plugin_loader.h"

#define TP_MAX 200000

/* What the plugins observed; reset with tp_reset(). */
struct tp_state {
    pthread_mutex_t mu;
    int acked[TP_MAX];          /* gen: times record i's poll batch was acknowledged */
    int64_t emitted;            /* gen */
    int64_t delivered;          /* collect: records received */
    int64_t values[TP_MAX];     /* collect: the "i" of each record, in arrival order */
    int worker_of_key[64];      /* pass: which worker saw key k (-1 none, -2 several) */
    int64_t last_i_of_key[64];  /* collect: per-key order check */
    int order_violations;
    int process_calls;          /* collect */
    int flushes_end, flushes_stop, flushes_checkpoint; /* collect */
    int pauses, resumes;        /* gen */
    int ack_waits;              /* gen: ack_wait calls ... */
    int ack_wait_left;          /* ... and the batches they left outstanding */
    int ticks_after_end;        /* gen: ticks while draining after MF_EOF */
    int collect_ticks;          /* collect: ticks (also while a batch waits to be retried) */
    int stops, frees_unstopped; /* collect: stop() calls; free() without stop() after a good init */
    int64_t stop_deadline;      /* collect: the deadline its stop() was given (monotonic ms) */
    int stack_value_bad;        /* pass: record_value of a stack record overwritten by a later one */
    uint32_t stream_of[TP_MAX]; /* collect: record_stream of record "i" */
    int64_t streams_at_start;   /* collect: stream_count before its first record_stream (-1: not yet) */
    int64_t streams_after_first; /* collect: stream_count right after it */
    int64_t streams_end;        /* collect: stream_count at the end */
    uint32_t stack_stream;      /* collect: record_stream of a record built on its stack */
};
extern struct tp_state tp;

void tp_reset(void);
/* Register gen, pass, group3 and collect in reg. */
void tp_register(mf_registry *reg);

#endif
