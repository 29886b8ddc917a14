/*
 * lua_outbox.h — what one script call emitted and rejected, held until the
 * call returns: on success it is handed to the engine in order (emit,
 * reject), on a Lua error it is thrown away, so a failing record is rejected
 * and nothing it half-emitted goes downstream.
 *
 * The outbox owns the bytes of built records (an arena) and one reference on
 * each built JSON value; forwarded input records are referenced, not copied
 * (they live until the plugin callback returns, and the outbox is flushed or
 * discarded before that).
 */
#ifndef MF_LUA_OUTBOX_H
#define MF_LUA_OUTBOX_H

#include <stddef.h>

#include <martflow/martflow.h>

typedef struct lpo_item {
    int port;              /* -1: reject `src` with `reason` */
    mf_record *src;        /* forward this input as it is (or reject it) */
    mf_record rec;         /* otherwise: a built record */
    json_t *json;          /* owned reference (rec.json) or NULL */
    mf_ack *ack;           /* for built records */
    const char *reason;
} lpo_item;

struct lpo_chunk;

typedef struct lp_outbox {
    lpo_item *items;
    size_t n, cap;
    struct lpo_chunk *chunks;
} lp_outbox;

/* Queue the input record `in` for port, unchanged. */
void lpo_forward(lp_outbox *o, int port, mf_record *in);
/* Queue a built record: the returned item's rec is zeroed with the given port
 * and ack; fill rec (bytes from lpo_alloc) and json (owned). */
lpo_item *lpo_add(lp_outbox *o, int port, mf_ack *ack);
/* Queue a reject of `in` (reason copied). */
void lpo_reject(lp_outbox *o, mf_record *in, const char *reason);
/* Bytes that live until the next flush or discard; NUL-terminated copies. */
void *lpo_alloc(lp_outbox *o, size_t n);
const uint8_t *lpo_copy(lp_outbox *o, const void *data, size_t n);

/* Emit and reject everything queued, in order, then empty the outbox.
 * Returns MF_OK or the first MF_FATAL from the engine. */
int lpo_flush(lp_outbox *o, mf_node *node, const mf_host *host);
void lpo_discard(lp_outbox *o);
size_t lpo_count(const lp_outbox *o);
void lpo_free(lp_outbox *o);

#endif
