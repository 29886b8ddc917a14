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
    /* The session id last hashed, for the key (split after tenant_len) and
     * login time it was hashed for: an agent's facts come together, and each
     * names its session. Owned: af_free. */
    mf_buffer session_key;
    size_t session_tenant_len;
    int64_t session_ms, session_id; /* session_id 0: none yet */
} af_target;

/* Emit fact f of the agent whose key is (key, key_len) = "{tenant}:{AgentID}"
 * with ack. MF_OK or the emit's status. */
int af_emit(af_target *t, const am_fact *f, const char *key, size_t key_len, size_t tenant_len, mf_ack *ack);
/* Free what the target owns (not the caller's writer and scratch). */
void af_free(af_target *t);

#endif
