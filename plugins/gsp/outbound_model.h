/*
 * outbound_model.h — one outbound chain (docs/plugins/outbound.md): the
 * campaign, calling list and record it dials, its dial attempts counted in
 * event order, and the one attempt in progress. Events are applied in
 * (time, seq, id) order (the transform orders them); an attempt is handed to
 * the emit callback once, when it completes:
 *   - not answered (any result but Answered): at its call result;
 *   - answered: once it has ended (EventOCSCallReleased) and the record is
 *     processed (EventOCSRecordProcessed, its disposition), or at the next
 *     dial attempt or the chain's final event, whichever comes first;
 *   - at the chain's final event in any case, or when the chain is closed
 *     as stuck (ob_close).
 *
 * Ownership: an ob_chain owns its texts (ob_free); zeroed is empty. Texts
 * keep their capacity from attempt to attempt (no allocation per event once
 * they have grown).
 */
#ifndef GSP_OUTBOUND_MODEL_H
#define GSP_OUTBOUND_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include <martflow/martflow.h>

#include "gsp_btext.h"
#include "gsp_wire.h"
#include "outbound_event.h"

/* The longest text a chain keeps (calling list, phone, disposition, ids): longer ones are cut. */
#define OB_TEXT_MAX GSP_BTEXT_MAX

typedef gsp_btext ob_text;

typedef struct ob_attempt {
    int32_t ordinal; /* 1-based, in the chain's event order */
    uint8_t result;  /* ob_call_result */
    bool has_chain_n, has_record, has_connected_seq, processed;
    int64_t start_ms, connect_ms, end_ms; /* MF_TIME_UNSET while unknown */
    int64_t chain_n, record_id, connected_seq;
    ob_text calling_list, phone, disposition, agent, place, this_dn, conn_id, call_thread_id;
} ob_attempt;

typedef struct ob_chain {
    ob_text campaign_id, campaign_name, calling_list, phone;
    int64_t chain_id, chain_n, record_id;
    bool has_chain_n, has_record;
    bool in_attempt; /* cur was dialled and is not yet emitted */
    bool final;      /* EventOCSChainFinal applied */
    int32_t attempts;
    int64_t last_ms, final_ms; /* the last event applied; the final one */
    ob_attempt cur;
} ob_chain;

/* Called with each completed attempt; a status other than MF_OK is kept in
 * the caller's *rc by ob_apply's caller. */
typedef int (*ob_emit_fn)(void *arg, const ob_chain *ch, const ob_attempt *a);

typedef enum ob_outcome {
    OB_APPLIED,
    OB_IGNORED /* nothing it could change: no attempt in progress, or after the chain's final event */
} ob_outcome;

ob_outcome ob_apply(ob_chain *ch, const ob_event *ev, ob_emit_fn emit, void *arg);
/* Complete the attempt in progress now (stuck chain, end of input when
 * `only_ended`: only one that has ended); true when one was emitted. */
bool ob_close(ob_chain *ch, bool only_ended, ob_emit_fn emit, void *arg);
void ob_free(ob_chain *ch);

void ob_save(const ob_chain *ch, const mf_host *host, mf_buffer *out);
/* Fill a zeroed chain; false (chain freed) on malformed bytes. */
bool ob_load(ob_chain *ch, gsp_reader *r);

#endif
