/* digital_event.c — see digital_event.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digital_event.h"

static const char *const event_names[DG_EV_COUNT] = {
    [DG_EV_NONE] = "?",
    [DG_EV_CREATED] = "EventInteractionCreated",
    [DG_EV_QUEUED] = "EventInteractionQueued",
    [DG_EV_WORKBIN] = "EventInteractionPlacedInWorkbin",
    [DG_EV_OFFERED] = "EventInteractionOffered",
    [DG_EV_ACCEPTED] = "EventInteractionAccepted",
    [DG_EV_REJECTED] = "EventInteractionRejected",
    [DG_EV_TIMED_OUT] = "EventInteractionTimedOut",
    [DG_EV_REVOKED] = "EventInteractionRevoked",
    [DG_EV_TRANSFERRED] = "EventInteractionTransferred",
    [DG_EV_CONFERENCED] = "EventInteractionConferenced",
    [DG_EV_COMPLETED] = "EventInteractionCompleted",
};

const char *dg_event_name(dg_event_id id)
{
    return id > DG_EV_NONE && id < DG_EV_COUNT ? event_names[id] : "?";
}

static const char *const media_names[DG_MEDIA_COUNT] = {
    [DG_MEDIA_NONE] = "?",          [DG_MEDIA_CHAT] = "CHAT",         [DG_MEDIA_EMAIL] = "EMAIL",
    [DG_MEDIA_SMS] = "SMS",         [DG_MEDIA_FACEBOOK] = "FACEBOOK", [DG_MEDIA_TWITTER] = "TWITTER",
    [DG_MEDIA_WHATSAPP] = "WHATSAPP", [DG_MEDIA_WORKITEM] = "WORKITEM",
};

const char *dg_media_name(dg_media m)
{
    return (unsigned)m < DG_MEDIA_COUNT ? media_names[m] : "?";
}

const char *dg_reject_kind_name(int k)
{
    return k == DG_REJECT_BAD_MEDIA_TYPE ? "bad_media_type" : gsp_reject_kind_name((gsp_reject_kind)k);
}

enum {
    F_ID, F_TIME, F_SEQ, F_TENANT, F_INTERACTION_ID, F_MEDIA_TYPE, F_QUEUE, F_WORKBIN, F_AGENT_ID,
    F_TARGET_AGENT_ID, F_PLACE, F_FROM, F_TO, F_SUBJECT, F_REASONS, F_USER_DATA, F_COUNT
};
static const char *const field_paths[F_COUNT] = {
    "id", "time", "seq", "Tenant", "InteractionID", "MediaType", "Queue", "Workbin", "AgentID",
    "TargetAgentID", "Place", "From", "To", "Subject", "Reasons", "UserData",
};

struct dg_decoder {
    mf_json_view views[F_COUNT];
    gsp_env env; /* over views and field_paths: the compiled set, the reasons */
};

dg_decoder *dg_decoder_new(const mf_host *host, mf_node *node)
{
    dg_decoder *d = mf_xcalloc(1, sizeof *d);
    if (!gsp_env_open(&d->env, host, node, field_paths, F_COUNT, d->views)) {
        free(d);
        return NULL;
    }
    return d;
}

void dg_decoder_free(dg_decoder *d)
{
    if (!d)
        return;
    gsp_env_close(&d->env);
    free(d);
}

static int get_media(dg_decoder *d, dg_event *ev)
{
    gsp_str m;
    if (ev->id == DG_EV_CREATED)
        GSP_TRY(gsp_env_mandatory(&d->env, F_MEDIA_TYPE, &m));
    else
        GSP_TRY(gsp_env_str(&d->env, F_MEDIA_TYPE, &m));
    if (!m.len)
        return GSP_REJECT_NONE;
    ev->media = (dg_media)gsp_env_name_index(&d->views[F_MEDIA_TYPE], media_names, DG_MEDIA_COUNT);
    if (ev->media == DG_MEDIA_NONE) {
        gsp_env_fail(&d->env, GSP_REJECT_NONE,
                     "field 'MediaType' is '%.*s', not one of CHAT, EMAIL, SMS, FACEBOOK, TWITTER, WHATSAPP, "
                     "WORKITEM",
                     m.len > 64 ? 64 : (int)m.len, m.s);
        return DG_REJECT_BAD_MEDIA_TYPE;
    }
    return GSP_REJECT_NONE;
}

/* AgentID is mandatory in the events about one agent's offer or part. */
static bool needs_agent(dg_event_id id)
{
    return id == DG_EV_OFFERED || id == DG_EV_ACCEPTED || id == DG_EV_REJECTED || id == DG_EV_TIMED_OUT ||
           id == DG_EV_REVOKED || id == DG_EV_TRANSFERRED || id == DG_EV_CONFERENCED;
}

int dg_decode(dg_decoder *d, const mf_record *rec, dg_event *ev, const char **reason)
{
    memset(ev, 0, sizeof *ev);
    *reason = d->env.reason;
    GSP_TRY(gsp_env_read(&d->env, rec));
    unsigned id;
    GSP_TRY(gsp_env_event(&d->env, F_ID, event_names, DG_EV_COUNT, &id));
    ev->id = (dg_event_id)id;
    GSP_TRY(gsp_env_time(&d->env, F_TIME, &ev->time_ms));
    GSP_TRY(gsp_env_mandatory_int(&d->env, F_SEQ, &ev->seq));
    GSP_TRY(gsp_env_tenant(&d->env, F_TENANT, rec, &ev->tenant));
    GSP_TRY(gsp_env_mandatory(&d->env, F_INTERACTION_ID, &ev->interaction_id));
    if (ev->id == DG_EV_QUEUED)
        GSP_TRY(gsp_env_mandatory(&d->env, F_QUEUE, &ev->queue));
    else
        GSP_TRY(gsp_env_str(&d->env, F_QUEUE, &ev->queue));
    if (ev->id == DG_EV_WORKBIN)
        GSP_TRY(gsp_env_mandatory(&d->env, F_WORKBIN, &ev->workbin));
    else
        GSP_TRY(gsp_env_str(&d->env, F_WORKBIN, &ev->workbin));
    if (needs_agent(ev->id))
        GSP_TRY(gsp_env_mandatory(&d->env, F_AGENT_ID, &ev->agent_id));
    else
        GSP_TRY(gsp_env_str(&d->env, F_AGENT_ID, &ev->agent_id));
    GSP_TRY(gsp_env_str(&d->env, F_TARGET_AGENT_ID, &ev->target_agent_id));
    GSP_TRY(gsp_env_str(&d->env, F_PLACE, &ev->place));
    GSP_TRY(gsp_env_str(&d->env, F_FROM, &ev->from));
    GSP_TRY(gsp_env_str(&d->env, F_TO, &ev->to));
    gsp_str subject;
    GSP_TRY(gsp_env_str(&d->env, F_SUBJECT, &subject)); /* checked, not kept (personal data) */
    GSP_TRY(gsp_env_object(&d->env, F_REASONS));
    GSP_TRY(gsp_env_object(&d->env, F_USER_DATA));
    return get_media(d, ev);
}
