/*
 * martflow/keyed.h — key groups and keyed state for stateful transforms
 * (in libmartflow: `pkg-config --libs martflow`).
 *
 * Key groups. A key's *key group* is mf_key_hash(key) % MF_KEY_GROUPS. The
 * engine routes a keyed record to the worker owning its key group, and keyed
 * state is checkpointed per key group, so when a transform's parallelism
 * changes, whole key groups move between workers and no key is split. The
 * hash, MF_KEY_GROUPS and the group-to-worker mapping are part of the
 * checkpoint format: they never change (see docs/plugin-api.md, "Keyed state").
 *
 * Keyed state (mf_keyed). What every stateful transform needs besides its
 * domain logic, one per worker: a hash table from key bytes to a fixed-size
 * user state, event-time timers per key, acknowledgement holding per key
 * (inputs are acknowledged only once the outputs derived from them are) and
 * snapshots grouped by key group. Not thread-safe: one mf_keyed belongs to one
 * plugin instance and is used from its thread, like everything else of it.
 */
#ifndef MARTFLOW_KEYED_H
#define MARTFLOW_KEYED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <martflow/plugin.h>
#include <martflow/record.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- key groups (pure functions, any thread) ------------------------------------ */

/* The number of key groups: the most workers keyed state can ever be spread
 * over, so at least the largest `parallelism` (256). 16 groups per worker at
 * 256 workers keeps the ranges within one group (6%) of each other; a power of
 * two so `% MF_KEY_GROUPS` is a mask. Fixed forever: changing it moves keys
 * between groups in every existing checkpoint. */
#define MF_KEY_GROUPS 4096u
/* The largest worker count the mapping below is defined for. */
#define MF_KEY_MAX_WORKERS 256

/* MurmurHash3 x86_32 of the bytes with seed 0. Fixed forever (it decides where
 * state lives in checkpoints); key may be NULL when len is 0. */
uint32_t mf_key_hash(const void *key, size_t len);
/* mf_key_hash(key, len) % MF_KEY_GROUPS. */
uint32_t mf_key_group(const void *key, size_t len);
/* The worker (0 .. n_workers-1) owning a key group: key_group * n_workers /
 * MF_KEY_GROUPS, so every worker owns one contiguous range of groups.
 * -1 when key_group >= MF_KEY_GROUPS or n_workers is not in 1..MF_KEY_MAX_WORKERS. */
int mf_key_group_worker(uint32_t key_group, int n_workers);
/* The inverse: worker owns key groups *first .. *last (inclusive; never empty).
 * -1 (outputs untouched) when worker/n_workers are out of range, else 0. */
int mf_key_group_range(int worker, int n_workers, uint32_t *first, uint32_t *last);

/* ---- keyed state ---------------------------------------------------------------- */

typedef struct mf_keyed mf_keyed;

/* How the user state of a key is made, released and (de)serialised. `arg` is
 * the one given to mf_keyed_new. Callbacks may not call mf_keyed functions. */
typedef struct mf_keyed_ops {
    /* Bytes of user state per key, zeroed when a key is created or restored;
     * aligned for any type. May be 0. */
    size_t state_size;
    /* Optional: release what a state points to (called when its key is
     * removed, cleared, or freed with the mf_keyed, and when a restore fails). */
    void (*destroy)(void *arg, void *state);
    /* Required for snapshots: append the state's bytes to out (mf_buffer_append
     * or host->buffer_append; many small fields faster through one
     * mf_buffer_reserve). Return MF_OK, anything else fails the snapshot. */
    int (*save)(void *arg, const void *state, mf_buffer *out);
    /* Required for restores: fill a zeroed state from what save wrote. Return
     * MF_OK; anything else rejects the snapshot (the state is then destroyed). */
    int (*load)(void *arg, void *state, const uint8_t *data, size_t len);
    void *reserved[4];
} mf_keyed_ops;

/* A new, empty keyed state for this worker. ops is copied; host, node and arg
 * are borrowed and must outlive it. The worker index and count are read from
 * host->worker once. Registers the gauges martflow_keyed_keys and
 * martflow_keyed_timers (summed over the node's workers; updated at every
 * mf_keyed_advance, snapshot and clear) and the counters
 * martflow_keyed_timers_fired_total and martflow_keyed_misrouted_total (keys
 * created on a worker that does not own their key group). */
mf_keyed *mf_keyed_new(const mf_host *host, mf_node *node, const mf_keyed_ops *ops, void *arg);
/* Destroy every state and free. Held inputs are NOT acknowledged: open state
 * that was never emitted must be replayed, so its inputs stay unacknowledged
 * (the engine frees their tokens at its end). To acknowledge, remove the keys
 * or call mf_keyed_clear first. NULL is fine. */
void mf_keyed_free(mf_keyed *k);

/* The key's state, or NULL. Allocates nothing. The key must be the routing
 * key of the records that feed it (the record key), so that its key group is
 * the one the engine routed by. */
void *mf_keyed_get(mf_keyed *k, const void *key, size_t len);
/* The key's state, created (zeroed; the key copied) when absent; *created
 * (may be NULL) tells which. A state pointer stays valid until its key is
 * removed: the table moves its slots, never the states. */
void *mf_keyed_get_or_create(mf_keyed *k, const void *key, size_t len, bool *created);
/* Remove a key: cancel its timers, release its ack group (mf_keyed_ack_release:
 * its inputs are acknowledged once the outputs emitted with the group are),
 * destroy and free its state. */
void mf_keyed_remove(mf_keyed *k, void *state);
/* Remove every key as mf_keyed_remove does (after MF_FLUSH_END emitted all). */
void mf_keyed_clear(mf_keyed *k);

/* The key bytes (owned by the state's entry) and key group of a state. */
const uint8_t *mf_keyed_key(const mf_keyed *k, const void *state, size_t *len);
uint32_t mf_keyed_key_group(const mf_keyed *k, const void *state);
size_t mf_keyed_count(const mf_keyed *k);
size_t mf_keyed_timer_count(const mf_keyed *k);

/* Call fn(arg, state) for every key in snapshot order (key group, then key
 * bytes). fn may remove the key it is given, no other; a status other than
 * MF_OK stops the walk and is returned. */
typedef int (*mf_keyed_each_fn)(void *arg, void *state);
int mf_keyed_each(mf_keyed *k, mf_keyed_each_fn fn, void *arg);

/* ---- timers (event time) ---- */

/* Set the key's timer `id` to fire at time_ms, replacing that timer if set.
 * A key has any number of timers, told apart by id. */
void mf_keyed_timer_set(mf_keyed *k, void *state, uint32_t id, int64_t time_ms);
/* Cancel the key's timer `id`; false if it was not set. */
bool mf_keyed_timer_cancel(mf_keyed *k, void *state, uint32_t id);
/* The time of the key's timer `id`, or MF_TIME_UNSET. */
int64_t mf_keyed_timer_get(const mf_keyed *k, const void *state, uint32_t id);
/* The earliest timer of any key, or MF_TIME_UNSET. */
int64_t mf_keyed_next_timer(const mf_keyed *k);

/* Event time has reached watermark_ms (the watermark never goes back: a lower
 * value keeps the current one). Fire every timer at or before the watermark in
 * order of (time, key bytes, id) — the same order whatever the parallelism or
 * restore history — calling fn(arg, state, id, time_ms) after unsetting that
 * timer. fn may emit, set or cancel timers (one set at or before the watermark
 * fires in this same call) and remove its key. A status other than MF_OK stops
 * firing and is returned (the timer given to fn stays consumed). */
typedef int (*mf_keyed_timer_fn)(void *arg, void *state, uint32_t id, int64_t time_ms);
int mf_keyed_advance(mf_keyed *k, int64_t watermark_ms, mf_keyed_timer_fn fn, void *arg);
/* The highest watermark given to mf_keyed_advance (or restored), or MF_TIME_UNSET. */
int64_t mf_keyed_watermark(const mf_keyed *k);

/* ---- acknowledgement holding ---- */
/*
 * A key collects the inputs that fed its state in a pending ack group:
 *   mf_keyed_absorb(k, st, rec)          for each input folded into st;
 *   emit(node, port, &out, mf_keyed_ack_group(k, st))  for each output derived
 *                                        from st (as many, as often as needed);
 *   mf_keyed_ack_release(k, st)          once st no longer depends on the inputs
 *                                        absorbed so far beyond what was emitted.
 * Released inputs are acknowledged when every output emitted with the group is
 * handled downstream; never before, and never while the key keeps the group.
 * Absorbing after a release starts a new group. mf_keyed_remove and
 * mf_keyed_clear release; mf_keyed_free does not (see there).
 */
void mf_keyed_absorb(mf_keyed *k, void *state, const mf_record *rec);
/* The key's pending group (created if none): pass it to host->emit. Owned by
 * the key; do not release it yourself. */
mf_ack *mf_keyed_ack_group(mf_keyed *k, void *state);
void mf_keyed_ack_release(mf_keyed *k, void *state);

/* ---- snapshots ---- */

/* Append every key, its timers and its state (ops->save) and the watermark to
 * out, grouped by key group (format: docs/plugin-api.md, "Keyed state
 * snapshot format"). Deterministic: the same state gives the same bytes. Ack
 * groups are not included: inputs not yet acknowledged are replayed after a
 * restore. MF_OK, or MF_FATAL (logged) if ops->save failed or is missing;
 * out then holds its old length. */
int mf_keyed_snapshot(mf_keyed *k, mf_buffer *out);
/* Add the keys of a snapshot whose key groups this worker owns (its worker
 * index and count from host->worker), skipping the others, so a snapshot of
 * any parallelism can be restored: call once per snapshot of the old workers.
 * The watermark becomes the lowest restored. All or nothing: malformed or
 * truncated bytes, another format version, a key already present, or
 * ops->load failing add nothing and return MF_FATAL (logged). */
int mf_keyed_restore(mf_keyed *k, const uint8_t *data, size_t len);

/* ---- checkpoints: acks held until a checkpoint covers the inputs ---- */
/*
 * With a checkpoint store, an input absorbed into a key's state need not be
 * replayed once a checkpoint holding that state is stored: its ack is held
 * only until then, however long the key stays open.
 *   mf_keyed_checkpoint(k, N)  at snapshot N: every key's pending ack group
 *                              is set aside for checkpoint N (the key starts
 *                              a new group at its next absorb or emit);
 *   mf_keyed_commit(k, N)      at commit(N): the groups set aside for N and
 *                              earlier are released (acknowledged once the
 *                              outputs emitted with them are handled).
 * A checkpoint that fails never gets commit(N); the next commit releases its
 * groups too. Without snapshots nothing is set aside: the acks stay held as
 * the section above says.
 */
void mf_keyed_checkpoint(mf_keyed *k, uint64_t checkpoint_id);
void mf_keyed_commit(mf_keyed *k, uint64_t checkpoint_id);
/* mf_keyed_snapshot, then (on MF_OK) mf_keyed_checkpoint: what a keyed
 * plugin's snapshot() returns. */
int mf_keyed_snapshot_checkpoint(mf_keyed *k, uint64_t checkpoint_id, mf_buffer *out);

#ifdef __cplusplus
}
#endif
#endif
