/*
 * voice_event.c — one field set read per record, then checks: which fields
 * are mandatory, of which JSON type, and the time in either of its two forms.
 */
#include <stdarg.h>
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

const char *gsp_reject_kind_name(gsp_reject_kind k)
{
    static const char *const names[GSP_REJECT_KIND_COUNT] = {"none", "invalid_json", "missing_field",
                                                              "unknown_event", "bad_time", "wrong_type"};
    return (unsigned)k < GSP_REJECT_KIND_COUNT ? names[k] : "?";
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
    const mf_host *host;
    mf_node *node;
    gsp_domain domain;
    mf_json_fieldset *set;
    mf_json_view views[F_COUNT];
    char reason[256];
};

gsp_decoder *gsp_decoder_new(const mf_host *host, mf_node *node, gsp_domain domain)
{
    gsp_decoder *d = mf_xcalloc(1, sizeof *d);
    const char *error = NULL;
    d->host = host;
    d->node = node;
    d->domain = domain;
    d->set = host->fieldset_new(node, field_paths, F_COUNT, &error);
    if (!d->set) {
        host->log(node, MF_LOG_ERROR, "cannot compile the event fields: %s", error ? error : "?");
        free(d);
        return NULL;
    }
    return d;
}

void gsp_decoder_free(gsp_decoder *d)
{
    if (!d)
        return;
    d->host->fieldset_free(d->node, d->set);
    free(d);
}

static bool str_is(const mf_json_view *v, const char *text)
{
    size_t n = strlen(text);
    return v->len == n && memcmp(v->str, text, n) == 0;
}

/* Index of the view's text in names[0 .. n), or 0 (unknown). */
static unsigned name_index(const mf_json_view *v, const char *const *names, unsigned n)
{
    for (unsigned i = 1; i < n; i++)
        if (str_is(v, names[i]))
            return i;
    return 0;
}

static gsp_reject_kind fail(gsp_decoder *d, gsp_reject_kind kind, const char *fmt, ...) MF_PRINTF(3, 4);
static gsp_reject_kind fail(gsp_decoder *d, gsp_reject_kind kind, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->reason, sizeof d->reason, fmt, ap);
    va_end(ap);
    return kind;
}

/* A string field: absent and null leave *out empty; another type is wrong. */
static gsp_reject_kind get_str(gsp_decoder *d, int f, gsp_str *out)
{
    const mf_json_view *v = &d->views[f];
    out->s = NULL;
    out->len = 0;
    if (v->type == MF_JSON_MISSING || v->type == MF_JSON_NULL)
        return GSP_REJECT_NONE;
    if (v->type != MF_JSON_STRING)
        return fail(d, GSP_REJECT_WRONG_TYPE, "field '%s' must be a string", field_paths[f]);
    out->s = v->str;
    out->len = v->len;
    return GSP_REJECT_NONE;
}

static gsp_reject_kind get_mandatory(gsp_decoder *d, int f, gsp_str *out)
{
    gsp_reject_kind k = get_str(d, f, out);
    if (k == GSP_REJECT_NONE && out->len == 0)
        return fail(d, GSP_REJECT_MISSING_FIELD, "missing mandatory field '%s'", field_paths[f]);
    return k;
}

static gsp_reject_kind get_time(gsp_decoder *d, int64_t *ms)
{
    const mf_json_view *v = &d->views[F_TIME];
    if (v->type == MF_JSON_MISSING || v->type == MF_JSON_NULL)
        return fail(d, GSP_REJECT_MISSING_FIELD, "missing mandatory field '%s'", "time");
    if (v->type == MF_JSON_INT) {
        *ms = v->integer;
        return GSP_REJECT_NONE;
    }
    char text[64];
    if (v->type != MF_JSON_STRING || v->len >= sizeof text)
        return fail(d, GSP_REJECT_BAD_TIME, "field '%s' is neither RFC 3339 text nor integer epoch milliseconds",
                    "time");
    memcpy(text, v->str, v->len);
    text[v->len] = '\0';
    if (!mf_parse_time_ms(text, ms))
        return fail(d, GSP_REJECT_BAD_TIME, "field '%s' is neither RFC 3339 text nor integer epoch milliseconds",
                    "time");
    return GSP_REJECT_NONE;
}

static gsp_reject_kind get_event_id(gsp_decoder *d, gsp_event_id *id)
{
    const mf_json_view *v = &d->views[F_ID];
    if (v->type == MF_JSON_MISSING || v->type == MF_JSON_NULL)
        return fail(d, GSP_REJECT_MISSING_FIELD, "missing mandatory field '%s'", "id");
    if (v->type != MF_JSON_STRING)
        return fail(d, GSP_REJECT_WRONG_TYPE, "field '%s' must be a string", "id");
    *id = (gsp_event_id)name_index(v, event_names, GSP_EV_COUNT);
    bool call = gsp_event_is_call(*id);
    if (*id == GSP_EV_NONE || (d->domain == GSP_DOMAIN_CALL && !call) || (d->domain == GSP_DOMAIN_AGENT && call)) {
        int n = v->len > 64 ? 64 : (int)v->len;
        snprintf(d->reason, sizeof d->reason, "unknown event id '%.*s'", n, v->str);
        return GSP_REJECT_UNKNOWN_EVENT;
    }
    return GSP_REJECT_NONE;
}

/* The tenant: the Tenant field wins, else the key up to its first ':'. */
static gsp_reject_kind get_tenant(gsp_decoder *d, const mf_record *rec, gsp_str *out)
{
    gsp_reject_kind k = get_str(d, F_TENANT, out);
    if (k != GSP_REJECT_NONE || out->len)
        return k;
    if (!(rec->flags & MF_RECORD_KEY_NULL) && rec->key) {
        const char *colon = memchr(rec->key, ':', rec->key_len);
        if (colon && colon > (const char *)rec->key) {
            out->s = (const char *)rec->key;
            out->len = (size_t)(colon - out->s);
            return GSP_REJECT_NONE;
        }
    }
    return fail(d, GSP_REJECT_MISSING_FIELD, "missing mandatory %s (a 'Tenant' field or a key '{tenant}:...')",
                "tenant");
}

#define TRY(expr)                                                                                              \
    do {                                                                                                       \
        gsp_reject_kind k_ = (expr);                                                                           \
        if (k_ != GSP_REJECT_NONE)                                                                             \
            return k_;                                                                                         \
    } while (0)

static gsp_reject_kind check_object(gsp_decoder *d, int f)
{
    mf_json_type t = d->views[f].type;
    if (t != MF_JSON_MISSING && t != MF_JSON_NULL && t != MF_JSON_OBJECT)
        return fail(d, GSP_REJECT_WRONG_TYPE, "field '%s' must be an object", field_paths[f]);
    return GSP_REJECT_NONE;
}

gsp_reject_kind gsp_decode(gsp_decoder *d, mf_record *rec, gsp_voice_event *ev, const char **reason)
{
    memset(ev, 0, sizeof *ev);
    *reason = d->reason;
    const char *error = NULL;
    if (d->host->json_fields(d->node, rec, d->set, d->views, &error) != MF_OK) {
        snprintf(d->reason, sizeof d->reason, "%s", error ? error : "invalid JSON");
        return GSP_REJECT_INVALID_JSON;
    }
    TRY(get_event_id(d, &ev->id));
    TRY(get_time(d, &ev->time_ms));
    const mf_json_view *seq = &d->views[F_SEQ];
    if (seq->type == MF_JSON_MISSING || seq->type == MF_JSON_NULL)
        return fail(d, GSP_REJECT_MISSING_FIELD, "missing mandatory field '%s'", "seq");
    if (seq->type != MF_JSON_INT)
        return fail(d, GSP_REJECT_WRONG_TYPE, "field '%s' must be an integer", "seq");
    ev->seq = seq->integer;
    TRY(get_tenant(d, rec, &ev->tenant));

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
    TRY(check_object(d, F_USER_DATA));
    TRY(check_object(d, F_REASONS));
    TRY(check_object(d, F_EXTENSIONS));

    gsp_str t;
    TRY(get_str(d, F_CALL_TYPE, &t));
    if (t.len)
        ev->call_type = (gsp_call_type)name_index(&d->views[F_CALL_TYPE], call_type_names,
                                                  sizeof call_type_names / sizeof call_type_names[0]);
    TRY(get_str(d, F_THIS_DN_TYPE, &t));
    if (t.len)
        ev->dn_type = (gsp_dn_type)name_index(&d->views[F_THIS_DN_TYPE], dn_type_names,
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
