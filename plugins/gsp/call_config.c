/* call_config.c — see call_config.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "call_config.h"
#include "cfg_cache.h"

#define UNKNOWN_PERSON "flink_taskmanager_job_task_operator_tenant_error_total"

struct tenant_metric {
    char *tenant;
    mf_metric *m;
};

struct call_config {
    const mf_host *host;
    mf_node *node;
    cfg_cache *cache;
    mf_metric *m_config, *m_rejected;
    struct tenant_metric *unknown; /* per tenant seen with an unknown person */
    size_t n_unknown;
};

call_config *call_config_new(const mf_host *host, mf_node *node, size_t max_objects)
{
    call_config *cc = mf_xcalloc(1, sizeof *cc);
    cc->host = host;
    cc->node = node;
    cc->cache = cfg_cache_new(max_objects);
    cc->m_config = host->counter(node, "martflow_callthread_config_records_total", NULL,
                                 "gca-cfg records applied to this worker's configuration cache");
    cc->m_rejected = host->counter(node, "martflow_callthread_config_rejected_total", NULL,
                                   "gca-cfg records rejected (invalid, or beyond max_config_objects)");
    return cc;
}

void call_config_free(call_config *cc)
{
    if (!cc)
        return;
    for (size_t i = 0; i < cc->n_unknown; i++)
        free(cc->unknown[i].tenant);
    free(cc->unknown);
    cfg_cache_free(cc->cache);
    free(cc);
}

bool call_config_take(call_config *cc, mf_record *rec)
{
    const char *error = NULL;
    json_t *json = cc->host->record_json(cc->node, rec, &error);
    if (!json || !cfg_is_config(json))
        return false;
    cfg_change ch;
    char why[256];
    if (!cfg_decode(json, &ch, why, sizeof why)) {
        cc->host->metric_add(cc->m_rejected, 1);
        cc->host->reject(cc->node, rec, "%s", why);
        return true;
    }
    if (cfg_cache_apply(cc->cache, &ch) == CFG_FULL) {
        cc->host->metric_add(cc->m_rejected, 1);
        cc->host->reject(cc->node, rec, "the configuration cache holds max_config_objects objects already");
        return true;
    }
    cc->host->metric_add(cc->m_config, 1);
    return true;
}

/* Does the event itself say what its DN is (docs/events.md §1)? */
static bool event_decides(const gsp_voice_event *ev)
{
    return ev->id == GSP_EV_ROUTE_REQUEST || ev->id == GSP_EV_ROUTE_USED || ev->id == GSP_EV_QUEUED ||
           ev->id == GSP_EV_DIVERTED || ev->agent_id.len;
}

static gsp_dn_type dn_type_of(const char *name)
{
    for (int t = GSP_DN_ROUTING_POINT; t <= GSP_DN_EXTERNAL; t++)
        if (strcmp(name, gsp_dn_type_name((gsp_dn_type)t)) == 0)
            return (gsp_dn_type)t;
    return GSP_DN_UNKNOWN;
}

bool call_config_enrich(call_config *cc, gsp_voice_event *ev)
{
    if (!cfg_cache_tenant_objects(cc->cache, ev->tenant.s, ev->tenant.len))
        return false;
    cfg_dn dn;
    if (ev->dn_type == GSP_DN_UNKNOWN && !event_decides(ev) &&
        cfg_cache_dn(cc->cache, ev->tenant.s, ev->tenant.len, ev->this_dn.s, ev->this_dn.len, &dn))
        ev->dn_type = dn_type_of(dn.dn->subtype);
    cfg_agent a;
    return ev->agent_id.len &&
           !cfg_cache_agent(cc->cache, ev->tenant.s, ev->tenant.len, ev->agent_id.s, ev->agent_id.len, &a);
}

void call_config_unknown_person(call_config *cc, const char *tenant, size_t tenant_len)
{
    for (size_t i = 0; i < cc->n_unknown; i++)
        if (strlen(cc->unknown[i].tenant) == tenant_len && memcmp(cc->unknown[i].tenant, tenant, tenant_len) == 0) {
            cc->host->metric_add(cc->unknown[i].m, 1);
            return;
        }
    /* A Prometheus label value: backslash, quote and newline escaped. */
    mf_buffer labels = {0};
    mf_buffer_append_str(&labels, "tenant=\"");
    for (size_t i = 0; i < tenant_len; i++) {
        char ch = tenant[i];
        if (ch == '\\' || ch == '"')
            mf_buffer_append(&labels, "\\", 1);
        if (ch == '\n')
            mf_buffer_append_str(&labels, "\\n");
        else
            mf_buffer_append(&labels, &ch, 1);
    }
    mf_buffer_append_str(&labels, "\",error=\"unknown_person\"");
    mf_buffer_append(&labels, "", 1);
    cc->unknown = mf_xrealloc(cc->unknown, (cc->n_unknown + 1) * sizeof *cc->unknown);
    struct tenant_metric *t = &cc->unknown[cc->n_unknown++];
    t->tenant = mf_xstrndup(tenant, tenant_len);
    t->m = cc->host->counter(cc->node, UNKNOWN_PERSON, (const char *)labels.data,
                             "Issues met per tenant (unknown_person: an AgentID the configuration does not know)");
    mf_buffer_free(&labels);
    cc->host->metric_add(t->m, 1);
}

const char *call_config_switch_of(void *arg, const char *tenant, size_t tenant_len, bool agent, const char *name,
                                  size_t len)
{
    call_config *cc = arg;
    if (agent) {
        cfg_agent a;
        return cfg_cache_agent(cc->cache, tenant, tenant_len, name, len, &a) ? a.switch_name : "";
    }
    cfg_dn d;
    return cfg_cache_dn(cc->cache, tenant, tenant_len, name, len, &d) && !d.ambiguous ? d.switch_name : "";
}

void call_config_save(const call_config *cc, mf_buffer *out)
{
    cfg_cache_save(cc->cache, out);
}

bool call_config_load(call_config *cc, const uint8_t *data, size_t len)
{
    return cfg_cache_load(cc->cache, data, len);
}
