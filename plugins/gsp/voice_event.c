/*
 * voice_event.c — one field set read per record, then checks: which fields
 * are mandatory, of which JSON type, and the time in either of its two forms.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "voice_event.h"

static const char *const event_names[GSP_EV_COUNT] = {
    [GSP_EV_NONE] = "?",
    [GSP_EV_ROUTE_REQUEST] = "EventRouteRequest",
    [GSP_EV_ROUTE_USED] = "EventRouteUsed",
    [GSP_EV_QUEUED] = "EventQueued",
    [GSP_EV_DIVERTED] = "EventDiverted",
    [GSP_EV_RINGING] = "EventRinging",
    [GSP_EV_DIALING] = "EventDialing",
    [GSP_EV_NETWORK_REACHED] = "EventNetworkReached",
    [GSP_EV_DESTINATION_BUSY] = "EventDestinationBusy",
    [GSP_EV_ESTABLISHED] = "EventEstablished",
    [GSP_EV_HELD] = "EventHeld",
    [GSP_EV_RETRIEVED] = "EventRetrieved",
    [GSP_EV_RELEASED] = "EventReleased",
    [GSP_EV_ABANDONED] = "EventAbandoned",
    [GSP_EV_PARTY_CHANGED] = "EventPartyChanged",
    [GSP_EV_PARTY_ADDED] = "EventPartyAdded",
    [GSP_EV_PARTY_DELETED] = "EventPartyDeleted",
    [GSP_EV_ATTACHED_DATA_CHANGED] = "EventAttachedDataChanged",
    [GSP_EV_USER_EVENT] = "EventUserEvent",
    [GSP_EV_AGENT_LOGIN] = "EventAgentLogin",
    [GSP_EV_AGENT_LOGOUT] = "EventAgentLogout",
    [GSP_EV_AGENT_READY] = "EventAgentReady",
    [GSP_EV_AGENT_NOT_READY] = "EventAgentNotReady",
    [GSP_EV_DND_ON] = "EventDNDOn",
    [GSP_EV_DND_OFF] = "EventDNDOff",
};

const char *gsp_event_name(gsp_event_id id)
{
    return id > GSP_EV_NONE && id < GSP_EV_COUNT ? event_names[id] : "?";
}

bool gsp_event_is_call(gsp_event_id id)
{
    return id >= GSP_EV_ROUTE_REQUEST && id <= GSP_EV_USER_EVENT;
}

static const char *const dn_type_names[] = {"",          "RoutingPoint", "ACDQueue", "VirtualQueue",
                                            "Extension", "ACDPosition",  "IVR",      "External"};
static const char *const call_type_names[] = {"", "Inbound", "Outbound", "Internal", "Consult"};

const char *gsp_dn_type_name(gsp_dn_type t)
{
    return (unsigned)t < sizeof dn_type_names / sizeof dn_type_names[0] ? dn_type_names[t] : "";
}

/* The paths of the field set, in this order (F_* index them). */
enum {
    F_ID, F_TIME, F_SEQ, F_TENANT, F_CALL_THREAD_ID, F_CALL_ID, F_CONN_ID, F_PREVIOUS_CONN_ID,
    F_CALL_TYPE, F_CALL_STATE, F_THIS_DN, F_THIS_DN_ROLE, F_THIS_DN_TYPE, F_THIS_QUEUE, F_OTHER_DN,
    F_OTHER_DN_ROLE, F_THIRD_PARTY_DN, F_AGENT_ID, F_PLACE, F_ANI, F_DNIS, F_WORK_MODE, F_REASON_CODE,
    F_USER_DATA, F_REASONS, F_EXTENSIONS, F_COUNT
};
static const char *const field_paths[F_COUNT] = {
    "id", "time", "seq", "Tenant", "CallThreadID", "CallID", "ConnID", "PreviousConnID", "CallType",
    "CallState", "ThisDN", "ThisDNRole", "ThisDNType", "ThisQueue", "OtherDN", "OtherDNRole",
    "ThirdPartyDN", "AgentID", "Place", "ANI", "DNIS", "AgentWorkMode", "Reasons.ReasonCode",
    "UserData", "Reasons", "Extensions",
};

struct gsp_decoder {
    gsp_domain domain;
    mf_json_view views[F_COUNT];
    gsp_env env; /* over views and field_paths: the compiled set, the reasons */
};

gsp_decoder *gsp_decoder_new(const mf_host *host, mf_node *node, gsp_domain domain)
{
    gsp_decoder *d = mf_xcalloc(1, sizeof *d);
    d->domain = domain;
    if (!gsp_env_open(&d->env, host, node, field_paths, F_COUNT, d->views)) {
        free(d);
        return NULL;
    }
    return d;
}

void gsp_decoder_free(gsp_decoder *d)
{
    if (!d)
        return;
    gsp_env_close(&d->env);
    free(d);
}

static gsp_reject_kind get_str(gsp_decoder *d, int f, gsp_str *out)
{
    return gsp_env_str(&d->env, f, out);
}

static gsp_reject_kind get_mandatory(gsp_decoder *d, int f, gsp_str *out)
{
    return gsp_env_mandatory(&d->env, f, out);
}

/* The event id; one of the other domain is unknown to a one-domain decoder. */
static gsp_reject_kind get_event_id(gsp_decoder *d, gsp_event_id *id)
{
    unsigned i;
    GSP_TRY(gsp_env_event(&d->env, F_ID, event_names, GSP_EV_COUNT, &i));
    *id = (gsp_event_id)i;
    bool call = gsp_event_is_call(*id);
    if ((d->domain == GSP_DOMAIN_CALL && !call) || (d->domain == GSP_DOMAIN_AGENT && call))
        return gsp_env_unknown_event(&d->env, F_ID);
    return GSP_REJECT_NONE;
}

#define TRY GSP_TRY

gsp_reject_kind gsp_decode(gsp_decoder *d, mf_record *rec, gsp_voice_event *ev, const char **reason)
{
    memset(ev, 0, sizeof *ev);
    *reason = d->env.reason;
    GSP_TRY(gsp_env_read(&d->env, rec));
    TRY(get_event_id(d, &ev->id));
    TRY(gsp_env_time(&d->env, F_TIME, &ev->time_ms));
    TRY(gsp_env_mandatory_int(&d->env, F_SEQ, &ev->seq));
    TRY(gsp_env_tenant(&d->env, F_TENANT, rec, &ev->tenant));

    bool call = gsp_event_is_call(ev->id);
    TRY(call ? get_mandatory(d, F_CALL_THREAD_ID, &ev->call_thread_id) : get_str(d, F_CALL_THREAD_ID, &ev->call_thread_id));
    TRY(call ? get_mandatory(d, F_CONN_ID, &ev->conn_id) : get_str(d, F_CONN_ID, &ev->conn_id));
    TRY(call ? get_mandatory(d, F_THIS_DN, &ev->this_dn) : get_str(d, F_THIS_DN, &ev->this_dn));
    TRY(call ? get_str(d, F_AGENT_ID, &ev->agent_id) : get_mandatory(d, F_AGENT_ID, &ev->agent_id));
    TRY(get_str(d, F_CALL_ID, &ev->call_id));
    TRY(get_str(d, F_PREVIOUS_CONN_ID, &ev->previous_conn_id));
    TRY(get_str(d, F_CALL_STATE, &ev->call_state));
    TRY(get_str(d, F_THIS_DN_ROLE, &ev->this_dn_role));
    TRY(get_str(d, F_THIS_QUEUE, &ev->this_queue));
    TRY(get_str(d, F_OTHER_DN, &ev->other_dn));
    TRY(get_str(d, F_OTHER_DN_ROLE, &ev->other_dn_role));
    TRY(get_str(d, F_THIRD_PARTY_DN, &ev->third_party_dn));
    TRY(get_str(d, F_PLACE, &ev->place));
    TRY(get_str(d, F_ANI, &ev->ani));
    TRY(get_str(d, F_DNIS, &ev->dnis));
    TRY(get_str(d, F_WORK_MODE, &ev->work_mode));
    TRY(get_str(d, F_REASON_CODE, &ev->reason_code));
    TRY(gsp_env_object(&d->env, F_USER_DATA));
    TRY(gsp_env_object(&d->env, F_REASONS));
    TRY(gsp_env_object(&d->env, F_EXTENSIONS));

    gsp_str t;
    TRY(get_str(d, F_CALL_TYPE, &t));
    if (t.len)
        ev->call_type = (gsp_call_type)gsp_env_name_index(&d->views[F_CALL_TYPE], call_type_names,
                                                  sizeof call_type_names / sizeof call_type_names[0]);
    TRY(get_str(d, F_THIS_DN_TYPE, &t));
    if (t.len)
        ev->dn_type = (gsp_dn_type)gsp_env_name_index(&d->views[F_THIS_DN_TYPE], dn_type_names,
                                              sizeof dn_type_names / sizeof dn_type_names[0]);
    return GSP_REJECT_NONE;
}

/* ---- packing ------------------------------------------------------------------------ */

/* The string members of gsp_voice_event, the tenant first. */
static const size_t packed_members[GSP_PACKED_STRS] = {
    offsetof(gsp_voice_event, tenant),         offsetof(gsp_voice_event, call_thread_id),
    offsetof(gsp_voice_event, call_id),        offsetof(gsp_voice_event, conn_id),
    offsetof(gsp_voice_event, previous_conn_id), offsetof(gsp_voice_event, call_state),
    offsetof(gsp_voice_event, this_dn),        offsetof(gsp_voice_event, this_dn_role),
    offsetof(gsp_voice_event, this_queue),     offsetof(gsp_voice_event, other_dn),
    offsetof(gsp_voice_event, other_dn_role),  offsetof(gsp_voice_event, third_party_dn),
    offsetof(gsp_voice_event, agent_id),       offsetof(gsp_voice_event, place),
    offsetof(gsp_voice_event, ani),            offsetof(gsp_voice_event, dnis),
    offsetof(gsp_voice_event, work_mode),      offsetof(gsp_voice_event, reason_code),
};

enum { GSP_PACKED_NULL = 0xFFFF, GSP_PACKED_EMPTY = 0xFFFE };

static gsp_str *member(gsp_voice_event *ev, int i)
{
    return (gsp_str *)((char *)ev + packed_members[i]);
}

/* A string member added to gsp_voice_event must be added above too. */
_Static_assert(offsetof(gsp_voice_event, reason_code) - offsetof(gsp_voice_event, tenant) ==
                   (GSP_PACKED_STRS - 1) * sizeof(gsp_str) &&
               sizeof(gsp_voice_event) == offsetof(gsp_voice_event, reason_code) + sizeof(gsp_str),
               "gsp_voice_event's strings are not those packed");

/* The offset of v in base[0 .. len), or -1 when it is not inside. */
static long offset_in(const gsp_str *v, const void *base, size_t len)
{
    uintptr_t b = (uintptr_t)base, p = (uintptr_t)v->s;
    if (!base || p < b || p - b > len || v->len > len - (p - b))
        return -1;
    return (long)(p - b);
}

bool gsp_event_pack(const gsp_voice_event *ev, const void *value, size_t len, const void *key, size_t key_len,
                    gsp_packed_event *out)
{
    if (len >= GSP_PACKED_EMPTY)
        return false;
    memset(out, 0, sizeof *out);
    out->time_ms = ev->time_ms;
    out->seq = ev->seq;
    out->id = (uint8_t)ev->id;
    out->call_type = (uint8_t)ev->call_type;
    out->dn_type = (uint8_t)ev->dn_type;
    for (int i = 0; i < GSP_PACKED_STRS; i++) {
        const gsp_str *v = member((gsp_voice_event *)ev, i);
        long off;
        if (!v->s) {
            out->str[i].off = GSP_PACKED_NULL;
            continue;
        }
        if (!v->len) {
            out->str[i].off = GSP_PACKED_EMPTY;
            continue;
        }
        if ((off = offset_in(v, value, len)) < 0) {
            if (i != 0 || key_len >= GSP_PACKED_EMPTY || (off = offset_in(v, key, key_len)) < 0)
                return false;
            out->tenant_in_key = true;
        }
        out->str[i].off = (uint16_t)off;
        out->str[i].len = (uint16_t)v->len;
    }
    return true;
}

void gsp_event_unpack(const gsp_packed_event *p, const void *value, const void *key, gsp_voice_event *ev)
{
    memset(ev, 0, sizeof *ev);
    ev->time_ms = p->time_ms;
    ev->seq = p->seq;
    ev->id = (gsp_event_id)p->id;
    ev->call_type = (gsp_call_type)p->call_type;
    ev->dn_type = (gsp_dn_type)p->dn_type;
    for (int i = 0; i < GSP_PACKED_STRS; i++) {
        gsp_str *v = member(ev, i);
        if (p->str[i].off == GSP_PACKED_NULL)
            continue;
        if (p->str[i].off == GSP_PACKED_EMPTY) {
            v->s = "";
            continue;
        }
        v->s = (const char *)(i == 0 && p->tenant_in_key ? key : value) + p->str[i].off;
        v->len = p->str[i].len;
    }
}
