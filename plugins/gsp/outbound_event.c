/* outbound_event.c — see outbound_event.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "outbound_event.h"

static const char *const event_names[OB_EV_COUNT] = {
    [OB_EV_NONE] = "?",
    [OB_EV_CHAIN_START] = "EventOCSChainStartProcessing",
    [OB_EV_DIALING] = "EventOCSDialing",
    [OB_EV_CALL_RESULT] = "EventOCSCallResult",
    [OB_EV_CALL_CONNECTED] = "EventOCSCallConnected",
    [OB_EV_CALL_RELEASED] = "EventOCSCallReleased",
    [OB_EV_RECORD_PROCESSED] = "EventOCSRecordProcessed",
    [OB_EV_CHAIN_FINAL] = "EventOCSChainFinal",
};

const char *ob_event_name(ob_event_id id)
{
    return id > OB_EV_NONE && id < OB_EV_COUNT ? event_names[id] : "?";
}

static const char *const result_names[OB_RESULT_COUNT] = {
    [OB_RESULT_NONE] = "Unknown",
    [OB_RESULT_ANSWERED] = "Answered",
    [OB_RESULT_NO_ANSWER] = "NoAnswer",
    [OB_RESULT_BUSY] = "Busy",
    [OB_RESULT_ANSWERING_MACHINE] = "AnsweringMachine",
    [OB_RESULT_FAX] = "Fax",
    [OB_RESULT_DROPPED] = "Dropped",
    [OB_RESULT_SIT] = "SIT",
};

const char *ob_call_result_name(ob_call_result r)
{
    return (unsigned)r < OB_RESULT_COUNT ? result_names[r] : "Unknown";
}

const char *ob_reject_kind_name(int k)
{
    return k == OB_REJECT_BAD_CALL_RESULT ? "bad_call_result" : gsp_reject_kind_name((gsp_reject_kind)k);
}

enum {
    F_ID, F_TIME, F_SEQ, F_TENANT, F_CAMPAIGN_ID, F_CAMPAIGN_NAME, F_CALLING_LIST, F_CHAIN_ID, F_CHAIN_N,
    F_RECORD_HANDLE, F_PHONE, F_CALL_RESULT, F_DISPOSITION, F_AGENT_ID, F_PLACE, F_THIS_DN, F_CONN_ID,
    F_CALL_THREAD_ID, F_CONNECTED_SEQ, F_USER_DATA, F_COUNT
};
static const char *const field_paths[F_COUNT] = {
    "id", "time", "seq", "Tenant", "CampaignID", "CampaignName", "CallingList", "ChainID", "ChainN",
    "RecordHandle", "Phone", "CallResult", "RecordDisposition", "AgentID", "Place", "ThisDN", "ConnID",
    "CallThreadID", "ConnectedSeq", "UserData",
};

struct ob_decoder {
    mf_json_view views[F_COUNT];
    gsp_env env; /* over views and field_paths: the compiled set, the reasons */
};

ob_decoder *ob_decoder_new(const mf_host *host, mf_node *node)
{
    ob_decoder *d = mf_xcalloc(1, sizeof *d);
    if (!gsp_env_open(&d->env, host, node, field_paths, F_COUNT, d->views)) {
        free(d);
        return NULL;
    }
    return d;
}

void ob_decoder_free(ob_decoder *d)
{
    if (!d)
        return;
    gsp_env_close(&d->env);
    free(d);
}

static int get_result(ob_decoder *d, ob_event *ev)
{
    gsp_str r;
    if (ev->id == OB_EV_CALL_RESULT)
        GSP_TRY(gsp_env_mandatory(&d->env, F_CALL_RESULT, &r));
    else
        GSP_TRY(gsp_env_str(&d->env, F_CALL_RESULT, &r));
    if (!r.len)
        return GSP_REJECT_NONE;
    ev->result = (ob_call_result)gsp_env_name_index(&d->views[F_CALL_RESULT], result_names, OB_RESULT_COUNT);
    if (ev->result == OB_RESULT_NONE) {
        gsp_env_fail(&d->env, GSP_REJECT_NONE,
                     "field 'CallResult' is '%.*s', not one of Answered, NoAnswer, Busy, AnsweringMachine, Fax, "
                     "Dropped, SIT",
                     r.len > 64 ? 64 : (int)r.len, r.s);
        return OB_REJECT_BAD_CALL_RESULT;
    }
    return GSP_REJECT_NONE;
}

int ob_decode(ob_decoder *d, const mf_record *rec, ob_event *ev, const char **reason)
{
    memset(ev, 0, sizeof *ev);
    *reason = d->env.reason;
    GSP_TRY(gsp_env_read(&d->env, rec));
    unsigned id;
    GSP_TRY(gsp_env_event(&d->env, F_ID, event_names, OB_EV_COUNT, &id));
    ev->id = (ob_event_id)id;
    GSP_TRY(gsp_env_time(&d->env, F_TIME, &ev->time_ms));
    GSP_TRY(gsp_env_mandatory_int(&d->env, F_SEQ, &ev->seq));
    GSP_TRY(gsp_env_tenant(&d->env, F_TENANT, rec, &ev->tenant));
    GSP_TRY(gsp_env_mandatory(&d->env, F_CAMPAIGN_ID, &ev->campaign_id));
    GSP_TRY(gsp_env_mandatory_int(&d->env, F_CHAIN_ID, &ev->chain_id));
    GSP_TRY(gsp_env_int(&d->env, F_CHAIN_N, &ev->chain_n, &ev->has_chain_n));
    GSP_TRY(gsp_env_int(&d->env, F_RECORD_HANDLE, &ev->record_handle, &ev->has_record_handle));
    GSP_TRY(gsp_env_int(&d->env, F_CONNECTED_SEQ, &ev->connected_seq, &ev->has_connected_seq));
    GSP_TRY(gsp_env_str(&d->env, F_CAMPAIGN_NAME, &ev->campaign_name));
    GSP_TRY(gsp_env_str(&d->env, F_CALLING_LIST, &ev->calling_list));
    GSP_TRY(gsp_env_str(&d->env, F_PHONE, &ev->phone));
    GSP_TRY(gsp_env_str(&d->env, F_DISPOSITION, &ev->disposition));
    if (ev->id == OB_EV_CALL_CONNECTED)
        GSP_TRY(gsp_env_mandatory(&d->env, F_AGENT_ID, &ev->agent_id));
    else
        GSP_TRY(gsp_env_str(&d->env, F_AGENT_ID, &ev->agent_id));
    GSP_TRY(gsp_env_str(&d->env, F_PLACE, &ev->place));
    GSP_TRY(gsp_env_str(&d->env, F_THIS_DN, &ev->this_dn));
    GSP_TRY(gsp_env_str(&d->env, F_CONN_ID, &ev->conn_id));
    GSP_TRY(gsp_env_str(&d->env, F_CALL_THREAD_ID, &ev->call_thread_id));
    GSP_TRY(gsp_env_object(&d->env, F_USER_DATA));
    return get_result(d, ev);
}
