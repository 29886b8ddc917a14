/* The agentstate transform, chained behind callthread as a pipeline wires
 * them (callthread.agent_events -> agentstate): every agent golden scenario
 * (tests/scenarios/agent_*), with the tiling property and the IRF updates
 * naming IRFs callthread emitted; the same scenarios shuffled within
 * max_out_of_order and duplicated; a snapshot with open agents restored into
 * new instances; the priority option. Runs the built plugins through the
 * harness. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cunit_main.h"
#include "harness.h"
#include "scenario.h"

static const char *const scenarios[] = {
    "agent_login_ready_logout", "agent_call_busy",  "agent_acw",          "agent_acw_after_window",
    "agent_notready_call",      "agent_notready_call_busy_first", "agent_midnight", "agent_open_session",
    "agent_bad_input",          NULL,
};
static const char *const agent_ports[] = {"sessions", "states", "reasons", "resources", NULL};

static mfh *open_node(const char *plugin, const char *yaml)
{
    mfh *h = sc_open(plugin, yaml);
    if (!strcmp(plugin, "agentstate"))
        mfh_set_upstreams(h, 2); /* as in a pipeline: the agent-state source and callthread */
    return h;
}

/* An agentstate node fed by the agent-state events only. */
static mfh *open_agents_only(void)
{
    mfh *h = open_node("agentstate", NULL);
    mfh_set_upstreams(h, 1);
    return h;
}

/* Every IRF update names an IRF callthread emitted, keyed by its thread. */
static bool updates_name_irfs(const char *name, const json_t *actual, const json_t *ct_out)
{
    bool ok = true;
    size_t i, j;
    json_t *u, *irf;
    json_array_foreach(json_object_get(actual, "resources"), i, u) {
        json_t *id = json_object_get(json_object_get(u, "row"), "interaction_resource_id");
        bool found = false;
        json_array_foreach(json_object_get(ct_out, "resources"), j, irf) {
            if (json_equal(id, json_object_get(json_object_get(irf, "row"), "interaction_resource_id")) &&
                json_equal(json_object_get(u, "key"), json_object_get(irf, "key")))
                found = true;
        }
        if (!found) {
            fprintf(stderr, "%s: IRF update %zu names no IRF of callthread\n", name, i);
            ok = false;
        }
    }
    return ok;
}

struct run {
    json_t *agent_out, *ct_out;
    bool acked;
};

/* Feed the events (all of them, or from a snapshot's restore on) and end the input. */
static struct run run_lines(const char *config, char **lines, size_t count)
{
    mfh *ct = open_node("callthread", NULL), *as = open_node("agentstate", config);
    struct run r = {NULL, json_object(), false};
    sc_push_agents(ct, as, lines, 0, count, r.ct_out);
    CU_ASSERT_EQUAL(mfh_flush(ct, MF_FLUSH_END), MF_OK);
    json_t *got = sc_collect_ports(ct, (const char *const[]){"interactions", "segments", "resources", NULL});
    sc_extend(r.ct_out, got);
    json_decref(got);
    CU_ASSERT_EQUAL(mfh_flush(as, MF_FLUSH_END), MF_OK);
    r.agent_out = sc_collect_ports(as, agent_ports);
    r.acked = sc_all_acked(ct) && sc_all_acked(as);
    mfh_close(ct);
    mfh_close(as);
    return r;
}

static void run_free(struct run *r)
{
    json_decref(r->agent_out);
    json_decref(r->ct_out);
}

static char **events_of(const char *name, const json_t *expected, size_t *count)
{
    const char *events = json_string_value(json_object_get(expected, "events"));
    return sc_load_events(events ? events : name, count);
}

static void test_scenarios(void)
{
    for (const char *const *n = scenarios; *n; n++) {
        json_t *expected = sc_expected(*n);
        const char *config = json_string_value(json_object_get(expected, "config"));
        size_t count;
        char **lines = events_of(*n, expected, &count);
        mfh *ct = open_node("callthread", NULL), *as = open_node("agentstate", config);
        json_t *ct_out = json_object();
        sc_push_agents(ct, as, lines, 0, count, ct_out);
        CU_ASSERT_EQUAL(mfh_flush(ct, MF_FLUSH_END), MF_OK);
        json_t *got = sc_collect_ports(ct, (const char *const[]){"interactions", "segments", "resources", NULL});
        sc_extend(ct_out, got);
        json_decref(got);
        CU_ASSERT_EQUAL(mfh_flush(as, MF_FLUSH_END), MF_OK);
        json_t *out = sc_collect_ports(as, agent_ports);
        bool ok = sc_compare(*n, as, out, true);
        if (!ok)
            fprintf(stderr, "scenario %s differs\n", *n);
        CU_ASSERT(ok);
        CU_ASSERT(sc_check_tiling(*n, out));
        CU_ASSERT(updates_name_irfs(*n, out, ct_out));
        CU_ASSERT(sc_all_acked(ct));
        CU_ASSERT(sc_all_acked(as));
        json_decref(out);
        json_decref(ct_out);
        json_decref(expected);
        mfh_close(ct);
        mfh_close(as);
        sc_lines_free(lines);
    }
}

/* Shuffled within the bound and duplicated: the same rows. */
static void test_shuffled_and_duplicated(void)
{
    uint64_t seed = 0x9E3779B97F4A7C15ULL;
    for (const char *const *n = scenarios; *n; n++) {
        if (!strcmp(*n, "agent_bad_input"))
            continue; /* its late event is late only in its order */
        json_t *expected = sc_expected(*n);
        const char *config = json_string_value(json_object_get(expected, "config"));
        size_t count;
        char **lines = events_of(*n, expected, &count);
        for (int round = 0; round < 5; round++) {
            size_t shuffled_n;
            char **shuffled = sc_disorder(lines, count, &seed, &shuffled_n);
            struct run r = run_lines(config, shuffled, shuffled_n);
            bool ok = sc_compare(*n, NULL, r.agent_out, false) && sc_check_tiling(*n, r.agent_out);
            if (!ok)
                fprintf(stderr, "scenario %s shuffled (round %d) differs\n", *n, round);
            CU_ASSERT(ok);
            CU_ASSERT(r.acked);
            run_free(&r);
            sc_lines_free(shuffled);
        }
        json_decref(expected);
        sc_lines_free(lines);
    }
}

/* Snapshot both nodes mid-way (agents logged in, a call open), restore into
 * new ones, feed the rest: the same output as the uninterrupted run. */
static void test_snapshot_restore(void)
{
    const char *const names[] = {"agent_acw", "agent_midnight", "agent_notready_call", NULL};
    for (const char *const *n = names; *n; n++) {
        size_t count;
        char **lines = sc_load_events(*n, &count);
        for (size_t mid = 1; mid < count; mid++) {
            mfh *ct = open_node("callthread", NULL), *as = open_node("agentstate", NULL);
            json_t *ct_out = json_object();
            sc_push_agents(ct, as, lines, 0, mid, ct_out);
            json_t *before = sc_collect_ports(as, agent_ports);
            mf_buffer snap_ct = {0}, snap_as = {0};
            CU_ASSERT_EQUAL_FATAL(mfh_snapshot(ct, 1, &snap_ct), MF_OK);
            CU_ASSERT_EQUAL_FATAL(mfh_snapshot(as, 1, &snap_as), MF_OK);
            CU_ASSERT(snap_as.len > 0);
            CU_ASSERT(!mfh_input_acked(as, 0)); /* the login: its session is open */

            mfh *ct2 = open_node("callthread", NULL), *as2 = open_node("agentstate", NULL);
            CU_ASSERT_EQUAL_FATAL(mfh_restore(ct2, snap_ct.data, snap_ct.len), MF_OK);
            CU_ASSERT_EQUAL_FATAL(mfh_restore(as2, snap_as.data, snap_as.len), MF_OK);
            CU_ASSERT_EQUAL(mfh_metric(as2, "martflow_agentstate_open_sessions"),
                            mfh_metric(as, "martflow_agentstate_open_sessions"));
            mf_buffer again = {0}; /* what was restored is what was saved, byte for byte */
            CU_ASSERT_EQUAL(mfh_snapshot(as2, 2, &again), MF_OK);
            CU_ASSERT(again.len == snap_as.len && memcmp(again.data, snap_as.data, again.len) == 0);
            mf_buffer_free(&again);
            mfh *pairs[2][2] = {{ct, as}, {ct2, as2}};
            json_t *after[2];
            for (int p = 0; p < 2; p++) {
                sc_push_agents(pairs[p][0], pairs[p][1], lines, mid, count, ct_out);
                CU_ASSERT_EQUAL(mfh_flush(pairs[p][0], MF_FLUSH_END), MF_OK);
                CU_ASSERT_EQUAL(mfh_flush(pairs[p][1], MF_FLUSH_END), MF_OK);
                after[p] = sc_collect_ports(pairs[p][1], agent_ports);
            }
            CU_ASSERT(sc_same_output(*n, mid, after[0], after[1]));
            sc_extend(before, after[1]);
            CU_ASSERT(sc_compare(*n, NULL, before, false));
            json_decref(before);
            json_decref(after[0]);
            json_decref(after[1]);
            json_decref(ct_out);
            mf_buffer_free(&snap_ct);
            mf_buffer_free(&snap_as);
            mfh_close(ct);
            mfh_close(as);
            mfh_close(ct2);
            mfh_close(as2);
        }
        sc_lines_free(lines);
    }
}

static void test_restore_garbage(void)
{
    mfh *h = open_node("agentstate", NULL);
    static const uint8_t junk[] = "not a snapshot at all";
    CU_ASSERT_NOT_EQUAL(mfh_restore(h, junk, sizeof junk), MF_OK);
    mfh_close(h);
}

/* MF_FLUSH_STOP keeps open sessions: nothing more emitted, inputs held.
 * (Agent-state events only: the scenario has no calls to wait for.) */
static void test_stop_keeps_state(void)
{
    size_t count;
    char **lines = sc_load_events("agent_open_session", &count);
    mfh *ct = open_node("callthread", NULL), *as = open_agents_only();
    json_t *ct_out = json_object();
    sc_push_agents(ct, as, lines, 0, count, ct_out);
    json_t *before = sc_collect_ports(as, agent_ports);
    CU_ASSERT(json_array_size(json_object_get(before, "states")) > 0); /* what closed before the stop */
    CU_ASSERT_EQUAL(mfh_flush(as, MF_FLUSH_STOP), MF_OK);
    for (const char *const *p = agent_ports; *p; p++)
        CU_ASSERT_EQUAL(mfh_count(as, *p), 0); /* nothing open is emitted */
    CU_ASSERT(!mfh_input_acked(as, 0));
    json_decref(before);
    /* fed by callthread too, nothing is applied before its stream delivered */
    mfh *wait = open_node("agentstate", NULL);
    mfh *ct2 = open_node("callthread", NULL);
    sc_push_agents(ct2, wait, lines, 0, count, ct_out);
    CU_ASSERT_EQUAL(mfh_count(wait, "states"), 0);
    mfh_close(wait);
    mfh_close(ct2);
    CU_ASSERT_EQUAL(mfh_metric(as, "martflow_agentstate_open_sessions"), 1);
    json_decref(ct_out);
    mfh_close(ct);
    mfh_close(as);
    sc_lines_free(lines);
}

/* priority: a permutation of the four states, else init fails with the reason. */
static void test_priority_option(void)
{
    const char *const bad[] = {"priority: [ACW, NOT_READY, BUSY]", "priority: [ACW, ACW, BUSY, READY]",
                               "priority: [ACW, NOT_READY, BUSY, IDLE]", NULL};
    for (const char *const *b = bad; *b; b++) {
        char *err = NULL;
        mfh *h = mfh_open(MF_KIND_TRANSFORM, "agentstate", *b, &err);
        CU_ASSERT_PTR_NOT_NULL_FATAL(h);
        CU_ASSERT_NOT_EQUAL(mfh_init(h), MF_OK);
        CU_ASSERT_PTR_NOT_NULL(strstr(mfh_log(h), "priority"));
        mfh_close(h);
    }
    mfh *h = open_node("agentstate", "priority: BUSY,READY,ACW,NOT_READY");
    mfh_close(h);
}

int main(void)
{
    static const mf_test tests[] = {
        {"every agent scenario (tiling, IRF updates)", test_scenarios},
        {"shuffled within the bound and duplicated", test_shuffled_and_duplicated},
        {"snapshot at every event, restore, same output", test_snapshot_restore},
        {"restore refuses garbage", test_restore_garbage},
        {"stop keeps open sessions", test_stop_keeps_state},
        {"priority option", test_priority_option},
        {NULL, NULL},
    };
    static const mf_suite suites[] = {{"agentstate", tests}, {NULL, NULL}};
    return mf_cunit_run(suites);
}
