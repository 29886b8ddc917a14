/*
 * host.c — the host API table plugins call. What emit does with a record
 * after staging it is route.c's.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <martflow/helpers.h>

#include "log.h"
#include "record.h"
#include "record_view.h"
#include "runtime_internal.h"
#include "streams.h"

/* ---- the host table -------------------------------------------------------------- */

static void host_log(mf_node *n, mf_log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    mf_log_vwrite(level, n->g->def->name, n->g->desc->name, fmt, fmt, ap);
    va_end(ap);
}

void mf_node_log(mf_node *n, mf_log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    mf_log_vwrite(level, n->g->def->name, n->g->desc->name, fmt, fmt, ap);
    va_end(ap);
}

static bool host_log_enabled(const mf_node *n, mf_log_level level)
{
    MF_UNUSED(n);
    return mf_log_enabled(level);
}

static const char *host_node_name(const mf_node *n)
{
    return n->g->def->name;
}

static const char *host_pipeline_name(const mf_node *n)
{
    return n->rt->def->name;
}

static const json_t *host_node_config(const mf_node *n)
{
    return n->g->def->config;
}

static const json_t *host_settings(const mf_node *n)
{
    const json_t *s = json_object_get(mf_config_root(n->rt->def->cfg), "settings");
    return s;
}

static int host_worker(const mf_node *n, int *count)
{
    if (count)
        *count = n->g->n_workers;
    return n->worker;
}

static int host_port(mf_node *n, const char *name)
{
    return mf_node_port_id(n->g->def, name);
}

static bool host_port_wired(const mf_node *n, int port)
{
    return port >= 0 && (size_t)port < n->g->def->n_ports && n->g->ports[port].n > 0;
}

static int host_emit(mf_node *n, int port, const mf_record *rec, mf_ack *ack)
{
    if (port < 0 || (size_t)port >= n->g->def->n_ports) {
        mf_node_log(n, MF_LOG_ERROR, "plugin emitted to port %d, which this node does not have", port);
        return MF_FATAL;
    }
    if (n->ended) {
        mf_node_log(n, MF_LOG_ERROR, "plugin emitted after its end of stream (from a tick or stop?)");
        return MF_FATAL;
    }
    if (!ack) {
        if (n->g->def->kind == MF_KIND_SOURCE) {
            if (!n->poll_ack)
                n->poll_ack = mf_ack_new_source(n->tracker, n->poll_cookie);
            ack = n->poll_ack;
        } else {
            ack = rec->ack;
        }
    }
    if (!ack) {
        mf_node_log(n, MF_LOG_ERROR, "plugin emitted a record with no acknowledgement to join "
                                     "(a new record in a transform needs an input's ack or a group)");
        return MF_FATAL;
    }
    mf_ack_ref(ack, 1);
    mf_batch_impl *b = n->staging[port];
    if (!b)
        b = n->staging[port] = mf_batch_new();
    mf_record *r = mf_batch_append(b, rec, ack);
    if (!r->origin.source)
        r->origin.source = n->g->def->name;
    mf_node_staged(n, port);
    return MF_OK;
}

static int host_reject(mf_node *n, const mf_record *rec, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(n->reason, sizeof n->reason, fmt, ap);
    va_end(ap);
    mf_record copy = mf_rec_rejected(rec, n->reason, n->g->def->name, &n->hdr_scratch, &n->hdr_cap);
    mf_node_log(n, MF_LOG_DEBUG, "rejected a record: %s", n->reason);
    return host_emit(n, MF_PORT_ERRORS, &copy, rec->ack);
}

static json_t *host_record_json(mf_node *n, mf_record *rec, const char **error)
{
    return mf_rec_json(rec, n->errbuf, sizeof n->errbuf, error);
}

static json_t *host_record_json_mut(mf_node *n, mf_record *rec, const char **error)
{
    return mf_rec_json_mut(rec, n->errbuf, sizeof n->errbuf, error);
}

static void host_record_set_json(mf_node *n, mf_record *rec, json_t *json)
{
    MF_UNUSED(n);
    mf_rec_set_json(rec, json);
}

static const uint8_t *host_record_value(mf_node *n, mf_record *rec, size_t *len)
{
    return mf_rec_value(rec, len, &n->cb_arena);
}

static mf_ack *host_ack_hold(mf_node *n, const mf_record *rec)
{
    MF_UNUSED(n);
    if (rec->ack)
        mf_ack_ref(rec->ack, 1);
    return rec->ack;
}

static mf_ack *host_ack_group_new(mf_node *n)
{
    return mf_ack_new_group(n->rt->acks);
}

static void host_ack_group_add(mf_node *n, mf_ack *group, const mf_record *rec)
{
    MF_UNUSED(n);
    if (group && rec->ack)
        mf_ack_group_add(group, rec->ack);
}

static void host_ack_release(mf_node *n, mf_ack *ack)
{
    MF_UNUSED(n);
    if (ack)
        mf_ack_unref(ack, 1);
}

static void host_source_cookie(mf_node *n, void *cookie)
{
    n->poll_cookie = cookie;
    if (n->poll_ack)
        mf_ack_set_cookie(n->poll_ack, cookie);
}

static uint64_t host_ack_wait(mf_node *n, int timeout_ms)
{
    if (!n->tracker)
        return 0;
    mf_source_finish_poll(n);
    int64_t until = mf_time_mono_ms() + timeout_ms;
    for (;;) {
        mf_source_service(n);
        uint64_t left = mf_ack_tracker_outstanding(n->tracker);
        int64_t now = mf_time_mono_ms();
        if (left == 0 || now >= until)
            return left;
        mf_ack_tracker_wait(n->tracker, (int)(until - now < 50 ? until - now : 50));
    }
}

static char *join_labels(const mf_node *n, const char *labels)
{
    if (labels && *labels)
        return mf_xasprintf("%s,%s", n->g->labels, labels);
    return mf_xstrdup(n->g->labels);
}

static mf_metric *host_counter(mf_node *n, const char *name, const char *labels, const char *help)
{
    char *l = join_labels(n, labels);
    mf_metric *m = mf_metrics_get(n->rt->metrics, MF_METRIC_COUNTER, name, l, help);
    free(l);
    return m;
}

static mf_metric *host_gauge(mf_node *n, const char *name, const char *labels, const char *help)
{
    char *l = join_labels(n, labels);
    mf_metric *m = mf_metrics_get(n->rt->metrics, MF_METRIC_GAUGE, name, l, help);
    free(l);
    return m;
}

static int host_buffer_append(mf_buffer *buf, const void *data, size_t len)
{
    mf_buffer_append(buf, data, len);
    return MF_OK;
}

static void host_set_tick(mf_node *n, int64_t interval_ms)
{
    n->tick_ms = interval_ms > 0 ? interval_ms : 0;
    n->next_tick = n->tick_ms ? mf_time_mono_ms() + n->tick_ms : 0;
}

static bool host_stopping(const mf_node *n)
{
    return atomic_load(&n->rt->stopping);
}

static void host_set_ready(mf_node *n, bool ready)
{
    atomic_store(&n->ready, ready);
}

/* mkdir -p with owner-only permissions: state files may name what was read. */
static bool make_dirs(char *path)
{
    for (char *p = path + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char c = *p;
        *p = '\0';
        bool ok = mkdir(path, 0700) == 0 || errno == EEXIST;
        *p = c;
        if (!ok)
            return false;
        if (c == '\0')
            return true;
    }
}

static char *pipeline_data_dir(const mf_runtime *rt)
{
    const char *set = rt->settings->data_dir;
    if (set && *set)
        return mf_xstrdup(set);
    const char *env = getenv("MARTFLOW_DATA_DIR");
    if (env && *env)
        return mf_xasprintf("%s/%s", env, rt->def->name);
    const char *xdg = getenv("XDG_STATE_HOME");
    if (xdg && *xdg)
        return mf_xasprintf("%s/martflow/%s", xdg, rt->def->name);
    const char *home = getenv("HOME");
    return mf_xasprintf("%s/.local/state/martflow/%s", home && *home ? home : "/tmp", rt->def->name);
}

static const char *host_data_dir(mf_node *n, const char **error)
{
    if (n->data_dir)
        return n->data_dir;
    char *base = pipeline_data_dir(n->rt);
    char *dir = mf_xasprintf("%s/%s", base, n->g->def->name);
    free(base);
    if (!make_dirs(dir)) {
        snprintf(n->errbuf, sizeof n->errbuf, "cannot create the data directory %s: %s (set settings.data_dir)", dir,
                 strerror(errno));
        free(dir);
        *error = n->errbuf;
        return NULL;
    }
    n->data_dir = dir;
    return dir;
}

/* ---- ABI 1.2: JSON without a tree (record_view.c) ----------------------------------- */

static mf_view_scratch view_scratch(mf_node *n)
{
    return (mf_view_scratch){n->errbuf, sizeof n->errbuf, &n->cb_arena};
}

static int host_json_check(mf_node *n, mf_record *rec, const char **error)
{
    mf_view_scratch s = view_scratch(n);
    return mf_rec_json_check(rec, &s, error);
}

static int host_json_get(mf_node *n, mf_record *rec, const char *path, mf_json_view *out, const char **error)
{
    mf_view_scratch s = view_scratch(n);
    return mf_rec_json_get(rec, path, out, &s, error);
}

static mf_json_fieldset *host_fieldset_new(mf_node *n, const char *const *paths, size_t count, const char **error)
{
    mf_view_scratch s = view_scratch(n);
    return mf_rec_fieldset_new(paths, count, &s, error);
}

static void host_fieldset_free(mf_node *n, mf_json_fieldset *set)
{
    MF_UNUSED(n);
    mf_rec_fieldset_free(set);
}

static int host_json_fields(mf_node *n, mf_record *rec, const mf_json_fieldset *set, mf_json_view *out,
                            const char **error)
{
    mf_view_scratch s = view_scratch(n);
    return mf_rec_json_fields(rec, set, out, &s, error);
}

static int host_json_iter(mf_node *n, const mf_json_view *container, mf_json_iter *it, const char **error)
{
    mf_view_scratch s = view_scratch(n);
    return mf_rec_json_iter(container, it, &s, error);
}

static const mf_json_member *host_json_next(mf_node *n, mf_json_iter *it)
{
    MF_UNUSED(n);
    return mf_rec_json_next(it);
}

static uint32_t host_record_stream(mf_node *n, const mf_record *rec)
{
    return n->g->def->kind == MF_KIND_SOURCE ? MF_STREAM_NONE : mf_streams_of(n, rec);
}

static uint32_t host_stream_count(mf_node *n)
{
    return n->g->def->kind == MF_KIND_SOURCE ? 0 : mf_streams_count(n);
}

static bool host_stream_ended(mf_node *n, uint32_t stream)
{
    return n->g->def->kind != MF_KIND_SOURCE && mf_streams_ended(n, stream);
}

static void host_source_streams(mf_node *n, const mf_origin *streams, size_t count)
{
    if (n->g->def->kind == MF_KIND_SOURCE)
        mf_streams_announce(n, streams, count);
}

void mf_host_init(mf_host *h)
{
    memset(h, 0, sizeof *h);
    h->magic = MF_PLUGIN_MAGIC;
    h->abi_major = MF_ABI_MAJOR;
    h->abi_minor = MF_ABI_MINOR;
    h->struct_size = sizeof *h;
    h->log = host_log;
    h->log_enabled = host_log_enabled;
    h->node_name = host_node_name;
    h->pipeline_name = host_pipeline_name;
    h->node_config = host_node_config;
    h->settings = host_settings;
    h->worker = host_worker;
    h->port = host_port;
    h->port_wired = host_port_wired;
    h->emit = host_emit;
    h->reject = host_reject;
    h->record_json = host_record_json;
    h->record_json_mut = host_record_json_mut;
    h->record_set_json = host_record_set_json;
    h->record_value = host_record_value;
    h->record_header = mf_rec_header;
    h->ack_hold = host_ack_hold;
    h->ack_group_new = host_ack_group_new;
    h->ack_group_add = host_ack_group_add;
    h->ack_release = host_ack_release;
    h->source_cookie = host_source_cookie;
    h->ack_wait = host_ack_wait;
    h->counter = host_counter;
    h->gauge = host_gauge;
    h->metric_add = mf_metric_add;
    h->metric_set = mf_metric_set;
    h->buffer_append = host_buffer_append;
    h->now_ms = mf_time_now_ms;
    h->monotonic_ms = mf_time_mono_ms;
    h->set_tick = host_set_tick;
    h->stopping = host_stopping;
    h->set_ready = host_set_ready;
    h->data_dir = host_data_dir;
    h->json_check = host_json_check;
    h->json_get = host_json_get;
    h->fieldset_new = host_fieldset_new;
    h->fieldset_free = host_fieldset_free;
    h->json_fields = host_json_fields;
    h->json_iter = host_json_iter;
    h->json_next = host_json_next;
    h->record_stream = host_record_stream;
    h->stream_count = host_stream_count;
    h->source_streams = host_source_streams;
    h->stream_ended = host_stream_ended;
}
