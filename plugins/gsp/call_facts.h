/*
 * call_facts.h — the facts of one call thread (call_model.h) written as GSP
 * output records (docs/events.md §2, §3.1) and emitted: INTERACTION_FACT on
 * port `interactions`, MEDIATION_SEGMENT_FACT on `segments`,
 * INTERACTION_RESOURCE_FACT on `resources`, each keyed "{tenant}:{CallThreadID}".
 * Every column GSP knows is written (unknown references as null), so each
 * upsert is the whole row as GSP sees it: the last one wins.
 */
#ifndef GSP_CALL_FACTS_H
#define GSP_CALL_FACTS_H

#include <martflow/martflow.h>

#include "call_model.h"
#include "gsp_record.h"

typedef struct cf_target {
    const mf_host *host;
    mf_node *node;
    int port_interactions, port_resources, port_segments;
    gsp_rec *writer; /* the caller's, reused */
    /* The switch name of a resource reference (agent: name is a login code,
     * else a DN number), "" unknown; NULL: always "". */
    const char *(*switch_of)(void *arg, const char *tenant, size_t tenant_len, bool agent, const char *name,
                             size_t len);
    void *switch_arg;
} cf_target;

/* Emit every row of r with ack (the key's ack group). MF_OK or the first
 * failing emit's status. key: the thread's key; tenant: its prefix. */
int cf_emit(const cf_target *t, const ct_store *s, const cm_result *r, const char *tenant, size_t tenant_len,
            const void *key, size_t key_len, mf_ack *ack);

#endif
