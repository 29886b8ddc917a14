/*
 * agent_model.h — the agent-state rules (INFOMART-MODEL.md §4,
 * docs/agent-state-rules.md): one agent's events, applied in (time, seq, id)
 * order, as its login session, its summarised state, its Not Ready / ACW
 * reasons and the after-call work of the calls it released.
 *
 * Facts are handed to an emit callback as they change: a session when it
 * opens and when it closes, a state or a reason when it closes, an
 * after-call-work update when an ACW period attributed to an IRF ends; at
 * the end of input (am_end) what is open, active. All times in epoch ms;
 * durations in whole seconds of the truncated times (docs/events.md §2.2),
 * so the states of a session add up to it.
 *
 * Ownership: an am_agent owns its strings and calls (am_free). Zeroed is a
 * logged-out agent. The strings of an am_fact are borrowed for the callback.
 */
#ifndef GSP_AGENT_MODEL_H
#define GSP_AGENT_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent_calls.h"
#include "agent_facts.h" /* am_fact, the states */
#include "gsp_wire.h"
#include "voice_event.h"

/* Parse the `priority` option (state names, highest first, each once) into
 * rank[state] (0: highest). False with *bad set to the offending item (or
 * NULL when one is missing). */
bool am_parse_priority(const char *const *items, size_t n, uint8_t rank[AM_N_STATES], const char **bad);

typedef struct am_config {
    uint8_t rank[AM_N_STATES];
    int64_t acw_window_ms;
    uint32_t max_events; /* per call thread */
} am_config;

typedef struct am_agent {
    int64_t last_ms; /* the latest event applied */
    bool logged_in;
    int64_t session_ms;
    char *place;                /* the session's: the first Place an agent-state event gave */
    char **queues;              /* queues logged in to ("" for none given) */
    uint32_t n_queues;
    uint8_t mode;               /* what the agent reported: AM_READY, AM_NOT_READY or AM_ACW */
    char *reason, *work_mode;   /* of that mode; NULL: none */
    bool reason_open;           /* a reason row is open since reason_ms */
    int64_t reason_ms;
    uint8_t state;              /* the summarised state, since state_ms */
    int64_t state_ms;
    int64_t acw_ms;             /* mode ACW since */
    /* after-call work attributed to an IRF: its totals so far */
    int64_t acw_irf;            /* 0: none */
    char *acw_ctid;
    int64_t acw_count, acw_duration_s;
    bool acw_attributed;        /* the ACW period now open counts for acw_irf */
    ac_calls calls;
} am_agent;

typedef enum am_result { AM_APPLIED, AM_IGNORED, AM_DUPLICATE, AM_FULL } am_result;

/* Apply one event (either domain). AM_IGNORED: an agent-state event other
 * than a login while logged out (nothing changes). AM_DUPLICATE / AM_FULL:
 * a call event its thread holds already / has no room for. MF status of the
 * first failing emit through *rc (left alone when every emit succeeds). */
am_result am_apply(am_agent *a, const am_config *cfg, cm_work *w, const gsp_voice_event *ev, am_emit_fn emit,
                   void *arg, int *rc);
/* End of input: emit what is open as active, up to the agent's last event. */
int am_end(const am_agent *a, am_emit_fn emit, void *arg);
/* Nothing of the agent needs its inputs any more: logged out, no call open. */
bool am_quiet(const am_agent *a);
void am_free(am_agent *a);

void am_save(const am_agent *a, const mf_host *host, mf_buffer *out);
/* Fill a zeroed agent; false (freed) on malformed bytes. */
bool am_load(am_agent *a, gsp_reader *r);

#endif
