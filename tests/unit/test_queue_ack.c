/* Unit tests: bounded queues and backpressure, ack tokens and groups, retry
 * backoff. */
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "ack.h"
#include "backoff.h"
#include "batch.h"
#include "cunit_main.h"
#include "queue.h"
#include "util.h"

static mf_batch_impl *batch_of(size_t records, size_t value_len)
{
    mf_batch_impl *b = mf_batch_new();
    char *v = calloc(1, value_len + 1);
    memset(v, 'x', value_len);
    for (size_t i = 0; i < records; i++) {
        mf_record r = {.flags = MF_RECORD_KEY_NULL, .value = (const uint8_t *)v, .value_len = (uint32_t)value_len};
        mf_batch_append(b, &r, NULL);
    }
    free(v);
    return b;
}

static void test_queue_bounds(void)
{
    mf_queue *q = mf_queue_new(10, 1u << 20);
    mf_msg m = {.type = MF_MSG_BATCH, .batch = batch_of(6, 10)};
    CU_ASSERT_EQUAL(mf_queue_push(q, &m, 0), 0);
    CU_ASSERT_TRUE(mf_queue_has_room(q));
    m.batch = batch_of(6, 10);
    /* 6 + 6 > 10: a full queue blocks its producer (here: times out) */
    CU_ASSERT_EQUAL(mf_queue_push(q, &m, 50), -1);
    /* control messages are never blocked */
    mf_msg eos = {.type = MF_MSG_EOS, .arg = 1};
    CU_ASSERT_EQUAL(mf_queue_push(q, &eos, 0), 0);
    mf_msg out;
    CU_ASSERT_TRUE(mf_queue_pop(q, &out, 0));
    CU_ASSERT_EQUAL(out.type, MF_MSG_BATCH);
    mf_batch_free(out.batch, false);
    CU_ASSERT_EQUAL(mf_queue_push(q, &m, 0), 0); /* room again */
    CU_ASSERT_TRUE(mf_queue_pop(q, &out, 0));
    CU_ASSERT_EQUAL(out.type, MF_MSG_EOS); /* FIFO across kinds */
    CU_ASSERT_TRUE(mf_queue_pop(q, &out, 0));
    mf_batch_free(out.batch, false);
    CU_ASSERT_FALSE(mf_queue_pop(q, &out, 20)); /* empty: times out */
    /* a batch bigger than the bound still enters an empty queue */
    m.batch = batch_of(50, 10);
    CU_ASSERT_EQUAL(mf_queue_push(q, &m, 0), 0);
    CU_ASSERT_FALSE(mf_queue_has_room(q));
    mf_queue_free(q); /* frees what is left */
}

static void test_queue_bytes_bound(void)
{
    mf_queue *q = mf_queue_new(1000, 4096);
    mf_msg m = {.type = MF_MSG_BATCH, .batch = batch_of(2, 1500)};
    CU_ASSERT_EQUAL(mf_queue_push(q, &m, 0), 0);
    m.batch = batch_of(2, 1500);
    CU_ASSERT_EQUAL(mf_queue_push(q, &m, 30), -1); /* bytes, not records, are the limit */
    mf_batch_free(m.batch, false);
    mf_queue_free(q);
}

static void *pop_later(void *p)
{
    mf_queue *q = p;
    usleep(50 * 1000);
    mf_msg out;
    if (mf_queue_pop(q, &out, 1000))
        mf_batch_free(out.batch, false);
    return NULL;
}

/* A paused source sleeps in mf_queue_wait_below_half: it must wake when the
 * consumer pops, not at its timeout, and time out when nobody pops. */
static void test_queue_wait_below_half(void)
{
    mf_queue *q = mf_queue_new(10, 1u << 20);
    mf_msg m = {.type = MF_MSG_BATCH, .batch = batch_of(6, 10)};
    CU_ASSERT_EQUAL(mf_queue_push(q, &m, 0), 0);
    int64_t t0 = mf_time_mono_ms();
    CU_ASSERT_FALSE(mf_queue_wait_below_half(q, 60)); /* 6 of 10: not below half */
    CU_ASSERT(mf_time_mono_ms() - t0 >= 55);
    pthread_t th;
    pthread_create(&th, NULL, pop_later, q);
    t0 = mf_time_mono_ms();
    CU_ASSERT_TRUE(mf_queue_wait_below_half(q, 5000));
    int64_t waited = mf_time_mono_ms() - t0;
    CU_ASSERT(waited >= 40 && waited < 2500);
    pthread_join(th, NULL);
    CU_ASSERT_TRUE(mf_queue_wait_below_half(q, 0)); /* empty: at once */
    mf_queue_free(q);
}

struct producer_arg {
    mf_queue *q;
    int batches;
    int id;
};

static void *producer(void *p)
{
    struct producer_arg *a = p;
    for (int i = 0; i < a->batches; i++) {
        mf_msg m = {.type = MF_MSG_BATCH, .from = a->id, .batch = batch_of(4, 8)};
        mf_queue_push(a->q, &m, -1);
    }
    mf_msg e = {.type = MF_MSG_EOS, .from = a->id};
    mf_queue_push(a->q, &e, -1);
    return NULL;
}

static void test_queue_many_producers(void)
{
    mf_queue *q = mf_queue_new(16, 1u << 20);
    pthread_t th[3];
    struct producer_arg args[3];
    for (int i = 0; i < 3; i++) {
        args[i] = (struct producer_arg){q, 200, i};
        pthread_create(&th[i], NULL, producer, &args[i]);
    }
    int eos = 0, batches = 0;
    size_t max_records = 0;
    while (eos < 3) {
        size_t r, b;
        mf_queue_stats(q, &r, &b);
        if (r > max_records)
            max_records = r;
        mf_msg m;
        if (!mf_queue_pop(q, &m, 1000))
            break;
        if (m.type == MF_MSG_EOS)
            eos++;
        else {
            batches++;
            mf_batch_free(m.batch, false);
        }
    }
    for (int i = 0; i < 3; i++)
        pthread_join(th[i], NULL);
    CU_ASSERT_EQUAL(eos, 3);
    CU_ASSERT_EQUAL(batches, 600);
    CU_ASSERT(max_records <= 16); /* never above the bound */
    mf_queue_free(q);
}

static int delivered[16];
static void on_ack(void *arg, void *cookie)
{
    (void)arg;
    delivered[(uintptr_t)cookie]++;
}

static void test_ack_tokens(void)
{
    memset(delivered, 0, sizeof delivered);
    mf_ack_domain *d = mf_ack_domain_new();
    mf_ack_tracker *t = mf_ack_tracker_new(d);
    mf_ack *a = mf_ack_new_source(t, (void *)1);
    mf_ack *b = mf_ack_new_source(t, (void *)2);
    CU_ASSERT_EQUAL(mf_ack_tracker_outstanding(t), 2);
    mf_ack_ref(a, 3); /* three records */
    mf_ack_unref(a, 1); /* creator done */
    mf_ack_unref(a, 2);
    CU_ASSERT_EQUAL(mf_ack_tracker_drain(t, on_ack, NULL), 0);
    mf_ack_unref(b, 1); /* b completes first: acks arrive in completion order */
    mf_ack_unref(a, 1);
    CU_ASSERT_EQUAL(mf_ack_tracker_drain(t, on_ack, NULL), 2);
    CU_ASSERT_EQUAL(delivered[1], 1);
    CU_ASSERT_EQUAL(delivered[2], 1);
    CU_ASSERT_EQUAL(mf_ack_tracker_outstanding(t), 0);

    /* a group holds its inputs until its own reference and its outputs are gone */
    mf_ack *in1 = mf_ack_new_source(t, (void *)3);
    mf_ack *in2 = mf_ack_new_source(t, (void *)4);
    mf_ack *g = mf_ack_new_group(d);
    mf_ack_group_add(g, in1);
    mf_ack_group_add(g, in2);
    mf_ack_unref(in1, 1); /* the inputs' records are done ... */
    mf_ack_unref(in2, 1);
    CU_ASSERT_EQUAL(mf_ack_tracker_drain(t, on_ack, NULL), 0); /* ... but held by the group */
    mf_ack_ref(g, 1);   /* one output */
    mf_ack_unref(g, 1); /* the transform lets go */
    CU_ASSERT_EQUAL(mf_ack_tracker_drain(t, on_ack, NULL), 0);
    mf_ack_unref(g, 1); /* the output is durable */
    CU_ASSERT_EQUAL(mf_ack_tracker_drain(t, on_ack, NULL), 2);
    CU_ASSERT_EQUAL(delivered[3], 1);
    CU_ASSERT_EQUAL(delivered[4], 1);

    /* tokens still held at the end are freed with their domain */
    mf_ack *left = mf_ack_new_source(t, (void *)5);
    mf_ack_ref(left, 1);
    mf_ack_tracker_free(t);
    mf_ack_domain_free(d);
}

static void test_batch_release_acks_runs(void)
{
    memset(delivered, 0, sizeof delivered);
    mf_ack_domain *d = mf_ack_domain_new();
    mf_ack_tracker *t = mf_ack_tracker_new(d);
    mf_ack *a = mf_ack_new_source(t, (void *)6);
    mf_batch_impl *b = mf_batch_new();
    for (int i = 0; i < 5; i++) {
        mf_record r = {.flags = MF_RECORD_KEY_NULL, .value = (const uint8_t *)"{}", .value_len = 2};
        mf_ack_ref(a, 1);
        mf_batch_append(b, &r, a);
    }
    mf_ack_unref(a, 1);
    mf_batch_free(b, true);
    CU_ASSERT_EQUAL(mf_ack_tracker_drain(t, on_ack, NULL), 1);
    CU_ASSERT_EQUAL(delivered[6], 1);
    mf_ack_tracker_free(t);
    mf_ack_domain_free(d);
    mf_batch_pool_drain();
}

static void test_backoff(void)
{
    uint64_t rng = 42;
    int64_t max_seen = 0;
    for (unsigned attempt = 0; attempt < 20; attempt++) {
        int64_t ceiling = 100LL << (attempt < 10 ? attempt : 10);
        if (ceiling > 5000)
            ceiling = 5000;
        for (int k = 0; k < 200; k++) {
            int64_t d = mf_backoff_delay_ms(attempt, 100, 5000, &rng);
            CU_ASSERT(d >= 0 && d <= ceiling);
            if (d > max_seen)
                max_seen = d;
        }
    }
    CU_ASSERT(max_seen > 2500); /* jitter reaches up towards the cap */
    /* full jitter: the first attempt spreads over [0, base] */
    int low = 0;
    for (int k = 0; k < 1000; k++)
        low += mf_backoff_delay_ms(0, 100, 5000, &rng) < 50;
    CU_ASSERT(low > 350 && low < 650);
}

static const mf_test queue_tests[] = {
    {"record bound, control messages, oversize batch", test_queue_bounds},
    {"byte bound", test_queue_bytes_bound},
    {"many producers never exceed the bound", test_queue_many_producers},
    {"waiting for a queue to drain below half", test_queue_wait_below_half},
    {NULL, NULL},
};
static const mf_test ack_tests[] = {
    {"source tokens and groups", test_ack_tokens},
    {"batch release acks each run once", test_batch_release_acks_runs},
    {"full-jitter backoff", test_backoff},
    {NULL, NULL},
};

int main(void)
{
    static const mf_suite suites[] = {{"queue", queue_tests}, {"ack", ack_tests}, {NULL, NULL}};
    int rc = mf_cunit_run(suites);
    mf_batch_pool_drain();
    return rc;
}
