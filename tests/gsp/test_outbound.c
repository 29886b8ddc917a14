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

static mfh *open_node(const char *yaml)
{
    char *err = NULL;
    mfh *h = mfh_open(MF_KIND_TRANSFORM, "outbound", yaml, &err);
    if (!h)
        fprintf(stderr, "\n%s\n", err);
    free(err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    CU_ASSERT_EQUAL_FATAL(mfh_init(h), MF_OK);
    return h;
}

static json_t *expected_of(const char *name)
{
    const char *top = getenv("top_srcdir");
    char *path = mf_xasprintf("%s/tests/scenarios/%s.expected.json", top ? top : "..", name);
    json_error_t err;
    json_t *j = json_load_file(path, 0, &err);
    if (!j)
        fprintf(stderr, "%s: %s\n", path, err.text);
    free(path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    return j;
}

static bool all_acked(mfh *h)
{
    for (size_t i = 0; i < mfh_inputs(h); i++)
        if (!mfh_input_acked(h, i))
            return false;
    return true;
}

static void test_scenarios(void)
{
    for (const char *const *n = scenarios; *n; n++) {
        json_t *expected = expected_of(*n);
        size_t count;
        char **lines = sc_load_events(*n, &count);
        mfh *h = open_node(json_string_value(json_object_get(expected, "config")));
        sc_push(h, lines, 0, count, 1);
        CU_ASSERT_EQUAL(mfh_flush(h, MF_FLUSH_END), MF_OK);
        json_t *out = sc_collect_ports(h, ports);
        bool ok = sc_compare(*n, h, out, true);
        if (!ok)
            fprintf(stderr, "scenario %s differs\n", *n);
        CU_ASSERT(ok);
        mfh_deliver_acks(h);
        CU_ASSERT(all_acked(h));
        json_decref(out);
        json_decref(expected);
        mfh_close(h);
        sc_lines_free(lines);
    }
}

/* Shuffled within the bound and a third duplicated: the same facts. */
static void test_shuffled_and_duplicated(void)
{
    uint64_t seed = 0x2545F4914F6CDD1DULL;
    for (const char *const *n = scenarios; *n; n++) {
        if (!strcmp(*n, "outbound_bad_input"))
            continue; /* its late events are late only in its order */
        json_t *expected = expected_of(*n);
        size_t count;
        char **lines = sc_load_events(*n, &count);
        for (int round = 0; round < 10; round++) {
            size_t shuffled_n;
            char **shuffled = sc_disorder(lines, count, &seed, &shuffled_n);
            mfh *h = open_node(json_string_value(json_object_get(expected, "config")));
            sc_push(h, shuffled, 0, shuffled_n, 2);
            CU_ASSERT_EQUAL(mfh_flush(h, MF_FLUSH_END), MF_OK);
            json_t *out = sc_collect_ports(h, ports);
            bool ok = sc_compare(*n, NULL, out, false);
            if (!ok)
                fprintf(stderr, "scenario %s shuffled (round %d) differs\n", *n, round);
            CU_ASSERT(ok);
            CU_ASSERT(mfh_metric(h, "martflow_outbound_duplicates_total") == (double)(shuffled_n - count));
            json_decref(out);
            mfh_close(h);
            sc_lines_free(shuffled);
        }
        json_decref(expected);
        sc_lines_free(lines);
    }
}

/* Snapshot after every event (chains open, attempts in progress, events
 * queued), restore into a new node, feed the rest: the same output as the
 * uninterrupted run, and the restored state saves to the same bytes. */
static void test_snapshot_restore(void)
{
    const char *const names[] = {"outbound_three_attempts", "outbound_stuck", NULL};
    for (const char *const *n = names; *n; n++) {
        json_t *expected = expected_of(*n);
        const char *config = json_string_value(json_object_get(expected, "config"));
        size_t count;
        char **lines = sc_load_events(*n, &count);
        for (size_t mid = 1; mid < count; mid++) {
            mfh *h = open_node(config);
            sc_push(h, lines, 0, mid, 1);
            json_t *before = sc_collect_ports(h, ports);
            mf_buffer snap = {0}, again = {0};
            CU_ASSERT_EQUAL_FATAL(mfh_snapshot(h, 1, &snap), MF_OK);
            CU_ASSERT(snap.len > 0);
            CU_ASSERT(mfh_metric(h, "martflow_outbound_open_chains") >= 1);
            mfh *h2 = open_node(config);
            CU_ASSERT_EQUAL_FATAL(mfh_restore(h2, snap.data, snap.len), MF_OK);
            CU_ASSERT_EQUAL(mfh_metric(h2, "martflow_outbound_open_chains"),
                            mfh_metric(h, "martflow_outbound_open_chains"));
            CU_ASSERT_EQUAL(mfh_snapshot(h2, 2, &again), MF_OK);
            CU_ASSERT(again.len == snap.len && memcmp(again.data, snap.data, snap.len) == 0);
            json_t *after[2];
            mfh *both[2] = {h, h2};
            for (int i = 0; i < 2; i++) {
                sc_push(both[i], lines, mid, count, 1);
                CU_ASSERT_EQUAL(mfh_flush(both[i], MF_FLUSH_END), MF_OK);
                after[i] = sc_collect_ports(both[i], ports);
            }
            bool same = json_equal(after[0], after[1]);
            if (!same) {
                char *x = json_dumps(after[0], JSON_COMPACT), *y = json_dumps(after[1], JSON_COMPACT);
                fprintf(stderr, "\n%s (snapshot after %zu events): uninterrupted %s\nrestored %s\n", *n, mid, x, y);
                free(x);
                free(y);
            }
            CU_ASSERT(same);
            sc_extend(before, after[1]);
            CU_ASSERT(sc_compare(*n, NULL, before, false));
            json_decref(before);
            json_decref(after[0]);
            json_decref(after[1]);
            mf_buffer_free(&snap);
            mf_buffer_free(&again);
            mfh_close(h);
            mfh_close(h2);
        }
        json_decref(expected);
        sc_lines_free(lines);
    }
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
