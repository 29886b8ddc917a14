/*
 * callgen_plan — the expected counts, accumulated and written as JSON.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <martflow/alloc.h>

#include "callgen_plan.h"

const char *const cg_state_names[CG_STATE_COUNT] = {"READY", "NOT_READY", "BUSY", "ACW"};

/* What a transform must reproduce from the generated events. */
static const char MUST_CALLTHREAD[] =
    "callthread (default options): interactions.by_type, resources.by_descriptor (and so by_technical_result, "
    "by_resource_role, by_resource_type) and segments.by_result / by_resource_type, exactly, counting each "
    "fact id once";
static const char MUST_AGENTSTATE[] =
    "agentstate: sessions.total and total_duration; per agent session_duration and states (whole seconds from "
    "truncated epoch seconds; priority ACW > NOT_READY > BUSY > READY; NOT_READY from login to the first "
    "EventAgentReady; BUSY while a call of the agent's DN is ringing, dialing, established or held), which add "
    "up to the session's; reasons (NOT_READY / ACW periods by ReasonCode, seconds), exactly. acw_after_call: "
    "ACW periods begun at the release of a call (within acw_window of it), each an IRF after-call-work update";
static const char MUST_OUTBOUND[] =
    "outbound (campaign: true): attempts.total and by_call_result exactly, each CONTACT_ATTEMPT_FACT id once; "
    "every Answered attempt names the agent's IRF of its call (an IRF callthread emits)";

static const char MUST_DIGITAL[] =
    "digital (digital: true): interactions.by_media, resources.by_descriptor (and by_technical_result, "
    "by_resource_role, by_resource_type, by_media), segments.by_result (and by_resource_type, by_media), "
    "exactly, each fact id once, none active; handling_events: the handling starts and ends on agent_events";
static const char MUST_DIGITALAGENTSTATE[] =
    "digitalagentstate (digital: true): per agent and media the session's duration and the seconds of READY, "
    "NOT_READY, BUSY (whole seconds from truncated epoch seconds; NOT_READY > BUSY, handling Capacity or more "
    "interactions of the media, > READY), which add up to the session's, and the Not Ready reasons' seconds; "
    "sessions.by_media exactly";

void cg_counts_add(cg_counts *c, const char *key, int64_t n)
{
    for (size_t i = 0; i < c->count; i++)
        if (strcmp(c->items[i].key, key) == 0) {
            c->items[i].n += n;
            return;
        }
    if (c->count == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 8;
        c->items = mf_xrealloc(c->items, c->cap * sizeof *c->items);
    }
    c->items[c->count++] = (cg_count){.key = mf_xstrdup(key), .n = n};
}

int64_t cg_counts_get(const cg_counts *c, const char *key)
{
    for (size_t i = 0; i < c->count; i++)
        if (strcmp(c->items[i].key, key) == 0)
            return c->items[i].n;
    return 0;
}

static void counts_free(cg_counts *c)
{
    for (size_t i = 0; i < c->count; i++)
        free(c->items[i].key);
    free(c->items);
    *c = (cg_counts){0};
}

void cg_plan_init(cg_plan *p, size_t n_agents)
{
    *p = (cg_plan){0};
    p->agents = mf_xcalloc(n_agents ? n_agents : 1, sizeof *p->agents);
    p->n_agents = n_agents;
    p->first_ms = p->last_ms = INT64_MIN;
    for (size_t i = 0; i < n_agents; i++)
        p->agents[i].login_ms = p->agents[i].logout_ms = INT64_MIN;
}

void cg_plan_digital_init(cg_plan *p, size_t n_agents)
{
    cg_plan_digital *d = &p->digital;
    d->enabled = true;
    d->agents = mf_xcalloc(n_agents ? n_agents : 1, sizeof *d->agents);
    d->n_agents = n_agents;
    for (size_t i = 0; i < n_agents; i++)
        for (int k = 0; k < CG_DM_COUNT; k++)
            d->agents[i].media[k].login_ms = d->agents[i].media[k].logout_ms = INT64_MIN;
}

static void counts_free(cg_counts *c);

static void plan_digital_free(cg_plan_digital *d)
{
    counts_free(&d->interactions);
    counts_free(&d->resources);
    counts_free(&d->segments);
    counts_free(&d->situations);
    for (size_t i = 0; i < d->n_agents; i++)
        for (int k = 0; k < CG_DM_COUNT; k++) {
            counts_free(&d->agents[i].media[k].reasons);
            counts_free(&d->agents[i].media[k].reason_periods);
        }
    free(d->agents);
    *d = (cg_plan_digital){0};
}

void cg_plan_free(cg_plan *p)
{
    plan_digital_free(&p->digital);
    counts_free(&p->interactions);
    counts_free(&p->resources);
    counts_free(&p->segments);
    counts_free(&p->situations);
    counts_free(&p->input);
    counts_free(&p->attempts);
    for (size_t i = 0; i < p->n_agents; i++) {
        counts_free(&p->agents[i].reasons);
        counts_free(&p->agents[i].reason_periods);
    }
    free(p->agents);
    *p = (cg_plan){0};
}

/* ---- JSON -------------------------------------------------------------------------- */

static void add_int(json_t *o, const char *key, int64_t n)
{
    json_t *old = json_object_get(o, key);
    json_object_set_new(o, key, json_integer((old ? json_integer_value(old) : 0) + n));
}

/* The table as {key: n}, sorted by key (json_dumps JSON_SORT_KEYS). */
static json_t *counts_json(const cg_counts *c)
{
    json_t *o = json_object();
    for (size_t i = 0; i < c->count; i++)
        add_int(o, c->items[i].key, c->items[i].n);
    return o;
}

static int64_t counts_total(const cg_counts *c)
{
    int64_t n = 0;
    for (size_t i = 0; i < c->count; i++)
        n += c->items[i].n;
    return n;
}

/* Fields from..to (0-based) of a '|'-separated key, joined by '/'. */
static void key_part(const char *key, int from, int to, char *out, size_t outlen)
{
    size_t o = 0;
    int field = 0;
    for (const char *s = key;; s++) {
        bool end = *s == '\0';
        if (end || *s == '|') {
            field++;
            if (end || field > to)
                break;
            if (field > from && o + 1 < outlen)
                out[o++] = '/';
            continue;
        }
        if (field >= from && o + 1 < outlen)
            out[o++] = *s;
    }
    out[o] = '\0';
}

/* {part: n} grouping a table by some of its key's fields. */
static json_t *group(const cg_counts *c, int from, int to)
{
    json_t *o = json_object();
    char part[256];
    for (size_t i = 0; i < c->count; i++) {
        key_part(c->items[i].key, from, to, part, sizeof part);
        add_int(o, part, c->items[i].n);
    }
    return o;
}

static json_t *callthread_json(const cg_plan *p)
{
    json_t *ixn = json_pack("{s:I, s:o}", "total", (json_int_t)counts_total(&p->interactions), "by_type",
                            counts_json(&p->interactions));
    json_t *irf = json_pack("{s:I, s:o, s:o, s:o, s:o}", "total", (json_int_t)counts_total(&p->resources),
                            "by_descriptor", group(&p->resources, 1, 4), "by_technical_result",
                            group(&p->resources, 3, 3), "by_resource_role", group(&p->resources, 1, 1),
                            "by_resource_type", group(&p->resources, 0, 0));
    json_t *msf = json_pack("{s:I, s:o, s:o}", "total", (json_int_t)counts_total(&p->segments), "by_result",
                            group(&p->segments, 1, 2), "by_resource_type", group(&p->segments, 0, 0));
    const cg_counts *s = &p->situations;
    int64_t aq = cg_counts_get(s, "abandoned_in_queue"), ar = cg_counts_get(s, "abandoned_ringing");
    int64_t t1 = cg_counts_get(s, "transfer_single_step"), t2 = cg_counts_get(s, "transfer_two_step");
    return json_pack("{s:o, s:o, s:o, s:o, s:{s:I, s:I, s:I}, s:{s:I, s:I, s:I}, s:I, s:I, s:I}", "interactions",
                     ixn, "resources", irf, "segments", msf, "situations", counts_json(s), "abandons", "total",
                     (json_int_t)(aq + ar), "in_queue", (json_int_t)aq, "while_ringing", (json_int_t)ar,
                     "transfers", "total", (json_int_t)(t1 + t2), "single_step", (json_int_t)t1, "two_step",
                     (json_int_t)t2, "conferences", (json_int_t)cg_counts_get(s, "conference"), "max_queue_wait_s",
                     (json_int_t)(p->max_queue_wait_ms / 1000), "max_open_calls", (json_int_t)p->max_open_calls);
}

/* {"NOT_READY": {"Break": {"periods": n, "duration": s}}} */
static void add_reasons(json_t *into, const cg_plan_agent *a)
{
    for (size_t i = 0; i < a->reasons.count; i++) {
        const char *key = a->reasons.items[i].key;
        const char *bar = strchr(key, '|');
        char state[32];
        snprintf(state, sizeof state, "%.*s", (int)(bar - key), key);
        json_t *st = json_object_get(into, state);
        if (!st)
            json_object_set_new(into, state, st = json_object());
        json_t *r = json_object_get(st, bar + 1);
        if (!r)
            json_object_set_new(st, bar + 1, r = json_object());
        add_int(r, "periods", cg_counts_get(&a->reason_periods, key));
        add_int(r, "duration", a->reasons.items[i].n);
    }
}

static json_t *agentstate_json(const cg_plan *p)
{
    json_t *agents = json_object(), *states = json_object(), *reasons = json_object();
    int64_t sessions = 0, total = 0, acw = 0;
    for (size_t i = 0; i < p->n_agents; i++) {
        const cg_plan_agent *a = &p->agents[i];
        if (a->login_ms == INT64_MIN)
            continue;
        int64_t dur = cg_sec(a->logout_ms) - cg_sec(a->login_ms);
        json_t *st = json_object(), *rs = json_object();
        for (int s = 0; s < CG_STATE_COUNT; s++) {
            json_object_set_new(st, cg_state_names[s], json_integer(a->state_s[s]));
            add_int(states, cg_state_names[s], a->state_s[s]);
        }
        add_reasons(rs, a);
        add_reasons(reasons, a);
        json_object_set_new(agents, a->id,
                            json_pack("{s:I, s:I, s:I, s:o, s:o, s:I, s:I}", "session_start",
                                      (json_int_t)cg_sec(a->login_ms), "session_end", (json_int_t)cg_sec(a->logout_ms),
                                      "session_duration", (json_int_t)dur, "states", st, "reasons", rs, "calls",
                                      (json_int_t)a->calls, "acw_after_call", (json_int_t)a->acw_after_call));
        sessions++;
        total += dur;
        acw += a->acw_after_call;
    }
    return json_pack("{s:{s:I, s:I}, s:o, s:o, s:I, s:o}", "sessions", "total", (json_int_t)sessions,
                     "total_duration", (json_int_t)total, "states", states, "reasons", reasons, "acw_after_call",
                     (json_int_t)acw, "agents", agents);
}

/* The outbound transform's facts (campaign: true; zero otherwise). */
static json_t *outbound_json(const cg_plan *p)
{
    return json_pack("{s:I, s:{s:I, s:o}}", "chains", (json_int_t)p->chains, "attempts", "total",
                     (json_int_t)counts_total(&p->attempts), "by_call_result", counts_json(&p->attempts));
}

/* ---- digital ------------------------------------------------------------------------- */

static json_t *digital_json(const cg_plan_digital *d)
{
    json_t *ixn = json_pack("{s:I, s:o}", "total", (json_int_t)counts_total(&d->interactions), "by_media",
                            counts_json(&d->interactions));
    json_t *irf = json_pack("{s:I, s:o, s:o, s:o, s:o, s:o}", "total", (json_int_t)counts_total(&d->resources),
                            "by_descriptor", group(&d->resources, 2, 5), "by_technical_result",
                            group(&d->resources, 4, 4), "by_resource_role", group(&d->resources, 2, 2),
                            "by_resource_type", group(&d->resources, 1, 1), "by_media", group(&d->resources, 0, 0));
    json_t *msf = json_pack("{s:I, s:o, s:o, s:o}", "total", (json_int_t)counts_total(&d->segments), "by_result",
                            group(&d->segments, 2, 3), "by_resource_type", group(&d->segments, 1, 1), "by_media",
                            group(&d->segments, 0, 0));
    return json_pack("{s:o, s:o, s:o, s:o, s:{s:I, s:I}, s:I}", "interactions", ixn, "resources", irf, "segments",
                     msf, "situations", counts_json(&d->situations), "handling_events", "started",
                     (json_int_t)d->handling_started, "ended", (json_int_t)d->handling_ended, "max_queue_wait_s",
                     (json_int_t)(d->max_wait_ms / 1000));
}

/* {"NOT_READY": {ReasonCode: {"periods": n, "duration": s}}} of one media's session, added into `into` */
static void add_media_reasons(json_t *into, const cg_plan_media *pm)
{
    json_t *nr = json_object_get(into, "NOT_READY");
    if (!nr && pm->reasons.count)
        json_object_set_new(into, "NOT_READY", nr = json_object());
    for (size_t i = 0; i < pm->reasons.count; i++) {
        const char *code = pm->reasons.items[i].key;
        json_t *r = json_object_get(nr, code);
        if (!r)
            json_object_set_new(nr, code, r = json_object());
        add_int(r, "periods", cg_counts_get(&pm->reason_periods, code));
        add_int(r, "duration", pm->reasons.items[i].n);
    }
}

static const int digital_states[] = {CG_READY, CG_NOT_READY, CG_BUSY};

static json_t *digitalagentstate_json(const cg_plan_digital *d)
{
    json_t *agents = json_object(), *by_media = json_object(), *states = json_object(), *reasons = json_object();
    int64_t sessions = 0, total = 0;
    for (size_t i = 0; i < d->n_agents; i++) {
        json_t *agent = json_object();
        for (int k = 0; k < CG_DM_COUNT; k++) {
            const cg_plan_media *pm = &d->agents[i].media[k];
            if (pm->login_ms == INT64_MIN)
                continue;
            const char *code = cg_media_codes[k];
            int64_t dur = cg_sec(pm->logout_ms) - cg_sec(pm->login_ms);
            json_t *st = json_object(), *rs = json_object();
            json_t *mst = json_object_get(states, code), *mrs = json_object_get(reasons, code),
                   *ms = json_object_get(by_media, code);
            if (!mst) {
                json_object_set_new(states, code, mst = json_object());
                json_object_set_new(reasons, code, mrs = json_object());
                json_object_set_new(by_media, code, ms = json_object());
            }
            for (size_t s = 0; s < sizeof digital_states / sizeof *digital_states; s++) {
                const char *name = cg_state_names[digital_states[s]];
                json_object_set_new(st, name, json_integer(pm->state_s[digital_states[s]]));
                add_int(mst, name, pm->state_s[digital_states[s]]);
            }
            add_media_reasons(rs, pm);
            add_media_reasons(mrs, pm);
            add_int(ms, "total", 1);
            add_int(ms, "total_duration", dur);
            json_object_set_new(agent, code,
                                json_pack("{s:I, s:I, s:I, s:o, s:o, s:I, s:I, s:I}", "session_start",
                                          (json_int_t)cg_sec(pm->login_ms), "session_end",
                                          (json_int_t)cg_sec(pm->logout_ms), "session_duration", (json_int_t)dur,
                                          "states", st, "reasons", rs, "capacity", (json_int_t)pm->capacity,
                                          "handled", (json_int_t)pm->handled, "max_handled",
                                          (json_int_t)pm->max_handled));
            sessions++;
            total += dur;
        }
        if (json_object_size(agent))
            json_object_set_new(agents, d->agents[i].id, agent);
        else
            json_decref(agent);
    }
    return json_pack("{s:{s:I, s:I, s:o}, s:o, s:o, s:o}", "sessions", "total", (json_int_t)sessions,
                     "total_duration", (json_int_t)total, "by_media", by_media, "states", states, "reasons",
                     reasons, "agents", agents);
}

bool cg_plan_write(const cg_plan *p, const json_t *generator, const char *path, char *err, size_t errlen)
{
    json_t *root = json_pack("{s:s, s:O, s:{s:s, s:s, s:s}, s:{s:I, s:I}, s:o, s:o, s:o, s:o}", "format",
                             "martflow-callgen-plan/1", "generator", generator, "must_match", "callthread",
                             MUST_CALLTHREAD, "agentstate", MUST_AGENTSTATE, "outbound", MUST_OUTBOUND, "time",
                             "first_event", (json_int_t)p->first_ms, "last_event", (json_int_t)p->last_ms, "input",
                             counts_json(&p->input), "callthread", callthread_json(p), "agentstate",
                             agentstate_json(p), "outbound", outbound_json(p));
    if (root && p->digital.enabled) { /* only then: a voice-only plan stays what it was */
        json_t *must = json_object_get(root, "must_match");
        json_object_set_new(must, "digital", json_string(MUST_DIGITAL));
        json_object_set_new(must, "digitalagentstate", json_string(MUST_DIGITALAGENTSTATE));
        json_object_set_new(root, "digital", digital_json(&p->digital));
        json_object_set_new(root, "digitalagentstate", digitalagentstate_json(&p->digital));
    }
    char *tmp = mf_xasprintf("%s.tmp", path);
    bool ok = false;
    if (!root) {
        snprintf(err, errlen, "cannot build the plan");
        goto fail;
    }
    if (json_dump_file(root, tmp, JSON_INDENT(1) | JSON_SORT_KEYS) != 0) {
        snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
        goto fail;
    }
    if (rename(tmp, path) != 0) {
        snprintf(err, errlen, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
        unlink(tmp);
        goto fail;
    }
    ok = true;
fail:
    free(tmp);
    json_decref(root);
    return ok;
}
