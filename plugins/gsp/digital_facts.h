/*
 * digital_facts.h — the records of one digital interaction
 * (docs/digital-rules.md): INTERACTION_FACT, MEDIATION_SEGMENT_FACT and
 * INTERACTION_RESOURCE_FACT (docs/events.md §3.1, topic gsp-ixn) with their
 * ids of §2.3 (ixn: "digital", InteractionID; irf: "digital", InteractionID,
 * AgentID, seq of the event that opened the involvement; msf: "digital",
 * InteractionID, Queue or Workbin, seq of the event that opened the stay),
 * and the handling events of digital.agent_events.
 *
 * Ownership: the writer and scratch buffer are the caller's, reused; each
 * function leaves the finished record in w->buf.
 */
#ifndef GSP_DIGITAL_FACTS_H
#define GSP_DIGITAL_FACTS_H

#include "digital_model.h"
#include "gsp_record.h"

typedef struct dgf_out {
    gsp_rec *w;
    mf_buffer *scratch;
    const char *tenant;
    size_t tenant_len;
} dgf_out;

void dgf_ixn(const dgf_out *o, const dg_ixn *x);
void dgf_stay(const dgf_out *o, const dg_ixn *x, const dg_stay *s);
void dgf_inv(const dgf_out *o, const dg_ixn *x, const dg_inv *v);
/* {"id": "<last event>/start|/end", "time": ms, "seq", "event": "EventInteractionHandling...",
 *  "Tenant", "AgentID", "MediaType", "InteractionID", "Place"}. */
void dgf_handling(const dgf_out *o, const dg_ixn *x, const dg_inv *v, bool start);

#endif
