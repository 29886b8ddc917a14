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
#include "metric_alias.h"
#include "metrics.h"
#include "pipeline.h"
#include "queue.h"
#include "runtime.h"
#include "util.h"

typedef struct mf_group mf_group;
typedef struct mf_savepoint_wait mf_savepoint_wait;
struct mf_objstore_opts;

struct mf_node {
    mf_runtime *rt;
    mf_group *g;
    int worker;
    int id;                      /* producer id: index in rt->workers */
    void *ctx;
    mf_optvals *vals;
    bool inited;                 /* init was called: free() is due */
    bool started;                /* init succeeded: stop() is due before free() */
    bool stopped;
    pthread_t thread;
    bool thread_started;

    mf_queue *inq;               /* transforms and sinks */
    mf_batch_impl **staging;     /* per output port */
    struct mf_held {             /* per output port: full staging batches held */
        mf_batch_impl *head, *tail; /* back during process() (route.c) */
    } *held;
    bool holding;
    bool hold_overflow;
    size_t held_bytes, hold_limit;
    uint64_t rr;                 /* round-robin of key-less records into parallel consumers */
    mf_node **downstream;        /* distinct consumer workers (control messages) */
    size_t n_downstream;
    int *producers;              /* ids of workers feeding inq */
    size_t n_producers;
    bool *eos_from;              /* per producer index */
    uint64_t *barrier_from;      /* per producer index: last barrier seen */
    size_t eos_count;
    bool eos_stop;               /* some producer stopped rather than ended */
    uint64_t barrier_pending;    /* highest barrier seen from any producer */
    uint64_t barrier_done;       /* last checkpoint this worker completed */
    bool failed;                 /* this node failed: drain without acknowledging */
    bool abandoning;             /* shutdown with a batch still failing: drain, unacknowledged */
    struct mf_retry {
        mf_batch_impl *batch;    /* transforms/sinks: the batch waiting for its retry */
        unsigned attempt;        /* failures so far of the batch or poll */
        int64_t at;              /* monotonic ms of the next attempt */
    } retry;

    /* sources */
    mf_ack_tracker *tracker;
    mf_ack *poll_ack;
    void *poll_cookie;
    bool paused;
    int64_t paused_poll_at;      /* next poll() while paused (monotonic ms) */
    bool ended;                  /* end-of-stream sent: no more emits */
    _Atomic bool input_ended;    /* sources: the same, for the sources that wait (`after`) */
    bool after_done;             /* sources: every source of its `after` has ended */
    bool eof;                    /* the plugin said MF_EOF */
    uint64_t barrier_sent;       /* last checkpoint barrier passed on */

    int64_t tick_ms, next_tick;
    uint64_t rng;
    uint64_t committed_seen;
    bool in_poll;                /* sources: inside poll() (no snapshot there) */
    /* With a checkpoint store (checkpoint_run.c): the snapshot taken at
     * barrier snap_id, read by the coordinator once the checkpoint is due. */
    mf_buffer snap;
    bool snap_failed;
    _Atomic uint64_t snap_id;
    /* ... and the one taken at the node's end (written once, then
     * snap_end_ready): for every checkpoint whose barrier it never got. */
    mf_buffer snap_end;
    bool snap_end_failed;
    _Atomic bool snap_end_ready;
    /* Aligned barriers (stateful nodes with a store): messages from a
     * producer that already sent the pending barrier wait here, in order. */
    bool aligns;
    mf_msg *stash;
    size_t n_stash, cap_stash;
    bool stash_ready;            /* a barrier completed: look at the stash again */
    _Atomic bool ready;
    _Atomic bool finished;
    _Atomic uint64_t sink_checkpoint; /* sinks: last checkpoint made durable */

    char errbuf[512];            /* record_json errors */
    char reason[512];            /* reject reasons (may quote errbuf) */
    mf_batch_impl *cb_arena;     /* record_value of stack records: freed when the callback returns */
    char *data_dir;              /* host data_dir(), made on first call */
    mf_header *hdr_scratch;      /* reject: headers + reason */
    size_t hdr_cap;
    struct mf_stream_table *streams; /* record_stream's numbering (streams.c) */
    struct mf_announced *announced;  /* sources: source_streams, under rt->streams_mu */
    size_t n_announced;
};

struct mf_group {
    mf_runtime *rt;
    const mf_node_def *def;
    const mf_plugin_desc *desc;
    mf_node **workers;
    int n_workers;
    struct mf_port_wiring {
        mf_group **consumers;
        bool *broadcast; /* per consumer: to every worker of it (its `broadcast` key) */
        size_t n;
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
    _Atomic int64_t deadline;    /* monotonic ms: end of the grace period, once stopping */
    pthread_mutex_t stop_mu;     /* with stop_cv: wakes workers waiting out a retry */
    pthread_cond_t stop_cv;
    pthread_mutex_t streams_mu;  /* the sources' announced streams (streams.c) */
    _Atomic bool failed;         /* a node returned MF_FATAL */
    _Atomic uint64_t checkpoint_requested;
    _Atomic uint64_t checkpoint_committed;
    _Atomic uint64_t checkpoint_finished; /* last requested one that completed or failed */
    struct mf_ckpt_store *ckpt;  /* settings.checkpoints, or NULL */
    uint64_t ckpt_base;          /* store id of local checkpoint N: ckpt_base + N */
    int64_t ckpt_started_ms;
    mf_metric *m_ckpt_failed, *m_ckpt_duration, *m_ckpt_bytes, *m_ckpt_last;
    /* Savepoints (savepoint.c): requests under sp_mu, answered through sp_cv. */
    struct mf_ckpt_store *sp_store; /* settings.savepoints, or NULL */
    char *sp_url;                /* settings.savepoints without a trailing '/' */
    pthread_mutex_t sp_mu;
    pthread_cond_t sp_cv;
    mf_savepoint_wait *sp_queue; /* waiting for the next savepoint */
    mf_savepoint_wait *sp_taking; /* answered by the one in flight */
    bool sp_signal;              /* SIGUSR1 asked for one (nobody waits) */
    bool sp_closed;              /* the run is over: refused */
    _Atomic bool sp_wanted;      /* a request waits for the coordinator */
    _Atomic uint64_t sp_hold;    /* a savepoint with stop: sources hold behind this barrier */
    uint64_t sp_barrier;         /* main thread: the barrier that is a savepoint, 0: none */
    bool sp_stop;                /* ... and the pipeline stops once it is stored */
    bool sp_ok;                  /* ... it was stored: sp_result is the answer, else the reason */
    char *sp_result;
    mf_metric *m_sp, *m_sp_failed, *m_sp_duration, *m_sp_bytes;
    _Atomic uint64_t unhandled_rejects;
    _Atomic size_t threads_running;
    _Atomic bool sinks_done;

    pthread_t main_thread;       /* waits in sigtimedwait; mf_runtime_wake signals it */
    _Atomic bool main_waits;
    mf_metric *m_checkpoints, *m_up;
    mf_metric_aliases *aliases; /* settings.metric_aliases, rendered with metrics */
};

/* host.c */
void mf_host_init(mf_host *host);

/* route.c */
/* A record joined a port's staging batch: once the batch is full, send it
 * on, or hold it during process(). */
void mf_node_staged(mf_node *n, int port);
/* Move a port's held and staging batches downstream (blocking while queues
 * are full). */
void mf_node_flush_port(mf_node *n, int port);
void mf_node_flush_all(mf_node *n);
/* Around process(): hold output back; then send it (keep), or drop what was
 * derived from `input`'s records and send the rest (route.c). */
void mf_node_begin_hold(mf_node *n);
void mf_node_end_hold(mf_node *n, bool keep, const mf_batch_impl *input);
/* Free what is staged or held; ack=false abandons it (at teardown). */
void mf_node_drop_output(mf_node *n, bool ack);
/* Send a control message to every distinct downstream worker. */
void mf_node_broadcast(mf_node *n, mf_msg_type type, uint64_t arg);

/* runtime.c */
void mf_runtime_fail(mf_runtime *rt, mf_node *n, const char *why);
/* Stop the sources and drain, as SIGTERM does (any thread). */
void mf_runtime_begin_stop(mf_runtime *rt);
void mf_runtime_wake(mf_runtime *rt);
/* The deadline every stop() gets: the end of the one grace period once the
 * pipeline is stopping, else grace_period from now (a finite run ending). */
int64_t mf_runtime_deadline(mf_runtime *rt);
/* Sleep up to ms, less if the pipeline starts stopping. */
void mf_runtime_wait_stopping(mf_runtime *rt, int64_t ms);
void mf_node_log(mf_node *n, mf_log_level level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* node_service.c */
void mf_node_callback_done(mf_node *n);
void mf_node_maybe_tick(mf_node *n);
int64_t mf_node_wait_budget(const mf_node *n);
/* Count a retry; the monotonic time of the next attempt after `attempt` failures. */
int64_t mf_node_retry_at(mf_node *n, unsigned attempt);
bool mf_node_retries_exhausted(const mf_node *n, unsigned attempt);
/* stop() once, with the process's deadline (no-op unless init succeeded). */
void mf_node_stop(mf_node *n);

/* checkpoint_coord.c */
void mf_checkpoint_coordinate(mf_runtime *rt, int64_t now, int64_t *next_at);
void mf_checkpoint_maybe_commit(mf_node *n);
void mf_checkpoint_source_barrier(mf_node *n);
void mf_checkpoint_barrier_from(mf_node *n, int from, uint64_t id);
int mf_checkpoint_producer_index(const mf_node *n, int from);
/* Aligned barriers: a message from `from` waits (the producer already sent
 * the barrier n is aligning), true; or may be handled now. */
bool mf_checkpoint_must_wait(const mf_node *n, int from);
void mf_checkpoint_try_complete(mf_node *n);

/* checkpoint_run.c: the store side */
/* Open settings.checkpoints, restore every node from the chosen checkpoint
 * (after every init, before any thread runs). false + *error: do not run. */
bool mf_checkpoint_open(mf_runtime *rt, char **error);
/* Store checkpoint N (main thread, once every sink passed barrier N): true
 * when it is durable, false (logged, counted) when it failed. */
bool mf_checkpoint_store(mf_runtime *rt, uint64_t id);
void mf_checkpoint_close(mf_runtime *rt);
/* Write the snapshots of barrier id into store as its checkpoint store_id
 * (then the manifest). false + *why (malloc'd): nothing usable was stored;
 * *skipped: because a node has no snapshot for it (it ended or failed). */
bool mf_checkpoint_write(mf_runtime *rt, struct mf_ckpt_store *store, uint64_t store_id, uint64_t id,
                         uint64_t *bytes, bool *skipped, char **why);
/* A worker at barrier id: snapshot() into n->snap (no-op without a store). */
void mf_checkpoint_take_snapshot(mf_node *n, uint64_t id);
#define MF_SNAP_FINAL UINT64_MAX

/* savepoint.c */
void mf_savepoint_init(mf_runtime *rt, const char *labels);
void mf_savepoint_free(mf_runtime *rt);
/* Open settings.savepoints (from mf_checkpoint_open). false + *error. */
bool mf_savepoint_open(mf_runtime *rt, const struct mf_objstore_opts *opts, char **error);
/* A savepoint's URL LOCATION/sp-N: *loc (malloc'd) and N. */
bool mf_savepoint_parse_url(const char *url, char **loc, uint64_t *id);
/* POST /savepoint (the HTTP thread): waits for the answer (mf_http_probe). */
int mf_savepoint_http(void *rt, const char *pipeline, bool stop, int64_t timeout_ms, char **body);
/* SIGUSR1 (main thread): a savepoint nobody waits for (logged). */
void mf_savepoint_signal(mf_runtime *rt);
/* Coordinator, no checkpoint in flight: true when barrier is to be requested
 * now, as a savepoint. */
bool mf_savepoint_start(mf_runtime *rt, uint64_t barrier);
/* Coordinator, every sink passed the savepoint's barrier: store it (true)
 * or not (false, counted); then mf_savepoint_done answers and, asked to,
 * stops the pipeline. */
bool mf_savepoint_store(mf_runtime *rt, uint64_t barrier);
void mf_savepoint_done(mf_runtime *rt);
/* Answer every request with why (the pipeline is stopping or ended); close:
 * refuse later ones. */
void mf_savepoint_abort(mf_runtime *rt, const char *why, bool close);
/* A source that passed the barrier of a savepoint with stop waits. */
bool mf_savepoint_holds(const mf_node *n);

/* source_loop.c */
void *mf_source_thread(void *arg);
void mf_source_finish_poll(mf_node *n);
void mf_source_service(mf_node *n);
void mf_source_deliver_ack(void *arg, void *cookie);

/* worker_loop.c */
void *mf_worker_thread(void *arg);

#endif
