/*
 * Unit tests of the exactly-once sink's positions table
 * (plugins/kafka/eos_positions.c): which records are replays of what a
 * committed transaction or the open one has, also when a transform derived
 * several records from one input and a transaction ended between them; the
 * table's JSON round trip.
 */
#include <stdlib.h>
#include <string.h>

#include "cunit_main.h"
#include "eos_positions.h"

static mf_origin at(const char *topic, int32_t partition, int64_t offset)
{
    return (mf_origin){.source = "in", .topic = topic, .partition = partition, .offset = offset};
}

/* See the record at `offset` of t[p]; produce it if new. */
static enum mfk_seen see(mfk_positions *p, const char *t, int32_t part, int64_t offset)
{
    mf_origin o = at(t, part, offset);
    mfk_stream_pos *e = mfk_positions_get(p, &o);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    enum mfk_seen s = mfk_positions_see(e, offset);
    if (s == MFK_NEW)
        mfk_positions_produced(e);
    return s;
}

static void test_no_position(void)
{
    mfk_positions p = {0};
    mf_origin none = {.source = "in", .topic = "t", .partition = 0, .offset = -1};
    CU_ASSERT_PTR_NULL(mfk_positions_get(&p, &none));
    none = (mf_origin){.source = NULL, .offset = 5};
    CU_ASSERT_PTR_NULL(mfk_positions_get(&p, &none));
    mfk_positions_free(&p);
}

static void test_replay_after_restart(void)
{
    mfk_positions p = {0};
    for (int64_t o = 0; o < 10; o++)
        CU_ASSERT_EQUAL(see(&p, "t", 0, o), MFK_NEW);
    mfk_positions_commit(&p);
    for (int64_t o = 10; o < 15; o++)
        CU_ASSERT_EQUAL(see(&p, "t", 0, o), MFK_NEW);
    mfk_positions_commit(&p); /* 10..14 committed too, with this table: */
    char *json = mfk_positions_encode(&p, "x-0");
    mfk_positions q = {0};
    const char *err = NULL;
    CU_ASSERT_TRUE(mfk_positions_decode(&q, json, strlen(json), &err));
    free(json);
    /* the source replays from 8: 8..14 are in the topic, 15 is not */
    for (int64_t o = 8; o < 15; o++)
        CU_ASSERT_EQUAL(see(&q, "t", 0, o), MFK_COMMITTED);
    CU_ASSERT_EQUAL(see(&q, "t", 0, 15), MFK_NEW);
    /* another partition and another topic are their own streams */
    CU_ASSERT_EQUAL(see(&q, "t", 1, 0), MFK_NEW);
    CU_ASSERT_EQUAL(see(&q, "u", 0, 3), MFK_NEW);
    mfk_positions_free(&p);
    mfk_positions_free(&q);
}

static void test_uncommitted_is_written_again(void)
{
    mfk_positions p = {0};
    CU_ASSERT_EQUAL(see(&p, "t", 0, 0), MFK_NEW);
    mfk_positions_commit(&p);
    char *json = mfk_positions_encode(&p, "x-0"); /* the last committed table */
    CU_ASSERT_EQUAL(see(&p, "t", 0, 1), MFK_NEW);  /* in a transaction that never commits */
    mfk_positions q = {0};
    const char *err;
    CU_ASSERT_TRUE(mfk_positions_decode(&q, json, strlen(json), &err));
    free(json);
    CU_ASSERT_EQUAL(see(&q, "t", 0, 0), MFK_COMMITTED);
    CU_ASSERT_EQUAL(see(&q, "t", 0, 1), MFK_NEW); /* lost with the aborted transaction: written */
    mfk_positions_free(&p);
    mfk_positions_free(&q);
}

/* A source replaying within one run (a rebalance): what the open
 * transaction has is not written twice, but told apart from what is committed. */
static void test_replay_into_open_transaction(void)
{
    mfk_positions p = {0};
    for (int64_t o = 0; o < 5; o++)
        see(&p, "t", 0, o);
    mfk_positions_commit(&p);
    for (int64_t o = 5; o < 8; o++)
        see(&p, "t", 0, o);
    CU_ASSERT_EQUAL(see(&p, "t", 0, 3), MFK_COMMITTED);
    CU_ASSERT_EQUAL(see(&p, "t", 0, 6), MFK_PRODUCED);
    CU_ASSERT_EQUAL(see(&p, "t", 0, 7), MFK_PRODUCED);
    CU_ASSERT_EQUAL(see(&p, "t", 0, 8), MFK_NEW);
    mfk_positions_free(&p);
}

/* Two records derived from input 4, a transaction committed between them. */
static void test_split_derived_records(void)
{
    mfk_positions p = {0};
    see(&p, "t", 0, 3);
    CU_ASSERT_EQUAL(see(&p, "t", 0, 4), MFK_NEW); /* first of two */
    mfk_positions_commit(&p);
    CU_ASSERT_EQUAL(see(&p, "t", 0, 4), MFK_NEW); /* the second is not the first's replay */
    mfk_positions_commit(&p);
    char *json = mfk_positions_encode(&p, "x-0");
    mfk_positions q = {0};
    const char *err;
    CU_ASSERT_TRUE(mfk_positions_decode(&q, json, strlen(json), &err));
    free(json);
    CU_ASSERT_EQUAL(q.v[0].committed, 4);
    CU_ASSERT_EQUAL(q.v[0].committed_n, 2);
    /* replayed: both records of 4 are in the topic, then 5 is new */
    CU_ASSERT_EQUAL(see(&q, "t", 0, 4), MFK_COMMITTED);
    CU_ASSERT_EQUAL(see(&q, "t", 0, 4), MFK_COMMITTED);
    CU_ASSERT_EQUAL(see(&q, "t", 0, 5), MFK_NEW);
    mfk_positions_free(&p);
    mfk_positions_free(&q);

    /* only the first of the two committed: the replay writes the second */
    mfk_positions r = {0};
    see(&r, "t", 0, 4);
    mfk_positions_commit(&r);
    json = mfk_positions_encode(&r, "x-0");
    mfk_positions s = {0};
    CU_ASSERT_TRUE(mfk_positions_decode(&s, json, strlen(json), &err));
    free(json);
    CU_ASSERT_EQUAL(see(&s, "t", 0, 4), MFK_COMMITTED);
    CU_ASSERT_EQUAL(see(&s, "t", 0, 4), MFK_NEW);
    mfk_positions_free(&r);
    mfk_positions_free(&s);
}

static void test_decode_rejects(void)
{
    mfk_positions p = {0};
    see(&p, "t", 0, 1);
    const char *err = NULL;
    const char *bad[] = {"", "[]", "{\"version\":2,\"streams\":[]}",
                         "{\"version\":1,\"streams\":[{\"source\":\"in\",\"topic\":\"t\",\"partition\":0}]}"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        CU_ASSERT_FALSE(mfk_positions_decode(&p, bad[i], strlen(bad[i]), &err));
        CU_ASSERT_PTR_NOT_NULL(err);
    }
    CU_ASSERT_EQUAL(p.n, 1); /* left as it was */
    const char *empty = "{\"version\":1,\"transactional_id\":\"x\",\"streams\":[]}";
    CU_ASSERT_TRUE(mfk_positions_decode(&p, empty, strlen(empty), &err));
    CU_ASSERT_EQUAL(p.n, 0);
    mfk_positions_free(&p);
}

static const mf_test tests[] = {
    {"records without a position", test_no_position},
    {"replay after a restart", test_replay_after_restart},
    {"what did not commit is written again", test_uncommitted_is_written_again},
    {"replay into the open transaction", test_replay_into_open_transaction},
    {"derived records split by a commit", test_split_derived_records},
    {"bad tables are refused", test_decode_rejects},
    {NULL, NULL},
};

int main(void)
{
    static const mf_suite suites[] = {{"eos positions", tests}, {NULL, NULL}};
    return mf_cunit_run(suites);
}
