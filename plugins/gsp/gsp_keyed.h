/*
 * gsp_keyed.h — what the stateful GSP transforms (callthread, agentstate,
 * digitalagentstate, outbound, digital) do the same way around their keyed
 * state and their input's event time: firing timers as the watermark moves,
 * the end of input, snapshots, commits and restores, the record key check
 * and the reject counters.
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
    mf_keyed_timer_fn on_timer; /* the transform's timers, called with arg */
    void *arg;
    int64_t *wm_now; /* set to the watermark timers fire under; NULL: not kept */
} gsp_keyed;

/* Fire the timers due at watermark wm (*wm_now set to it first). */
static inline void gsp_keyed_advance_to(const gsp_keyed *g, int64_t wm)
{
    if (g->wm_now)
        *g->wm_now = wm;
    mf_keyed_advance(g->keyed, wm, g->on_timer, g->arg);
}

/* After an event, or a batch (a stream may have gone idle): advance to the
 * input's watermark at monotonic time now when a timer is due by it or it
 * moved past the last one advanced to. Inline: it runs for every event. */
static inline void gsp_keyed_advance(const gsp_keyed *g, int64_t now)
{
    int64_t wm = mf_watermark_get(g->wm, now), next = mf_keyed_next_timer(g->keyed);
    if (wm != MF_TIME_UNSET && ((next != MF_TIME_UNSET && next <= wm) || wm > mf_keyed_watermark(g->keyed)))
        gsp_keyed_advance_to(g, wm);
}

/* The event time the input has reached when it ends: its watermark, or, when
 * nothing new arrived since a restore, the restored one plus the ordering
 * slack (so what was pending at the checkpoint is released). MF_TIME_UNSET
 * when the input never had an event time. */
int64_t gsp_keyed_end_time(const gsp_keyed *g, int64_t max_out_of_order);

/* The end of input (MF_FLUSH_END): event time goes to the end
 * (gsp_keyed_end_time), *ending is set (NULL: not kept), then to INT64_MAX
 * (every timer fires: everything queued is applied); then, while *rc is
 * MF_OK, open(arg, state) for each key still there (what stays open; NULL:
 * nothing to do); then every key is removed (mf_keyed_clear). */
void gsp_keyed_end(const gsp_keyed *g, int64_t max_out_of_order, bool *ending, mf_keyed_each_fn open, const int *rc);

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


/* The counters m[1 .. count) of `name` (help text help), labelled
 * reason="...": below first_extra the decoder's reasons (kind_name; NULL:
 * gsp_reject_kind_name), from it on extra[r - first_extra]. */
void gsp_reject_counters(const mf_host *host, mf_node *node, mf_metric **m, int count, int first_extra,
                         const char *(*kind_name)(int), const char *const *extra, const char *name,
                         const char *help);

#endif
