/*
 * watermark.h — the acknowledged position of one file read by the file source.
 *
 * Each poll batch that read from a file leaves a mark there: the offset (and
 * line count) just after the last line it consumed. Batches are acknowledged
 * in any order; the watermark moves only over the run of acknowledged marks at
 * the head, so a batch still in flight holds it back and a restart from the
 * watermark replays nothing that is not in flight. wm_reset starts over (the
 * file was truncated or rewritten): marks made before it are forgotten, and
 * acknowledging one later moves nothing.
 *
 * Ownership: a wm owns its ring of marks (wm_free). Not thread-safe: the
 * source's thread only.
 */
#ifndef MF_FILE_WATERMARK_H
#define MF_FILE_WATERMARK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct wm_mark;

typedef struct wm {
    int64_t offset;        /* acknowledged: every byte before it is handled */
    int64_t line;          /* lines before offset */
    struct wm_mark *ring;  /* pending marks, oldest at head */
    size_t head, len, cap;
    uint64_t head_seq;     /* sequence number of ring[head]; the ring's are consecutive */
    uint64_t next_seq;
} wm;

/* Start at an acknowledged position (no marks). */
void wm_init(wm *w, int64_t offset, int64_t line);
/* A batch consumed the file up to (offset, line); returns the mark's number
 * for wm_done. Marks must come in reading order. */
uint64_t wm_mark(wm *w, int64_t offset, int64_t line);
/* The batch that made mark `seq` is acknowledged. True when the watermark
 * moved; a mark from before the last reset is ignored. */
bool wm_done(wm *w, uint64_t seq);
/* Forget pending marks and start at (offset, line). */
void wm_reset(wm *w, int64_t offset, int64_t line);
size_t wm_pending(const wm *w);
void wm_free(wm *w);

#endif
