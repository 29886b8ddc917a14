/*
 * runtime_internal.h — the running pipeline's structures, shared by the
 * runtime (threads, lifecycle), the host table (what plugins call) and the
 * output path (staging, fan-out, routing).
 *
 * Shapes: a group is one node of the pipeline file; it has one or more workers
 * (parallelism). Each worker is an mf_node: one plugin instance, one thread,
 * and (transforms, sinks) one input queue. Every worker has a producer id; a
 * worker knows the ids of the workers that feed its queue, to align checkpoint
 * barriers and count end-of-stream messages.
 */
#ifndef MF_RUNTIME_INTERNAL_H
#define MF_RUNTIME_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "ack.h"
#include "batch.h"
#include "http.h"
#include "metrics.h"
#include "pipeline.h"
#include "queue.h"
#include "runtime.h"
#include "util.h"

typedef struct mf_group mf_group;

struct mf_node {
    mf_runtime *rt;
    mf_group *g;
    int worker;
    int id;                      /* producer id: index in rt->workers */
    void *ctx;
    mf_optvals *vals;
    bool inited;
    pthread_t thread;
    bool thread_started;

    mf_queue *inq;               /* transforms and sinks */
    mf_batch_impl **staging;     /* per output port */
    mf_node **downstream;        /* distinct consumer workers (control messages) */
    size_t n_downstream;
    int *producers;              /* ids of workers feeding inq */
    size_t n_producers;
    bool *eos_from;              /* per producer index */
    uint64_t *barrier_from;      /* per producer index: last barrier seen */
    size_t eos_count;
    bool eos_stop;               /* some producer stopped rather than ended */
    uint64_t barrier_done;       /* last checkpoint this worker completed */

    /* sources */
    mf_ack_tracker *tracker;
    mf_ack *poll_ack;
    void *poll_cookie;
    bool paused;
    int64_t paused_poll_at;      /* next poll() while paused (monotonic ms) */
    bool ended;                  /* end-of-stream sent: no more emits */
    uint64_t barrier_sent;       /* last checkpoint barrier passed on */

    int64_t tick_ms, next_tick;
    uint64_t rng;
    uint64_t committed_seen;
    _Atomic bool ready;
    _Atomic bool finished;
    _Atomic uint64_t sink_checkpoint; /* sinks: last checkpoint made durable */

    char errbuf[512];            /* record_json errors */
    char reason[512];            /* reject reasons (may quote errbuf) */
    mf_str scratch;
    char *data_dir;              /* host data_dir(), made on first call */
    mf_header *hdr_scratch;      /* reject: headers + reason */
    size_t hdr_cap;
};

struct mf_group {
    mf_runtime *rt;
    const mf_node_def *def;
    const mf_plugin_desc *desc;
    mf_node **workers;
    int n_workers;
    struct mf_port_wiring {
        mf_group **consumers;
        size_t n;
        uint64_t rr; /* round-robin for key-less records into parallel consumers */
    } *ports;
    int64_t retry_max, retry_base_ms, retry_cap_ms;
    char *labels;

    mf_metric *m_in, *m_out, *m_rejected, *m_retries, *m_dropped, *m_unhandled, *m_batches;
    mf_metric **m_queue_records; /* per worker */
};

struct mf_runtime {
    mf_pipeline_def *def;
    const mf_settings *settings;
    mf_group *groups;
    size_t n_groups;
    mf_node **workers;
    size_t n_workers;
    mf_metrics *metrics;
    mf_http *http;
    mf_host host;
    mf_ack_domain *acks;

    _Atomic bool stopping;       /* sources: stop reading */
    _Atomic bool failed;         /* a node returned MF_FATAL */
    _Atomic uint64_t checkpoint_requested;
    _Atomic uint64_t checkpoint_committed;
    _Atomic uint64_t unhandled_rejects;
    _Atomic size_t threads_running;
    _Atomic bool sinks_done;

    pthread_t main_thread;       /* waits in sigtimedwait; mf_runtime_wake signals it */
    _Atomic bool main_waits;
    mf_metric *m_checkpoints, *m_up;
};

/* host.c */
void mf_host_init(mf_host *host);
/* Move a port's staging batch downstream (blocking while queues are full). */
void mf_node_flush_port(mf_node *n, int port);
void mf_node_flush_all(mf_node *n);
/* Send a control message to every distinct downstream worker. */
void mf_node_broadcast(mf_node *n, mf_msg_type type, uint64_t arg);

/* runtime.c */
void mf_runtime_fail(mf_runtime *rt, mf_node *n, const char *why);
void mf_runtime_wake(mf_runtime *rt);
void mf_node_log(mf_node *n, mf_log_level level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* node_threads.c */
void *mf_source_thread(void *arg);
void mf_source_finish_poll(mf_node *n);
void mf_source_service(mf_node *n);
void mf_source_deliver_ack(void *arg, void *cookie);
void *mf_worker_thread(void *arg);

#endif
