/* The callthread transform: the id scheme against docs/events.md's examples,
 * every golden scenario (tests/scenarios), the same scenarios shuffled
 * within max_out_of_order and duplicated, a snapshot taken mid-way and
 * restored into a new instance, and acknowledgements held until the facts
 * are handled. Runs the built plugin through the harness. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cunit_main.h"
#include "gsp_ids.h"
#include "gsp_text.h"
#include "harness.h"
#include "scenario.h"

static const char *const rules_scenarios[] = {
    "inbound_answered", "abandon_in_queue", "abandon_ringing", "rona",     "hold_retrieve", "transfer_two_step",
    "transfer_single_step", "conference",  "agent_outbound", "internal", "interval_midnight", NULL,
};
static const char *const edge_scenarios[] = {"late_within_window", "late_rejected", "stuck", "bad_input", NULL};
/* gca-cfg records first, then events: not shuffled (the order is the point). */
static const char *const config_scenarios[] = {"cfg_enrichment", NULL};

static const sc_node node = {
    .plugin = "callthread",
    .ports = (const char *const[]){"interactions", "segments", "resources", NULL}, /* sc_collect's */
    .duplicates = "martflow_callthread_duplicates_total",
};

static mfh *open_node(const char *yaml)
{
    return sc_node_open(&node, yaml);
}

/* ---- ids ----------------------------------------------------------------------- */

static void test_ids_examples(void)
{
    mf_buffer b = {0};
    gsp_idpart ixn[] = {GSP_ID_STR("voice", 5), GSP_ID_STR("0001A2B3C4D5E6F7", 16)};
    CU_ASSERT_EQUAL(gsp_id(&b, "ixn", "t1", 2, ixn, 2), 945538434694502737LL);
    gsp_idpart irf[] = {GSP_ID_STR("0001A2B3C4D5E6F7", 16), GSP_ID_STR("006502a1b2c3d4e5", 16),
                        GSP_ID_STR("7001", 4), GSP_ID_INT(1234)};
    CU_ASSERT_EQUAL(gsp_id(&b, "irf", "t1", 2, irf, 4), 1633862017147947116LL);
    gsp_idpart msf[] = {GSP_ID_STR("0001A2B3C4D5E6F7", 16), GSP_ID_STR("006502a1b2c3d4e5", 16),
                        GSP_ID_STR("7001", 4), GSP_ID_INT(1200)};
    CU_ASSERT_EQUAL(gsp_id(&b, "msf", "t1", 2, msf, 4), 1709530110465019454LL);
    /* the tenant is part of the id */
    CU_ASSERT_NOT_EQUAL(gsp_id(&b, "ixn", "t2", 2, ixn, 2), 945538434694502737LL);
    mf_buffer_free(&b);
}

/* ---- golden scenarios ------------------------------------------------------------ */

static void run_scenarios(const char *const *names)
{
    sc_golden(&node, names, 4);
}

static void test_rules_scenarios(void)
{
    run_scenarios(rules_scenarios);
}

static void test_edge_scenarios(void)
{
    run_scenarios(edge_scenarios);
}

static void test_config_scenarios(void)
{
    run_scenarios(config_scenarios);
}

/* ---- disorder and duplicates ------------------------------------------------------- */

static void test_shuffled_and_duplicated(void)
{
    sc_shuffled(&node, rules_scenarios, NULL, 0x2545F4914F6CDD1DULL, 5, 3);
}

/* ---- snapshot and restore ------------------------------------------------------------ */

/* Run a scenario to its middle, snapshot, go on to the end; restore the
 * snapshot into a new node and feed it the second half: the same bytes out,
 * and both match the golden file. */
static void test_snapshot_restore(void)
{
    const char *const names[] = {"interval_midnight", "transfer_two_step", "conference", "late_within_window",
                                 NULL};
    for (const char *const *n = names; *n; n++) {
        size_t count;
        char **lines = sc_load_events(*n, &count);
        size_t mid = count / 2;
        mfh *a = open_node(NULL);
        sc_push(a, lines, 0, mid, 2);
        json_t *before = sc_collect(a);
        mf_buffer snap = {0};
        CU_ASSERT_EQUAL_FATAL(mfh_snapshot(a, 1, &snap), MF_OK);
        CU_ASSERT(snap.len > 0);
        /* open threads keep their inputs unacknowledged */
        CU_ASSERT(!mfh_input_acked(a, mid - 1));
        sc_push(a, lines, mid, count, 2);
        CU_ASSERT_EQUAL(mfh_flush(a, MF_FLUSH_END), MF_OK);
        json_t *after_a = sc_collect(a);

        mfh *b = open_node(NULL);
        CU_ASSERT_EQUAL_FATAL(mfh_restore(b, snap.data, snap.len), MF_OK);
        sc_push(b, lines, mid, count, 2);
        CU_ASSERT_EQUAL(mfh_flush(b, MF_FLUSH_END), MF_OK);
        json_t *after_b = sc_collect(b);
        CU_ASSERT(sc_same_output(*n, mid, after_a, after_b));
        /* the whole uninterrupted run is the golden output */
        json_t *whole = json_deep_copy(before);
        const char *port;
        json_t *list;
        json_object_foreach(whole, port, list) json_array_extend(list, json_object_get(after_a, port));
        CU_ASSERT(sc_compare(*n, a, whole, false));
        json_decref(whole);
        json_decref(before);
        json_decref(after_a);
        json_decref(after_b);
        mf_buffer_free(&snap);
        mfh_close(a);
        mfh_close(b);
        sc_lines_free(lines);
    }
}

/* A restore refuses bytes that are not a snapshot. */
static void test_restore_garbage(void)
{
    mfh *h = open_node(NULL);
    static const uint8_t junk[] = "not a snapshot at all";
    CU_ASSERT_NOT_EQUAL(mfh_restore(h, junk, sizeof junk), MF_OK);
    mfh_close(h);
}

/* MF_FLUSH_STOP keeps open threads open: nothing emitted, nothing acknowledged. */
static void test_stop_keeps_state(void)
{
    size_t count;
    char **lines = sc_load_events("inbound_answered", &count);
    mfh *h = open_node(NULL);
    sc_push(h, lines, 0, count - 1, 8); /* without the release: open */
    CU_ASSERT_EQUAL(mfh_flush(h, MF_FLUSH_STOP), MF_OK);
    CU_ASSERT_EQUAL(mfh_count(h, "interactions"), 0);
    CU_ASSERT(!mfh_input_acked(h, 0));
    CU_ASSERT_EQUAL(mfh_metric(h, "martflow_callthread_open_threads"), 1);
    mfh_close(h);
    sc_lines_free(lines);
}

/* A hostile field: an ANI of 70,000 bytes of two-byte characters behind one
 * ASCII byte (so GSP_TEXT_MAX falls inside a character) in every event of a
 * call. The decoder cuts it (gsp_env_str): the open thread's snapshot stays
 * small and the fact's source_address is at most GSP_TEXT_MAX bytes, whole
 * characters (jansson parses it: valid UTF-8). */
static void test_long_texts(void)
{
    size_t count, big = 70001;
    char **lines = sc_load_events("inbound_answered", &count);
    char *ani = malloc(big + 1);
    ani[0] = '+';
    for (size_t i = 1; i < big; i += 2) {
        ani[i] = (char)0xC3; /* "é" */
        ani[i + 1] = (char)0xA9;
    }
    ani[big] = 0;
    for (size_t i = 0; i < count; i++) {
        json_t *e = json_loads(lines[i], 0, NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(e);
        json_object_set_new(e, "ANI", json_string(ani));
        size_t n = json_dumpb(e, NULL, 0, JSON_COMPACT);
        free(lines[i]);
        lines[i] = malloc(n + 1); /* malloc'd as sc_lines_free frees it */
        json_dumpb(e, lines[i], n, JSON_COMPACT);
        lines[i][n] = 0;
        json_decref(e);
    }
    mfh *h = open_node(NULL);
    sc_push(h, lines, 0, count - 1, 8); /* open: the thread holds its events */
    mf_buffer snap = {0};
    CU_ASSERT_EQUAL(mfh_snapshot(h, 1, &snap), MF_OK);
    CU_ASSERT(snap.len < 16384); /* not 70,000 bytes per event */
    mf_buffer_free(&snap);
    sc_push(h, lines, count - 1, count, 1);
    CU_ASSERT_EQUAL(mfh_flush(h, MF_FLUSH_END), MF_OK);
    CU_ASSERT_FATAL(mfh_count(h, "interactions") >= 1);
    json_t *v = json_loads(mfh_value(h, "interactions", mfh_count(h, "interactions") - 1), 0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(v);
    const char *sa = json_string_value(json_object_get(json_object_get(v, "row"), "source_address"));
    CU_ASSERT_PTR_NOT_NULL_FATAL(sa);
    CU_ASSERT(strlen(sa) <= GSP_TEXT_MAX && strlen(sa) >= GSP_TEXT_MAX - 1);
    CU_ASSERT_EQUAL((unsigned char)sa[strlen(sa) - 1], 0xA9); /* ends on a whole character */
    json_decref(v);
    mfh_close(h);
    free(ani);
    sc_lines_free(lines);
}

/* agent_events: each accepted event with an AgentID, unchanged, keyed by
 * the agent, at once; not the others, not a duplicate, not a reject. */
static void test_agent_events(void)
{
    size_t count;
    char **lines = sc_load_events("inbound_answered", &count);
    mfh *h = open_node(NULL);
    sc_push(h, lines, 0, count, 1);
    sc_push(h, lines, count - 1, count, 1);       /* the release again: a duplicate */
    mfh_push(h, "t1:CT-IN-1", "{\"id\": \"EventRinging\"}"); /* rejected */
    mfh_process(h);
    size_t n = 0;
    for (size_t i = 0; i < count; i++) {
        json_t *j = json_loads(lines[i], 0, NULL);
        const char *agent = json_string_value(json_object_get(j, "AgentID"));
        if (agent && n < mfh_count(h, "agent_events")) {
            const mf_record *r = mfh_record(h, "agent_events", n);
            char *want = mf_xasprintf("t1:%s", agent);
            CU_ASSERT(r->key_len == strlen(want) && memcmp(r->key, want, r->key_len) == 0);
            CU_ASSERT_STRING_EQUAL(mfh_value(h, "agent_events", n), lines[i]);
            free(want);
        }
        n += agent != NULL;
        json_decref(j);
    }
    CU_ASSERT_EQUAL(n, 5);
    CU_ASSERT_EQUAL(mfh_count(h, "agent_events"), n);
    CU_ASSERT_EQUAL(mfh_count(h, "interactions"), 0); /* forwarded before the thread closes */
    mfh_close(h);
    sc_lines_free(lines);
}

int main(void)
{
    static const mf_test ids[] = {{"examples of docs/events.md", test_ids_examples}, {NULL, NULL}};
    static const mf_test scenarios[] = {
        {"every rule of the table", test_rules_scenarios},
        {"late, too late, stuck, bad input", test_edge_scenarios},
        {"configuration: DN type, switch, unknown person", test_config_scenarios},
        {"shuffled within the bound and duplicated", test_shuffled_and_duplicated},
        {"snapshot mid-way, restore, same output", test_snapshot_restore},
        {"restore refuses garbage", test_restore_garbage},
        {"huge texts are cut to GSP_TEXT_MAX", test_long_texts},
        {"stop keeps open threads", test_stop_keeps_state},
        {"agent_events: accepted events at agents, keyed by the agent", test_agent_events},
        {NULL, NULL},
    };
    static const mf_suite suites[] = {{"gsp ids", ids}, {"callthread", scenarios}, {NULL, NULL}};
    return mf_cunit_run(suites);
}
