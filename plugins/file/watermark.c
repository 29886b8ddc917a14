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

/* The pending mark `seq`, or NULL (done, or made before a reset). */
static struct wm_mark *find(const wm *w, uint64_t seq)
{
    if (seq < w->head_seq || seq - w->head_seq >= w->len)
        return NULL;
    return at(w, (size_t)(seq - w->head_seq));
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
    struct wm_mark *m = find(w, seq);
    if (!m)
        return false;
    m->done = true;
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

bool wm_in_use(const wm *w)
{
    return w->len > 0 || w->batch_refs > 0;
}

void wm_free(wm *w)
{
    free(w->ring);
    w->ring = NULL;
    w->len = w->cap = 0;
}

/* ---- poll batches ------------------------------------------------------------------------ */

struct wm_batch {
    wm_batch *prev, *next; /* outstanding list */
    size_t n, cap;
    struct wm_part {
        wm *w;
        uint64_t seq;
    } *parts;
};

wm_batch *wm_batch_open(wm_batches *bs)
{
    wm_batch *b = calloc(1, sizeof *b);
    if (!b)
        abort();
    bs->open = b;
    return b;
}

void wm_batch_note(wm_batches *bs, wm *w, int64_t offset, int64_t line)
{
    wm_batch *b = bs->open;
    if (!b)
        return;
    for (size_t i = 0; i < b->n; i++) {
        if (b->parts[i].w != w)
            continue;
        struct wm_mark *m = find(w, b->parts[i].seq);
        if (m) { /* the newest mark of w: nobody else marks it during a poll */
            m->offset = offset;
            m->line = line;
        } else { /* reset since: a new mark */
            b->parts[i].seq = wm_mark(w, offset, line);
        }
        return;
    }
    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 4;
        b->parts = realloc(b->parts, b->cap * sizeof *b->parts);
        if (!b->parts)
            abort();
    }
    b->parts[b->n++] = (struct wm_part){.w = w, .seq = wm_mark(w, offset, line)};
    w->batch_refs++;
}

static bool finish(wm_batch *b)
{
    bool moved = false;
    for (size_t i = 0; i < b->n; i++) {
        moved |= wm_done(b->parts[i].w, b->parts[i].seq);
        b->parts[i].w->batch_refs--;
    }
    free(b->parts);
    free(b);
    return moved;
}

bool wm_batch_close(wm_batches *bs, bool emitted)
{
    wm_batch *b = bs->open;
    if (!b)
        return false;
    bs->open = NULL;
    if (!emitted)
        return finish(b);
    b->next = bs->outstanding;
    if (b->next)
        b->next->prev = b;
    bs->outstanding = b;
    return false;
}

bool wm_batch_done(wm_batches *bs, wm_batch *b)
{
    if (b->prev)
        b->prev->next = b->next;
    else
        bs->outstanding = b->next;
    if (b->next)
        b->next->prev = b->prev;
    return finish(b);
}

static void free_list(wm_batch *b)
{
    while (b) {
        wm_batch *next = b->next;
        free(b->parts);
        free(b);
        b = next;
    }
}

void wm_batches_free(wm_batches *bs)
{
    free_list(bs->open);
    free_list(bs->outstanding);
    bs->open = bs->outstanding = NULL;
}
