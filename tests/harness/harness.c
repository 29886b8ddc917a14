/* harness.c — see harness.h. The fake host: mf_node pointers handed to the
 * plugin are the mfh itself. */
#define _GNU_SOURCE /* memrchr */
#include "harness.h"

#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ack.h"
#include "batch.h"
#include "config.h"
#include "log.h"
#include "metrics.h"
#include "options.h"
#include "pipeline.h"
#include "plugin_loader.h"
#include "record.h"
#include "record_view.h"
#include "util.h"

struct mfh {
    mf_plugin_desc desc;
    mf_registry *reg;
    mf_config *cfg;
    json_t *settings;
    void *ctx;
    mf_optvals *vals;
    mf_host host;
    bool inited;

    char **ports;
    size_t n_ports;
    mf_batch_impl **captured;  /* per port */
    mf_batch_impl *pending;    /* inputs pushed, not processed */
    mf_ack_domain *acks;
    mf_ack_tracker *tracker;
    bool *acked;               /* per input */
    size_t n_inputs, cap_inputs;
    mf_ack *poll_ack;
    void *poll_cookie;

    mf_metrics *metrics;
    mf_str log;
    mf_batch_impl *value_arena; /* serialised stack-record values: kept until close */
    mf_batch_impl *view_arena;  /* json views' text: freed when a callback returns, as the engine does */
    char errbuf[512], reason[512];
    mf_header *hdr;
    size_t hdr_cap;
    int64_t tick_ms;
    char *data_dir;            /* NULL until asked for */
    bool own_data_dir;         /* made by the harness: removed by mfh_close */
    struct hstream {           /* record_stream: one upstream, a stream per origin topic/partition */
        char *topic;
        int32_t partition;
    } *streams;
    uint32_t n_streams;
    uint32_t upstreams;        /* mfh_set_upstreams: placeholders counted from the start */
};

#define H(node) ((mfh *)(void *)(node))

static int port_id(const mfh *h, const char *name)
{
    for (size_t i = 0; i < h->n_ports; i++)
        if (strcmp(h->ports[i], name) == 0)
            return (int)i;
    return -1;
}

static void add_port(mfh *h, const char *name)
{
    if (port_id(h, name) >= 0)
        return;
    h->ports = mf_xrealloc(h->ports, (h->n_ports + 1) * sizeof *h->ports);
    h->ports[h->n_ports++] = mf_xstrdup(name);
    h->captured = mf_xrealloc(h->captured, h->n_ports * sizeof *h->captured);
    h->captured[h->n_ports - 1] = mf_batch_new();
}

/* ---- the fake host ----------------------------------------------------------------- */

static void f_log(mf_node *node, mf_log_level level, const char *fmt, ...)
{
    static const char *const names[] = {"error", "warn", "info", "debug", "trace"};
    mfh *h = H(node);
    va_list ap;
    va_start(ap, fmt);
    mf_str_printf(&h->log, "%s: ", names[level]);
    mf_str_vprintf(&h->log, fmt, ap);
    mf_str_puts(&h->log, "\n");
    va_end(ap);
    if (getenv("MFH_VERBOSE"))
        fprintf(stderr, "[plugin %s] %s", h->desc.name, h->log.data);
}

static bool f_log_enabled(const mf_node *node, mf_log_level level)
{
    (void)node;
    return level <= MF_LOG_DEBUG;
}

static const char *f_node_name(const mf_node *node)
{
    (void)node;
    return "under_test";
}

static const char *f_pipeline_name(const mf_node *node)
{
    (void)node;
    return "harness";
}

static const json_t *f_node_config(const mf_node *node)
{
    return mf_config_root(H(node)->cfg);
}

static const json_t *f_settings(const mf_node *node)
{
    return H(node)->settings;
}

static int f_worker(const mf_node *node, int *count)
{
    (void)node;
    if (count)
        *count = 1;
    return 0;
}

static int f_port(mf_node *node, const char *name)
{
    return port_id(H(node), name);
}

static bool f_port_wired(const mf_node *node, int port)
{
    return port >= 0 && (size_t)port < H(node)->n_ports;
}

static int f_emit(mf_node *node, int port, const mf_record *rec, mf_ack *ack)
{
    mfh *h = H(node);
    if (port < 0 || (size_t)port >= h->n_ports) {
        f_log(node, MF_LOG_ERROR, "harness: emit to unknown port %d", port);
        return MF_FATAL;
    }
    if (!ack) {
        if (h->desc.kind == MF_KIND_SOURCE) {
            if (!h->poll_ack)
                h->poll_ack = mf_ack_new_source(h->tracker, h->poll_cookie);
            ack = h->poll_ack;
        } else {
            ack = rec->ack;
        }
    }
    if (!ack) {
        f_log(node, MF_LOG_ERROR, "harness: emitted a record with no ack to join");
        return MF_FATAL;
    }
    mf_ack_ref(ack, 1);
    mf_batch_append(h->captured[port], rec, ack);
    return MF_OK;
}

static int f_reject(mf_node *node, const mf_record *rec, const char *fmt, ...)
{
    mfh *h = H(node);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(h->reason, sizeof h->reason, fmt, ap);
    va_end(ap);
    mf_record copy = mf_rec_rejected(rec, h->reason, "under_test", &h->hdr, &h->hdr_cap);
    return f_emit(node, MF_PORT_ERRORS, &copy, rec->ack);
}

static json_t *f_record_json(mf_node *node, mf_record *rec, const char **error)
{
    return mf_rec_json(rec, H(node)->errbuf, sizeof H(node)->errbuf, error);
}

static json_t *f_record_json_mut(mf_node *node, mf_record *rec, const char **error)
{
    return mf_rec_json_mut(rec, H(node)->errbuf, sizeof H(node)->errbuf, error);
}

static void f_record_set_json(mf_node *node, mf_record *rec, json_t *json)
{
    (void)node;
    mf_rec_set_json(rec, json);
}

static const uint8_t *f_record_value(mf_node *node, mf_record *rec, size_t *len)
{
    return mf_rec_value(rec, len, &H(node)->value_arena);
}

static mf_view_scratch f_scratch(mf_node *node)
{
    return (mf_view_scratch){H(node)->errbuf, sizeof H(node)->errbuf, &H(node)->view_arena};
}

static int f_json_check(mf_node *node, mf_record *rec, const char **error)
{
    mf_view_scratch s = f_scratch(node);
    return mf_rec_json_check(rec, &s, error);
}

static int f_json_get(mf_node *node, mf_record *rec, const char *path, mf_json_view *out, const char **error)
{
    mf_view_scratch s = f_scratch(node);
    return mf_rec_json_get(rec, path, out, &s, error);
}

static mf_json_fieldset *f_fieldset_new(mf_node *node, const char *const *paths, size_t n, const char **error)
{
    mf_view_scratch s = f_scratch(node);
    return mf_rec_fieldset_new(paths, n, &s, error);
}

static void f_fieldset_free(mf_node *node, mf_json_fieldset *set)
{
    (void)node;
    mf_rec_fieldset_free(set);
}

static int f_json_fields(mf_node *node, mf_record *rec, const mf_json_fieldset *set, mf_json_view *out,
                         const char **error)
{
    mf_view_scratch s = f_scratch(node);
    return mf_rec_json_fields(rec, set, out, &s, error);
}

static int f_json_iter(mf_node *node, const mf_json_view *container, mf_json_iter *it, const char **error)
{
    mf_view_scratch s = f_scratch(node);
    return mf_rec_json_iter(container, it, &s, error);
}

static const mf_json_member *f_json_next(mf_node *node, mf_json_iter *it)
{
    (void)node;
    return mf_rec_json_next(it);
}

static mf_ack *f_ack_hold(mf_node *node, const mf_record *rec)
{
    (void)node;
    if (rec->ack)
        mf_ack_ref(rec->ack, 1);
    return rec->ack;
}

static mf_ack *f_ack_group_new(mf_node *node)
{
    return mf_ack_new_group(H(node)->acks);
}

static void f_ack_group_add(mf_node *node, mf_ack *group, const mf_record *rec)
{
    (void)node;
    if (group && rec->ack)
        mf_ack_group_add(group, rec->ack);
}

static void f_ack_release(mf_node *node, mf_ack *ack)
{
    (void)node;
    if (ack)
        mf_ack_unref(ack, 1);
}

static void f_source_cookie(mf_node *node, void *cookie)
{
    mfh *h = H(node);
    h->poll_cookie = cookie;
    if (h->poll_ack)
        mf_ack_set_cookie(h->poll_ack, cookie);
}

static void end_poll(mfh *h)
{
    if (h->poll_ack) {
        mf_ack *a = h->poll_ack;
        h->poll_ack = NULL;
        mf_ack_unref(a, 1);
    }
    h->poll_cookie = NULL;
}

static void deliver(void *arg, void *cookie)
{
    mfh *h = arg;
    if (h->desc.kind == MF_KIND_SOURCE) {
        if (h->desc.ack)
            h->desc.ack(h->ctx, cookie);
    } else {
        size_t idx = (size_t)(uintptr_t)cookie - 1;
        if (idx < h->n_inputs)
            h->acked[idx] = true;
    }
}

static uint64_t f_ack_wait(mf_node *node, int timeout_ms)
{
    (void)timeout_ms; /* single-threaded: nothing completes while we wait */
    mfh *h = H(node);
    end_poll(h);
    mf_ack_tracker_drain(h->tracker, deliver, h);
    return mf_ack_tracker_outstanding(h->tracker);
}

static mf_metric *f_counter(mf_node *node, const char *name, const char *labels, const char *help)
{
    return mf_metrics_get(H(node)->metrics, MF_METRIC_COUNTER, name, labels, help);
}

static mf_metric *f_gauge(mf_node *node, const char *name, const char *labels, const char *help)
{
    return mf_metrics_get(H(node)->metrics, MF_METRIC_GAUGE, name, labels, help);
}

static int f_buffer_append(mf_buffer *buf, const void *data, size_t len)
{
    mf_buffer_append(buf, data, len);
    return MF_OK;
}

static void f_set_tick(mf_node *node, int64_t interval_ms)
{
    H(node)->tick_ms = interval_ms;
}

static bool f_stopping(const mf_node *node)
{
    (void)node;
    return false;
}

static void f_set_ready(mf_node *node, bool ready)
{
    (void)node;
    (void)ready;
}

static const char *f_data_dir(mf_node *node, const char **error)
{
    const char *d = mfh_data_dir(H(node));
    if (!d)
        *error = "harness: cannot create a temporary data directory";
    return d;
}

/* ---- input streams (ABI 1.3) ---------------------------------------------------------------- */

/* As the engine: each (topic, partition) pushed is a stream of its own, in
 * the order they come; the first ones take the places of the upstream
 * workers the node expects (mfh_set_upstreams, one by default). */
static uint32_t f_record_stream(mf_node *node, const mf_record *rec)
{
    mfh *h = H(node);
    if (!mf_record_batch(rec))
        return MF_STREAM_NONE;
    int32_t part = rec->origin.partition < 0 ? -1 : rec->origin.partition;
    const char *topic = rec->origin.topic;
    for (uint32_t i = 0; i < h->n_streams; i++) {
        const struct hstream *s = &h->streams[i];
        if (s->partition == part && (s->topic == topic || (s->topic && topic && strcmp(s->topic, topic) == 0)))
            return i;
    }
    h->streams = mf_xrealloc(h->streams, (h->n_streams + 1) * sizeof *h->streams);
    h->streams[h->n_streams] = (struct hstream){topic ? mf_xstrdup(topic) : NULL, part};
    return h->n_streams++;
}

static uint32_t f_stream_count(mf_node *node)
{
    mfh *h = H(node);
    uint32_t least = h->upstreams ? h->upstreams : 1;
    return h->n_streams > least ? h->n_streams : least;
}

static void f_source_streams(mf_node *node, const mf_origin *streams, size_t n)
{
    (void)node, (void)streams, (void)n;
}

static void host_init(mf_host *x)
{
    memset(x, 0, sizeof *x);
    x->magic = MF_PLUGIN_MAGIC;
    x->abi_major = MF_ABI_MAJOR;
    x->abi_minor = MF_ABI_MINOR;
    x->struct_size = sizeof *x;
    x->log = f_log;
    x->log_enabled = f_log_enabled;
    x->node_name = f_node_name;
    x->pipeline_name = f_pipeline_name;
    x->node_config = f_node_config;
    x->settings = f_settings;
    x->worker = f_worker;
    x->port = f_port;
    x->port_wired = f_port_wired;
    x->emit = f_emit;
    x->reject = f_reject;
    x->record_json = f_record_json;
    x->record_json_mut = f_record_json_mut;
    x->record_set_json = f_record_set_json;
    x->record_value = f_record_value;
    x->record_header = mf_rec_header;
    x->ack_hold = f_ack_hold;
    x->ack_group_new = f_ack_group_new;
    x->ack_group_add = f_ack_group_add;
    x->ack_release = f_ack_release;
    x->source_cookie = f_source_cookie;
    x->ack_wait = f_ack_wait;
    x->counter = f_counter;
    x->gauge = f_gauge;
    x->metric_add = mf_metric_add;
    x->metric_set = mf_metric_set;
    x->buffer_append = f_buffer_append;
    x->now_ms = mf_time_now_ms;
    x->monotonic_ms = mf_time_mono_ms;
    x->set_tick = f_set_tick;
    x->stopping = f_stopping;
    x->set_ready = f_set_ready;
    x->data_dir = f_data_dir;
    x->json_check = f_json_check;
    x->json_get = f_json_get;
    x->fieldset_new = f_fieldset_new;
    x->fieldset_free = f_fieldset_free;
    x->json_fields = f_json_fields;
    x->json_iter = f_json_iter;
    x->json_next = f_json_next;
    x->record_stream = f_record_stream;
    x->stream_count = f_stream_count;
    x->source_streams = f_source_streams;
}

/* ---- lifecycle ------------------------------------------------------------------------ */

static mfh *open_with(const mf_plugin *p, mf_registry *reg, const char *config_yaml, char **error)
{
    mf_diag diag = {0};
    const char *text = config_yaml ? config_yaml : "{}";
    mf_config *cfg = mf_config_load_text("config", text, strlen(text), &diag);
    if (!cfg || !json_is_object(mf_config_root(cfg))) {
        *error = mf_xasprintf("harness config: %s", diag.text.data ? diag.text.data : "not a map");
        mf_diag_free(&diag);
        mf_config_free(cfg);
        mf_registry_free(reg);
        return NULL;
    }
    mfh *h = mf_xcalloc(1, sizeof *h);
    h->desc = p->desc;
    h->reg = reg;
    h->cfg = cfg;
    h->settings = json_object();
    h->metrics = mf_metrics_new();
    h->acks = mf_ack_domain_new();
    h->tracker = mf_ack_tracker_new(h->acks);
    host_init(&h->host);
    add_port(h, "default");
    add_port(h, "errors");
    for (const char *const *x = p->desc.ports; x && *x; x++)
        add_port(h, *x);
    json_t *ports = json_object_get(mf_config_root(cfg), "ports");
    for (size_t i = 0; i < json_array_size(ports); i++)
        if (json_is_string(json_array_get(ports, i)))
            add_port(h, json_string_value(json_array_get(ports, i)));
    h->ctx = mf_xcalloc(1, p->desc.ctx_size ? p->desc.ctx_size : 1);
    char what[128];
    snprintf(what, sizeof what, "%s %s", mf_kind_name(p->desc.kind), p->desc.name);
    h->vals = mf_options_apply(p->desc.options, mf_config_root(cfg), mf_node_reserved_keys, 0, cfg, what, h->ctx,
                               &diag);
    if (!h->vals) {
        *error = mf_xstrdup(diag.text.data ? diag.text.data : "option error");
        mf_diag_free(&diag);
        mfh_close(h);
        return NULL;
    }
    mf_diag_free(&diag);
    h->pending = mf_batch_new();
    return h;
}

mfh *mfh_open(mf_kind kind, const char *name, const char *config_yaml, char **error)
{
    mf_registry *reg = mf_registry_new();
    mf_registry_add_dirs(reg, getenv("MARTFLOW_PLUGIN_PATH"));
    const mf_plugin *p = mf_registry_find(reg, kind, name, error);
    if (!p) {
        mf_registry_free(reg);
        return NULL;
    }
    return open_with(p, reg, config_yaml, error);
}

mfh *mfh_open_desc(const mf_plugin_desc *desc, const char *config_yaml, char **error)
{
    mf_registry *reg = mf_registry_new();
    if (!mf_registry_add_builtin(reg, desc, error)) {
        mf_registry_free(reg);
        return NULL;
    }
    return open_with(mf_registry_at(reg, 0), reg, config_yaml, error);
}

/* What the plugin read during a callback was promised until it returned. */
static int callback_done(mfh *h, int status)
{
    mf_batch_free(h->view_arena, false);
    h->view_arena = NULL;
    return status;
}

int mfh_init(mfh *h)
{
    h->inited = true;
    return callback_done(h, h->desc.init(h->ctx, (mf_node *)(void *)h, &h->host));
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

const char *mfh_data_dir(mfh *h)
{
    if (h->data_dir)
        return h->data_dir;
    const char *tmp = getenv("TMPDIR");
    char *dir = mf_xasprintf("%s/mfh-data-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        free(dir);
        return NULL;
    }
    h->data_dir = dir;
    h->own_data_dir = true;
    return dir;
}

void mfh_set_data_dir(mfh *h, const char *dir)
{
    if (h->own_data_dir)
        nftw(h->data_dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
    free(h->data_dir);
    h->data_dir = mf_xstrdup(dir);
    h->own_data_dir = false;
    mkdir(dir, 0700);
}

void mfh_close(mfh *h)
{
    if (!h)
        return;
    if (h->inited && h->desc.free)
        h->desc.free(h->ctx);
    if (h->own_data_dir)
        nftw(h->data_dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
    free(h->data_dir);
    end_poll(h);
    for (size_t i = 0; i < h->n_ports; i++) {
        mf_batch_free(h->captured[i], true);
        free(h->ports[i]);
    }
    free(h->captured);
    free(h->ports);
    mf_batch_free(h->pending, true);
    mf_ack_tracker_drain(h->tracker, NULL, NULL);
    mf_ack_tracker_free(h->tracker);
    mf_ack_domain_free(h->acks);
    free(h->acked);
    mf_optvals_free(h->vals);
    free(h->ctx);
    mf_metrics_free(h->metrics);
    mf_str_free(&h->log);
    mf_batch_free(h->value_arena, false);
    mf_batch_free(h->view_arena, false);
    free(h->hdr);
    for (uint32_t i = 0; i < h->n_streams; i++)
        free(h->streams[i].topic);
    free(h->streams);
    json_decref(h->settings);
    mf_config_free(h->cfg);
    mf_registry_free(h->reg);
    mf_batch_pool_drain();
    free(h);
}

/* ---- driving ----------------------------------------------------------------------------- */

void mfh_push_record(mfh *h, const mf_record *rec)
{
    if (h->n_inputs == h->cap_inputs) {
        h->cap_inputs = h->cap_inputs ? h->cap_inputs * 2 : 64;
        h->acked = mf_xrealloc(h->acked, h->cap_inputs * sizeof *h->acked);
    }
    h->acked[h->n_inputs] = false;
    mf_ack *a = mf_ack_new_source(h->tracker, (void *)(uintptr_t)(h->n_inputs + 1));
    h->n_inputs++;
    mf_batch_append(h->pending, rec, a); /* the record holds the token's only reference */
}

void mfh_set_upstreams(mfh *h, uint32_t n)
{
    h->upstreams = n;
}

void mfh_push(mfh *h, const char *key, const char *value)
{
    mf_record r = {.time_ms = MF_TIME_UNSET, .origin = {.source = "harness", .partition = -1, .offset = -1}};
    if (key) {
        r.key = (const uint8_t *)key;
        r.key_len = (uint32_t)strlen(key);
    } else {
        r.flags |= MF_RECORD_KEY_NULL;
    }
    if (value) {
        r.value = (const uint8_t *)value;
        r.value_len = (uint32_t)strlen(value);
    } else {
        r.flags |= MF_RECORD_VALUE_NULL;
    }
    mfh_push_record(h, &r);
}

int mfh_process(mfh *h)
{
    mf_batch_impl *b = h->pending;
    h->pending = mf_batch_new();
    int st = callback_done(h, h->desc.process(h->ctx, &b->pub));
    mf_batch_free(b, true);
    mf_ack_tracker_drain(h->tracker, deliver, h);
    return st;
}

int mfh_poll(mfh *h, int timeout_ms)
{
    int st = callback_done(h, h->desc.poll(h->ctx, timeout_ms));
    end_poll(h);
    return st;
}

size_t mfh_deliver_acks(mfh *h)
{
    return mf_ack_tracker_drain(h->tracker, deliver, h);
}

int mfh_flush(mfh *h, mf_flush_reason reason)
{
    int st = callback_done(h, h->desc.flush ? h->desc.flush(h->ctx, reason) : MF_OK);
    mf_ack_tracker_drain(h->tracker, deliver, h);
    return st;
}

int mfh_tick(mfh *h)
{
    return callback_done(h, h->desc.tick ? h->desc.tick(h->ctx) : MF_OK);
}

int mfh_stop(mfh *h)
{
    int st = callback_done(h, h->desc.stop ? h->desc.stop(h->ctx, mf_time_mono_ms() + 5000) : MF_OK);
    mf_ack_tracker_drain(h->tracker, deliver, h);
    return st;
}

int mfh_snapshot(mfh *h, uint64_t checkpoint_id, mf_buffer *out)
{
    return callback_done(h, h->desc.snapshot ? h->desc.snapshot(h->ctx, checkpoint_id, out) : MF_OK);
}

int mfh_restore(mfh *h, const uint8_t *data, size_t len)
{
    return callback_done(h, h->desc.restore ? h->desc.restore(h->ctx, data, len) : MF_OK);
}

int64_t mfh_tick_interval(const mfh *h)
{
    return h->tick_ms;
}

static mf_batch_impl *captured(mfh *h, const char *port)
{
    int id = port_id(h, port ? port : "default");
    return id < 0 ? NULL : h->captured[id];
}

size_t mfh_count(mfh *h, const char *port)
{
    mf_batch_impl *b = captured(h, port);
    return b ? b->pub.count : 0;
}

mf_record *mfh_record(mfh *h, const char *port, size_t i)
{
    mf_batch_impl *b = captured(h, port);
    return b && i < b->pub.count ? &b->pub.records[i] : NULL;
}

const char *mfh_value(mfh *h, const char *port, size_t i)
{
    mf_record *r = mfh_record(h, port, i);
    if (!r || (r->flags & MF_RECORD_VALUE_NULL))
        return "";
    size_t len;
    const uint8_t *v = mf_rec_value(r, &len, &h->value_arena);
    return (const char *)v; /* arena copies are NUL-terminated */
}

const char *mfh_header(mfh *h, const char *port, size_t i, const char *name)
{
    mf_record *r = mfh_record(h, port, i);
    const mf_header *x = r ? mf_rec_header(r, name) : NULL;
    return x ? (const char *)x->value : NULL;
}

void mfh_consume(mfh *h)
{
    for (size_t i = 0; i < h->n_ports; i++) {
        mf_batch_free(h->captured[i], true);
        h->captured[i] = mf_batch_new();
    }
    mf_ack_tracker_drain(h->tracker, deliver, h);
}

bool mfh_input_acked(mfh *h, size_t index)
{
    mf_ack_tracker_drain(h->tracker, deliver, h);
    return index < h->n_inputs && h->acked[index];
}

size_t mfh_inputs(const mfh *h)
{
    return h->n_inputs;
}

const char *mfh_log(const mfh *h)
{
    return h->log.data ? h->log.data : "";
}

double mfh_metric(mfh *h, const char *name)
{
    mf_str out = {0};
    mf_metrics_render(h->metrics, &out);
    /* name matches "metric" (any labels) or exactly "metric{labels}" */
    double v = -1;
    size_t n = strlen(name);
    bool with_labels = strchr(name, '{') != NULL;
    for (char *line = out.data; line && *line;) {
        char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        bool match = strncmp(line, name, n) == 0 && (line[n] == ' ' || (!with_labels && line[n] == '{'));
        if (match) {
            const char *sp = memrchr(line, ' ', len);
            v = strtod(sp + 1, NULL);
            break;
        }
        line = nl ? nl + 1 : NULL;
    }
    mf_str_free(&out);
    return v;
}

void *mfh_ctx(mfh *h)
{
    return h->ctx;
}

const mf_plugin_desc *mfh_desc(const mfh *h)
{
    return &h->desc;
}
