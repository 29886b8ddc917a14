/*
 * voice_event.h — decoding one voice input event (docs/events.md §1) into a
 * small struct, with one compiled field set and no JSON tree.
 *
 * Shared by the GSP transforms: `callthread` decodes voice-callthread events,
 * `agentstate` both domains (told apart by `id`). A decoder is made once per
 * worker (gsp_decoder_new) and reused for every record.
 *
 * Ownership: the strings of a decoded event borrow from the record (or from
 * memory the node owns for the current callback, see martflow/jsonview.h):
 * valid until the plugin callback returns. Copy what you keep.
 */
#ifndef GSP_VOICE_EVENT_H
#define GSP_VOICE_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <martflow/martflow.h>

#include "gsp_envelope.h" /* gsp_str, gsp_reject_kind */

/* Event names; GSP_EV_NONE is never a decoded event. Values are stored in
 * snapshots: append, never reorder. */
typedef enum gsp_event_id {
    GSP_EV_NONE = 0,
    GSP_EV_ROUTE_REQUEST,
    GSP_EV_ROUTE_USED,
    GSP_EV_QUEUED,
    GSP_EV_DIVERTED,
    GSP_EV_RINGING,
    GSP_EV_DIALING,
    GSP_EV_NETWORK_REACHED,
    GSP_EV_DESTINATION_BUSY,
    GSP_EV_ESTABLISHED,
    GSP_EV_HELD,
    GSP_EV_RETRIEVED,
    GSP_EV_RELEASED,
    GSP_EV_ABANDONED,
    GSP_EV_PARTY_CHANGED,
    GSP_EV_PARTY_ADDED,
    GSP_EV_PARTY_DELETED,
    GSP_EV_ATTACHED_DATA_CHANGED,
    GSP_EV_USER_EVENT,
    /* voice-agentstate */
    GSP_EV_AGENT_LOGIN,
    GSP_EV_AGENT_LOGOUT,
    GSP_EV_AGENT_READY,
    GSP_EV_AGENT_NOT_READY,
    GSP_EV_DND_ON,
    GSP_EV_DND_OFF,
    GSP_EV_COUNT
} gsp_event_id;

/* The event's name ("EventRinging"), or "?" out of range. */
const char *gsp_event_name(gsp_event_id id);
/* True for the events of voice-callthread (GSP_EV_ROUTE_REQUEST .. USER_EVENT). */
bool gsp_event_is_call(gsp_event_id id);

/* CallType; stored in snapshots. */
typedef enum gsp_call_type {
    GSP_CALL_UNKNOWN = 0,
    GSP_CALL_INBOUND,
    GSP_CALL_OUTBOUND,
    GSP_CALL_INTERNAL,
    GSP_CALL_CONSULT
} gsp_call_type;

/* ThisDNType; stored in snapshots. */
typedef enum gsp_dn_type {
    GSP_DN_UNKNOWN = 0,
    GSP_DN_ROUTING_POINT,
    GSP_DN_ACD_QUEUE,
    GSP_DN_VIRTUAL_QUEUE,
    GSP_DN_EXTENSION,
    GSP_DN_ACD_POSITION,
    GSP_DN_IVR,
    GSP_DN_EXTERNAL
} gsp_dn_type;
/* "RoutingPoint", ... ("" for GSP_DN_UNKNOWN). */
const char *gsp_dn_type_name(gsp_dn_type t);

/* Which input a decoder reads: it decides the mandatory fields. */
typedef enum gsp_domain {
    GSP_DOMAIN_CALL = 1,  /* voice-callthread: CallThreadID, ConnID, ThisDN */
    GSP_DOMAIN_AGENT = 2, /* voice-agentstate: AgentID */
    GSP_DOMAIN_ANY = 3    /* either, by id: the mandatory fields of its domain */
} gsp_domain;

typedef struct gsp_voice_event {
    gsp_event_id id;
    int64_t time_ms;
    int64_t seq;
    gsp_call_type call_type;
    gsp_dn_type dn_type;
    gsp_str tenant; /* the Tenant field, else the key's prefix before ':' */
    gsp_str call_thread_id, call_id, conn_id, previous_conn_id, call_state;
    gsp_str this_dn, this_dn_role, this_queue, other_dn, other_dn_role, third_party_dn;
    gsp_str agent_id, place, ani, dnis;
    gsp_str work_mode;   /* AgentWorkMode */
    gsp_str reason_code; /* Reasons.ReasonCode */
} gsp_voice_event;

typedef struct gsp_decoder gsp_decoder;

/* A decoder for this node (its field set compiled once). host and node are
 * borrowed and must outlive it. NULL (logged) if the field set cannot be made. */
gsp_decoder *gsp_decoder_new(const mf_host *host, mf_node *node, gsp_domain domain);
void gsp_decoder_free(gsp_decoder *d);

/* Decode rec into *ev. On a bad event: returns the kind (never NONE) and sets
 * *reason to a sentence naming the field (text owned by the decoder, valid
 * until the next call); ev is then partly filled. GSP_REJECT_NONE when good. */
gsp_reject_kind gsp_decode(gsp_decoder *d, mf_record *rec, gsp_voice_event *ev, const char **reason);

/* ---- keeping a decoded event -----------------------------------------------------
 * An event decoded now and applied later (agentstate queues an agent's events
 * until the watermark passes them) is kept packed: its scalars, and each
 * string as an offset into the record value it was decoded from (the tenant
 * possibly into the record key), so that it is not decoded again from the
 * kept copy of the value. */

#define GSP_PACKED_STRS 18

typedef struct gsp_packed_event {
    int64_t time_ms, seq;
    uint8_t id, call_type, dn_type;
    bool tenant_in_key; /* the tenant is the key's prefix */
    struct {
        uint16_t off, len; /* off GSP_PACKED_NULL: absent; GSP_PACKED_EMPTY: "" */
    } str[GSP_PACKED_STRS];
} gsp_packed_event;

/* Pack ev, whose strings point into value[0 .. len) (and the tenant maybe
 * into key[0 .. key_len)). False when one points elsewhere (a string the
 * decoder unescaped into its own memory) or the value is 64 KiB or more:
 * then decode the value again instead. */
bool gsp_event_pack(const gsp_voice_event *ev, const void *value, size_t len, const void *key, size_t key_len,
                    gsp_packed_event *out);
/* The event again, its strings pointing into value and key: the same bytes
 * as were packed (a copy of them), so valid while those are. */
void gsp_event_unpack(const gsp_packed_event *p, const void *value, const void *key, gsp_voice_event *ev);

#endif
