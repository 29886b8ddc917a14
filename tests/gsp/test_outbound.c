/* The outbound transform: every outbound golden scenario (tests/scenarios/
 * outbound_*), the same shuffled within max_out_of_order and duplicated, a
 * snapshot with open chains taken after every event and restored into a new
 * instance (same output, same bytes), garbage refused, inputs held while a
 * chain is open. Runs the built plugin through the harness. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cunit_main.h"
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

int main(void)
{
    static const mf_test tests[] = {
        {"every outbound scenario", test_scenarios},
        {"shuffled within the bound and duplicated", test_shuffled_and_duplicated},
        {"snapshot at every event, restore, same output", test_snapshot_restore},
        {"restore refuses garbage", test_restore_garbage},
        {"an open chain holds its inputs", test_open_chain_holds_inputs},
        {NULL, NULL},
    };
    static const mf_suite suites[] = {{"outbound", tests}, {NULL, NULL}};
    return mf_cunit_run(suites);
}
