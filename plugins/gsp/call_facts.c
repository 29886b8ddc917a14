/* call_facts.c — see call_facts.h. */
#include <string.h>

#include "call_facts.h"

static void opt_str(gsp_rec *w, const ct_store *s, const char *name, uint16_t i)
{
    size_t len;
    const char *p = ct_str(s, i, &len);
    if (i)
        gsp_rec_str(w, name, p, len);
    else
        gsp_rec_null(w, name);
}

static void opt_id(gsp_rec *w, const char *name, int64_t id)
{
    if (id)
        gsp_rec_int(w, name, id);
    else
        gsp_rec_null(w, name);
}

/* Where the rows of one thread go: the target and the thread's tenant. */
struct out {
    const cf_target *t;
    const char *tenant;
    size_t tenant_len;
};

static void resource(const struct out *o, const ct_store *s, const char *name, const cm_resource *r)
{
    gsp_rec *w = o->t->writer;
    if (!r->type) {
        gsp_rec_null(w, name);
        return;
    }
    size_t len;
    const char *n = ct_str(s, r->name, &len);
    bool agent = strcmp(r->type, "Agent") == 0;
    gsp_rec_obj(w, name);
    gsp_rec_cstr(w, "type", r->type);
    gsp_rec_str(w, "name", n, len);
    gsp_rec_cstr(w, "switch",
                 o->t->switch_of ? o->t->switch_of(o->t->switch_arg, o->tenant, o->tenant_len, agent, n, len) : "");
    if (r->dn_type)
        gsp_rec_cstr(w, "subtype", gsp_dn_type_name((gsp_dn_type)r->dn_type));
    gsp_rec_end_obj(w);
}

static void descriptor(gsp_rec *w, const cm_descriptor *d)
{
    gsp_rec_obj(w, "technical_descriptor");
    gsp_rec_cstr(w, "resource_role", d->role);
    gsp_rec_cstr(w, "role_reason", d->role_reason);
    gsp_rec_cstr(w, "technical_result", d->result);
    gsp_rec_cstr(w, "result_reason", d->result_reason);
    gsp_rec_end_obj(w);
}

static void times(gsp_rec *w, int64_t start_s, int64_t end_s, bool active)
{
    gsp_rec_int(w, "start_ts", start_s);
    if (active)
        gsp_rec_null(w, "end_ts");
    else
        gsp_rec_int(w, "end_ts", end_s);
    gsp_rec_int(w, "active_flag", active);
}

static void irf_row(const struct out *o, const ct_store *s, const cm_result *r, const cm_irf *f)
{
    gsp_rec *w = o->t->writer;
    char name[48];
    gsp_rec_int(w, "interaction_resource_id", f->id);
    gsp_rec_int(w, "interaction_id", r->ixn.id);
    gsp_rec_cstr(w, "media_type", "VOICE");
    gsp_rec_cstr(w, "interaction_type", r->ixn.type);
    resource(o, s, "resource", &f->resource);
    opt_str(w, s, "place", f->place);
    descriptor(w, &f->td);
    gsp_rec_int(w, "interaction_resource_ordinal", f->ordinal);
    opt_id(w, "mediation_segment_id", f->msf_id);
    resource(o, s, "last_queue_resource", &f->last_queue);
    resource(o, s, "last_rp_resource", &f->last_rp);
    opt_id(w, "received_from_ixn_resource_id", f->received_from);
    times(w, f->start_s, f->end_s, f->active);
    for (int i = 0; i < CM_N_COUNTS; i++) {
        size_t n = strlen(cm_count_names[i]);
        memcpy(name, cm_count_names[i], n);
        memcpy(name + n, "_count", 7);
        gsp_rec_int(w, name, f->c[i].count);
        memcpy(name + n, "_duration", 10);
        gsp_rec_int(w, name, f->c[i].duration);
    }
    gsp_rec_int(w, "mediation_duration", f->mediation_s);
    gsp_rec_int(w, "queue_duration", f->queue_s);
    gsp_rec_int(w, "routing_point_duration", f->rp_s);
}

static void msf_row(const struct out *o, const ct_store *s, const cm_result *r, const cm_msf *f)
{
    gsp_rec *w = o->t->writer;
    gsp_rec_int(w, "mediation_segment_id", f->id);
    gsp_rec_int(w, "interaction_id", r->ixn.id);
    gsp_rec_cstr(w, "media_type", "VOICE");
    resource(o, s, "resource", &f->resource);
    descriptor(w, &f->td);
    opt_id(w, "target_ixn_resource_id", f->target_irf);
    times(w, f->start_s, f->end_s, f->active);
    gsp_rec_int(w, "mediation_duration", f->duration_s);
    gsp_rec_int(w, "met_threshold_flag", f->met_threshold);
    gsp_rec_int(w, "short_abandoned_flag", f->short_abandoned);
}

static void ixn_row(gsp_rec *w, const ct_store *s, const cm_ixn *x)
{
    gsp_rec_int(w, "interaction_id", x->id);
    opt_str(w, s, "media_server_ixn_guid", x->guid);
    gsp_rec_cstr(w, "interaction_type", x->type);
    gsp_rec_cstr(w, "media_type", "VOICE");
    opt_str(w, s, "source_address", x->ani);
    opt_str(w, s, "target_address", x->dnis);
    times(w, x->start_s, x->end_s, x->active);
}

int cf_emit(const cf_target *t, const ct_store *s, const cm_result *r, const char *tenant, size_t tenant_len,
            const void *key, size_t key_len, mf_ack *ack)
{
    gsp_rec *w = t->writer;
    struct out o = {t, tenant, tenant_len};
    gsp_rec_begin(w, "INTERACTION_FACT", "upsert", tenant, tenant_len);
    ixn_row(w, s, &r->ixn);
    gsp_rec_finish(w);
    int rc = gsp_rec_emit(w, t->host, t->node, t->port_interactions, key, key_len, ack);
    for (size_t i = 0; i < r->n_msf && rc == MF_OK; i++) {
        gsp_rec_begin(w, "MEDIATION_SEGMENT_FACT", "upsert", tenant, tenant_len);
        msf_row(&o, s, r, &r->msf[i]);
        gsp_rec_finish(w);
        rc = gsp_rec_emit(w, t->host, t->node, t->port_segments, key, key_len, ack);
    }
    for (size_t i = 0; i < r->n_irf && rc == MF_OK; i++) {
        gsp_rec_begin(w, "INTERACTION_RESOURCE_FACT", "upsert", tenant, tenant_len);
        irf_row(&o, s, r, &r->irf[i]);
        gsp_rec_finish(w);
        rc = gsp_rec_emit(w, t->host, t->node, t->port_resources, key, key_len, ack);
    }
    return rc;
}
