/*
 * outbound_facts.h — the CONTACT_ATTEMPT_FACT record of one completed dial
 * attempt (docs/events.md §3.1, the gsp-outbound topic), its ids from the
 * scheme of §2.3: the attempt's own ("attempt": CampaignID, ChainID, ChainN,
 * attempt ordinal) and, when the attempt reached an agent, the voice
 * interaction and IRF it names (gsp_voice_*_id, as callthread names them).
 *
 * Ownership: the writer and scratch buffer are the caller's, reused.
 */
#ifndef GSP_OUTBOUND_FACTS_H
#define GSP_OUTBOUND_FACTS_H

#include "gsp_record.h"
#include "outbound_model.h"

/* Write the record into w (finished: w->buf holds it). */
void of_write(gsp_rec *w, mf_buffer *scratch, const char *tenant, size_t tenant_len, const ob_chain *ch,
              const ob_attempt *a);

#endif
