/*
 * call_internal.h — what call_legs.c (events to legs and involvements) and
 * call_model.c (legs to facts) share; not an interface for anything else.
 *
 * A *leg* is one DN's presence on one call (ConnID): it begins with the
 * first event of that DN on that call (ringing, dialing, queued, a route
 * request, ...) and ends with its release, abandon, diversion, or when it
 * continues on another call (EventPartyChanged / EventPartyAdded naming it
 * in PreviousConnID). An *involvement* is what one IRF describes: a leg,
 * the legs that continue it, and the consultation legs its DN dialled from
 * it. A leg at a queue or routing point is a *stay*: one MSF each.
 */
#ifndef GSP_CALL_INTERNAL_H
#define GSP_CALL_INTERNAL_H

#include "call_model.h"
#include "gsp_record.h"

enum kind { K_EXT = 0, K_AGENT, K_IVR, K_RP, K_QUEUE, K_EXTERNAL };
enum end_kind { END_NONE = 0, END_RELEASED, END_ABANDONED, END_DIVERTED, END_CONTINUED };
enum cons { CONS_MAIN = 0, CONS_INIT, CONS_RCV };

#define UNSET INT64_MIN
#define NONE (-1)

struct leg {
    uint16_t conn, dn, other_dn;
    uint32_t begin_idx, end_idx;
    int64_t start_ms, end_ms, ring_ms, dial_ms, est_ms, hold_ms;
    int64_t hold_count, hold_s;
    uint8_t kind, end_kind, begin_ev, cons;
    bool busy;
    int inv, target, targeted_by;
    int64_t msf_id; /* a stay's id once hashed (cm_compute), else 0 */
};

struct inv {
    int root; /* its first leg */
    uint16_t agent, place;
    int received_from; /* inv */
    bool transferred, conferenced, joined, by_transfer;
    int64_t irf_id;
    int irf; /* index in w->irf, or NONE */
    const char *result_reason;
};

struct cm_work {
    struct leg *legs;
    size_t n_legs, cap_legs;
    struct inv *invs;
    size_t n_invs, cap_invs;
    uint8_t *dn_kind, *dn_flags, *consult; /* per string index */
    size_t cap_str;
    cm_irf *irf;
    size_t n_irf, cap_irf;
    cm_msf *msf;
    size_t n_msf, cap_msf;
    cm_involvement *involvements;
    size_t cap_involvements;
    mf_buffer scratch;
    cm_result result;
};


/* Whole seconds of an epoch-ms time, rounded down (gsp_record.h). */
static inline int64_t secs(int64_t ms)
{
    return gsp_secs(ms);
}

static inline bool is_stay(const struct leg *l)
{
    return l->kind == K_RP || l->kind == K_QUEUE;
}

/* Make room for one more element of a growable array. */
#define GROW(arr, n, cap)                                                                                      \
    do {                                                                                                       \
        if ((n) == (cap)) {                                                                                    \
            (cap) = (cap) ? (cap) * 2 : 8;                                                                     \
            (arr) = mf_xrealloc((arr), (cap) * sizeof *(arr));                                                 \
        }                                                                                                      \
    } while (0)

/* Rebuild w->legs and w->invs from the events. */
void cm_build_legs(cm_work *w, const ct_store *s);

#endif
