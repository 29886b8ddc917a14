/*
 * agent_facts.h — the facts of agent_model.h written as GSP output records
 * (docs/events.md §2, §3.1) and emitted: SM_RES_SESSION_FACT on `sessions`,
 * SM_RES_STATE_FACT on `states`, SM_RES_STATE_REASON_FACT on `reasons`, keyed
 * "{tenant}:{AgentID}"; the after-call-work `update` of an
 * INTERACTION_RESOURCE_FACT on `resources`, keyed "{tenant}:{CallThreadID}"
 * like every other record of that interaction (§2.4).
 */
#ifndef GSP_AGENT_FACTS_H
#define GSP_AGENT_FACTS_H

#include <martflow/martflow.h>

#include "agent_model.h"
#include "gsp_record.h"

typedef struct af_target {
    const mf_host *host;
    mf_node *node;
    int port_sessions, port_states, port_reasons, port_resources;
    gsp_rec *writer;    /* the caller's, reused */
    mf_buffer *scratch; /* the caller's: ids and keys */
} af_target;

/* Emit fact f of the agent whose key is (key, key_len) = "{tenant}:{AgentID}"
 * with ack. MF_OK or the emit's status. */
int af_emit(const af_target *t, const am_fact *f, const char *key, size_t key_len, size_t tenant_len, mf_ack *ack);

#endif
