/* digital_facts.c — see digital_facts.h. */
#include <string.h>

#include "digital_facts.h"
#include "gsp_ids.h"

static int64_t ixn_id(const dgf_out *o, const dg_ixn *x)
{
    gsp_idpart p[] = {GSP_ID_STR("digital", 7), GSP_ID_STR(x->guid.s, x->guid.len)};
    return gsp_id(o->scratch, "ixn", o->tenant, o->tenant_len, p, 2);
}

/* irf and msf: "digital", InteractionID, the agent / queue / workbin, seq. */
static int64_t part_id(const dgf_out *o, const char *kind, const dg_ixn *x, const gsp_btext *name, int64_t seq)
{
    gsp_idpart p[] = {GSP_ID_STR("digital", 7), GSP_ID_STR(x->guid.s, x->guid.len),
                      GSP_ID_STR(name->s, name->len), GSP_ID_INT(seq)};
    return gsp_id(o->scratch, kind, o->tenant, o->tenant_len, p, 4);
}

static void opt_text(gsp_rec *w, const char *name, const gsp_btext *t)
{
    if (t->len)
        gsp_rec_str(w, name, t->s, t->len);
    else
        gsp_rec_null(w, name);
}

static void resource(gsp_rec *w, const char *name, const char *type, const gsp_btext *t)
{
    gsp_rec_obj(w, name);
    gsp_rec_cstr(w, "type", type);
    gsp_rec_str(w, "name", t->s, t->len);
    gsp_rec_cstr(w, "switch", "");
    gsp_rec_end_obj(w);
}

static void descriptor(gsp_rec *w, dg_role role, dg_result result)
{
    const char *role_reason, *result_reason;
    const char *r = dg_role_name(role, &role_reason), *t = dg_result_name(result, &result_reason);
    gsp_rec_obj(w, "technical_descriptor");
    gsp_rec_cstr(w, "resource_role", r);
    gsp_rec_cstr(w, "role_reason", role_reason);
    gsp_rec_cstr(w, "technical_result", t);
    gsp_rec_cstr(w, "result_reason", result_reason);
    gsp_rec_end_obj(w);
}

/* An open row ends, for now, at the interaction's last event. */
static void times(gsp_rec *w, const dg_ixn *x, int64_t start_ms, int64_t end_ms)
{
    bool active = end_ms == MF_TIME_UNSET;
    gsp_rec_int(w, "start_ts", gsp_secs(start_ms));
    gsp_rec_int(w, "end_ts", gsp_secs(active ? x->last_ms : end_ms));
    gsp_rec_int(w, "active_flag", active);
}

static int64_t end_or_last(const dg_ixn *x, int64_t end_ms)
{
    return end_ms == MF_TIME_UNSET ? x->last_ms : end_ms;
}

void dgf_ixn(const dgf_out *o, const dg_ixn *x)
{
    gsp_rec *w = o->w;
    gsp_rec_begin(w, "INTERACTION_FACT", "upsert", o->tenant, o->tenant_len);
    gsp_rec_int(w, "interaction_id", ixn_id(o, x));
    gsp_rec_str(w, "media_server_ixn_guid", x->guid.s, x->guid.len);
    gsp_rec_cstr(w, "interaction_type", "Inbound");
    gsp_rec_cstr(w, "media_type", dg_media_name((dg_media)x->media));
    opt_text(w, "source_address", &x->from);
    opt_text(w, "target_address", &x->to);
    times(w, x, x->start_ms, x->ended ? x->last_ms : MF_TIME_UNSET);
    gsp_rec_finish(w);
}

void dgf_stay(const dgf_out *o, const dg_ixn *x, const dg_stay *s)
{
    gsp_rec *w = o->w;
    gsp_rec_begin(w, "MEDIATION_SEGMENT_FACT", "upsert", o->tenant, o->tenant_len);
    gsp_rec_int(w, "mediation_segment_id", part_id(o, "msf", x, &s->name, s->seq));
    gsp_rec_int(w, "interaction_id", ixn_id(o, x));
    gsp_rec_cstr(w, "media_type", dg_media_name((dg_media)x->media));
    resource(w, "resource", s->workbin ? "Workbin" : "Queue", &s->name);
    descriptor(w, DG_ROLE_RECEIVED, (dg_result)s->result);
    if (s->has_target)
        gsp_rec_int(w, "target_ixn_resource_id", part_id(o, "irf", x, &s->target_agent, s->target_seq));
    else
        gsp_rec_null(w, "target_ixn_resource_id");
    times(w, x, s->start_ms, s->end_ms);
    gsp_rec_int(w, "mediation_duration", gsp_secs(end_or_last(x, s->end_ms)) - gsp_secs(s->start_ms));
    gsp_rec_finish(w);
}

void dgf_inv(const dgf_out *o, const dg_ixn *x, const dg_inv *v)
{
    gsp_rec *w = o->w;
    int64_t end = end_or_last(x, v->end_ms);
    gsp_rec_begin(w, "INTERACTION_RESOURCE_FACT", "upsert", o->tenant, o->tenant_len);
    gsp_rec_int(w, "interaction_resource_id", part_id(o, "irf", x, &v->agent, v->seq));
    gsp_rec_int(w, "interaction_id", ixn_id(o, x));
    gsp_rec_cstr(w, "media_type", dg_media_name((dg_media)x->media));
    gsp_rec_cstr(w, "interaction_type", "Inbound");
    resource(w, "resource", "Agent", &v->agent);
    opt_text(w, "place", &v->place);
    descriptor(w, (dg_role)v->role, (dg_result)v->result);
    gsp_rec_int(w, "interaction_resource_ordinal", v->ordinal);
    if (v->has_stay) {
        gsp_rec_int(w, "mediation_segment_id", part_id(o, "msf", x, &v->stay_name, v->stay_seq));
        resource(w, "last_queue_resource", v->stay_workbin ? "Workbin" : "Queue", &v->stay_name);
    } else {
        gsp_rec_null(w, "mediation_segment_id");
        gsp_rec_null(w, "last_queue_resource");
    }
    if (v->has_from)
        gsp_rec_int(w, "received_from_ixn_resource_id", part_id(o, "irf", x, &v->from_agent, v->from_seq));
    else
        gsp_rec_null(w, "received_from_ixn_resource_id");
    times(w, x, v->start_ms, v->end_ms);
    int64_t answered = v->accept_ms != MF_TIME_UNSET ? v->accept_ms : end;
    gsp_rec_int(w, "ring_count", v->rang);
    gsp_rec_int(w, "ring_duration", v->rang ? gsp_secs(answered) - gsp_secs(v->start_ms) : 0);
    gsp_rec_int(w, "talk_count", v->accept_ms != MF_TIME_UNSET);
    gsp_rec_int(w, "talk_duration", v->accept_ms != MF_TIME_UNSET ? gsp_secs(end) - gsp_secs(v->accept_ms) : 0);
    gsp_rec_finish(w);
}

void dgf_handling(const dgf_out *o, const dg_ixn *x, const dg_inv *v, bool start)
{
    gsp_rec *w = o->w;
    const char *ev = dg_event_name((dg_event_id)x->last_event);
    size_t n = strlen(ev);
    char id[64];
    memcpy(id, ev, n);
    memcpy(id + n, start ? "/start" : "/end", start ? 7 : 5);
    gsp_rec_open(w);
    gsp_rec_cstr(w, "id", id);
    gsp_rec_int(w, "time", x->last_ms);
    gsp_rec_int(w, "seq", x->last_seq);
    gsp_rec_cstr(w, "event", start ? "EventInteractionHandlingStarted" : "EventInteractionHandlingEnded");
    gsp_rec_str(w, "Tenant", o->tenant, o->tenant_len);
    gsp_rec_str(w, "AgentID", v->agent.s, v->agent.len);
    gsp_rec_cstr(w, "MediaType", dg_media_name((dg_media)x->media));
    gsp_rec_str(w, "InteractionID", x->guid.s, x->guid.len);
    if (v->place.len)
        gsp_rec_str(w, "Place", v->place.s, v->place.len);
    gsp_rec_close(w);
}
