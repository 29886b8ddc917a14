/*
 * agent_facts.h — the facts of agent_model.h written as GSP output records
 * (docs/events.md §2, §3.1) and emitted: SM_RES_SESSION_FACT on `sessions`,
 * SM_RES_STATE_FACT on `states`, SM_RES_STATE_REASON_FACT on `reasons`, keyed
 * "{tenant}:{AgentID}"; the after-call-work `update` of an
 * INTERACTION_RESOURCE_FACT on `resources`, keyed "{tenant}:{CallThreadID}"
 * like every other record of that interaction (§2.4).
 *
 * Shared by the voice `agentstate` (agent_model.h) and the per-media
 * `digitalagentstate` (digital_agent_model.h): a fact names its media, and
 * the media code is part of every SM id (§2.3), so sessions and states of
 * two media of one agent never collide.
 */
#ifndef GSP_AGENT_FACTS_H
#define GSP_AGENT_FACTS_H

#include <stdbool.h>
#include <stdint.h>

#include <martflow/martflow.h>

#include "gsp_record.h"

/* Summarised states; stored in snapshots. */
enum { AM_READY = 0, AM_NOT_READY, AM_BUSY, AM_ACW, AM_N_STATES };
/* "READY", "NOT_READY", "BUSY", "ACW" (the resource_state codes). */
const char *am_state_name(unsigned state);

typedef enum am_table { AM_SESSION, AM_STATE, AM_REASON, AM_ACW_UPDATE } am_table;

/* One fact of an agent. The strings are borrowed for the emit call. */
typedef struct am_fact {
    am_table table;
    const char *media;         /* the media_type code of the session: "CHAT", ...; NULL: "VOICE" */
    int64_t session_ms;        /* the session's login time (its id) */
    int64_t start_ms, end_ms;  /* end_ms: the horizon when active */
    bool active;
    uint8_t state;             /* AM_STATE, AM_REASON */
    const char *reason_code;   /* AM_REASON: "" when none */
    const char *work_mode;     /* AM_REASON: "" when none */
    const char *place;         /* NULL: unknown */
    /* AM_ACW_UPDATE */
    int64_t irf_id;
    const char *ctid;
    int64_t acw_count, acw_duration_s;
} am_fact;

typedef int (*am_emit_fn)(void *arg, const am_fact *f);

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
    const char *session_media;      /* a static media code */
    int64_t session_ms, session_id; /* session_id 0: none yet */
} af_target;

/* Emit fact f (port by its table; an AM_ACW_UPDATE needs port_resources,
 * which a target without IRFs leaves -1) of the agent whose key is (key, key_len) = "{tenant}:{AgentID}"
 * with ack. MF_OK or the emit's status. */
int af_emit(af_target *t, const am_fact *f, const char *key, size_t key_len, size_t tenant_len, mf_ack *ack);
/* Free what the target owns (not the caller's writer and scratch). */
void af_free(af_target *t);

#endif
