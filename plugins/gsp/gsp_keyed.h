/*
 * gsp_keyed.h — what the stateful GSP transforms (callthread, agentstate) do
 * the same way around their keyed state and their input's event time: the
 * event time at the end of input, snapshots, commits and restores.
 */
#ifndef GSP_KEYED_H
#define GSP_KEYED_H

#include <martflow/eventtime.h>
#include <martflow/keyed.h>
#include <martflow/martflow.h>

typedef struct gsp_keyed {
    const mf_host *host;
    mf_keyed *keyed;
    mf_watermark *wm;   /* the input's event time, per stream */
    mf_metric *m_open;  /* gauge of what is open now (call threads, agent sessions) */
    bool (*is_open)(const void *state);
} gsp_keyed;

/* The event time the input has reached when it ends: its watermark, or, when
 * nothing new arrived since a restore, the restored one plus the ordering
 * slack (so what was pending at the checkpoint is released). MF_TIME_UNSET
 * when the input never had an event time. */
int64_t gsp_keyed_end_time(const gsp_keyed *g, int64_t max_out_of_order);

/* With a checkpoint store the inputs absorbed so far are covered by the
 * snapshot, so their acks are held only until it completes (commit). */
int gsp_keyed_snapshot(const gsp_keyed *g, uint64_t checkpoint_id, mf_buffer *out);
void gsp_keyed_commit(const gsp_keyed *g, uint64_t checkpoint_id);

/* t + d for timers, saturating: a time restored from a snapshot (or read
 * from an event) near the end of int64 must not wrap into the past. */
int64_t gsp_time_add(int64_t t, int64_t d);

/* Restores the state, moves the open gauge by the difference, and holds the
 * watermark at the restored one until every stream delivers again. */
int gsp_keyed_restore(const gsp_keyed *g, const uint8_t *data, size_t len);

/* Whether a record's key is the one its event's fields give (want): the
 * transforms route by it, so a record without a key or with another one is
 * rejected. GSP_KEY_OK, or the reason and a sentence in text (naming `what`
 * events and the key's `shape`, e.g. "{tenant}:{InteractionID}"). */
typedef enum gsp_key_check { GSP_KEY_OK, GSP_KEY_NONE, GSP_KEY_MISMATCH } gsp_key_check;
gsp_key_check gsp_keyed_check_key(const mf_record *rec, const mf_buffer *want, const char *what, const char *shape,
                                  char *text, size_t size);

#endif
