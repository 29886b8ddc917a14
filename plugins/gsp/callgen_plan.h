/*
 * callgen_plan — what the traffic generator generated, as expected counts of
 * the facts the GSP transforms make from it (docs/plugins/callgen.md, "The
 * plan"). The model (callgen_model.h) counts each fact as it scripts the
 * events that make it; the agents' state durations are accumulated here with
 * the agentstate transform's rules (summarised state by priority, whole
 * seconds from truncated epoch seconds). Written once, at the end of a
 * bounded run, as JSON (tmp file + rename).
 *
 * Ownership: a cg_plan owns its tables and strings; keys passed in are
 * copied.
 */
#ifndef MF_GSP_CALLGEN_PLAN_H
#define MF_GSP_CALLGEN_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "callgen_digital.h"

/* The summarised agent states, in the order of the plan's tables. */
enum { CG_READY = 0, CG_NOT_READY, CG_BUSY, CG_ACW, CG_STATE_COUNT };
extern const char *const cg_state_names[CG_STATE_COUNT];

/* Epoch ms to epoch seconds, rounded down (docs/events.md §2.2). */
static inline int64_t cg_sec(int64_t ms)
{
    return ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
}

/* A table of counts by text key, in first-use order. */
typedef struct cg_count {
    char *key;
    int64_t n;
} cg_count;
typedef struct cg_counts {
    cg_count *items;
    size_t count, cap;
} cg_counts;

void cg_counts_add(cg_counts *c, const char *key, int64_t n);
int64_t cg_counts_get(const cg_counts *c, const char *key);

/* One agent's session: one login, one logout. */
typedef struct cg_plan_agent {
    char id[32];
    int64_t login_ms, logout_ms; /* MF_TIME_UNSET-like INT64_MIN while not set */
    int64_t state_s[CG_STATE_COUNT];
    cg_counts reasons; /* "NOT_READY|Break" -> seconds */
    cg_counts reason_periods; /* the same keys -> periods */
    int64_t calls;     /* legs the agent took part in (ringing or dialing) */
    int64_t acw_after_call; /* ACW periods begun at the release of a call */
} cg_plan_agent;

/* One digital agent's session of one media, with the digitalagentstate
 * rules (docs/digital-rules.md): NOT_READY > BUSY (handling Capacity or
 * more) > READY. */
typedef struct cg_plan_media {
    int64_t login_ms, logout_ms; /* INT64_MIN while not set */
    int64_t state_s[CG_STATE_COUNT]; /* READY, NOT_READY, BUSY (ACW unused) */
    cg_counts reasons, reason_periods; /* Not Ready ReasonCode -> seconds / periods */
    int64_t capacity;    /* the last EventAgentCapacity */
    int64_t handled;     /* handling starts (interactions taken part in) */
    int64_t max_handled; /* the most handled at once: never above capacity */
} cg_plan_media;

typedef struct cg_plan_dagent {
    char id[32];
    cg_plan_media media[CG_DM_COUNT];
} cg_plan_dagent;

/* The digital traffic's facts (digital: true): what `digital` and
 * `digitalagentstate` must make of it. */
typedef struct cg_plan_digital {
    bool enabled;
    cg_counts interactions; /* media code -> IFs */
    cg_counts resources;    /* "media|resource type|role|role reason|result|result reason" -> IRFs */
    cg_counts segments;     /* "media|resource type|result|result reason" -> MSFs */
    cg_counts situations;   /* "chat", "chat_timeout", "email", ... -> interactions */
    int64_t handling_started, handling_ended; /* the transform's handling events */
    int64_t max_wait_ms;    /* longest wait in a queue for an offer */
    cg_plan_dagent *agents;
    size_t n_agents;
} cg_plan_digital;

typedef struct cg_plan {
    cg_counts interactions; /* interaction type -> IFs */
    cg_counts resources;    /* "resource type|role|role reason|result|result reason" -> IRFs */
    cg_counts segments;     /* "resource type|result|result reason" -> MSFs */
    cg_counts situations;   /* "abandoned_in_queue", "transfer_two_step", ... -> calls */
    cg_counts input;        /* "callthread_events", "duplicates", ... */
    cg_counts attempts;     /* campaign: call result -> CONTACT_ATTEMPT_FACTs */
    int64_t chains;         /* campaign: outbound chains (each ends with EventOCSChainFinal) */
    cg_plan_agent *agents;
    size_t n_agents;
    int64_t first_ms, last_ms; /* event times of the first and last event */
    int64_t max_queue_wait_ms;
    int64_t max_open_calls;
    cg_plan_digital digital;
} cg_plan;

void cg_plan_init(cg_plan *p, size_t n_agents);
void cg_plan_free(cg_plan *p);
/* Turn the digital tables on, for n_agents digital agents. */
void cg_plan_digital_init(cg_plan *p, size_t n_agents);

/* Write the plan to path (path.tmp, then rename), with `generator` (the
 * options, borrowed) as its "generator" member. false with err on failure. */
bool cg_plan_write(const cg_plan *p, const json_t *generator, const char *path, char *err, size_t errlen);

#endif
