/* The outbound transform: every outbound golden scenario (tests/scenarios/
 * outbound_*), the same shuffled within max_out_of_order and duplicated, a
 * snapshot with open chains taken after every event and restored into a new
 * instance (same output, same bytes), garbage refused, inputs held while a
 * chain is open. Runs the built plugin through the harness. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cunit_main.h"
#include "outbound_model.h"
#include "harness.h"
#include "scenario.h"

static const char *const scenarios[] = {"outbound_three_attempts", "outbound_stuck", "outbound_bad_input", NULL};
static const char *const ports[] = {"attempts", NULL};

static void at_snapshot(mfh *h)
{
    CU_ASSERT(mfh_metric(h, "martflow_outbound_open_chains") >= 1);
}

static const sc_node node = {
    .plugin = "outbound",
    .ports = ports,
    .duplicates = "martflow_outbound_duplicates_total",
    .gauges = (const char *const[]){"martflow_outbound_open_chains", NULL},
    .at_snapshot = at_snapshot,
};

static mfh *open_node(const char *yaml)
{
    return sc_node_open(&node, yaml);
}

static void test_scenarios(void)
{
    sc_golden(&node, scenarios, 1);
}

/* Shuffled within the bound and a third duplicated: the same facts.
 * (Not outbound_bad_input: its late events are late only in its order.) */
static void test_shuffled_and_duplicated(void)
{
    sc_shuffled(&node, scenarios, "outbound_bad_input", 0x2545F4914F6CDD1DULL, 10, 2);
}

/* Snapshot after every event (chains open, attempts in progress, events
 * queued), restore into a new node, feed the rest: the same output as the
 * uninterrupted run, and the restored state saves to the same bytes. */
static void test_snapshot_restore(void)
{
    sc_snapshot_each(&node, (const char *const[]){"outbound_three_attempts", "outbound_stuck", NULL});
}

static void test_restore_garbage(void)
{
    mfh *h = open_node(NULL);
    static const uint8_t junk[] = "not a snapshot at all";
    CU_ASSERT_NOT_EQUAL(mfh_restore(h, junk, sizeof junk), MF_OK);
    mfh_close(h);
}

/* While its chain is open an input stays unacknowledged; a stop emits
 * nothing (the chain is replayed or restored). */
static void test_open_chain_holds_inputs(void)
{
    size_t count;
    char **lines = sc_load_events("outbound_three_attempts", &count);
    mfh *h = open_node(NULL);
    sc_push(h, lines, 0, 7, 1); /* two attempts done, the third answered */
    mfh_deliver_acks(h);
    CU_ASSERT_EQUAL(mfh_count(h, "attempts"), 2);
    CU_ASSERT(!mfh_input_acked(h, 0));
    CU_ASSERT_EQUAL(mfh_flush(h, MF_FLUSH_STOP), MF_OK);
    CU_ASSERT_EQUAL(mfh_count(h, "attempts"), 2);
    CU_ASSERT_EQUAL(mfh_metric(h, "martflow_outbound_open_chains"), 1);
    mfh_close(h);
    sc_lines_free(lines);
}

/* A hostile field: a phone of 70,000 bytes of two-byte characters plus
 * one ASCII byte ahead (so OB_TEXT_MAX falls inside a character). The fact
 * carries at most OB_TEXT_MAX bytes of it, cut between characters (jansson
 * parses it: valid UTF-8), and once the events are applied the snapshot is
 * small: the chain keeps the cut text, not the event. */
static void test_long_texts(void)
{
    size_t big = 70001;
    char *phone = malloc(big + 1);
    phone[0] = '+';
    for (size_t i = 1; i + 1 < big + 1; i += 2) {
        phone[i] = (char)0xC3; /* "é" */
        phone[i + 1] = (char)0xA9;
    }
    phone[big] = 0;
    size_t n = big + 1024;
    char *dial = malloc(n), *result = malloc(n), *later = malloc(n);
    snprintf(dial, n, "{\"key\":\"t1:C:1\",\"id\":\"EventOCSDialing\",\"time\":\"2024-03-31T10:00:00.000Z\","
                      "\"seq\":1,\"CampaignID\":\"C\",\"ChainID\":1,\"Phone\":\"%s\"}", phone);
    snprintf(result, n, "{\"key\":\"t1:C:1\",\"id\":\"EventOCSCallResult\",\"time\":\"2024-03-31T10:00:05.000Z\","
                        "\"seq\":2,\"CampaignID\":\"C\",\"ChainID\":1,\"CallResult\":\"NoAnswer\"}");
    /* another chain an hour later: the watermark passes chain 1's events */
    snprintf(later, n, "{\"key\":\"t1:C:2\",\"id\":\"EventOCSDialing\",\"time\":\"2024-03-31T11:00:00.000Z\","
                       "\"seq\":1,\"CampaignID\":\"C\",\"ChainID\":2,\"Phone\":\"+1\"}");
    mfh *h = open_node(NULL);
    char *lines[] = {dial, result, later, NULL};
    sc_push(h, lines, 0, 3, 1);
    CU_ASSERT_EQUAL_FATAL(mfh_count(h, "attempts"), 1); /* the no-answer attempt, at its result */
    json_t *v = json_loads(mfh_value(h, "attempts", 0), 0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(v);
    const char *ci = json_string_value(json_object_get(json_object_get(v, "row"), "contact_info"));
    CU_ASSERT_PTR_NOT_NULL_FATAL(ci);
    CU_ASSERT(strlen(ci) <= OB_TEXT_MAX && strlen(ci) >= OB_TEXT_MAX - 1);
    CU_ASSERT_EQUAL((unsigned char)ci[strlen(ci) - 1], 0xA9); /* ends on a whole character */
    json_decref(v);
    mf_buffer snap = {0};
    CU_ASSERT_EQUAL(mfh_snapshot(h, 1, &snap), MF_OK);
    CU_ASSERT(snap.len < 8192); /* not the 70,000 bytes of the event */
    mf_buffer_free(&snap);
    mfh_close(h);
    free(phone);
    free(dial);
    free(result);
    free(later);
}

int main(void)
{
    static const mf_test tests[] = {
        {"every outbound scenario", test_scenarios},
        {"shuffled within the bound and duplicated", test_shuffled_and_duplicated},
        {"snapshot at every event, restore, same output", test_snapshot_restore},
        {"restore refuses garbage", test_restore_garbage},
        {"an open chain holds its inputs", test_open_chain_holds_inputs},
        {"huge texts are cut to OB_TEXT_MAX", test_long_texts},
        {NULL, NULL},
    };
    static const mf_suite suites[] = {{"outbound", tests}, {NULL, NULL}};
    return mf_cunit_run(suites);
}
