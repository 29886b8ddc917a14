/*
 * callgen_model — the traffic generator's simulation: agents and calls of a
 * voice contact centre in event time, scripted as the voice-callthread and
 * voice-agentstate events (docs/events.md §1) that the callthread transform
 * understands for each situation (the shapes of tests/scenarios), and the
 * facts they make counted in a plan (callgen_plan.h).
 *
 * A discrete-event simulation: actions (a call's next step, an agent's
 * timer, the next arrival) in a heap by (event time, order of scheduling);
 * each action writes its events, so the events come out in event-time order.
 * Calls wait in one queue, first come first served, for a Ready agent (the
 * one Ready the longest). Everything random comes from one seeded PRNG
 * (xoshiro256**, seeded by splitmix64): the same options give the same
 * events, byte for byte. docs/plugins/callgen.md describes what is generated.
 *
 * Ownership: a cg_model owns its calls, agents and plan; events handed out
 * by cg_model_next are the caller's (free(ev->data)).
 */
#ifndef MF_GSP_CALLGEN_MODEL_H
#define MF_GSP_CALLGEN_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "callgen_digital.h"
#include "callgen_plan.h"

/* The situations a call is scripted as (each with its share). */
enum {
    CG_ABANDON_QUEUE = 0,
    CG_ABANDON_RINGING,
    CG_RONA,
    CG_TRANSFER_SINGLE,
    CG_TRANSFER_TWO_STEP,
    CG_CONFERENCE,
    CG_OUTBOUND,
    CG_INTERNAL,
    CG_SHAPE_COUNT
};
extern const char *const cg_shape_names[CG_SHAPE_COUNT];

enum {
    CG_PORT_CALLTHREAD = 0,
    CG_PORT_AGENTSTATE = 1,
    CG_PORT_OUTBOUND = 2,
    CG_PORT_DIGITAL_ITX = 3,
    CG_PORT_DIGITAL_AGENTSTATE = 4,
    CG_PORT_COUNT
};
/* The ports' names, by CG_PORT_* (the source's port names). */
extern const char *const cg_port_names[CG_PORT_COUNT];

typedef struct cg_options {
    uint64_t seed;
    const char *tenant;
    int64_t agents;
    int64_t calls;  /* 0: unbounded */
    double rate;    /* call arrivals per second of event time (Poisson) */
    int64_t start_ms;
    double share[CG_SHAPE_COUNT]; /* sum <= 1; the rest are plain answered calls */
    double hold;      /* answered inbound calls with hold / retrieve */
    double acw;       /* agent releases followed by after-call work */
    double not_ready; /* agent releases (without ACW) followed by a Not Ready break */
    int64_t talk_ms;  /* mean talk time */
    bool key_member;  /* write the record key into each event as "key" */
    bool keep_open;   /* calls never end (state benchmarks): each stays established */
    bool campaign;    /* agent outbound calls are preview-campaign chains (voice-outbound events) */
    cg_digital_options digital; /* digital traffic (callgen_digital.h); off: none, voice unchanged */
} cg_options;

/* One event: key bytes then JSON bytes in data. */
typedef struct cg_event {
    int port;
    int64_t time_ms;
    uint32_t key_len, json_len;
    char *data;
} cg_event;

typedef struct cg_model cg_model;

/* A new model (options copied; tenant must outlive the model). */
cg_model *cg_model_new(const cg_options *o);
void cg_model_free(cg_model *m);

/* The next event in event-time order into *ev (the caller owns ev->data), or
 * false when a bounded run has ended: every call released, every agent
 * logged out. */
bool cg_model_next(cg_model *m, cg_event *ev);

/* The plan so far (complete once cg_model_next returned false). */
cg_plan *cg_model_plan(cg_model *m);

/* What callgen_digital writes and schedules through (one clock, one seq, one
 * output for both kinds of traffic). An event: cg_ev_open, its fields, then
 * cg_ev_close queues it at the model's current time. Values are written as
 * they are: no JSON escaping (ours need none). */
void cg_ev_open(cg_model *m, int port, const char *id, const char *key_id);
void cg_ev_str(cg_model *m, const char *name, const char *value);
void cg_ev_int(cg_model *m, const char *name, int64_t v);
void cg_ev_raw(cg_model *m, const char *json); /* appended as is, e.g. ",\"Reasons\":{...}" */
void cg_ev_close(cg_model *m);
int64_t cg_model_now(const cg_model *m);
/* Run cg_digital_action(p, step, gen) at event time t. */
void cg_model_schedule_digital(cg_model *m, int64_t t, void *p, int step, uint32_t gen);

/* splitmix64 and xoshiro256**: also the source's stream for disorder. */
typedef struct cg_rng {
    uint64_t s[4];
} cg_rng;
void cg_rng_seed(cg_rng *r, uint64_t seed);
uint64_t cg_rng_next(cg_rng *r);
double cg_rng_unit(cg_rng *r); /* [0, 1) */
int64_t cg_rng_range(cg_rng *r, int64_t lo, int64_t hi); /* [lo, hi] */
/* A bijection of 64-bit values: distinct inputs give distinct ids. */
uint64_t cg_rng_mix(uint64_t z);

#endif
