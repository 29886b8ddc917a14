/*
 * batch.h — the engine side of mf_batch: a record array plus an arena that
 * owns every byte the records point to. Emitting a record copies its bytes into
 * the output batch's arena, so a batch is self-contained and can cross threads
 * and outlive the batch it was derived from. Batches are recycled through a
 * small pool, so steady state allocates nothing per record.
 */
#ifndef MF_BATCH_H
#define MF_BATCH_H

#include <martflow/record.h>
#include <stdbool.h>

struct mf_arena_chunk;

typedef struct mf_batch_impl {
    mf_batch pub;
    size_t cap;                       /* records capacity */
    struct mf_arena_chunk *chunks;    /* newest first */
    struct mf_batch_impl *next_free;  /* pool link */
    int from;                         /* producer id of the worker that sent it, -1: none */
} mf_batch_impl;

mf_batch_impl *mf_batch_new(void);
/* Release: each record's json reference, and (if `ack`) one reference of each
 * record's ack; then recycle. ack=false abandons the acks (a failed node: the
 * data was not handled, so it must never be acknowledged). */
void mf_batch_free(mf_batch_impl *b, bool ack);

/* Append a copy of rec (bytes copied, json referenced). The new record takes
 * ownership of one reference of `ack` (the caller has taken it). */
mf_record *mf_batch_append(mf_batch_impl *b, const mf_record *rec, mf_ack *ack);

/* Bump allocation in the batch's arena. */
void *mf_batch_alloc(mf_batch_impl *b, size_t n);

/* Value bytes are followed by this many zero bytes (json_fast.h parses
 * such values in place: MF_JSON_PADDING). */
#define MF_BATCH_VALUE_PADDING 64
/* n bytes for a value, followed by the zeroed padding. */
void *mf_batch_alloc_value(mf_batch_impl *b, size_t n);
/* How many bytes from p on are b's (0 if p is not in b's arena): a value
 * found there can be read that far. */
size_t mf_batch_readable(const mf_batch_impl *b, const void *p);

/* The batch a record lives in (NULL for a stack record). */
mf_batch_impl *mf_record_batch(const mf_record *rec);

/* Drop pooled batches (at exit, so leak checkers see a clean heap). */
void mf_batch_pool_drain(void);

#endif
