/* The digital transform: every digital golden scenario (tests/scenarios/
 * digital_*), the same shuffled within max_out_of_order and duplicated, a
 * snapshot taken after every event and restored into a new instance (same
 * output, same bytes), garbage refused, inputs held while an interaction is
 * open, texts and involvements bounded, the stuck close. Runs the built
 * plugin through the harness. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cunit_main.h"
#include "digital_model.h"
#include "harness.h"
#include "scenario.h"

static const char *const scenarios[] = {"digital_chat_completed", "digital_chat_timeout", "digital_email_workbin",
                                        "digital_chat_transfer",  "digital_chat_conference", "digital_bad_input",
                                        NULL};
static const char *const ports[] = {"interactions", "segments", "resources", "agent_events", NULL};

static const sc_node node = {
    .plugin = "digital",
    .ports = ports,
    .duplicates = "martflow_digital_duplicates_total",
    .gauges = (const char *const[]){"martflow_digital_open_interactions", NULL},
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
 * (Not digital_bad_input: its late events are late only in its order.) */
static void test_shuffled_and_duplicated(void)
{
    sc_shuffled(&node, scenarios, "digital_bad_input", 0x9E3779B97F4A7C15ULL, 10, 2);
}

/* Snapshot after every event (interactions open, events queued), restore
 * into a new node, feed the rest: the same output as the uninterrupted run,
 * and the restored state saves to the same bytes. */
static void test_snapshot_restore(void)
{
    sc_snapshot_each(&node, scenarios);
}

static void test_restore_garbage(void)
{
    mfh *h = open_node(NULL);
    static const uint8_t junk[] = "not a snapshot at all";
    CU_ASSERT_NOT_EQUAL(mfh_restore(h, junk, sizeof junk), MF_OK);
    mfh_close(h);
}

/* While its interaction is open an input stays unacknowledged (its rows
 * are written, active); a stop writes nothing more. */
static void test_open_interaction_holds_inputs(void)
{
    size_t count;
    char **lines = sc_load_events("digital_chat_completed", &count);
    mfh *h = open_node(NULL);
    sc_push(h, lines, 0, 4, 1); /* CH-1 queued, offered, accepted: the watermark passed its first two */
    mfh_deliver_acks(h);
    CU_ASSERT(mfh_count(h, "interactions") >= 1);
    CU_ASSERT(!mfh_input_acked(h, 0));
    size_t before = mfh_count(h, "interactions");
    CU_ASSERT_EQUAL(mfh_flush(h, MF_FLUSH_STOP), MF_OK);
    CU_ASSERT_EQUAL(mfh_count(h, "interactions"), before);
    CU_ASSERT_EQUAL(mfh_metric(h, "martflow_digital_open_interactions"), 1);
    mfh_close(h);
    sc_lines_free(lines);
}

static char *event(const char *iid, const char *name, int sec, int seq, const char *extra)
{
    return mf_xasprintf("{\"key\":\"t1:%s\",\"id\":\"%s\",\"time\":%lld,\"seq\":%d,\"InteractionID\":\"%s\"%s%s}", iid,
                        name, 1711879200000LL + sec * 1000LL, seq, iid, extra ? "," : "", extra ? extra : "");
}

/* A hostile field: a From of 70,000 bytes of two-byte characters behind one
 * ASCII byte (so GSP_BTEXT_MAX falls inside a character). The fact carries at
 * most GSP_BTEXT_MAX bytes of it, cut between characters, and the snapshot
 * is small once the event is applied: the state keeps the cut text. */
static void test_long_texts(void)
{
    size_t big = 70001;
    char *from = malloc(big + 32);
    memcpy(from, "\"From\":\"+", 9);
    size_t k = 9;
    for (size_t i = 0; i < big / 2; i++) {
        from[k++] = (char)0xC3; /* "é" */
        from[k++] = (char)0xA9;
    }
    from[k++] = '"';
    memcpy(from + k, ",\"MediaType\":\"CHAT\"", 20);
    char *lines[] = {event("X1", "EventInteractionCreated", 0, 1, from), event("X2", "EventInteractionCreated", 3600, 1,
                                                                               "\"MediaType\":\"SMS\""),
                     NULL};
    mfh *h = open_node(NULL);
    sc_push(h, lines, 0, 2, 1);
    CU_ASSERT_EQUAL_FATAL(mfh_count(h, "interactions"), 1);
    json_t *v = json_loads(mfh_value(h, "interactions", 0), 0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(v);
    const char *sa = json_string_value(json_object_get(json_object_get(v, "row"), "source_address"));
    CU_ASSERT_PTR_NOT_NULL_FATAL(sa);
    CU_ASSERT(strlen(sa) <= GSP_BTEXT_MAX && strlen(sa) >= GSP_BTEXT_MAX - 1);
    CU_ASSERT_EQUAL((unsigned char)sa[strlen(sa) - 1], 0xA9); /* ends on a whole character */
    json_decref(v);
    mf_buffer snap = {0};
    CU_ASSERT_EQUAL(mfh_snapshot(h, 1, &snap), MF_OK);
    CU_ASSERT(snap.len < 8192);
    mf_buffer_free(&snap);
    mfh_close(h);
    free(from);
    free(lines[0]);
    free(lines[1]);
}

/* DG_MAX_OPEN offers ring at once; the next one is rejected and counted,
 * the others are written. */
static void test_bounded_involvements(void)
{
    char *lines[DG_MAX_OPEN + 4];
    size_t n = 0;
    lines[n++] = event("B1", "EventInteractionCreated", 0, 1, "\"MediaType\":\"CHAT\"");
    for (int i = 0; i <= DG_MAX_OPEN; i++) {
        char agent[32];
        snprintf(agent, sizeof agent, "\"AgentID\":\"a%d\"", i);
        lines[n++] = event("B1", "EventInteractionOffered", 1 + i, 2 + i, agent);
    }
    lines[n++] = event("B1", "EventInteractionCompleted", 60, 100, NULL);
    lines[n] = NULL;
    mfh *h = open_node(NULL);
    sc_push(h, lines, 0, n, 1);
    CU_ASSERT_EQUAL(mfh_flush(h, MF_FLUSH_END), MF_OK);
    CU_ASSERT_EQUAL(mfh_metric(h, "martflow_digital_rejected_total{reason=\"too_many_involvements\"}"), 1);
    CU_ASSERT_EQUAL(mfh_count(h, "errors"), 1);
    /* each offer's IRF written at its offer and at the others (ringing), all closed at the stop */
    size_t irf = mfh_count(h, "resources");
    CU_ASSERT_EQUAL(irf, (size_t)(DG_MAX_OPEN * (DG_MAX_OPEN + 1) / 2 + DG_MAX_OPEN));
    json_t *last = json_loads(mfh_value(h, "resources", irf - 1), 0, NULL);
    json_t *td = json_object_get(json_object_get(last, "row"), "technical_descriptor");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(td, "technical_result")), "Redirected");
    json_decref(last);
    CU_ASSERT_EQUAL(mfh_metric(h, "martflow_digital_open_interactions"), 0);
    mfh_close(h);
    for (size_t i = 0; i < n; i++)
        free(lines[i]);
}

/* An interaction silent for stuck_timeout (event time) is closed as stopped
 * at its last event: the handling agent's IRF Completed, a handling end
 * with that time, the interaction ended, counted; one that had events
 * since is not. */
static void test_stuck(void)
{
    char *lines[] = {event("S1", "EventInteractionCreated", 0, 1, "\"MediaType\":\"EMAIL\""),
                     event("S1", "EventInteractionOffered", 10, 2, "\"AgentID\":\"a1\""),
                     event("S1", "EventInteractionAccepted", 20, 3, "\"AgentID\":\"a1\""),
                     event("S2", "EventInteractionCreated", 3000, 1, "\"MediaType\":\"CHAT\""),
                     event("S2", "EventInteractionQueued", 3000, 2, "\"Queue\":\"Q\""),
                     event("S3", "EventInteractionCreated", 3700, 1, "\"MediaType\":\"SMS\""),
                     NULL};
    mfh *h = open_node("stuck_timeout: 1h");
    sc_push(h, lines, 0, 6, 1);
    CU_ASSERT_EQUAL(mfh_metric(h, "martflow_digital_stuck_total"), 1); /* S1 only: S2 had events 700 s ago */
    CU_ASSERT_EQUAL(mfh_metric(h, "martflow_digital_open_interactions"), 2);
    size_t n = mfh_count(h, "resources");
    CU_ASSERT_FATAL(n >= 1);
    json_t *irf = json_loads(mfh_value(h, "resources", n - 1), 0, NULL);
    json_t *row = json_object_get(irf, "row");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_object_get(row, "technical_descriptor"),
                                                             "technical_result")),
                           "Completed");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(row, "end_ts")), 1711879220);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(row, "active_flag")), 0);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(row, "talk_duration")), 0);
    json_decref(irf);
    CU_ASSERT_EQUAL_FATAL(mfh_count(h, "agent_events"), 2);
    json_t *end = json_loads(mfh_value(h, "agent_events", 1), 0, NULL);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(end, "event")), "EventInteractionHandlingEnded");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(end, "time")), 1711879220000LL);
    json_decref(end);
    json_t *ixn = json_loads(mfh_value(h, "interactions", mfh_count(h, "interactions") - 1), 0, NULL);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_object_get(ixn, "row"), "active_flag")), 0);
    json_decref(ixn);
    mfh_close(h);
    for (int i = 0; lines[i]; i++)
        free(lines[i]);
}

int main(void)
{
    static const mf_test tests[] = {
        {"every digital scenario", test_scenarios},
        {"shuffled within the bound and duplicated", test_shuffled_and_duplicated},
        {"snapshot at every event, restore, same output", test_snapshot_restore},
        {"restore refuses garbage", test_restore_garbage},
        {"an open interaction holds its inputs", test_open_interaction_holds_inputs},
        {"huge texts are cut to GSP_BTEXT_MAX", test_long_texts},
        {"open involvements are bounded", test_bounded_involvements},
        {"a silent interaction is closed as stuck", test_stuck},
        {NULL, NULL},
    };
    static const mf_suite suites[] = {{"digital", tests}, {NULL, NULL}};
    return mf_cunit_run(suites);
}
