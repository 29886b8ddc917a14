/* gsp_keyed.c — see gsp_keyed.h. */
#include "gsp_keyed.h"
#include "gsp_envelope.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

int64_t gsp_keyed_end_time(const gsp_keyed *g, int64_t max_out_of_order)
{
    int64_t end = mf_watermark_max(g->wm), restored = mf_keyed_watermark(g->keyed);
    if (restored != MF_TIME_UNSET && restored != INT64_MAX &&
        (end == MF_TIME_UNSET || end < restored + max_out_of_order))
        end = restored + max_out_of_order;
    return end;
}

void gsp_keyed_end(const gsp_keyed *g, int64_t max_out_of_order, bool *ending, mf_keyed_each_fn open, const int *rc)
{
    int64_t end = gsp_keyed_end_time(g, max_out_of_order);
    if (end != MF_TIME_UNSET)
        gsp_keyed_advance_to(g, end); /* event time goes to the end (every input has ended) */
    if (ending)
        *ending = true;
    gsp_keyed_advance_to(g, INT64_MAX); /* everything queued is applied */
    if (open && *rc == MF_OK)
        mf_keyed_each(g->keyed, open, g->arg);
    mf_keyed_clear(g->keyed);
}

int gsp_keyed_snapshot(const gsp_keyed *g, uint64_t checkpoint_id, mf_buffer *out)
{
    return mf_keyed_snapshot_checkpoint(g->keyed, checkpoint_id, out);
}

void gsp_keyed_commit(const gsp_keyed *g, uint64_t checkpoint_id)
{
    mf_keyed_commit(g->keyed, checkpoint_id);
}

struct count {
    const gsp_keyed *g;
    size_t n;
};

static int count_open(void *arg, void *state)
{
    struct count *c = arg;
    c->n += c->g->is_open(state);
    return MF_OK;
}

int gsp_keyed_restore(const gsp_keyed *g, const uint8_t *data, size_t len)
{
    struct count before = {.g = g}, after = {.g = g};
    mf_keyed_each(g->keyed, count_open, &before);
    int rc = mf_keyed_restore(g->keyed, data, len);
    if (rc != MF_OK)
        return rc;
    mf_keyed_each(g->keyed, count_open, &after);
    g->host->metric_add(g->m_open, (double)after.n - (double)before.n); /* size_t: fewer after is negative */
    mf_watermark_set_floor(g->wm, mf_keyed_watermark(g->keyed));
    return MF_OK;
}

int64_t gsp_time_add(int64_t t, int64_t d)
{
    if (d > 0 && t > INT64_MAX - d)
        return INT64_MAX;
    if (d < 0 && t < INT64_MIN - d)
        return INT64_MIN;
    return t + d;
}

gsp_key_check gsp_keyed_check_key(const mf_record *rec, const mf_buffer *want, const char *what, const char *shape,
                                  char *text, size_t size)
{
    if ((rec->flags & MF_RECORD_KEY_NULL) || !rec->key) {
        snprintf(text, size, "no record key: %s events are routed by the key '%.*s'", what, (int)want->len,
                 (const char *)want->data);
        return GSP_KEY_NONE;
    }
    if (rec->key_len != want->len || memcmp(rec->key, want->data, want->len) != 0) {
        snprintf(text, size, "record key '%.*s' is not '%s' ('%.*s')", (int)(rec->key_len > 100 ? 100 : rec->key_len),
                 (const char *)rec->key, shape, (int)want->len, (const char *)want->data);
        return GSP_KEY_MISMATCH;
    }
    return GSP_KEY_OK;
}

void gsp_reject_counters(const mf_host *host, mf_node *node, mf_metric **m, int count, int first_extra,
                         const char *(*kind_name)(int), const char *const *extra, const char *name,
                         const char *help)
{
    for (int r = 1; r < count; r++) {
        char labels[64];
        snprintf(labels, sizeof labels, "reason=\"%s\"",
                 r >= first_extra ? extra[r - first_extra]
                 : kind_name   ? kind_name(r)
                               : gsp_reject_kind_name((gsp_reject_kind)r));
        m[r] = host->counter(node, name, labels, help);
    }
}
