/*
 * outbound_event.h — decoding one voice-outbound event (docs/events.md §1,
 * "voice-outbound") into a small struct, with one compiled field set and no
 * JSON tree; the envelope fields are read as for voice (gsp_envelope.h).
 *
 * Ownership: the strings of a decoded event borrow from the record (see
 * martflow/jsonview.h): valid until the plugin callback returns.
 */
#ifndef GSP_OUTBOUND_EVENT_H
#define GSP_OUTBOUND_EVENT_H

#include <stdbool.h>
#include <stdint.h>

#include <martflow/martflow.h>

#include "gsp_envelope.h"

/* Event names; values order ties and are stored in snapshots: append only. */
typedef enum ob_event_id {
    OB_EV_NONE = 0,
    OB_EV_CHAIN_START,      /* EventOCSChainStartProcessing */
    OB_EV_DIALING,          /* EventOCSDialing: a dial attempt begins */
    OB_EV_CALL_RESULT,      /* EventOCSCallResult */
    OB_EV_CALL_CONNECTED,   /* EventOCSCallConnected: to an agent */
    OB_EV_CALL_RELEASED,    /* EventOCSCallReleased: the answered call ended */
    OB_EV_RECORD_PROCESSED, /* EventOCSRecordProcessed: the record's disposition */
    OB_EV_CHAIN_FINAL,      /* EventOCSChainFinal */
    OB_EV_COUNT
} ob_event_id;
const char *ob_event_name(ob_event_id id);

/* CallResult; stored in snapshots. OB_RESULT_NONE: not known (written
 * "Unknown" in a fact, never accepted as input). */
typedef enum ob_call_result {
    OB_RESULT_NONE = 0,
    OB_RESULT_ANSWERED,
    OB_RESULT_NO_ANSWER,
    OB_RESULT_BUSY,
    OB_RESULT_ANSWERING_MACHINE,
    OB_RESULT_FAX,
    OB_RESULT_DROPPED,
    OB_RESULT_SIT,
    OB_RESULT_COUNT
} ob_call_result;
/* "Answered", "NoAnswer", ..., "Unknown" for OB_RESULT_NONE. */
const char *ob_call_result_name(ob_call_result r);

/* Reject reasons: gsp_reject_kind's, then this one. */
enum { OB_REJECT_BAD_CALL_RESULT = GSP_REJECT_KIND_COUNT, OB_REJECT_KIND_COUNT };
/* The counter label of a reason below OB_REJECT_KIND_COUNT. */
const char *ob_reject_kind_name(int k);

typedef struct ob_event {
    ob_event_id id;
    int64_t time_ms, seq;
    gsp_str tenant; /* the Tenant field, else the key's prefix before ':' */
    gsp_str campaign_id, campaign_name, calling_list, phone, disposition;
    gsp_str agent_id, place, this_dn, conn_id, call_thread_id;
    int64_t chain_id, chain_n, record_handle, connected_seq;
    bool has_chain_n, has_record_handle, has_connected_seq;
    ob_call_result result;
} ob_event;

typedef struct ob_decoder ob_decoder;

/* host and node are borrowed and must outlive it. NULL (logged) on failure. */
ob_decoder *ob_decoder_new(const mf_host *host, mf_node *node);
void ob_decoder_free(ob_decoder *d);

/* Decode rec into *ev. GSP_REJECT_NONE when good; else a reason below
 * OB_REJECT_KIND_COUNT and *reason a sentence (the decoder's, valid until
 * the next call). */
int ob_decode(ob_decoder *d, const mf_record *rec, ob_event *ev, const char **reason);

#endif
