/* watermark.c — see watermark.h. */
#include "watermark.h"

#include <stdlib.h>
#include <string.h>

struct wm_mark {
    int64_t offset, line;
    bool done;
};

void wm_init(wm *w, int64_t offset, int64_t line)
{
    memset(w, 0, sizeof *w);
    w->offset = offset;
    w->line = line;
    w->next_seq = 1;
    w->head_seq = 1;
}

static struct wm_mark *at(const wm *w, size_t i)
{
    return &w->ring[(w->head + i) % w->cap];
}

static void grow(wm *w)
{
    size_t cap = w->cap ? w->cap * 2 : 8;
    struct wm_mark *ring = malloc(cap * sizeof *ring);
    if (!ring)
        abort();
    for (size_t i = 0; i < w->len; i++)
        ring[i] = *at(w, i); /* unwrap: the head moves to 0 */
    free(w->ring);
    w->ring = ring;
    w->cap = cap;
    w->head = 0;
}

uint64_t wm_mark(wm *w, int64_t offset, int64_t line)
{
    if (w->len == w->cap)
        grow(w);
    if (w->len == 0)
        w->head_seq = w->next_seq;
    *at(w, w->len++) = (struct wm_mark){.offset = offset, .line = line};
    return w->next_seq++;
}

bool wm_done(wm *w, uint64_t seq)
{
    if (seq < w->head_seq || seq - w->head_seq >= w->len)
        return false; /* made before a reset */
    at(w, (size_t)(seq - w->head_seq))->done = true;
    bool moved = false;
    while (w->len && at(w, 0)->done) {
        w->offset = at(w, 0)->offset;
        w->line = at(w, 0)->line;
        w->head = (w->head + 1) % w->cap;
        w->head_seq++;
        w->len--;
        moved = true;
    }
    return moved;
}

void wm_reset(wm *w, int64_t offset, int64_t line)
{
    w->len = 0;
    w->head_seq = w->next_seq;
    w->offset = offset;
    w->line = line;
}

size_t wm_pending(const wm *w)
{
    return w->len;
}

void wm_free(wm *w)
{
    free(w->ring);
    w->ring = NULL;
    w->len = w->cap = 0;
}
