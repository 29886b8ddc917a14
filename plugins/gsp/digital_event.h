/*
 * digital_event.h — decoding one digital-itx event (docs/events.md §1,
 * "digital-itx") into a small struct, with one compiled field set and no
 * JSON tree; the envelope fields are read as for voice (gsp_envelope.h).
 *
 * Ownership: the strings of a decoded event borrow from the record (see
 * martflow/jsonview.h): valid until the plugin callback returns.
 */
#ifndef GSP_DIGITAL_EVENT_H
#define GSP_DIGITAL_EVENT_H

#include <stdbool.h>
#include <stdint.h>

#include <martflow/martflow.h>

#include "gsp_envelope.h"

/* Event names; values order ties and are stored in snapshots: append only. */
typedef enum dg_event_id {
    DG_EV_NONE = 0,
    DG_EV_CREATED,      /* EventInteractionCreated */
    DG_EV_QUEUED,       /* EventInteractionQueued: a queue stay begins */
    DG_EV_WORKBIN,      /* EventInteractionPlacedInWorkbin: a workbin stay begins */
    DG_EV_OFFERED,      /* EventInteractionOffered: an agent's involvement begins */
    DG_EV_ACCEPTED,     /* EventInteractionAccepted: the agent handles it */
    DG_EV_REJECTED,     /* EventInteractionRejected */
    DG_EV_TIMED_OUT,    /* EventInteractionTimedOut */
    DG_EV_REVOKED,      /* EventInteractionRevoked */
    DG_EV_TRANSFERRED,  /* EventInteractionTransferred */
    DG_EV_CONFERENCED,  /* EventInteractionConferenced */
    DG_EV_COMPLETED,    /* EventInteractionCompleted */
    DG_EV_COUNT
} dg_event_id;
const char *dg_event_name(dg_event_id id);

/* MediaType: the media_type codes of the schema; stored in snapshots. */
typedef enum dg_media {
    DG_MEDIA_NONE = 0,
    DG_MEDIA_CHAT,
    DG_MEDIA_EMAIL,
    DG_MEDIA_SMS,
    DG_MEDIA_FACEBOOK,
    DG_MEDIA_TWITTER,
    DG_MEDIA_WHATSAPP,
    DG_MEDIA_WORKITEM,
    DG_MEDIA_COUNT
} dg_media;
/* "CHAT", ...; "?" for DG_MEDIA_NONE. */
const char *dg_media_name(dg_media m);

/* Reject reasons: gsp_reject_kind's, then this one. */
enum { DG_REJECT_BAD_MEDIA_TYPE = GSP_REJECT_KIND_COUNT, DG_REJECT_KIND_COUNT };
/* The counter label of a reason below DG_REJECT_KIND_COUNT. */
const char *dg_reject_kind_name(int k);

typedef struct dg_event {
    dg_event_id id;
    int64_t time_ms, seq;
    gsp_str tenant; /* the Tenant field, else the key's prefix before ':' */
    gsp_str interaction_id, queue, workbin, agent_id, target_agent_id, place, from, to;
    dg_media media; /* DG_MEDIA_NONE when the event names none */
} dg_event;

typedef struct dg_decoder dg_decoder;

/* host and node are borrowed and must outlive it. NULL (logged) on failure. */
dg_decoder *dg_decoder_new(const mf_host *host, mf_node *node);
void dg_decoder_free(dg_decoder *d);

/* Decode rec into *ev. GSP_REJECT_NONE when good; else a reason below
 * DG_REJECT_KIND_COUNT and *reason a sentence (the decoder's, valid until
 * the next call). */
int dg_decode(dg_decoder *d, const mf_record *rec, dg_event *ev, const char **reason);

#endif
