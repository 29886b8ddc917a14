/*
 * agent_calls.h — the calls of one agent, as agentstate follows them: for
 * each call thread the agent is on, its events at the agent (the call
 * events callthread forwards on `agent_events`) in a call store, and from
 * them, through the same code callthread uses (cm_involvements), whether the
 * agent is on a call (BUSY) and which IRF the agent released last (after-call
 * work is attributed to it). A thread is forgotten once nothing of it is
 * open and acw_window has passed since its last event.
 *
 * Ownership: an ac_calls owns its threads and strings (ac_free). Zeroed is
 * empty. The cm_work passed in is the caller's scratch.
 */
#ifndef GSP_AGENT_CALLS_H
#define GSP_AGENT_CALLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "call_model.h"
#include "call_store.h"
#include "gsp_wire.h"

typedef struct ac_thread {
    char *ctid; /* CallThreadID, NUL-terminated */
    ct_store store;
    int64_t last_ms; /* its latest event at the agent */
    bool open;       /* an involvement of the agent on it has not ended */
} ac_thread;

typedef struct ac_calls {
    ac_thread *v;
    uint32_t n, cap;
    /* The involvement the agent ended last among those that were
     * established: its IRF, its thread and when it ended (irf 0: none). */
    int64_t last_irf, last_end_ms;
    char *last_ctid;
} ac_calls;

/* Add a call event of the agent (its thread's store, then what is open and
 * what ended). tenant: the agent's. CT_DUPLICATE / CT_FULL as ct_store_add. */
ct_add_result ac_add(ac_calls *c, cm_work *w, const char *tenant, size_t tenant_len, const gsp_voice_event *ev,
                     uint32_t max_events);
/* Is the agent on a call: some involvement open. */
bool ac_busy(const ac_calls *c);
/* Forget the threads with nothing open whose last event is before before_ms.
 * The earliest time a remaining closed thread may be forgotten after is
 * returned through *next_ms (MF_TIME_UNSET: none), given the window. */
void ac_forget(ac_calls *c, int64_t before_ms, int64_t window_ms, int64_t *next_ms);
size_t ac_bytes(const ac_calls *c);
void ac_free(ac_calls *c);

void ac_save(const ac_calls *c, const mf_host *host, mf_buffer *out);
/* Fill a zeroed ac_calls; false (freed) on malformed bytes. */
bool ac_load(ac_calls *c, gsp_reader *r);

#endif
