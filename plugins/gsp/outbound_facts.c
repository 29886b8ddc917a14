/* outbound_facts.c — see outbound_facts.h. */
#include "outbound_facts.h"
#include "gsp_ids.h"

static void text(gsp_rec *w, const char *name, const ob_text *t)
{
    if (t->len)
        gsp_rec_str(w, name, t->s, t->len);
}

void of_write(gsp_rec *w, mf_buffer *scratch, const char *tenant, size_t tenant_len, const ob_chain *ch,
              const ob_attempt *a)
{
    gsp_idpart parts[] = {GSP_ID_STR(ch->campaign_id.s, ch->campaign_id.len), GSP_ID_INT(ch->chain_id),
                          GSP_ID_INT(a->has_chain_n ? a->chain_n : 0), GSP_ID_INT(a->ordinal)};
    gsp_rec_begin(w, "CONTACT_ATTEMPT_FACT", "upsert", tenant, tenant_len);
    gsp_rec_int(w, "contact_attempt_fact_key", gsp_id(scratch, "attempt", tenant, tenant_len, parts, 4));
    gsp_rec_cstr(w, "media_type", "VOICE");
    text(w, "campaign_name", ch->campaign_name.len ? &ch->campaign_name : &ch->campaign_id);
    text(w, "calling_list_name", &a->calling_list);
    if (a->has_record)
        gsp_rec_int(w, "record_id", a->record_id);
    gsp_rec_int(w, "chain_id", ch->chain_id);
    if (a->has_chain_n)
        gsp_rec_int(w, "chain_n", a->chain_n);
    gsp_rec_int(w, "attempt_ordinal", a->ordinal);
    text(w, "contact_info", &a->phone);
    gsp_rec_cstr(w, "call_result", ob_call_result_name((ob_call_result)a->result));
    text(w, "record_disposition", &a->disposition);
    if (a->agent.len) {
        gsp_rec_obj(w, "resource");
        gsp_rec_cstr(w, "type", "Agent");
        gsp_rec_str(w, "name", a->agent.s, a->agent.len);
        gsp_rec_cstr(w, "switch", "");
        gsp_rec_end_obj(w);
    }
    if (a->call_thread_id.len) {
        gsp_rec_int(w, "interaction_id", gsp_voice_ixn_id(scratch, tenant, tenant_len, a->call_thread_id.s,
                                                          a->call_thread_id.len));
        if (a->conn_id.len && a->this_dn.len && a->has_connected_seq)
            gsp_rec_int(w, "interaction_resource_id",
                        gsp_voice_leg_id(scratch, "irf", tenant, tenant_len, a->call_thread_id.s,
                                         a->call_thread_id.len, a->conn_id.s, a->conn_id.len, a->this_dn.s,
                                         a->this_dn.len, a->connected_seq));
    }
    int64_t start = gsp_secs(a->start_ms), end = gsp_secs(a->end_ms);
    int64_t dialled_to = a->connect_ms != MF_TIME_UNSET ? gsp_secs(a->connect_ms) : end;
    gsp_rec_int(w, "start_ts", start);
    if (a->connect_ms != MF_TIME_UNSET)
        gsp_rec_int(w, "connect_ts", gsp_secs(a->connect_ms));
    gsp_rec_int(w, "end_ts", end);
    gsp_rec_int(w, "dial_duration", dialled_to - start);
    gsp_rec_finish(w);
}
