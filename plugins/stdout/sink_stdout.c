/*
 * sink stdout — write records to standard output, one line each (value or
 * envelope). For looking at data and for shell pipelines; acknowledges after
 * write(), since a terminal or pipe offers no stronger durability.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <martflow/martflow.h>

struct ctx {
    int format;
    mf_node *node;
    const mf_host *host;
    mf_buffer out;
};

static const mf_option options[] = {
    MF_OPTION_ENUM("format", "value", 0, struct ctx, format, "value|envelope",
                   "value: the record's value per line; envelope: key, value, time, headers, origin"),
    MF_OPTION_END,
};

static int init(void *vctx, mf_node *node, const mf_host *host)
{
    struct ctx *c = vctx;
    c->node = node;
    c->host = host;
    return MF_OK;
}

static int process(void *vctx, mf_batch *batch)
{
    struct ctx *c = vctx;
    mf_buffer_reset(&c->out);
    for (size_t i = 0; i < batch->count; i++)
        mf_format_record_line(c->host, c->node, &batch->records[i], (mf_record_format)c->format, &c->out);
    size_t done = 0;
    while (done < c->out.len) {
        ssize_t n = write(STDOUT_FILENO, c->out.data + done, c->out.len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            c->host->log(c->node, MF_LOG_ERROR, "write to stdout: %s", strerror(errno));
            return MF_FATAL;
        }
        done += (size_t)n;
    }
    return MF_OK;
}

static void free_cb(void *vctx)
{
    struct ctx *c = vctx;
    mf_buffer_free(&c->out);
}

MF_PLUGIN_DEFINE = {
    MF_PLUGIN_HEADER,
    .kind = MF_KIND_SINK,
    .name = "stdout",
    .version = "1.0.0",
    .description = "Write records to standard output as JSON lines (value or envelope)",
    .options = options,
    .ctx_size = sizeof(struct ctx),
    .init = init,
    .free = free_cb,
    .process = process,
};
