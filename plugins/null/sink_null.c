/*
 * sink null — acknowledge and discard. For benchmarks and tests: counts what
 * it gets, and with `rate` consumes at most that many records per second (a
 * stand-in for a slow destination, to show backpressure bounds memory).
 */
#include <time.h>

#include <martflow/martflow.h>

struct ctx {
    double rate;
    mf_node *node;
    const mf_host *host;
    int64_t started_ms;
    uint64_t seen;
    mf_metric *m_records;
};

static const mf_option options[] = {
    MF_OPTION_RANGE(MF_OPT_DOUBLE, "rate", "0", 0, struct ctx, rate, 0, 1e12,
                    "Records per second at most (0: as fast as they come)"),
    MF_OPTION_END,
};

static int init(void *vctx, mf_node *node, const mf_host *host)
{
    struct ctx *c = vctx;
    c->node = node;
    c->host = host;
    c->m_records = host->counter(node, "martflow_null_records_total", NULL, "Records discarded");
    return MF_OK;
}

static int process(void *vctx, mf_batch *batch)
{
    struct ctx *c = vctx;
    if (!c->started_ms)
        c->started_ms = c->host->monotonic_ms();
    c->seen += batch->count;
    c->host->metric_add(c->m_records, (double)batch->count);
    if (c->rate > 0) {
        /* Sleep until this many records would have taken at `rate`. */
        int64_t due = c->started_ms + (int64_t)((double)c->seen * 1000.0 / c->rate);
        int64_t now = c->host->monotonic_ms();
        /* Stay slow during shutdown too: a slow destination does not speed up
         * on SIGTERM, and tests of the grace period rely on that. */
        while (now < due) {
            int64_t ms = due - now < 100 ? due - now : 100;
            struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)ms * 1000000L};
            nanosleep(&ts, NULL);
            now = c->host->monotonic_ms();
        }
    }
    return MF_OK;
}

MF_PLUGIN_DEFINE = {
    MF_PLUGIN_HEADER,
    .kind = MF_KIND_SINK,
    .name = "null",
    .version = "1.0.0",
    .description = "Discard records (acknowledging them); optionally at a limited rate",
    .options = options,
    .ctx_size = sizeof(struct ctx),
    .init = init,
    .process = process,
};
