/* gsp_queued.c — see gsp_queued.h. */
#include "gsp_queued.h"

static void *model_of(const gsp_queued_kind *k, void *state)
{
    return (char *)state + k->model_offset;
}

static void queued_destroy(void *arg, void *state)
{
    const gsp_queued_kind *k = arg;
    aq_free(&((gsp_queued *)state)->queue);
    k->model->free(model_of(k, state));
}

static int queued_save(void *arg, const void *state, mf_buffer *out)
{
    const gsp_queued_kind *k = arg;
    const gsp_queued *q = state;
    gsp_put(out, k->host, q->tenant_len, 4);
    aq_save(&q->queue, k->host, out);
    k->model->save((const char *)state + k->model_offset, k->host, out);
    return MF_OK;
}

static int queued_load(void *arg, void *state, const uint8_t *data, size_t len)
{
    const gsp_queued_kind *k = arg;
    gsp_queued *q = state;
    gsp_reader r = {data, len, true};
    q->tenant_len = (uint32_t)gsp_get(&r, 4);
    if (!r.ok || !aq_load(&q->queue, &r)) /* (aq_load frees what it read) */
        return MF_FATAL;
    if (!k->model->load(model_of(k, state), &r) || r.left != 0) {
        aq_free(&q->queue);
        k->model->free(model_of(k, state));
        return MF_FATAL;
    }
    return MF_OK;
}

mf_keyed *gsp_queued_keyed_new(const mf_host *host, mf_node *node, const gsp_queued_kind *kind)
{
    mf_keyed_ops ops = {
        .state_size = kind->state_size,
        .destroy = queued_destroy,
        .save = queued_save,
        .load = queued_load,
    };
    return mf_keyed_new(host, node, &ops, (void *)kind);
}

int gsp_queued_lost(const mf_host *host, mf_node *node, const char *why)
{
    host->log(node, MF_LOG_ERROR, "a queued event no longer decodes: %s", why);
    return MF_FATAL;
}
