/*
 * Unit tests of the Kafka source's offset tracker (plugins/kafka/offset_tracker.c):
 * the offset stored per partition is the end of the contiguous run of
 * acknowledged batches, whatever order the acks come in; a revoke forgets.
 */
#include <stdio.h>
#include <string.h>

#include "cunit_main.h"
#include "offset_tracker.h"

/* What mfk_batch_done asked to store, as "topic[p]=next ..." */
static char stored[512];

static void record_store(void *arg, const mfk_part *p, int64_t next)
{
    (void)arg;
    size_t n = strlen(stored);
    snprintf(stored + n, sizeof stored - n, "%s%s[%d]=%lld", n ? " " : "", p->topic, (int)p->partition,
             (long long)next);
}

static const char *done(mfk_tracker *t, mfk_batch *b)
{
    stored[0] = '\0';
    mfk_batch_done(t, b, record_store, NULL);
    return stored;
}

/* A batch that read offsets from..to of partition idx. */
static mfk_batch *batch(mfk_tracker *t, size_t idx, int64_t from, int64_t to)
{
    mfk_batch *b = mfk_batch_new(t);
    for (int64_t o = from; o <= to; o++)
        mfk_batch_track(t, b, idx, o);
    return b;
}

static void test_in_order(void)
{
    mfk_tracker t = {0};
    size_t p0 = mfk_part_index(&t, "a", 0);
    mfk_part_reset(&t, p0, true);
    mfk_batch *b1 = batch(&t, p0, 0, 9), *b2 = batch(&t, p0, 10, 19);
    CU_ASSERT_STRING_EQUAL(done(&t, b1), "a[0]=10");
    CU_ASSERT_STRING_EQUAL(done(&t, b2), "a[0]=20");
    mfk_tracker_free(&t);
}

static void test_out_of_order_waits_for_the_gap(void)
{
    mfk_tracker t = {0};
    size_t p0 = mfk_part_index(&t, "a", 0);
    mfk_part_reset(&t, p0, true);
    mfk_batch *b1 = batch(&t, p0, 0, 9), *b2 = batch(&t, p0, 10, 19), *b3 = batch(&t, p0, 20, 29);
    CU_ASSERT_STRING_EQUAL(done(&t, b3), "");
    CU_ASSERT_STRING_EQUAL(done(&t, b2), "");
    CU_ASSERT_STRING_EQUAL(done(&t, b1), "a[0]=30"); /* the whole run at once */
    mfk_batch *b4 = batch(&t, p0, 30, 30);
    CU_ASSERT_STRING_EQUAL(done(&t, b4), "a[0]=31");
    mfk_tracker_free(&t);
}

static void test_partitions_are_independent(void)
{
    mfk_tracker t = {0};
    size_t p0 = mfk_part_index(&t, "a", 0), p1 = mfk_part_index(&t, "a", 1), q0 = mfk_part_index(&t, "b", 0);
    CU_ASSERT_EQUAL(mfk_part_index(&t, "a", 1), p1); /* the same index again */
    CU_ASSERT_NOT_EQUAL(p0, q0);
    mfk_part_reset(&t, p0, true);
    mfk_part_reset(&t, p1, true);
    mfk_part_reset(&t, q0, true);
    mfk_batch *b1 = mfk_batch_new(&t);
    mfk_batch_track(&t, b1, p0, 5);
    mfk_batch_track(&t, b1, p1, 100);
    mfk_batch_track(&t, b1, p0, 6);
    mfk_batch *b2 = mfk_batch_new(&t);
    mfk_batch_track(&t, b2, p0, 7);
    mfk_batch_track(&t, b2, q0, 3);
    /* b2 first: q0 only depends on b2; p0 waits for b1 */
    CU_ASSERT_STRING_EQUAL(done(&t, b2), "b[0]=4");
    CU_ASSERT_STRING_EQUAL(done(&t, b1), "a[0]=8 a[1]=101");
    mfk_tracker_free(&t);
}

static void test_revoke_forgets(void)
{
    mfk_tracker t = {0};
    size_t p0 = mfk_part_index(&t, "a", 0);
    mfk_part_reset(&t, p0, true);
    mfk_batch *b1 = batch(&t, p0, 0, 9);
    mfk_part_reset(&t, p0, false); /* revoked while b1 is in flight */
    CU_ASSERT_STRING_EQUAL(done(&t, b1), "");
    mfk_part_reset(&t, p0, true); /* assigned again: reading restarts at the committed offset */
    mfk_batch *b2 = batch(&t, p0, 0, 4);
    CU_ASSERT_STRING_EQUAL(done(&t, b2), "a[0]=5");
    mfk_tracker_free(&t);
}

static void test_held_batch_after_reassign(void)
{
    mfk_tracker t = {0};
    size_t p0 = mfk_part_index(&t, "a", 0);
    mfk_part_reset(&t, p0, true);
    mfk_batch *old = batch(&t, p0, 0, 9);
    mfk_part_reset(&t, p0, false);
    mfk_part_reset(&t, p0, true);
    mfk_batch *b2 = batch(&t, p0, 10, 19);
    CU_ASSERT_STRING_EQUAL(done(&t, b2), "a[0]=20"); /* the old batch no longer holds it back */
    CU_ASSERT_STRING_EQUAL(done(&t, old), "");       /* nor moves it */
    mfk_tracker_free(&t);
}

static void test_many_batches_recycled(void)
{
    mfk_tracker t = {0};
    size_t p0 = mfk_part_index(&t, "a", 0);
    mfk_part_reset(&t, p0, true);
    mfk_batch *held = batch(&t, p0, 0, 0);
    for (int64_t i = 1; i < 1000; i++)
        CU_ASSERT_STRING_EQUAL(done(&t, batch(&t, p0, i, i)), "");
    CU_ASSERT_STRING_EQUAL(done(&t, held), "a[0]=1000");
    CU_ASSERT(t.n_all <= 2); /* done batches are reused */
    for (int i = 0; i < 100; i++)
        mfk_part_index(&t, "many", i); /* the index grows */
    CU_ASSERT_EQUAL(mfk_part_index(&t, "a", 0), p0);
    CU_ASSERT_EQUAL(t.parts[mfk_part_index(&t, "many", 42)].partition, 42);
    mfk_tracker_free(&t);
}

static const mf_test tests[] = {
    {"in order", test_in_order},
    {"out of order waits for the gap", test_out_of_order_waits_for_the_gap},
    {"partitions are independent", test_partitions_are_independent},
    {"revoke forgets", test_revoke_forgets},
    {"a held batch from before a reassign", test_held_batch_after_reassign},
    {"many batches, recycled", test_many_batches_recycled},
    {NULL, NULL},
};

int main(void)
{
    static const mf_suite suites[] = {{"offset tracker", tests}, {NULL, NULL}};
    return mf_cunit_run(suites);
}
