/*
 * pg_rowbuf.h — the rows the postgres sink has rendered but not yet
 * written: their COPY text, one after the other, a copy of each row's record
 * (to reject it after its batch is gone) and a hold on its acknowledgement.
 *
 * Rows stay in the order they were added. A write marks each row done
 * (committed) or bad (to be rejected, with a reason); pgrb_settle then drops
 * those rows and releases their holds, keeping the pending ones in order.
 * A row's ack is held from pgrb_add until the row leaves the buffer: a run
 * of rows sharing an ack (a source's poll) takes one hold.
 *
 * Ownership: the buffer owns every copy and reason; pgrb_free releases them
 * but not the holds still taken (what was not written stays unacknowledged,
 * as after a crash). Not thread-safe: one per worker.
 */
#ifndef MF_PG_ROWBUF_H
#define MF_PG_ROWBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <martflow/martflow.h>

enum pgrb_state { PGRB_PENDING = 0, PGRB_DONE, PGRB_BAD };

typedef struct pgrb pgrb;

pgrb *pgrb_new(const mf_host *host, mf_node *node);
void pgrb_free(pgrb *rb);

/* Where the next row's fields are appended (COPY text, no final newline;
 * binary: the row's field count and fields). */
mf_buffer *pgrb_line(pgrb *rb);

/* The rows' format: COPY text (the default) or binary (pg_copybin.h; no
 * newline ends a row). Set when the buffer is empty, or by pgrb_rerender. */
void pgrb_set_binary(pgrb *rb, bool binary);
bool pgrb_binary(const pgrb *rb);

/* Drop the row begun in pgrb_line but not added (a value binary cannot take). */
void pgrb_line_undo(pgrb *rb);

/* Render row `row` of record rec again into line (COPY text, no newline). */
typedef void (*pgrb_render_fn)(void *arg, const mf_record *rec, size_t row, mf_buffer *line);

/* Every row rendered again as COPY text by fn from its record (the batch
 * goes as text after all); states, holds and order unchanged. A row begun
 * in pgrb_line is dropped. */
void pgrb_rerender_text(pgrb *rb, pgrb_render_fn fn, void *arg);

/* End the row begun in pgrb_line: copy rec (for a later reject) and hold
 * its ack. */
void pgrb_add(pgrb *rb, const mf_record *rec);

size_t pgrb_count(const pgrb *rb);
size_t pgrb_bytes(const pgrb *rb);          /* COPY data of the rows */
int64_t pgrb_first_ms(const pgrb *rb);      /* monotonic ms when the oldest row was added */

/* The COPY text of rows idx[0, n) (ascending), n > 0: a slice of the buffer
 * when they are consecutive, else gathered into memory the buffer owns
 * until the next call. */
const char *pgrb_data(pgrb *rb, const uint32_t *idx, size_t n, size_t *len);

/* The COPY text of rows [from, to) (from < to <= count): a slice of the
 * buffer, valid until rows are added or dropped. */
const char *pgrb_text(const pgrb *rb, size_t from, size_t to, size_t *len);

void pgrb_set_state(pgrb *rb, size_t i, enum pgrb_state state);
enum pgrb_state pgrb_state_of(const pgrb *rb, size_t i);
/* Mark row i bad with a reason (copied). */
void pgrb_set_bad(pgrb *rb, size_t i, const char *reason);
const char *pgrb_reason(const pgrb *rb, size_t i);
/* Every bad row back to pending (a failed attempt whose rejects are not kept). */
void pgrb_unmark_bad(pgrb *rb);

/* Row i's record as it was added (its ack the held one), for host->reject.
 * Valid until the next call on the buffer. */
const mf_record *pgrb_record(pgrb *rb, size_t i);

/* Drop every row that is not pending (releasing its ack hold); the pending
 * ones keep their order. Returns how many rows were dropped. */
size_t pgrb_settle(pgrb *rb);

/* Drop rows [keep, count) (all pending), releasing their holds. */
void pgrb_truncate(pgrb *rb, size_t keep);

#endif
