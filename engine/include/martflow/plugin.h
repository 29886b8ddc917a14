/*
 * martflow/plugin.h — the plugin ABI.
 *
 * A plugin is a shared object that exports exactly one symbol,
 * `mf_plugin_descriptor`, of type mf_plugin_desc. The descriptor names the plugin,
 * declares its options and gives its callbacks. The engine:
 *   1. dlopens the file and checks magic, ABI major/minor and struct size;
 *   2. validates a node's configuration against the declared options and fills
 *      them into a zeroed context of ctx_size bytes that it allocates;
 *   3. calls init(ctx, node, host); the host table is the plugin's only way to
 *      reach the engine (log, metrics, emit, reject, acks, state);
 *   4. drives the node from one thread per worker: poll (sources) or process
 *      (transforms, sinks), plus flush, tick, snapshot/restore/commit, stop;
 *   5. calls free(ctx) and then releases ctx and the option values itself.
 *
 * Compatibility: the engine accepts abi_major == MF_ABI_MAJOR and
 * abi_minor <= MF_ABI_MINOR. A minor version only appends fields, taking them from
 * the reserved slots, so structs never change size within a major version.
 *
 * Threading: all callbacks of one instance are called from one thread; instances
 * (parallel workers) never share a context. Host functions taking an mf_node are
 * called from that node's thread; metric and ack functions are thread-safe.
 */
#ifndef MARTFLOW_PLUGIN_H
#define MARTFLOW_PLUGIN_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include <martflow/jsonview.h>
#include <martflow/record.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MF_PLUGIN_MAGIC  0x4d465047u /* "MFPG" */
#define MF_ABI_MAJOR     1
#define MF_ABI_MINOR     5
#define MF_PLUGIN_SYMBOL "mf_plugin_descriptor"

#if defined(__GNUC__)
#define MF_PLUGIN_EXPORT __attribute__((visibility("default")))
#define MF_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define MF_PLUGIN_EXPORT
#define MF_PRINTF(f, a)
#endif

/* ---- status codes returned by callbacks ------------------------------------ */
enum {
    MF_OK = 0,     /* done */
    MF_RETRY = 1,  /* transient failure: the engine backs off (full jitter) and calls again */
    MF_REJECT = 2, /* process(): every record of the batch is bad (prefer host->reject) */
    MF_FATAL = 3,  /* the node cannot go on: the pipeline stops, the process exits non-zero */
    MF_EOF = 4     /* poll(): the source has no more input and never will */
};

typedef enum mf_kind {
    MF_KIND_SOURCE = 1,
    MF_KIND_TRANSFORM = 2,
    MF_KIND_SINK = 3
} mf_kind;

typedef enum mf_log_level {
    MF_LOG_ERROR = 0,
    MF_LOG_WARN = 1,
    MF_LOG_INFO = 2,
    MF_LOG_DEBUG = 3,
    MF_LOG_TRACE = 4
} mf_log_level;

/* Why flush() is called. */
typedef enum mf_flush_reason {
    /* A checkpoint: make durable what was processed so far (a file sink fsyncs).
     * Open state stays open. */
    MF_FLUSH_CHECKPOINT = 1,
    /* End of input: every source is finite and exhausted, event time has advanced
     * to the end. Stateful transforms emit everything they still hold. */
    MF_FLUSH_END = 2,
    /* Shutdown (SIGTERM): make durable what was processed, but keep open state
     * open — its inputs are not acknowledged, so a restart replays them. */
    MF_FLUSH_STOP = 3
} mf_flush_reason;

/* Well-known ports. Every node has both; more come from the descriptor or config. */
#define MF_PORT_DEFAULT 0
#define MF_PORT_ERRORS 1

/* Header names the engine sets on rejected records. */
#define MF_HEADER_ERROR "mf.error"          /* the reason */
#define MF_HEADER_ERROR_NODE "mf.error.node" /* the node that rejected it */

/* ---- options ------------------------------------------------------------------ */
typedef enum mf_opt_type {
    MF_OPT_STRING = 1,   /* const char *                                              */
    MF_OPT_INT,          /* int64_t                                                   */
    MF_OPT_BOOL,         /* bool                                                      */
    MF_OPT_DOUBLE,       /* double                                                    */
    MF_OPT_SIZE,         /* uint64_t bytes; "512", "64KiB", "5MiB", "1GB"              */
    MF_OPT_DURATION,     /* int64_t milliseconds; "250ms", "10s", "5m", "1h", "2d"     */
    MF_OPT_ENUM,         /* int: index of the value in `choices` ("a|b|c")            */
    MF_OPT_LIST,         /* mf_strlist; a YAML list of scalars or "a,b,c"              */
    MF_OPT_SECRET,       /* const char *, never printed or logged                     */
    MF_OPT_PREFIX,       /* mf_kvlist; name ends in '.', e.g. "rdkafka." takes every
                            "rdkafka.<key>: value" (or a map under "rdkafka")         */
    MF_OPT_JSON          /* const json_t * (borrowed): any YAML value, checked by the
                            plugin in init                                            */
} mf_opt_type;

#define MF_OPT_REQUIRED 0x1u /* must be set (a default makes no sense then)      */
#define MF_OPT_NOFIELD  (-1) /* offset: not stored in ctx; read node_config()   */

typedef struct mf_strlist {
    size_t count;
    const char *const *items;
} mf_strlist;

typedef struct mf_kvlist {
    size_t count;
    const char *const *keys;   /* prefix stripped: "fetch.min.bytes" */
    const char *const *values; /* scalars as text */
} mf_kvlist;

typedef struct mf_option {
    const char *name;          /* NULL ends the table */
    mf_opt_type type;
    const char *default_value; /* as it would be written in YAML; NULL: none */
    uint32_t flags;            /* MF_OPT_REQUIRED */
    ptrdiff_t offset;          /* offsetof(ctx struct, field) or MF_OPT_NOFIELD */
    const char *doc;           /* one line */
    const char *choices;       /* MF_OPT_ENUM: "earliest|latest|committed" */
    double min, max;           /* inclusive range when min < max (int, double,
                                  size, duration) */
    void *reserved[2];
} mf_option;

#define MF_OPTION(type_, name_, def_, flags_, ctx_t, field_, doc_)                       \
    { .name = (name_), .type = (type_), .default_value = (def_), .flags = (flags_),      \
      .offset = (ptrdiff_t)offsetof(ctx_t, field_), .doc = (doc_) }
#define MF_OPTION_RANGE(type_, name_, def_, flags_, ctx_t, field_, min_, max_, doc_)     \
    { .name = (name_), .type = (type_), .default_value = (def_), .flags = (flags_),      \
      .offset = (ptrdiff_t)offsetof(ctx_t, field_), .doc = (doc_), .min = (min_),        \
      .max = (max_) }
#define MF_OPTION_ENUM(name_, def_, flags_, ctx_t, field_, choices_, doc_)                \
    { .name = (name_), .type = MF_OPT_ENUM, .default_value = (def_), .flags = (flags_),   \
      .offset = (ptrdiff_t)offsetof(ctx_t, field_), .doc = (doc_), .choices = (choices_) }
#define MF_OPTION_END { .name = NULL }

/* ---- opaque engine objects ----------------------------------------------------- */
typedef struct mf_node mf_node;     /* one running plugin instance (worker) */
typedef struct mf_metric mf_metric; /* a counter or gauge */

/* ---- the host API table, given to init ----------------------------------------- */
typedef struct mf_host {
    uint32_t magic;                 /* MF_PLUGIN_MAGIC */
    uint16_t abi_major, abi_minor;
    uint32_t struct_size;

    /* Logging: one JSON line with time, level, pipeline, node, plugin, message.
     * Repeated messages are rate-limited. Never pass secrets. */
    void (*log)(mf_node *node, mf_log_level level, const char *fmt, ...) MF_PRINTF(3, 4);
    bool (*log_enabled)(const mf_node *node, mf_log_level level);

    /* Identity and configuration. node_config is the node's validated config
     * object (borrowed, lives as long as the node); settings is the pipeline's
     * `settings` object. worker: index of this instance among `parallelism`. */
    const char *(*node_name)(const mf_node *node);
    const char *(*pipeline_name)(const mf_node *node);
    const json_t *(*node_config)(const mf_node *node);
    const json_t *(*settings)(const mf_node *node);
    int (*worker)(const mf_node *node, int *count);

    /* Ports: resolve a name once in init, then emit by id. -1: no such port. */
    int (*port)(mf_node *node, const char *name);
    bool (*port_wired)(const mf_node *node, int port);

    /* Emit a record to a port. The record's bytes are copied and its json (if any)
     * is referenced (json_incref), so `rec` may be a stack record or a record of
     * the input batch. The emitted record joins acknowledgement `ack`:
     *   NULL in a transform: rec->ack (forwarding or deriving from that input);
     *   NULL in a source: the current poll's acknowledgement (see source_cookie);
     *   a group from ack_group_new: the group.
     * A source may block here while downstream queues are full (backpressure).
     * Returns MF_OK, or MF_FATAL when the engine is failing. */
    int (*emit)(mf_node *node, int port, const mf_record *rec, mf_ack *ack);

    /* Send a copy of rec to this node's errors port with the reason in header
     * MF_HEADER_ERROR; counted. If nothing consumes the errors port, the record
     * is logged (rate-limited) and the run ends with a non-zero status. */
    int (*reject)(mf_node *node, const mf_record *rec, const char *fmt, ...) MF_PRINTF(3, 4);

    /* The record's value as JSON, parsed at most once (cached in rec->json).
     * Borrowed: do not decref. On invalid JSON: NULL, *error set (node-owned
     * text, valid until the next call). */
    json_t *(*record_json)(mf_node *node, mf_record *rec, const char **error);
    /* Same, but the caller may modify the result: copied first if the root is
     * shared, and the value bytes are marked stale (re-serialised when read).
     * Only the root's sharing is checked, so a plugin that builds a new tree
     * must not put another record's subtrees into it by reference (copy them:
     * json_deep_copy), or a later edit would change both records. */
    json_t *(*record_json_mut)(mf_node *node, mf_record *rec, const char **error);
    /* Replace the value by `json` (reference stolen). */
    void (*record_set_json)(mf_node *node, mf_record *rec, json_t *json);
    /* The value bytes, serialising the JSON if it was edited. Valid until the
     * callback returns. */
    const uint8_t *(*record_value)(mf_node *node, mf_record *rec, size_t *len);
    /* First header with this name, or NULL. */
    const mf_header *(*record_header)(const mf_record *rec, const char *name);

    /* Acknowledgement. A record is handled when its node's callback returns,
     * unless the node holds its ack. A source batch is acknowledged back to its
     * source only when every record derived from it is handled by every sink it
     * reached (or deliberately dropped).
     *   ack_hold: take a reference on rec's ack (a sink waiting for a delivery
     *     report, a transform absorbing the record into its state);
     *   ack_group_new: a new ack for outputs that derive from many inputs; the
     *     caller owns one reference; ack_group_add makes the group hold an input
     *     until the group completes (its own reference and every output released);
     *   ack_release: drop one reference (from ack_hold or ack_group_new). */
    mf_ack *(*ack_hold)(mf_node *node, const mf_record *rec);
    mf_ack *(*ack_group_new)(mf_node *node);
    void (*ack_group_add)(mf_node *node, mf_ack *group, const mf_record *rec);
    void (*ack_release)(mf_node *node, mf_ack *ack);
    /* Sources: the cookie given back to ops.ack() once everything emitted during
     * the current poll() is handled. Called during poll(). */
    void (*source_cookie)(mf_node *node, void *cookie);
    /* Sources, from inside poll() (e.g. a Kafka rebalance callback): end the
     * current poll batch (what was emitted so far goes downstream and is
     * acknowledged with the current cookie; emit after this starts a new batch,
     * so set a new cookie), then deliver completed acks through ops.ack() until
     * none of this source's batches is outstanding or timeout_ms passes.
     * Returns how many batches are still outstanding. */
    uint64_t (*ack_wait)(mf_node *node, int timeout_ms);

    /* Metrics, exported on /metrics with pipeline, node and plugin labels.
     * name: "martflow_<plugin>_<what>_total"; labels: extra Prometheus labels
     * ("topic=\"a\"") or NULL. The same name+labels returns the same metric.
     * A name has one type: asking for a counter under a gauge's name (or the
     * reverse) logs an error and returns NULL; metric_add/metric_set on NULL
     * do nothing. */
    mf_metric *(*counter)(mf_node *node, const char *name, const char *labels, const char *help);
    mf_metric *(*gauge)(mf_node *node, const char *name, const char *labels, const char *help);
    void (*metric_add)(mf_metric *m, double v);
    void (*metric_set)(mf_metric *m, double v);

    /* State snapshots: append to the buffer given to ops.snapshot. */
    int (*buffer_append)(mf_buffer *buf, const void *data, size_t len);

    /* Time and control. tick: call ops.tick every interval_ms (0 = never).
     * stopping: shutdown has begun (a long loop in a callback should return).
     * set_ready: this node is (not) ready, for /readyz. */
    int64_t (*now_ms)(void);
    int64_t (*monotonic_ms)(void);
    void (*set_tick)(mf_node *node, int64_t interval_ms);
    bool (*stopping)(const mf_node *node);
    void (*set_ready)(mf_node *node, bool ready);

    /* ---- ABI 1.1 ---- */
    /* A directory this node may keep small state files in (e.g. the file
     * source's read positions): <settings.data_dir>/<node name>, created on
     * first call. NULL with *error (node-owned text) when it cannot be made. */
    const char *(*data_dir)(mf_node *node, const char **error);

    /* ---- ABI 1.2: JSON without a tree (martflow/jsonview.h) ---- */
    /* Each returns MF_OK, or MF_REJECT with *error (node-owned text, valid
     * until the next call) when the record has no value or its value is not
     * valid JSON by martflow's rule (docs/architecture.md, "What is valid
     * JSON"): "invalid JSON at byte 17: duplicate key \"a\"". A record is
     * validated once: the result is kept in rec->flags (MF_RECORD_JSON_VALID),
     * and record_json applies the same rule. An edited value (record_json_mut,
     * record_set_json) is read as it would be serialised. */
    /* Validate the whole value (structure, UTF-8, numbers, the rule). Sources
     * call it on what they read and reject what fails. */
    int (*json_check)(mf_node *node, mf_record *rec, const char **error);
    /* The value at `path` (field-path syntax), or the whole value when path
     * is NULL. A missing member is MF_OK with out->type MF_JSON_MISSING. An
     * invalid path is MF_FATAL with *error. For hot paths prefer a field set. */
    int (*json_get)(mf_node *node, mf_record *rec, const char *path, mf_json_view *out, const char **error);
    /* Compile n paths once (typically in init). NULL with *error naming the
     * bad path. The caller frees it with fieldset_free. */
    mf_json_fieldset *(*fieldset_new)(mf_node *node, const char *const *paths, size_t n, const char **error);
    void (*fieldset_free)(mf_node *node, mf_json_fieldset *set);
    /* Read every path of the set in one pass: out[i] is paths[i] (n views). */
    int (*json_fields)(mf_node *node, mf_record *rec, const mf_json_fieldset *set, mf_json_view *out,
                       const char **error);
    /* Start iterating an ARRAY or OBJECT view (any other type: MF_REJECT). */
    int (*json_iter)(mf_node *node, const mf_json_view *container, mf_json_iter *it, const char **error);
    /* The next member or element, or NULL at the end. */
    const mf_json_member *(*json_next)(mf_node *node, mf_json_iter *it);

    /* ---- ABI 1.3: input streams (martflow/eventtime.h) ---- */
    /* Transforms and sinks. A worker's input is one or more *streams*: what
     * one upstream worker sends of one origin (mf_origin: source node, topic
     * or file, partition when set). A stream keeps the order it was produced
     * in; streams do not keep any order between them (one may run far ahead
     * of another), so event time is tracked per stream.
     * record_stream: the id of rec's stream, a small number dense from 0,
     * the same for the whole run (of this worker); MF_STREAM_NONE for a
     * record that is not of an input batch (one built by the plugin).
     * stream_count: how many ids exist now (0 .. count-1). It includes the
     * streams expected but not delivered yet: one per upstream worker from
     * the start, and, once the first record of a source that announced its
     * partitions (source_streams) arrives from a worker, every partition of
     * that topic it announced. A stream that is known but silent is for
     * the plugin to judge (mf_watermark: pending, then idle). */
    uint32_t (*record_stream)(mf_node *node, const mf_record *rec);
    uint32_t (*stream_count)(mf_node *node);
    /* Sources: the streams this worker reads now (a Kafka assignment), each
     * an mf_origin with topic and partition (source and offset ignored),
     * copied; replaces what it announced before. Optional: a source that
     * announces nothing has its streams known from their first record. */
    void (*source_streams)(mf_node *node, const mf_origin *streams, size_t n);

    /* ---- ABI 1.4 ---- */
    /* Transforms and sinks: true once the upstream worker of `stream` sent
     * its end of stream (a finite source read all of its input, or an
     * upstream transform finished): nothing more comes on it, and every
     * record it sent was given to process() before. False for an unknown id,
     * MF_STREAM_NONE, or a stream still open. mf_watermark_sync
     * (martflow/eventtime.h) uses it, so a finished upstream does not hold
     * the watermark back. */
    bool (*stream_ended)(mf_node *node, uint32_t stream);

    void *reserved[4];
} mf_host;

/* Does host table h have function slot f, set (an older engine's table
 * ends earlier)? E.g. MF_HOST_HAS(host, json_check) before using ABI 1.2. */
#define MF_HOST_HAS(h, f) ((h)->struct_size >= offsetof(mf_host, f) + sizeof((h)->f) && (h)->f != NULL)

/* record_stream of a record that belongs to no input batch (ABI 1.3). */
#define MF_STREAM_NONE UINT32_MAX

/* ---- check-time validation (ABI 1.1) ----------------------------------------- */
/* Given to a plugin's validate(): report each problem found in the node's
 * configuration. `at` is the offending value inside that configuration (or
 * NULL for the node itself); the engine prints it as file:line:col. */
typedef struct mf_check mf_check;
struct mf_check {
    void (*problem)(mf_check *check, const json_t *at, const char *fmt, ...) MF_PRINTF(3, 4);
    void *engine; /* the engine's; do not touch */
    void *reserved[4];
};

/* ---- the descriptor --------------------------------------------------------- */
#define MF_PLUGIN_DYNAMIC_PORTS 0x1u /* output ports are listed by the node's `ports:` */
/* snapshot() returns mf_keyed snapshots only (martflow/keyed.h), which
 * restore() filters by the key groups its worker owns: a checkpoint taken
 * with any parallelism restores into any other (each new worker's restore()
 * is called once per old worker's bytes). Without it, state is restored only
 * into the same parallelism. Older engines ignore the flag. */
#define MF_PLUGIN_KEYED_STATE 0x2u

typedef struct mf_plugin_desc {
    /* never move */
    uint32_t magic;
    uint16_t abi_major;
    uint16_t abi_minor;
    uint32_t struct_size;

    mf_kind kind;
    const char *name;        /* "kafka": with kind, names the plugin in pipelines */
    const char *version;     /* the plugin's own version */
    const char *description; /* one line */
    const mf_option *options;   /* ends with MF_OPTION_END; may be NULL */
    const char *const *ports;   /* output ports besides default and errors; NULL-ended */
    uint32_t flags;             /* MF_PLUGIN_* */
    size_t ctx_size;            /* bytes the engine allocates (zeroed) for ctx */

    /* all kinds */
    int (*init)(void *ctx, mf_node *node, const mf_host *host); /* required */
    /* Release what init made; ctx itself is the engine's. Called after init
     * even when init failed, so init may return early: ctx starts zeroed. */
    void (*free)(void *ctx);
    /* Stop within the deadline (monotonic ms): sources close and commit what was
     * acknowledged; sinks finish in-flight writes. Called once, last before free. */
    int (*stop)(void *ctx, int64_t deadline_ms);

    /* sources */
    /* Emit up to about one batch of records with host->emit and return MF_OK,
     * MF_EOF (finite input exhausted), MF_RETRY or MF_FATAL. Waits at most
     * timeout_ms for input. Required for sources. */
    int (*poll)(void *ctx, int timeout_ms);
    /* Everything emitted in one poll() (identified by its cookie) is handled.
     * Called on the source's thread, in any order. Cookies never acknowledged
     * (a failed run, state held at shutdown) are the plugin's to free in free(). */
    void (*ack)(void *ctx, void *cookie);
    /* Downstream is full: stop fetching (but keep polling: poll is still called,
     * every 20 ms, with nothing expected from it). resume() comes once every downstream
     * queue is below half full again. After the end of its input a source gets
     * no more poll() calls but keeps its ticks (to serve a client) until stop();
     * it may not emit then. */
    int (*pause)(void *ctx);
    int (*resume)(void *ctx);

    /* transforms and sinks */
    /* Handle a batch. Reject bad records one by one with host->reject and return
     * MF_OK; MF_RETRY makes the engine call again with the same batch, and
     * drops what this call emitted from the batch's records (it is emitted
     * again by the retry: leave plugin state as if the call had not happened).
     * Required for transforms and sinks. */
    int (*process)(void *ctx, mf_batch *batch);
    int (*flush)(void *ctx, mf_flush_reason reason);
    int (*tick)(void *ctx);

    /* checkpoints */
    int (*snapshot)(void *ctx, uint64_t checkpoint_id, mf_buffer *out);
    int (*restore)(void *ctx, const uint8_t *data, size_t len);
    int (*commit)(void *ctx, uint64_t checkpoint_id);

    /* ---- ABI 1.1 ---- */
    /* Optional. Check what option declarations cannot (the shape of MF_OPT_JSON
     * values, combinations of options): called by `martflow check` and before
     * init by `run`, on the raw node config, without a host or a context. Report
     * every problem with check->problem; any report fails the check. */
    void (*validate)(const json_t *config, mf_check *check);

    /* ---- ABI 1.4: jobs, run on demand by `martflow job FILE NAME` ---- */
    /* Optional, both or neither. A node may declare named jobs (the gim
     * sink's `jobs:` option: export, maintenance) that it also runs on its
     * own schedule. list_jobs: call fn once per job the node's raw config
     * declares, with its name and the config value that declares it (the
     * engine prints its file:line); no host, no context, like validate.
     * run_job: run job `name` (one list_jobs named) once, now, on the node's
     * thread, after init; the engine inits this node only (no source is
     * started, nothing flows) and then stops and frees it. MF_OK: the job
     * succeeded; MF_RETRY: it failed and may succeed when run again; MF_FATAL:
     * it failed. The engine reads both only from a descriptor of ABI 1.4 or
     * later. */
    void (*list_jobs)(const json_t *config, void (*fn)(void *arg, const char *name, const json_t *at), void *arg);
    int (*run_job)(void *ctx, const char *name);

    /* ---- ABI 1.5: job arguments ---- */
    /* Optional (only with run_job). run_job with the arguments given after
     * `--` on the command line (`martflow job FILE NAME -- ARG...`; argv[0..argc)
     * borrowed for the call, argc may be 0): when present the engine calls it
     * instead of run_job. The plugin parses and checks them (a job that takes
     * none refuses any). Without it, `martflow job` refuses arguments. Read
     * only from a descriptor of ABI 1.5 or later. */
    int (*run_job_args)(void *ctx, const char *name, int argc, const char *const *argv);

    void *reserved[8];
} mf_plugin_desc;

#define MF_PLUGIN_HEADER                                                               \
    .magic = MF_PLUGIN_MAGIC, .abi_major = MF_ABI_MAJOR, .abi_minor = MF_ABI_MINOR,   \
    .struct_size = (uint32_t)sizeof(mf_plugin_desc)

/* Declare the one exported symbol of a plugin:
 *   MF_PLUGIN_DEFINE = { MF_PLUGIN_HEADER, .kind = MF_KIND_SINK, ... };          */
#define MF_PLUGIN_DEFINE MF_PLUGIN_EXPORT const mf_plugin_desc mf_plugin_descriptor

#ifdef __cplusplus
}
#endif
#endif
