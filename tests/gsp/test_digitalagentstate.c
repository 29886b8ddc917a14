/* The digitalagentstate transform (docs/digital-rules.md, "Agent states per
 * media"): every digital agent golden scenario (tests/scenarios/
 * digital_agent_*), with the tiling property; the same shuffled within
 * max_out_of_order and duplicated; a snapshot after every event restored
 * into a new instance (same output, same bytes); garbage refused; inputs
 * held while a session is open or an interaction handled, and a stop that
 * emits nothing. The handling events (lines with an "event" member) come on
 * a stream of their own, as digital.agent_events does in a pipeline. Runs
 * the built plugin through the harness. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cunit_main.h"
#include "harness.h"
#include "scenario.h"

static const char *const scenarios[] = {"digital_agent_capacity", "digital_agent_handling_logged_out",
                                        "digital_agent_bad_input", NULL};
static const char *const ports[] = {"sessions", "states", "reasons", NULL};
#define M "martflow_digitalagentstate_"

/* One line per process call; a handling event from the stream "agent_events". */
static void push_lines(mfh *h, char **lines, size_t from, size_t to, size_t batch)
{
    (void)batch; /* one per process call */
    for (size_t i = from; i < to; i++) {
        json_t *j = json_loads(lines[i], 0, NULL);
        const char *key = json_string_value(json_object_get(j, "key"));
        mf_record r = {.time_ms = MF_TIME_UNSET, .origin = {.source = "harness", .partition = -1, .offset = -1}};
        r.origin.topic = json_object_get(j, "event") ? "agent_events" : "digital-agentstate";
        if (key) {
            r.key = (const uint8_t *)key;
            r.key_len = (uint32_t)strlen(key);
        } else {
            r.flags |= MF_RECORD_KEY_NULL;
        }
        r.value = (const uint8_t *)lines[i];
        r.value_len = (uint32_t)strlen(lines[i]);
        mfh_push_record(h, &r);
        mfh_process(h);
        json_decref(j);
    }
}

static const sc_node node = {
    .plugin = "digitalagentstate",
    .ports = ports,
    .push = push_lines,
    .upstreams = 2, /* the digital-agentstate source and digital */
    .duplicates = M "duplicates_total",
    .gauges = (const char *const[]){M "open_sessions", M "open_agents", NULL},
    .tiling = true,
};

static mfh *open_node(const char *yaml)
{
    return sc_node_open(&node, yaml);
}

static void push(mfh *h, char **lines, size_t from, size_t to)
{
    push_lines(h, lines, from, to, 1);
}

static void test_scenarios(void)
{
    sc_golden(&node, scenarios, 1);
}

/* Shuffled within the bound and about a third duplicated: the same rows,
 * and every copy counted as a duplicate. (Not digital_agent_bad_input: its
 * late event is late only in its order.) */
static void test_shuffled_and_duplicated(void)
{
    sc_shuffled(&node, scenarios, "digital_agent_bad_input", 0x9E3779B97F4A7C15ULL, 5, 1);
}

/* Snapshot after every event (sessions open, interactions handled, events
 * queued), restore into a new node, feed the rest: the same output as the
 * uninterrupted run, and the restored state saves to the same bytes. (Not
 * digital_agent_bad_input: the per-stream event times are not in a
 * snapshot, so its late event is late only without a restore, as for
 * agentstate.) */
static void test_snapshot_restore(void)
{
    sc_snapshot_each(&node, (const char *const[]){"digital_agent_capacity", "digital_agent_handling_logged_out", NULL});
}

static void test_restore_garbage(void)
{
    mfh *h = open_node(NULL);
    static const uint8_t junk[] = "not a snapshot at all";
    CU_ASSERT_NOT_EQUAL(mfh_restore(h, junk, sizeof junk), MF_OK);
    mfh_close(h);
}

/* An interaction handled while logged out holds its start; a session open
 * holds its login; a stop emits nothing and keeps them. Once the agent is
 * logged out handling nothing, everything is acknowledged. */
static void test_inputs_held(void)
{
    size_t count;
    char **lines = sc_load_events("digital_agent_handling_logged_out", &count);
    mfh *h = open_node(NULL);
    /* up to the EMAIL Not Ready at 09:04 (both streams past 09:02:55): the
     * CHAT start before the login, its repeats and its end are applied */
    push(h, lines, 0, 9);
    CU_ASSERT_EQUAL(mfh_count(h, "states"), 2); /* NOT_READY to the Ready, BUSY to the end */
    CU_ASSERT(!mfh_input_acked(h, 0));
    CU_ASSERT(!mfh_input_acked(h, 2));
    CU_ASSERT(mfh_input_acked(h, 1)); /* the duplicate: dropped at once */
    CU_ASSERT_EQUAL(mfh_metric(h, M "open_sessions"), 1);
    mfh_consume(h);
    CU_ASSERT_EQUAL(mfh_flush(h, MF_FLUSH_STOP), MF_OK);
    for (const char *const *p = ports; *p; p++)
        CU_ASSERT_EQUAL(mfh_count(h, *p), 0);
    CU_ASSERT(!mfh_input_acked(h, 0));
    mfh_close(h);

    h = open_node(NULL);
    push(h, lines, 0, count);
    CU_ASSERT_EQUAL(mfh_flush(h, MF_FLUSH_END), MF_OK);
    mfh_consume(h);
    CU_ASSERT(sc_all_acked(h));
    CU_ASSERT_EQUAL(mfh_metric(h, M "open_sessions"), 0);
    mfh_close(h);
    sc_lines_free(lines);
}

/* A session still open at the end of input is emitted active up to the
 * agent's last event: the capacity scenario cut before both logouts. */
static void test_open_at_end(void)
{
    size_t count;
    char **lines = sc_load_events("digital_agent_capacity", &count);
    mfh *h = open_node(NULL);
    push(h, lines, 0, count - 2);
    CU_ASSERT_EQUAL(mfh_flush(h, MF_FLUSH_END), MF_OK);
    json_t *out = sc_collect_ports(h, ports);
    json_t *sessions = json_object_get(out, "sessions");
    CU_ASSERT_EQUAL(json_array_size(sessions), 4); /* two opened, two emitted active at the end */
    for (size_t i = 2; i < json_array_size(sessions); i++) {
        json_t *row = json_object_get(json_array_get(sessions, i), "row");
        CU_ASSERT_EQUAL(json_integer_value(json_object_get(row, "active_flag")), 1);
        CU_ASSERT(json_is_null(json_object_get(row, "end_ts")));
        CU_ASSERT_EQUAL(json_integer_value(json_object_get(row, "total_duration")), 600); /* 10:00 to 10:10 */
    }
    CU_ASSERT(sc_check_tiling("digital_agent_capacity (open)", out));
    json_decref(out);
    mfh_close(h);
    sc_lines_free(lines);
}

int main(void)
{
    static const mf_test tests[] = {
        {"every digital agent scenario (tiling)", test_scenarios},
        {"shuffled within the bound and duplicated", test_shuffled_and_duplicated},
        {"snapshot at every event, restore, same output", test_snapshot_restore},
        {"restore refuses garbage", test_restore_garbage},
        {"inputs held while open, stop emits nothing", test_inputs_held},
        {"open sessions at the end of input", test_open_at_end},
        {NULL, NULL},
    };
    static const mf_suite suites[] = {{"digitalagentstate", tests}, {NULL, NULL}};
    return mf_cunit_run(suites);
}
