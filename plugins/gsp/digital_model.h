/*
 * digital_model.h — one digital interaction (docs/digital-rules.md): its own
 * fields, the one open queue / workbin stay, the last closed stay (kept
 * while the offer that closed it rings, so that an accept can mark it
 * answered), and one entry per open agent involvement (at most DG_MAX_OPEN).
 * Events are applied in (time, seq, id) order (the transform orders them);
 * after each applied event dg_emit hands the rows it changed to the sink:
 * the interaction, the stays closed by it and the open one, every
 * involvement open or ended by it, then the handling starts and ends of
 * agents (digital.agent_events). An open row is written active with its end
 * at the interaction's last event.
 *
 * Ownership: a dg_ixn owns its texts (dg_free); zeroed is empty. Texts keep
 * their capacity (no allocation per event once they have grown).
 */
#ifndef GSP_DIGITAL_MODEL_H
#define GSP_DIGITAL_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include <martflow/martflow.h>

#include "digital_event.h"
#include "gsp_btext.h"
#include "gsp_wire.h"

/* The most involvements open at once in one interaction (offers ringing,
 * agents handling, conference members): an offer or conference beyond is
 * rejected (too_many_involvements). */
#define DG_MAX_OPEN 8

/* Technical result and reason of a row; stored in snapshots: append only. */
typedef enum dg_result {
    DG_RES_OPEN = 0,    /* Unspecified / Unspecified: the row is still open */
    DG_RES_DIVERTED,    /* Diverted / Unspecified */
    DG_RES_ANSWERED,    /* Diverted / AnsweredByAgent */
    DG_RES_ABANDONED,   /* Abandoned / AbandonedWhileQueued */
    DG_RES_COMPLETED,   /* Completed / Unspecified */
    DG_RES_TRANSFERRED, /* Transferred / Unspecified */
    DG_RES_REDIRECTED,  /* Redirected / Unspecified */
    DG_RES_RONA,        /* Redirected / RouteOnNoAnswer */
    DG_RES_REVOKED,     /* Revoked / Unspecified */
    DG_RES_COUNT
} dg_result;
/* The technical_result of r; *reason its result_reason. */
const char *dg_result_name(dg_result r, const char **reason);

typedef enum dg_role { DG_ROLE_RECEIVED, DG_ROLE_TRANSFER, DG_ROLE_CONFERENCE, DG_ROLE_COUNT } dg_role;
/* The resource_role of r; *reason its role_reason. */
const char *dg_role_name(dg_role r, const char **reason);

typedef enum dg_phase { DG_RINGING, DG_HANDLING, DG_ENDED } dg_phase;

/* A queue or workbin stay (a MEDIATION_SEGMENT_FACT). */
typedef struct dg_stay {
    bool open;       /* the interaction waits in it now */
    bool kept;       /* closed by an offer still ringing: an accept marks it answered */
    bool dirty;      /* changed by the last event: to be written */
    bool workbin;    /* Workbin, else Queue */
    bool has_target; /* closed by an offer: target_ixn_resource_id */
    uint8_t result;  /* dg_result */
    gsp_btext name, target_agent;
    int64_t seq, start_ms, end_ms, target_seq;
} dg_stay;

/* An agent's involvement (an INTERACTION_RESOURCE_FACT). */
typedef struct dg_inv {
    uint8_t phase, role, result; /* dg_phase, dg_role, dg_result */
    bool rang;                   /* offered: ring_count 1 */
    bool has_stay;               /* came from a stay: mediation_segment_id, last_queue_resource */
    bool stay_workbin;
    bool has_from; /* received by a transfer: received_from_ixn_resource_id */
    int32_t ordinal;
    gsp_btext agent, place, stay_name, from_agent;
    int64_t seq, start_ms, accept_ms, end_ms; /* accept_ms MF_TIME_UNSET until handled */
    int64_t stay_seq, from_seq;
} dg_inv;

/* A handling start or end of the last event, for digital.agent_events. */
typedef struct dg_handling {
    uint8_t inv; /* index into inv[] */
    bool start;
} dg_handling;

typedef struct dg_ixn {
    gsp_btext guid, from, to;
    uint8_t media;        /* dg_media */
    bool started, ended;  /* an event applied; ended: no more rows, release the state */
    uint8_t last_event;   /* dg_event_id of the last event applied */
    int64_t start_ms, last_ms, last_seq;
    int32_t ordinals;     /* involvements opened so far */
    dg_stay stay, prev;   /* the open stay; the last closed one */
    bool has_transfer;    /* the previous EventInteractionTransferred named a target */
    gsp_btext transfer_to, transfer_from;
    int64_t transfer_seq; /* seq of the transferring involvement */
    uint32_t n_inv;       /* open involvements (and ended ones until dg_emit) */
    dg_inv inv[DG_MAX_OPEN];
    uint32_t n_handling;
    dg_handling handling[DG_MAX_OPEN];
} dg_ixn;

typedef enum dg_outcome {
    DG_APPLIED,
    DG_IGNORED,  /* nothing it could change (an accept of no offer, ...) */
    DG_NO_MEDIA, /* the interaction's media is not known and the event names none: rejected */
    DG_TOO_MANY  /* an involvement beyond DG_MAX_OPEN: rejected */
} dg_outcome;

dg_outcome dg_apply(dg_ixn *x, const dg_event *ev);
/* Stop the interaction at its last event (stuck): open involvements end,
 * an open stay is abandoned, the interaction ends. */
void dg_stop(dg_ixn *x);

/* Where the rows go; a status other than MF_OK stops dg_emit (returned). */
typedef struct dg_sink {
    int (*ixn)(void *arg, const dg_ixn *x);
    int (*stay)(void *arg, const dg_ixn *x, const dg_stay *s);
    int (*inv)(void *arg, const dg_ixn *x, const dg_inv *v);
    int (*handling)(void *arg, const dg_ixn *x, const dg_inv *v, bool start);
} dg_sink;

/* Write what the last dg_apply / dg_stop changed, then forget the ended
 * involvements and what no later event can change. */
int dg_emit(dg_ixn *x, const dg_sink *sink, void *arg);
void dg_free(dg_ixn *x);

void dg_save(const dg_ixn *x, const mf_host *host, mf_buffer *out);
/* Fill a zeroed interaction; false (freed) on malformed bytes. */
bool dg_load(dg_ixn *x, gsp_reader *r);

#endif
