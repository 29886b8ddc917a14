/*
 * watermark.h — the acknowledged position of each file the file source reads,
 * from poll batches acknowledged in any order.
 *
 * Each poll is one batch (the cookie ack() gives back). In every file it
 * reads, a batch leaves a mark: the offset (and line count) just after the
 * last line it consumed there. A file's watermark moves only over the run of
 * acknowledged marks at the head, so a batch still in flight holds it back
 * and a restart from the watermark replays nothing that is not in flight.
 * wm_reset starts a file over (truncated or rewritten): marks made before it
 * are forgotten, and acknowledging one later moves nothing.
 *
 * Ownership: a wm owns its ring of marks (wm_free); wm_batches owns its
 * batches. A batch refers to the wm of each file it read: a wm must outlive
 * the batches that refer to it (wm_in_use). Not thread-safe: the source's
 * thread only.
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
    size_t batch_refs;     /* batches that refer to this wm */
} wm;

/* Start at an acknowledged position (no marks); w is uninitialised. */
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
/* Pending marks, or a batch refers to it: it must not be freed yet. */
bool wm_in_use(const wm *w);
void wm_free(wm *w);

/* ---- poll batches ---- */
typedef struct wm_batch wm_batch;

typedef struct wm_batches {
    wm_batch *open;        /* the current poll's, or NULL */
    wm_batch *outstanding; /* closed, waiting for their acknowledgement */
} wm_batches;

/* Open the batch of a poll (the cookie to give the engine). */
wm_batch *wm_batch_open(wm_batches *bs);
/* The open batch consumed w up to (offset, line): its mark there is made,
 * or moved. No-op without an open batch. */
void wm_batch_note(wm_batches *bs, wm *w, int64_t offset, int64_t line);
/* End of the poll. `emitted`: records went downstream with the batch; if
 * none did, no acknowledgement will come, so it is done now. True when a
 * watermark moved. */
bool wm_batch_close(wm_batches *bs, bool emitted);
/* The batch was acknowledged (freed here). True when a watermark moved. */
bool wm_batch_done(wm_batches *bs, wm_batch *b);
/* Free every batch without touching the wms (they may be gone). */
void wm_batches_free(wm_batches *bs);

#endif
