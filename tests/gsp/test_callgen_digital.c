/* callgen's model with digital traffic (callgen_digital.h), driven directly:
 * the same seed gives the same events byte for byte, another seed others;
 * seq strictly increases and time never goes back over all ports; the
 * plan's input counts are the events of each port; no digital agent ever
 * handles more than its capacity; digital off writes no digital event and
 * leaves the voice events as they were, and on changes none of them but for
 * seq. tests/gsp/callgen_digital_events.sh checks the events against the
 * rules (tests/gsp/callgen_check.py digital). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <martflow/alloc.h>
#include <martflow/helpers.h>

#include "callgen_model.h"
#include "cunit_main.h"

static cg_options opts(uint64_t seed, bool digital)
{
    cg_options o = {.seed = seed, .tenant = "t1", .agents = 10, .calls = 100, .rate = 0.5,
                    .start_ms = 1711841400000, .hold = 0.15, .acw = 0.3, .not_ready = 0.05, .talk_ms = 60000,
                    .digital = {.enabled = digital, .agents = 8, .interactions = 400, .rate = 0.05,
                                .not_ready = 0.1, .chat_ms = 240000, .workbin_ms = 3600000}};
    for (int i = 0; i < CG_SHAPE_COUNT; i++)
        o.share[i] = 0.04;
    const double d[CG_D_SHAPE_COUNT] = {0.06, 0.05, 0.04, 0.08, 0.05, 0.06, 0.25};
    memcpy(o.digital.share, d, sizeof d);
    return o;
}

/* One run: every event's port, then its bytes, appended to out[port]; the
 * voice events also with their seq taken out (to compare across runs). */
struct run {
    mf_buffer port[CG_PORT_COUNT], voice_noseq;
    int64_t n[CG_PORT_COUNT];
    bool ordered;
    int64_t input[CG_PORT_COUNT], max_over; /* plan: events per port; handled above capacity */
};

static void run(const cg_options *o, struct run *r)
{
    static const char *const inputs[CG_PORT_COUNT] = {"callthread_events", "agentstate_events", "outbound_events",
                                                       "digital_itx_events", "digital_agentstate_events"};
    memset(r, 0, sizeof *r);
    r->ordered = true;
    cg_model *m = cg_model_new(o);
    cg_event ev;
    int64_t last_seq = 0, last_time = INT64_MIN;
    while (cg_model_next(m, &ev)) {
        char *json = mf_xmalloc(ev.json_len + 1); /* the event's bytes are not terminated */
        memcpy(json, ev.data + ev.key_len, ev.json_len);
        json[ev.json_len] = '\0';
        const char *s = strstr(json, "\"seq\":");
        int64_t seq = s ? strtoll(s + 6, NULL, 10) : -1;
        if (seq <= last_seq || ev.time_ms < last_time)
            r->ordered = false;
        last_seq = seq;
        last_time = ev.time_ms;
        mf_buffer_append(&r->port[ev.port], ev.data, (size_t)ev.key_len + ev.json_len);
        mf_buffer_append(&r->port[ev.port], "\n", 1);
        r->n[ev.port]++;
        if (ev.port <= CG_PORT_AGENTSTATE && s) {
            const char *end = strchr(s, ',');
            mf_buffer_append(&r->voice_noseq, json, (size_t)(s - json));
            mf_buffer_append_str(&r->voice_noseq, end ? end : "");
            mf_buffer_append(&r->voice_noseq, "\n", 1);
        }
        free(json);
        free(ev.data);
    }
    cg_plan *p = cg_model_plan(m);
    for (int i = 0; i < CG_PORT_COUNT; i++)
        r->input[i] = cg_counts_get(&p->input, inputs[i]);
    for (size_t i = 0; i < p->digital.n_agents; i++)
        for (int k = 0; k < CG_DM_COUNT; k++) {
            const cg_plan_media *pm = &p->digital.agents[i].media[k];
            if (pm->max_handled > pm->capacity)
                r->max_over++;
        }
    cg_model_free(m);
}

static void run_free(struct run *r)
{
    for (int i = 0; i < CG_PORT_COUNT; i++)
        mf_buffer_free(&r->port[i]);
    mf_buffer_free(&r->voice_noseq);
}

static bool same(const mf_buffer *a, const mf_buffer *b)
{
    return a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

static void test_reproducible(void)
{
    cg_options o = opts(5, true), o6 = opts(6, true);
    struct run a, b, c;
    run(&o, &a);
    run(&o, &b);
    run(&o6, &c);
    for (int i = 0; i < CG_PORT_COUNT; i++) {
        CU_ASSERT(same(&a.port[i], &b.port[i]));
        CU_ASSERT_EQUAL(a.n[i], a.input[i]); /* the plan counts what was written */
    }
    CU_ASSERT(a.n[CG_PORT_DIGITAL_ITX] > 2000);
    CU_ASSERT(a.n[CG_PORT_DIGITAL_AGENTSTATE] > 50);
    CU_ASSERT(!same(&a.port[CG_PORT_DIGITAL_ITX], &c.port[CG_PORT_DIGITAL_ITX]));
    CU_ASSERT(a.ordered);
    CU_ASSERT(c.ordered);
    CU_ASSERT_EQUAL(a.max_over, 0);
    CU_ASSERT_EQUAL(c.max_over, 0);
    run_free(&a);
    run_free(&b);
    run_free(&c);
}

static void test_voice_unchanged(void)
{
    cg_options on = opts(7, true), off = opts(7, false);
    struct run a, b;
    run(&on, &a);
    run(&off, &b);
    CU_ASSERT_EQUAL(b.n[CG_PORT_DIGITAL_ITX] + b.n[CG_PORT_DIGITAL_AGENTSTATE], 0);
    CU_ASSERT_EQUAL(a.n[CG_PORT_CALLTHREAD], b.n[CG_PORT_CALLTHREAD]);
    CU_ASSERT(same(&a.voice_noseq, &b.voice_noseq));   /* digital on: voice but for seq */
    CU_ASSERT(!same(&a.port[CG_PORT_CALLTHREAD], &b.port[CG_PORT_CALLTHREAD])); /* (the seqs differ) */
    CU_ASSERT(b.ordered);
    run_free(&a);
    run_free(&b);
}

/* Stopped mid-run (a pipeline stopped, an unbounded run): everything the
 * heap and the queues point to is freed once (ASan / valgrind say so). */
static void test_free_mid_run(void)
{
    cg_options o = opts(3, true);
    o.digital.interactions = 0; /* unbounded */
    o.calls = 0;
    cg_model *m = cg_model_new(&o);
    cg_event ev;
    int n = 0;
    for (; n < 5000 && cg_model_next(m, &ev); n++)
        free(ev.data);
    CU_ASSERT_EQUAL(n, 5000);
    cg_model_free(m);
}

int main(void)
{
    static const mf_test tests[] = {
        {"digital: reproducible, ordered, counted, within capacity", test_reproducible},
        {"digital on changes no voice event but for seq; off writes none", test_voice_unchanged},
        {"freed mid-run", test_free_mid_run},
        {NULL, NULL},
    };
    static const mf_suite suites[] = {{"callgen_digital", tests}, {NULL, NULL}};
    return mf_cunit_run(suites);
}
