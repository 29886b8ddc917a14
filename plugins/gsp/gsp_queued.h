/*
 * gsp_queued.h — the keyed state of the GSP transforms whose events wait in
 * a queue until the watermark passes them (agentstate, digitalagentstate,
 * outbound, digital): the queue (agent_queue.h), the length of the tenant at
 * the head of the record key, and the transform's own model. One set of
 * mf_keyed_ops serves them all; what differs, the model's free, save and
 * load, comes as a small vtable (gsp_model_ops), called only when a state is
 * destroyed, snapshotted or restored (never per event).
 *
 * The bytes of one state, as each transform wrote them before they shared
 * this code (checkpoints restore across the change): tenant_len (4 bytes,
 * gsp_put), the queue (aq_save), the model (its save).
 *
 * Ownership: the state owns its queue and model (freed by the ops' destroy);
 * gsp_queued_kind and its vtable are borrowed by the mf_keyed.
 */
#ifndef GSP_QUEUED_H
#define GSP_QUEUED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <martflow/keyed.h>
#include <martflow/martflow.h>

#include "agent_queue.h"
#include "gsp_wire.h"

/* The head of every queued state: `struct agent { gsp_queued q; am_agent model; }`. */
typedef struct gsp_queued {
    aq_queue queue;
    uint32_t tenant_len; /* the tenant is key[0 .. tenant_len) */
} gsp_queued;

/* A model's life cycle, over a void pointer (GSP_MODEL_OPS writes it). load
 * fills a zeroed model and returns false on malformed bytes; free leaves the
 * model zeroed (so freeing twice is harmless). */
typedef struct gsp_model_ops {
    void (*free)(void *model);
    void (*save)(const void *model, const mf_host *host, mf_buffer *out);
    bool (*load)(void *model, gsp_reader *r);
} gsp_model_ops;

/* Defines `static const gsp_model_ops name` over the typed functions of a
 * model `type` (am_free, am_save, am_load, ...): small wrappers, so that no
 * function pointer is called through another type. */
#define GSP_MODEL_OPS(name, type, free_fn, save_fn, load_fn)                                                   \
    static void name##_free(void *m) { free_fn((type *)m); }                                                   \
    static void name##_save(const void *m, const mf_host *h, mf_buffer *o) { save_fn((const type *)m, h, o); } \
    static bool name##_load(void *m, gsp_reader *r) { return load_fn((type *)m, r); }                          \
    static const gsp_model_ops name = {name##_free, name##_save, name##_load}

/* What one transform's state is: its size, where its model is (after the
 * gsp_queued head), and the model's vtable. */
typedef struct gsp_queued_kind {
    const mf_host *host;
    size_t state_size;   /* sizeof the transform's state */
    size_t model_offset; /* offsetof its model */
    const gsp_model_ops *model;
} gsp_queued_kind;

/* The record a queued event came in, to decode it again: the state's key
 * and the queued value (borrowed from the state and the entry). */
static inline mf_record gsp_queued_record(const mf_keyed *k, const void *state, const aq_entry *e)
{
    size_t key_len;
    const uint8_t *key = mf_keyed_key(k, state, &key_len);
    return (mf_record){.key = key, .key_len = (uint32_t)key_len, .value = e->value, .value_len = e->len,
                       .time_ms = MF_TIME_UNSET};
}

/* A queued event decoded when it came and no longer does (why): logged as
 * an error; returns MF_FATAL for the transform's rc. */
int gsp_queued_lost(const mf_host *host, mf_node *node, const char *why);

/* mf_keyed_new with the ops of a queued state. kind is borrowed (the ops'
 * arg) and must outlive the mf_keyed; NULL as mf_keyed_new gives it. */
mf_keyed *gsp_queued_keyed_new(const mf_host *host, mf_node *node, const gsp_queued_kind *kind);

#endif
