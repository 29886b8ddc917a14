/*
 * callgen_digital — the traffic generator's digital contact centre: agents
 * logged in per media (CHAT, EMAIL) with a capacity, and chat and e-mail
 * interactions through interaction queues and a workbin, scripted as the
 * digital-itx and digital-agentstate events of docs/events.md §1 in the
 * shapes of docs/digital-rules.md, and the facts the `digital` and
 * `digitalagentstate` transforms make of them counted in the plan
 * (callgen_plan.h, cg_plan_digital).
 *
 * It lives inside the voice model's simulation (callgen_model.h): one clock,
 * one action heap, one seq counter, so both kinds of events come out in one
 * event-time order; but it draws from a PRNG of its own, so turning it on
 * changes no voice event but for its seq. Interactions wait per media, first
 * come first served, and are offered only to an agent logged in to that
 * media, Ready, and handling plus being offered fewer than its capacity (the
 * least loaded, then the one offered least recently): so the agents' states
 * are known when the events are written. docs/plugins/callgen.md describes
 * the shapes.
 *
 * Ownership: a cg_digital owns its agents and interactions; it writes into
 * the model (borrowed) and the plan's digital tables (borrowed).
 */
#ifndef MF_GSP_CALLGEN_DIGITAL_H
#define MF_GSP_CALLGEN_DIGITAL_H

#include <stdbool.h>
#include <stdint.h>

/* The media generated, in the plan's order. */
enum { CG_DM_CHAT = 0, CG_DM_EMAIL, CG_DM_COUNT };
extern const char *const cg_media_codes[CG_DM_COUNT];

/* The digital shapes (each with its share; the rest are plain chats). */
enum {
    CG_D_TIMEOUT = 0, /* offered, timed out, queued again, accepted by another agent */
    CG_D_REJECT,      /* offered, rejected, queued again, accepted by another agent */
    CG_D_REVOKE,      /* offered, revoked, queued again, accepted by another agent */
    CG_D_TRANSFER,    /* accepted, transferred to another agent, who completes it */
    CG_D_CONFERENCE,  /* accepted, another agent conferenced in, both complete */
    CG_D_ABANDON,     /* completed (by the contact) while queued */
    CG_D_EMAIL,       /* an e-mail: queued, placed in the workbin, hours later offered and handled */
    CG_D_SHAPE_COUNT
};
extern const char *const cg_digital_shape_names[CG_D_SHAPE_COUNT];

typedef struct cg_digital_options {
    bool enabled;
    int64_t agents;       /* digital agents (AgentIDs d20001...) */
    int64_t interactions; /* 0: unbounded */
    double rate;          /* interaction arrivals per second of event time (Poisson) */
    double share[CG_D_SHAPE_COUNT];
    double not_ready;     /* handling ends leaving the agent idle on a media followed by a Not Ready break */
    int64_t chat_ms;      /* mean chat handling time */
    int64_t workbin_ms;   /* mean time an e-mail waits in the workbin */
} cg_digital_options;

struct cg_model;
typedef struct cg_digital cg_digital;

/* A new digital centre in model m (borrowed; the options copied), seeded
 * from seed: schedules its agents' logins and first arrival into m. */
cg_digital *cg_digital_new(struct cg_model *m, const cg_digital_options *o, uint64_t seed, int64_t start_ms);
void cg_digital_free(cg_digital *d);

/* Run one of its actions (scheduled with cg_model_schedule_digital) at the
 * model's current time. */
void cg_digital_action(cg_digital *d, void *p, int step, uint32_t gen);

#endif
