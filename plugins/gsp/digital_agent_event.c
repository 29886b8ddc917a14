/* digital_agent_event.c — see digital_agent_event.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digital_agent_event.h"

/* The agent-state event names, matched on `id`. */
static const char *const state_names[DA_EV_HANDLING_STARTED] = {
    [DA_EV_NONE] = "?",
    [DA_EV_MEDIA_LOGIN] = "EventMediaLogin",
    [DA_EV_MEDIA_LOGOUT] = "EventMediaLogout",
    [DA_EV_MEDIA_READY] = "EventMediaReady",
    [DA_EV_MEDIA_NOT_READY] = "EventMediaNotReady",
    [DA_EV_CAPACITY] = "EventAgentCapacity",
};
/* The handling event names, matched on `event`. */
static const char *const handling_names[3] = {"?", "EventInteractionHandlingStarted",
                                              "EventInteractionHandlingEnded"};

const char *da_event_name(da_event_id id)
{
    if (id > DA_EV_NONE && id < DA_EV_HANDLING_STARTED)
        return state_names[id];
    if (id >= DA_EV_HANDLING_STARTED && id < DA_EV_COUNT)
        return handling_names[1 + (id - DA_EV_HANDLING_STARTED)];
    return "?";
}

static const char *const media_names[DA_MEDIA_COUNT] = {
    [DA_MEDIA_NONE] = "?",         [DA_MEDIA_CHAT] = "CHAT",         [DA_MEDIA_EMAIL] = "EMAIL",
    [DA_MEDIA_SMS] = "SMS",        [DA_MEDIA_FACEBOOK] = "FACEBOOK", [DA_MEDIA_TWITTER] = "TWITTER",
    [DA_MEDIA_WHATSAPP] = "WHATSAPP", [DA_MEDIA_WORKITEM] = "WORKITEM",
};

const char *da_media_name(da_media m)
{
    return (unsigned)m < DA_MEDIA_COUNT ? media_names[m] : "?";
}

const char *da_reject_kind_name(int k)
{
    switch (k) {
    case DA_REJECT_BAD_MEDIA_TYPE: return "bad_media_type";
    case DA_REJECT_BAD_CAPACITY: return "bad_capacity";
    default: return gsp_reject_kind_name((gsp_reject_kind)k);
    }
}

enum {
    F_ID, F_EVENT, F_TIME, F_SEQ, F_TENANT, F_AGENT_ID, F_MEDIA_TYPE, F_CAPACITY, F_PLACE, F_REASON_CODE,
    F_REASONS, F_INTERACTION_ID, F_COUNT
};
static const char *const field_paths[F_COUNT] = {
    "id", "event", "time", "seq", "Tenant", "AgentID", "MediaType", "Capacity", "Place", "Reasons.ReasonCode",
    "Reasons", "InteractionID",
};

struct da_decoder {
    mf_json_view views[F_COUNT];
    gsp_env env; /* over views and field_paths: the compiled set, the reasons */
};

da_decoder *da_decoder_new(const mf_host *host, mf_node *node)
{
    da_decoder *d = mf_xcalloc(1, sizeof *d);
    if (!gsp_env_open(&d->env, host, node, field_paths, F_COUNT, d->views)) {
        free(d);
        return NULL;
    }
    return d;
}

void da_decoder_free(da_decoder *d)
{
    if (!d)
        return;
    gsp_env_close(&d->env);
    free(d);
}

/* `event` present: a handling event (its `id` any text, kept for nothing
 * but the contract); else `id` names an agent-state event. */
static int get_id(da_decoder *d, da_event *ev)
{
    const mf_json_view *e = &d->views[F_EVENT];
    unsigned i;
    if (e->type == MF_JSON_MISSING || e->type == MF_JSON_NULL) {
        GSP_TRY(gsp_env_event(&d->env, F_ID, state_names, DA_EV_HANDLING_STARTED, &i));
        ev->id = (da_event_id)i;
        return GSP_REJECT_NONE;
    }
    gsp_str id;
    GSP_TRY(gsp_env_event(&d->env, F_EVENT, handling_names, 3, &i));
    GSP_TRY(gsp_env_mandatory(&d->env, F_ID, &id));
    ev->id = (da_event_id)(DA_EV_HANDLING_STARTED + (i - 1));
    return GSP_REJECT_NONE;
}

static int get_media(da_decoder *d, da_event *ev)
{
    gsp_str m;
    GSP_TRY(gsp_env_mandatory(&d->env, F_MEDIA_TYPE, &m));
    ev->media = (da_media)gsp_env_name_index(&d->views[F_MEDIA_TYPE], media_names, DA_MEDIA_COUNT);
    if (ev->media != DA_MEDIA_NONE)
        return GSP_REJECT_NONE;
    gsp_env_fail(&d->env, GSP_REJECT_NONE,
                 "field 'MediaType' is '%.*s', not one of CHAT, EMAIL, SMS, FACEBOOK, TWITTER, WHATSAPP, WORKITEM",
                 m.len > 64 ? 64 : (int)m.len, m.s);
    return DA_REJECT_BAD_MEDIA_TYPE;
}

static int get_capacity(da_decoder *d, da_event *ev)
{
    bool present;
    if (ev->id == DA_EV_CAPACITY)
        GSP_TRY(gsp_env_mandatory_int(&d->env, F_CAPACITY, &ev->capacity));
    else
        GSP_TRY(gsp_env_int(&d->env, F_CAPACITY, &ev->capacity, &present));
    /* a bound far above any real capacity keeps counts in 32 bits */
    if (ev->capacity < 0 || ev->capacity > 1000000) {
        gsp_env_fail(&d->env, GSP_REJECT_NONE, "field 'Capacity' is %lld, not an integer from 0 to 1000000",
                     (long long)ev->capacity);
        return DA_REJECT_BAD_CAPACITY;
    }
    return GSP_REJECT_NONE;
}

int da_decode(da_decoder *d, const mf_record *rec, da_event *ev, const char **reason)
{
    memset(ev, 0, sizeof *ev);
    *reason = d->env.reason;
    GSP_TRY(gsp_env_read(&d->env, rec));
    GSP_TRY(get_id(d, ev));
    GSP_TRY(gsp_env_time(&d->env, F_TIME, &ev->time_ms));
    GSP_TRY(gsp_env_mandatory_int(&d->env, F_SEQ, &ev->seq));
    GSP_TRY(gsp_env_tenant(&d->env, F_TENANT, rec, &ev->tenant));
    GSP_TRY(gsp_env_mandatory(&d->env, F_AGENT_ID, &ev->agent_id));
    bool handling = ev->id >= DA_EV_HANDLING_STARTED;
    if (handling)
        GSP_TRY(gsp_env_mandatory(&d->env, F_INTERACTION_ID, &ev->interaction_id));
    else
        GSP_TRY(gsp_env_str(&d->env, F_INTERACTION_ID, &ev->interaction_id));
    GSP_TRY(gsp_env_str(&d->env, F_PLACE, &ev->place));
    GSP_TRY(gsp_env_object(&d->env, F_REASONS));
    GSP_TRY(gsp_env_str(&d->env, F_REASON_CODE, &ev->reason_code));
    int k = get_media(d, ev);
    if (k != GSP_REJECT_NONE)
        return k;
    return get_capacity(d, ev);
}
