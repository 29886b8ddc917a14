/*
 * digital_agent_model.h — the per-media agent-state rules of
 * docs/digital-rules.md ("Agent states per media"): one agent's events,
 * applied in (time, seq, id) order, as one login session per media, its
 * summarised state (NOT_READY, BUSY, READY) and its Not Ready reasons.
 *
 * Facts go to an emit callback as they change, as am_fact (agent_facts.h,
 * the writer voice uses; each names its media): a session when it opens and
 * when it closes, a state or a reason when it closes; at the end of input
 * (dam_end) what is open, active. Times in epoch ms; durations in whole
 * seconds of the truncated times, so the states of a session add up to it.
 *
 * Bounded: one slot per media (DA_MEDIA_COUNT), each with at most
 * max_handled interactions handled, kept as 64-bit hashes of their
 * InteractionID (a collision, about 2^-64 per pair, would make a start look
 * like a repeat).
 *
 * Ownership: a dam_agent owns its strings and hash arrays (dam_free).
 * Zeroed is an agent logged out of every media and handling nothing. The
 * strings of an am_fact are borrowed for the callback.
 */
#ifndef GSP_DIGITAL_AGENT_MODEL_H
#define GSP_DIGITAL_AGENT_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "agent_facts.h"
#include "digital_agent_event.h"
#include "gsp_wire.h"

typedef struct dam_config {
    uint32_t max_handled; /* interactions handled at once, per media */
} dam_config;

typedef struct dam_media {
    bool logged_in;
    int64_t session_ms;   /* the login's time: the session's id */
    char *place;          /* the session's: the first Place an agent-state event gave; NULL: unknown */
    bool ready;           /* reported Ready (else Not Ready) */
    char *reason;         /* the Not Ready reason code; NULL: none */
    bool reason_open;     /* a reason row is open since reason_ms */
    int64_t reason_ms;
    uint32_t capacity;    /* of the session: 1 until an EventAgentCapacity */
    uint8_t state;        /* the summarised state (AM_*), since state_ms */
    int64_t state_ms;
    uint64_t *handled;    /* hashes of the interactions handled now, in any order */
    uint32_t n_handled, cap_handled;
} dam_media;

typedef struct dam_agent {
    int64_t last_ms;                   /* the latest event applied */
    dam_media media[DA_MEDIA_COUNT];   /* by da_media; [DA_MEDIA_NONE] unused */
} dam_agent;

typedef enum dam_result {
    DAM_APPLIED,
    DAM_IGNORED,  /* an agent-state event (not a login) of a media not logged in */
    DAM_REPEATED, /* a start of an interaction handled already, an end of one not handled */
    DAM_FULL      /* a start beyond max_handled: dropped */
} dam_result;

/* Apply one decoded event. MF status of the first failing emit through *rc
 * (left alone when every emit succeeds). */
dam_result dam_apply(dam_agent *a, const dam_config *cfg, const da_event *ev, am_emit_fn emit, void *arg,
                     int *rc);
/* End of input: emit every open session, state and reason as active, up to
 * the agent's last event. */
int dam_end(const dam_agent *a, am_emit_fn emit, void *arg);
/* Media sessions open now. */
unsigned dam_open_sessions(const dam_agent *a);
/* Nothing of the agent needs its inputs any more: no session open, nothing handled. */
bool dam_quiet(const dam_agent *a);
void dam_free(dam_agent *a);

void dam_save(const dam_agent *a, const mf_host *host, mf_buffer *out);
/* Fill a zeroed agent; false (freed) on malformed bytes. (A set larger than
 * max_handled, saved under a larger option, is kept.) */
bool dam_load(dam_agent *a, gsp_reader *r);

#endif
