/*
 * digital_agent_event.h — decoding the two inputs of `digitalagentstate`
 * (docs/digital-rules.md, "Agent states per media") into one small struct,
 * with one compiled field set and no JSON tree; the envelope fields are read
 * as for voice (gsp_envelope.h):
 *   - digital-agentstate events (docs/events.md §1): `id` one of
 *     EventMediaLogin / Logout / Ready / NotReady, EventAgentCapacity;
 *   - the handling events `digital` writes on its port agent_events
 *     (digital-rules.md, "Handling events"): `event`
 *     EventInteractionHandlingStarted / Ended, `id` the source event's id
 *     with "/start" or "/end".
 * A record with an `event` field is a handling event; others are
 * agent-state events.
 *
 * Ownership: the strings of a decoded event borrow from the record (see
 * martflow/jsonview.h): valid until the plugin callback returns.
 */
#ifndef GSP_DIGITAL_AGENT_EVENT_H
#define GSP_DIGITAL_AGENT_EVENT_H

#include <stdbool.h>
#include <stdint.h>

#include <martflow/martflow.h>

#include "gsp_envelope.h"

/* Event kinds; the values order events of one time and seq and are stored
 * in snapshots (queue positions): append only. A handling start sorts before
 * an end, so an interaction that starts and ends at one instant is handled
 * for no time rather than for ever. */
typedef enum da_event_id {
    DA_EV_NONE = 0,
    DA_EV_MEDIA_LOGIN,        /* EventMediaLogin */
    DA_EV_MEDIA_LOGOUT,       /* EventMediaLogout */
    DA_EV_MEDIA_READY,        /* EventMediaReady */
    DA_EV_MEDIA_NOT_READY,    /* EventMediaNotReady */
    DA_EV_CAPACITY,           /* EventAgentCapacity */
    DA_EV_HANDLING_STARTED,   /* EventInteractionHandlingStarted (agent_events) */
    DA_EV_HANDLING_ENDED,     /* EventInteractionHandlingEnded (agent_events) */
    DA_EV_COUNT
} da_event_id;
const char *da_event_name(da_event_id id);

/* The digital media (media_type.media_name_code); stored in snapshots. */
typedef enum da_media {
    DA_MEDIA_NONE = 0,
    DA_MEDIA_CHAT,
    DA_MEDIA_EMAIL,
    DA_MEDIA_SMS,
    DA_MEDIA_FACEBOOK,
    DA_MEDIA_TWITTER,
    DA_MEDIA_WHATSAPP,
    DA_MEDIA_WORKITEM,
    DA_MEDIA_COUNT
} da_media;
/* "CHAT", ... (a static string); "?" out of range. */
const char *da_media_name(da_media m);

/* Reject reasons: gsp_reject_kind's, then these. */
enum { DA_REJECT_BAD_MEDIA_TYPE = GSP_REJECT_KIND_COUNT, DA_REJECT_BAD_CAPACITY, DA_REJECT_KIND_COUNT };
/* The counter label of a reason below DA_REJECT_KIND_COUNT. */
const char *da_reject_kind_name(int k);

typedef struct da_event {
    da_event_id id;
    int64_t time_ms, seq;
    gsp_str tenant; /* the Tenant field, else the key's prefix before ':' */
    gsp_str agent_id, place, reason_code, interaction_id;
    da_media media;
    int64_t capacity; /* DA_EV_CAPACITY: >= 0 */
} da_event;

typedef struct da_decoder da_decoder;

/* host and node are borrowed and must outlive it. NULL (logged) on failure. */
da_decoder *da_decoder_new(const mf_host *host, mf_node *node);
void da_decoder_free(da_decoder *d);

/* Decode rec into *ev. GSP_REJECT_NONE when good; else a reason below
 * DA_REJECT_KIND_COUNT and *reason a sentence (the decoder's, valid until
 * the next call). */
int da_decode(da_decoder *d, const mf_record *rec, da_event *ev, const char **reason);

#endif
