/*
 * call_model.h — the call-thread rules (INFOMART-MODEL.md §5,
 * docs/call-thread-rules.md): from the sorted events of one thread
 * (call_store.h) to its facts, INTERACTION_FACT, one MEDIATION_SEGMENT_FACT
 * per stay in a queue or routing point and one INTERACTION_RESOURCE_FACT per
 * resource's involvement.
 *
 * The facts are a pure function of the events and the parameters: computed
 * again from all the events whenever they are emitted, so the order events
 * arrived in, duplicates and restores do not change them.
 *
 * Ownership: a cm_work owns its arrays and the result it returns, valid
 * until the next cm_compute or cm_work_free. Strings of the result are
 * indices into the store (ct_str) or static text.
 */
#ifndef GSP_CALL_MODEL_H
#define GSP_CALL_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "call_store.h"

enum {
    CM_DIAL, CM_RING, CM_TALK, CM_HOLD,
    CM_CONS_INIT_DIAL, CM_CONS_INIT_TALK, CM_CONS_INIT_HOLD,
    CM_CONS_RCV_RING, CM_CONS_RCV_TALK, CM_CONS_RCV_HOLD,
    CM_CUSTOMER_TALK, CM_CUSTOMER_HOLD,
    CM_N_COUNTS
};
/* "dial", "ring", ... : the column prefix of count i (…_count, …_duration). */
extern const char *const cm_count_names[CM_N_COUNTS];

typedef struct cm_counts {
    int64_t count, duration; /* duration in whole seconds */
} cm_counts;

typedef struct cm_descriptor {
    const char *role, *role_reason, *result, *result_reason;
} cm_descriptor;

/* A resource reference (docs/events.md §2.5). */
typedef struct cm_resource {
    const char *type; /* "Agent", "Queue", "RoutingPoint", "Extension", "IVR" */
    uint16_t name;    /* string index: login code or DN number */
    uint8_t dn_type;  /* gsp_dn_type given by the events (the placeholder's subtype), or 0 */
} cm_resource;

typedef struct cm_irf {
    int64_t id;
    cm_resource resource;
    uint16_t place; /* 0: none */
    cm_descriptor td;
    int ordinal;
    int64_t msf_id, received_from; /* 0: none */
    cm_resource last_queue, last_rp; /* name 0: none */
    int64_t start_s, end_s;          /* end_s meaningless when active */
    bool active;
    cm_counts c[CM_N_COUNTS];
    int64_t mediation_s, queue_s, rp_s;
    int64_t sort_ms, sort_seq; /* the order of ordinals */
} cm_irf;

typedef struct cm_msf {
    int64_t id;
    cm_resource resource;
    cm_descriptor td;
    int64_t target_irf; /* 0: none */
    int64_t start_s, end_s, duration_s;
    bool met_threshold, short_abandoned, active;
} cm_msf;

typedef struct cm_ixn {
    int64_t id;
    uint16_t guid, ani, dnis; /* string indices, 0: none */
    const char *type;         /* "Inbound", "Outbound", "Internal", "Unknown" */
    int64_t start_s, end_s;
    bool active;
} cm_ixn;

typedef struct cm_result {
    cm_ixn ixn;
    const cm_msf *msf;
    size_t n_msf;
    const cm_irf *irf; /* by ordinal */
    size_t n_irf;
} cm_result;

typedef struct cm_params {
    const char *tenant, *ctid; /* the thread's tenant and CallThreadID */
    size_t tenant_len, ctid_len;
    /* How open parties are written: stuck (closed at horizon, result Stuck /
     * StuckTimeout) or, if not, active (no end, active_flag 1, result
     * Unspecified). horizon_ms: the last event time, the end of open phases. */
    bool stuck;
    int64_t horizon_ms;
    int64_t answer_threshold_ms;  /* MET_THRESHOLD_FLAG: answered within */
    int64_t short_abandon_ms;     /* SHORT_ABANDONED_FLAG: abandoned within */
} cm_params;

typedef struct cm_work cm_work;

cm_work *cm_work_new(void);
void cm_work_free(cm_work *w);

/* True when the thread has at least one party and every party has ended
 * (released, abandoned, diverted on, or continued on another call). */
bool cm_all_released(cm_work *w, const ct_store *s);
/* The facts of the thread. */
const cm_result *cm_compute(cm_work *w, const ct_store *s, const cm_params *p);

/* One involvement (a future IRF) as cm_compute sees it; for a transform
 * that must name a thread's IRFs without computing its facts (agentstate
 * attributes after-call work to the IRF of the call an agent released). */
typedef struct cm_involvement {
    bool has_irf;          /* false: a stay or an external party (no IRF) */
    uint16_t dn, agent;    /* string indices of the store */
    bool open;             /* a leg of it has not ended */
    bool established;      /* a leg of it was established (answered or connected) */
    int64_t start_ms;      /* its first event */
    int64_t end_ms;        /* its last leg's end; meaningless while open */
} cm_involvement;

/* The involvements of the thread's events in order of their first leg.
 * Valid until the next call on w; *n set. */
const cm_involvement *cm_involvements(cm_work *w, const ct_store *s, size_t *n);
/* The IRF id cm_compute gives involvement i of the last cm_involvements on
 * w (one with has_irf; p->tenant and p->ctid are read, the rest of p is
 * not). Apart, as it costs a hash: asked only of those that matter. */
int64_t cm_involvement_irf(cm_work *w, const ct_store *s, const cm_params *p, size_t i);

#endif
