/*
 * sink file — append records to a file, one line each (the value, or an
 * envelope with key, time, headers and origin).
 *
 * Durability: each batch is written with one write() (flush on batch). With
 * fsync: checkpoint (the default) the acknowledgements of written records are
 * held until the next checkpoint's fsync succeeds, so a source never commits
 * past data that a power cut could still lose. A pipeline without checkpoints
 * (checkpoint_interval: 0) would hold them forever, so there checkpoint means
 * batch. fsync: batch syncs every batch; never acknowledges after write() (the
 * page cache), for scratch output.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <martflow/martflow.h>

enum { SYNC_CHECKPOINT, SYNC_BATCH, SYNC_NEVER };

struct ctx {
    const char *path;
    int format;
    int sync;
    bool mkdir;

    mf_node *node;
    const mf_host *host;
    int fd;
    mf_buffer out;
    size_t written;      /* bytes of `out` already written (resume after a retry) */
    mf_ack **held;       /* acks waiting for fsync */
    size_t n_held, cap_held;
    mf_metric *m_bytes, *m_fsyncs;
};

static const mf_option options[] = {
    MF_OPTION(MF_OPT_STRING, "path", NULL, MF_OPT_REQUIRED, struct ctx, path, "File to append to (created if missing)"),
    MF_OPTION_ENUM("format", "value", 0, struct ctx, format, "value|envelope",
                   "value: the record's value per line; envelope: key, value, time, headers, origin"),
    MF_OPTION_ENUM("fsync", "checkpoint", 0, struct ctx, sync, "checkpoint|batch|never",
                   "When writes are made durable; acknowledgements wait for it"),
    MF_OPTION(MF_OPT_BOOL, "mkdir", "true", 0, struct ctx, mkdir, "Create missing parent directories"),
    MF_OPTION_END,
};

static void make_parents(const char *path)
{
    char *copy = mf_xstrdup(path);
    char *dir = dirname(copy);
    for (char *p = dir + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            mkdir(dir, 0755);
            *p = '/';
        }
    }
    mkdir(dir, 0755);
    free(copy);
}

/* Does the pipeline take checkpoints? settings.checkpoint_interval, 5s when
 * absent (the engine has validated it); only 0 turns them off. */
static bool has_checkpoints(const mf_host *host, mf_node *node)
{
    const json_t *v = json_object_get(host->settings(node), "checkpoint_interval");
    int64_t ms;
    if (json_is_integer(v))
        return json_integer_value(v) != 0;
    if (json_is_real(v))
        return json_real_value(v) != 0;
    if (json_is_string(v) && mf_parse_duration_ms(json_string_value(v), &ms))
        return ms != 0;
    return true;
}

static int init(void *vctx, mf_node *node, const mf_host *host)
{
    struct ctx *c = vctx;
    c->node = node;
    c->host = host;
    if (c->mkdir)
        make_parents(c->path);
    c->fd = open(c->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (c->fd < 0) {
        host->log(node, MF_LOG_ERROR, "cannot open %s for writing: %s", c->path, strerror(errno));
        return MF_FATAL;
    }
    if (c->sync == SYNC_CHECKPOINT && !has_checkpoints(host, node)) {
        c->sync = SYNC_BATCH;
        host->log(node, MF_LOG_INFO, "the pipeline takes no checkpoints (checkpoint_interval: 0): fsync: checkpoint "
                  "syncs after every batch instead");
    }
    c->m_bytes = host->counter(node, "martflow_file_bytes_written_total", NULL, "Bytes written");
    c->m_fsyncs = host->counter(node, "martflow_file_fsyncs_total", NULL, "fsync calls");
    return MF_OK;
}

static void hold(struct ctx *c, const mf_record *r)
{
    if (c->n_held && c->held[c->n_held - 1] == r->ack)
        return; /* one hold per run of records sharing an ack is enough */
    if (c->n_held == c->cap_held) {
        c->cap_held = c->cap_held ? c->cap_held * 2 : 64;
        c->held = mf_xrealloc(c->held, c->cap_held * sizeof *c->held);
    }
    c->held[c->n_held++] = c->host->ack_hold(c->node, r);
}

static int sync_and_release(struct ctx *c)
{
    if (c->sync == SYNC_NEVER && c->n_held == 0)
        return MF_OK;
    if (fsync(c->fd) != 0) {
        /* After a failed fsync the kernel may have dropped the dirty pages:
         * nothing since the last good sync can be trusted. */
        c->host->log(c->node, MF_LOG_ERROR, "fsync %s: %s", c->path, strerror(errno));
        return MF_FATAL;
    }
    c->host->metric_add(c->m_fsyncs, 1);
    for (size_t i = 0; i < c->n_held; i++)
        c->host->ack_release(c->node, c->held[i]);
    c->n_held = 0;
    return MF_OK;
}

static int process(void *vctx, mf_batch *batch)
{
    struct ctx *c = vctx;
    if (c->written == 0) {
        mf_buffer_reset(&c->out);
        for (size_t i = 0; i < batch->count; i++)
            mf_format_record_line(c->host, c->node, &batch->records[i], (mf_record_format)c->format, &c->out);
    }
    while (c->written < c->out.len) {
        ssize_t n = write(c->fd, c->out.data + c->written, c->out.len - c->written);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            c->host->log(c->node, MF_LOG_WARN, "write %s: %s", c->path, strerror(e));
            /* a full or failing disk may recover; a bad descriptor will not */
            return (e == ENOSPC || e == EDQUOT || e == EIO || e == EAGAIN) ? MF_RETRY : MF_FATAL;
        }
        c->written += (size_t)n;
    }
    c->host->metric_add(c->m_bytes, (double)c->out.len);
    c->written = 0;
    if (c->sync == SYNC_CHECKPOINT)
        for (size_t i = 0; i < batch->count; i++)
            hold(c, &batch->records[i]);
    if (c->sync == SYNC_BATCH)
        return sync_and_release(c);
    return MF_OK;
}

static int flush(void *vctx, mf_flush_reason reason)
{
    struct ctx *c = vctx;
    (void)reason; /* every flush makes what was written durable */
    return sync_and_release(c);
}

static void free_cb(void *vctx)
{
    struct ctx *c = vctx;
    /* Held acks are not released: what was not synced is not acknowledged. */
    free(c->held);
    if (c->fd >= 0)
        close(c->fd);
    mf_buffer_free(&c->out);
}

MF_PLUGIN_DEFINE = {
    MF_PLUGIN_HEADER,
    .kind = MF_KIND_SINK,
    .name = "file",
    .version = "1.1.0",
    .description = "Append records to a file as JSON lines (value or envelope); durable on checkpoint",
    .options = options,
    .ctx_size = sizeof(struct ctx),
    .init = init,
    .free = free_cb,
    .process = process,
    .flush = flush,
};
