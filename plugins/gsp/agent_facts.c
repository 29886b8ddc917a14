/* agent_facts.c — see agent_facts.h. */
#include <string.h>

#include "agent_facts.h"
#include "gsp_ids.h"

static const char *const state_names[AM_N_STATES] = {"READY", "NOT_READY", "BUSY", "ACW"};

const char *am_state_name(unsigned state)
{
    return state < AM_N_STATES ? state_names[state] : "?";
}

static const char *media_of(const am_fact *f)
{
    return f->media ? f->media : "VOICE";
}

struct who {
    const char *tenant, *agent;
    size_t tenant_len, agent_len;
};

static int64_t session_id(af_target *t, const struct who *w, const char *key, size_t key_len, const am_fact *f)
{
    const char *media = media_of(f);
    int64_t login_ms = f->session_ms;
    if (t->session_id && t->session_ms == login_ms && t->session_tenant_len == w->tenant_len &&
        t->session_media && strcmp(t->session_media, media) == 0 && t->session_key.len == key_len &&
        memcmp(t->session_key.data, key, key_len) == 0)
        return t->session_id;
    gsp_idpart parts[] = {GSP_ID_STR(w->agent, w->agent_len), GSP_ID_STR(media, strlen(media)),
                          GSP_ID_INT(login_ms)};
    t->session_id = gsp_id(t->scratch, "sm_session", w->tenant, w->tenant_len, parts, 3);
    t->session_media = media;
    t->session_ms = login_ms;
    t->session_tenant_len = w->tenant_len;
    t->session_key.len = 0;
    mf_buffer_append(&t->session_key, key, key_len);
    return t->session_id;
}

static int64_t state_id(const af_target *t, const struct who *w, const am_fact *f)
{
    const char *code = am_state_name(f->state);
    const char *media = media_of(f);
    gsp_idpart parts[] = {GSP_ID_STR(w->agent, w->agent_len), GSP_ID_STR(media, strlen(media)),
                          GSP_ID_STR(code, strlen(code)), GSP_ID_INT(f->start_ms)};
    return gsp_id(t->scratch, "sm_state", w->tenant, w->tenant_len, parts, 4);
}

/* software_reason_key: "ReasonCode" when the event gave one, else "". */
static const char *reason_key(const am_fact *f)
{
    return f->reason_code[0] ? "ReasonCode" : "";
}

static int64_t reason_id(const af_target *t, const struct who *w, const am_fact *f)
{
    const char *code = am_state_name(f->state), *key = reason_key(f), *media = media_of(f);
    gsp_idpart parts[] = {GSP_ID_STR(w->agent, w->agent_len),
                          GSP_ID_STR(media, strlen(media)),
                          GSP_ID_STR(code, strlen(code)),
                          GSP_ID_STR(key, strlen(key)),
                          GSP_ID_STR(f->reason_code, strlen(f->reason_code)),
                          GSP_ID_STR(f->work_mode, strlen(f->work_mode)),
                          GSP_ID_INT(f->start_ms)};
    return gsp_id(t->scratch, "sm_reason", w->tenant, w->tenant_len, parts, 7);
}

/* The columns every SM fact has after its own key. */
static void common(gsp_rec *r, const struct who *w, const am_fact *f)
{
    gsp_rec_cstr(r, "media_type", media_of(f));
    gsp_rec_obj(r, "resource");
    gsp_rec_cstr(r, "type", "Agent");
    gsp_rec_str(r, "name", w->agent, w->agent_len);
    gsp_rec_cstr(r, "switch", "");
    gsp_rec_end_obj(r);
    if (f->place)
        gsp_rec_cstr(r, "place", f->place);
    else
        gsp_rec_null(r, "place");
}

static void times(gsp_rec *r, const am_fact *f)
{
    gsp_rec_int(r, "start_ts", gsp_secs(f->start_ms));
    if (f->active)
        gsp_rec_null(r, "end_ts");
    else
        gsp_rec_int(r, "end_ts", gsp_secs(f->end_ms));
    gsp_rec_int(r, "total_duration", gsp_secs(f->end_ms) - gsp_secs(f->start_ms));
    gsp_rec_int(r, "active_flag", f->active);
}

int af_emit(af_target *t, const am_fact *f, const char *key, size_t key_len, size_t tenant_len, mf_ack *ack)
{
    struct who w = {key, key + tenant_len + 1, tenant_len, key_len - tenant_len - 1};
    gsp_rec *r = t->writer;
    int port;
    switch (f->table) {
    case AM_SESSION:
        gsp_rec_begin(r, "SM_RES_SESSION_FACT", "upsert", w.tenant, w.tenant_len);
        gsp_rec_int(r, "sm_res_session_fact_key", session_id(t, &w, key, key_len, f));
        common(r, &w, f);
        times(r, f);
        port = t->port_sessions;
        break;
    case AM_STATE:
        gsp_rec_begin(r, "SM_RES_STATE_FACT", "upsert", w.tenant, w.tenant_len);
        gsp_rec_int(r, "sm_res_state_fact_key", state_id(t, &w, f));
        gsp_rec_int(r, "sm_res_session_fact_key", session_id(t, &w, key, key_len, f));
        common(r, &w, f);
        gsp_rec_cstr(r, "resource_state", am_state_name(f->state));
        times(r, f);
        port = t->port_states;
        break;
    case AM_REASON:
        gsp_rec_begin(r, "SM_RES_STATE_REASON_FACT", "upsert", w.tenant, w.tenant_len);
        gsp_rec_int(r, "sm_res_state_reason_fact_key", reason_id(t, &w, f));
        gsp_rec_int(r, "sm_res_session_fact_key", session_id(t, &w, key, key_len, f));
        common(r, &w, f);
        gsp_rec_cstr(r, "resource_state", am_state_name(f->state));
        gsp_rec_obj(r, "resource_state_reason");
        gsp_rec_cstr(r, "reason_type", "Software");
        gsp_rec_cstr(r, "software_reason_key", reason_key(f));
        gsp_rec_cstr(r, "software_reason_value", f->reason_code);
        gsp_rec_cstr(r, "workmode", f->work_mode);
        gsp_rec_end_obj(r);
        times(r, f);
        port = t->port_reasons;
        break;
    case AM_ACW_UPDATE: {
        if (t->port_resources < 0)
            return MF_FATAL;
        gsp_rec_begin(r, "INTERACTION_RESOURCE_FACT", "update", w.tenant, w.tenant_len);
        gsp_rec_int(r, "interaction_resource_id", f->irf_id);
        gsp_rec_int(r, "after_call_work_count", f->acw_count);
        gsp_rec_int(r, "after_call_work_duration", f->acw_duration_s);
        gsp_rec_finish(r);
        /* keyed by the interaction, like the IRF it updates */
        t->scratch->len = 0;
        mf_buffer_append(t->scratch, w.tenant, w.tenant_len);
        mf_buffer_append(t->scratch, ":", 1);
        mf_buffer_append(t->scratch, f->ctid, strlen(f->ctid));
        return gsp_rec_emit(r, t->host, t->node, t->port_resources, t->scratch->data, t->scratch->len, ack);
    }
    default: return MF_FATAL;
    }
    gsp_rec_finish(r);
    return gsp_rec_emit(r, t->host, t->node, port, key, key_len, ack);
}

void af_free(af_target *t)
{
    mf_buffer_free(&t->session_key);
}
