/* eventtime.c — mf_watermark: the per-stream event-time watermark
 * (martflow/eventtime.h). */
#include <stdlib.h>
#include <string.h>

#include <martflow/alloc.h>
#include <martflow/eventtime.h>
#include <martflow/helpers.h>

#define SNAP_MAGIC "MFWM"
#define SNAP_VERSION 1

struct stream {
    int64_t max_ms;  /* highest event time, MF_TIME_UNSET: none yet */
    int64_t last_ms; /* monotonic ms of its last record, or when it became known */
    bool seen;       /* it delivered a record (with or without event time) */
    bool ended;      /* its upstream finished: it never counts again */
};

struct mf_watermark {
    int64_t bound, idle;
    int64_t floor;   /* the highest watermark given out or restored */
    int64_t max_all; /* highest event time of any stream */
    bool restored;
    struct stream *s;
    uint32_t n, cap;
    uint32_t open_from; /* streams below it are all ended (sync skips them) */
};

mf_watermark *mf_watermark_new(int64_t bound_ms, int64_t idle_timeout_ms)
{
    mf_watermark *w = mf_xcalloc(1, sizeof *w);
    w->bound = bound_ms < 0 ? 0 : bound_ms;
    w->idle = idle_timeout_ms < 0 ? 0 : idle_timeout_ms;
    w->floor = w->max_all = MF_TIME_UNSET;
    return w;
}

void mf_watermark_free(mf_watermark *w)
{
    if (!w)
        return;
    free(w->s);
    free(w);
}

void mf_watermark_streams(mf_watermark *w, uint32_t count, int64_t now_ms)
{
    if (count <= w->n)
        return;
    if (count > w->cap) {
        uint32_t cap = w->cap ? w->cap : 8;
        while (cap < count)
            cap *= 2;
        w->s = mf_xrealloc(w->s, cap * sizeof *w->s);
        w->cap = cap;
    }
    for (uint32_t i = w->n; i < count; i++)
        w->s[i] = (struct stream){.max_ms = MF_TIME_UNSET, .last_ms = now_ms};
    w->n = count;
}

bool mf_watermark_observe(mf_watermark *w, uint32_t stream, int64_t time_ms, int64_t now_ms)
{
    if (stream == MF_STREAM_NONE)
        return false; /* not a record of an input */
    mf_watermark_streams(w, stream + 1, now_ms);
    struct stream *s = &w->s[stream];
    s->last_ms = now_ms;
    s->seen = true;
    if (time_ms == MF_TIME_UNSET || (s->max_ms != MF_TIME_UNSET && time_ms <= s->max_ms))
        return false;
    s->max_ms = time_ms;
    if (w->max_all == MF_TIME_UNSET || time_ms > w->max_all)
        w->max_all = time_ms;
    return true;
}

void mf_watermark_end(mf_watermark *w, uint32_t stream)
{
    if (stream == MF_STREAM_NONE)
        return;
    mf_watermark_streams(w, stream + 1, 0);
    w->s[stream].ended = true;
    while (w->open_from < w->n && w->s[w->open_from].ended)
        w->open_from++;
}

void mf_watermark_sync(mf_watermark *w, const mf_host *host, mf_node *node, int64_t now_ms)
{
    mf_watermark_streams(w, host->stream_count(node), now_ms);
    if (!MF_HOST_HAS(host, stream_ended))
        return;
    for (uint32_t i = w->open_from; i < w->n; i++)
        if (!w->s[i].ended && host->stream_ended(node, i))
            mf_watermark_end(w, i);
}

int64_t mf_watermark_get(mf_watermark *w, int64_t now_ms)
{
    int64_t low = INT64_MAX;
    bool any = false;
    for (uint32_t i = 0; i < w->n; i++) {
        const struct stream *s = &w->s[i];
        if (s->ended)
            continue; /* nothing more comes: it holds nothing back */
        if (w->idle > 0 && now_ms - s->last_ms >= w->idle)
            continue; /* idle */
        if (s->max_ms == MF_TIME_UNSET) {
            if (s->seen)
                continue; /* timeless */
            return w->floor; /* pending: hold */
        }
        any = true;
        if (s->max_ms < low)
            low = s->max_ms;
    }
    if (any && low > INT64_MIN + w->bound) {
        int64_t wm = low - w->bound;
        if (w->floor == MF_TIME_UNSET || wm > w->floor)
            w->floor = wm;
    }
    return w->floor;
}

int64_t mf_watermark_max(const mf_watermark *w)
{
    return w->max_all;
}

void mf_watermark_set_floor(mf_watermark *w, int64_t wm)
{
    if (wm != MF_TIME_UNSET && (w->floor == MF_TIME_UNSET || wm > w->floor))
        w->floor = wm;
}

static void put(mf_buffer *b, uint64_t v, int bytes)
{
    uint8_t tmp[8];
    for (int i = 0; i < bytes; i++)
        tmp[i] = (uint8_t)(v >> (8 * i));
    mf_buffer_append(b, tmp, (size_t)bytes);
}

static uint64_t get(const uint8_t *p, int bytes)
{
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

void mf_watermark_snapshot(const mf_watermark *w, mf_buffer *out)
{
    mf_buffer_append(out, SNAP_MAGIC, 4);
    put(out, SNAP_VERSION, 2);
    put(out, 0, 2);
    put(out, (uint64_t)w->floor, 8);
    put(out, (uint64_t)w->max_all, 8);
}

int mf_watermark_restore(mf_watermark *w, const uint8_t *data, size_t len)
{
    if (len != MF_WATERMARK_SNAPSHOT_LEN || memcmp(data, SNAP_MAGIC, 4) != 0 || get(data + 4, 2) != SNAP_VERSION ||
        get(data + 6, 2) != 0)
        return MF_FATAL;
    int64_t wm = (int64_t)get(data + 8, 8), max = (int64_t)get(data + 16, 8);
    /* Several snapshots (rescaling): the lowest watermark, so no restored
     * worker's events are late; the highest event time. */
    if (!w->restored || wm == MF_TIME_UNSET || (w->floor != MF_TIME_UNSET && wm < w->floor))
        w->floor = wm;
    if (max != MF_TIME_UNSET && (w->max_all == MF_TIME_UNSET || max > w->max_all))
        w->max_all = max;
    w->restored = true;
    return MF_OK;
}
