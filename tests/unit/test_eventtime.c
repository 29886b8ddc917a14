/* Unit tests of mf_watermark (martflow/eventtime.h): the minimum over
 * streams at different speeds, pending, timeless and idle streams, a
 * watermark that never goes back, ended streams (a finished upstream holds
 * nothing back), snapshots and restores. */
#include <stddef.h>
#include <string.h>

#include <martflow/eventtime.h>
#include <martflow/helpers.h>

#include "cunit_main.h"

/* Three streams at different speeds: the watermark follows the slowest. */
static void test_slowest_stream_rules(void)
{
    mf_watermark *w = mf_watermark_new(100, 0);
    mf_watermark_streams(w, 3, 0);
    CU_ASSERT_TRUE(mf_watermark_observe(w, 0, 10000, 0));
    CU_ASSERT_EQUAL(mf_watermark_get(w, 0), MF_TIME_UNSET); /* 1 and 2 pending */
    mf_watermark_observe(w, 1, 2000, 0);
    CU_ASSERT_EQUAL(mf_watermark_get(w, 0), MF_TIME_UNSET);
    mf_watermark_observe(w, 2, 5000, 0);
    CU_ASSERT_EQUAL(mf_watermark_get(w, 0), 1900);
    /* the fast stream racing ahead changes nothing */
    for (int64_t t = 10001; t < 20000; t += 1000)
        mf_watermark_observe(w, 0, t, 0);
    CU_ASSERT_EQUAL(mf_watermark_get(w, 0), 1900);
    /* an older event of a stream does not lower its time */
    CU_ASSERT_FALSE(mf_watermark_observe(w, 1, 1500, 0));
    mf_watermark_observe(w, 1, 7000, 0);
    CU_ASSERT_EQUAL(mf_watermark_get(w, 0), 4900); /* now stream 2 is the slowest */
    mf_watermark_observe(w, 2, 8000, 0);
    CU_ASSERT_EQUAL(mf_watermark_get(w, 0), 6900);
    CU_ASSERT_EQUAL(mf_watermark_max(w), 19001);
    mf_watermark_free(w);
}

/* An interleaving of streams (each in order) never makes an event of any
 * stream fall behind the watermark by more than the bound. */
static void test_no_event_late_across_speeds(void)
{
    mf_watermark *w = mf_watermark_new(0, 0);
    mf_watermark_streams(w, 4, 0);
    int64_t next[4] = {0, 0, 0, 0}, step[4] = {1, 7, 31, 113};
    int late = 0;
    uint64_t rng = 42;
    for (int i = 0; i < 20000; i++) {
        rng = rng * 6364136223846793005u + 1442695040888963407u;
        uint32_t s = (uint32_t)(rng >> 33) % 4;
        int64_t wm = mf_watermark_get(w, 0);
        if (wm != MF_TIME_UNSET && next[s] < wm)
            late++;
        mf_watermark_observe(w, s, next[s], 0);
        next[s] += step[s];
    }
    CU_ASSERT_EQUAL(late, 0);
    CU_ASSERT(mf_watermark_get(w, 0) > 0);
    mf_watermark_free(w);
}

/* Idle: a silent stream stops counting after idle_timeout, and counts again
 * once it delivers; pending streams go idle too; timeless ones never count. */
static void test_idle_and_timeless(void)
{
    mf_watermark *w = mf_watermark_new(10, 1000);
    mf_watermark_streams(w, 3, 0);
    mf_watermark_observe(w, 0, 5000, 0);
    mf_watermark_observe(w, 1, MF_TIME_UNSET, 0); /* configuration only */
    CU_ASSERT_EQUAL(mf_watermark_get(w, 999), MF_TIME_UNSET); /* 2 is pending */
    CU_ASSERT_EQUAL(mf_watermark_get(w, 1000), MF_TIME_UNSET); /* 0 idle too: none active */
    mf_watermark_observe(w, 0, 6000, 1000);
    CU_ASSERT_EQUAL(mf_watermark_get(w, 1000), 5990); /* 2 idle, 1 timeless */
    mf_watermark_observe(w, 2, 3000, 1500); /* 2 is back, behind */
    CU_ASSERT_EQUAL(mf_watermark_get(w, 1500), 5990); /* never goes back */
    mf_watermark_observe(w, 0, 9000, 1600);
    CU_ASSERT_EQUAL(mf_watermark_get(w, 1600), 5990); /* held by 2 again */
    mf_watermark_observe(w, 2, 8000, 1700);
    CU_ASSERT_EQUAL(mf_watermark_get(w, 1700), 7990);
    CU_ASSERT_EQUAL(mf_watermark_get(w, 2699), 7990);
    mf_watermark_observe(w, 0, 12000, 2650);
    CU_ASSERT_EQUAL(mf_watermark_get(w, 2700), 11990); /* 2 idle since 1700 */
    /* a new stream is pending from when it became known */
    mf_watermark_streams(w, 4, 2700);
    mf_watermark_observe(w, 0, 13000, 3000);
    CU_ASSERT_EQUAL(mf_watermark_get(w, 3000), 11990);
    CU_ASSERT_EQUAL(mf_watermark_get(w, 3700), 12990); /* 3 went idle unheard */
    /* observing an unknown id adds it and every id below */
    mf_watermark_observe(w, 6, 20000, 3700);
    CU_ASSERT_EQUAL(mf_watermark_get(w, 3700), 12990); /* 4, 5 pending */
    CU_ASSERT_EQUAL(mf_watermark_observe(w, MF_STREAM_NONE, 1, 0), false);
    mf_watermark_free(w);
}

static void test_snapshot_restore(void)
{
    mf_watermark *a = mf_watermark_new(100, 0), *b = mf_watermark_new(100, 0);
    mf_watermark_observe(a, 0, 5000, 0);
    mf_watermark_observe(b, 0, 3000, 0);
    mf_watermark_observe(b, 1, 9000, 0);
    CU_ASSERT_EQUAL(mf_watermark_get(a, 0), 4900);
    CU_ASSERT_EQUAL(mf_watermark_get(b, 0), 2900);
    mf_buffer sa = {0}, sb = {0};
    mf_watermark_snapshot(a, &sa);
    mf_watermark_snapshot(b, &sb);
    CU_ASSERT_EQUAL(sa.len, MF_WATERMARK_SNAPSHOT_LEN);
    CU_ASSERT_EQUAL(memcmp(sa.data, "MFWM", 4), 0);

    mf_watermark *r = mf_watermark_new(100, 0);
    CU_ASSERT_EQUAL(mf_watermark_restore(r, sa.data, sa.len), MF_OK);
    CU_ASSERT_EQUAL(mf_watermark_get(r, 0), 4900);
    CU_ASSERT_EQUAL(mf_watermark_max(r), 5000);
    CU_ASSERT_EQUAL(mf_watermark_restore(r, sb.data, sb.len), MF_OK); /* rescaled: the lowest */
    CU_ASSERT_EQUAL(mf_watermark_get(r, 0), 2900);
    CU_ASSERT_EQUAL(mf_watermark_max(r), 9000);
    /* streams are pending again after a restore: held until each delivers */
    mf_watermark_streams(r, 2, 0);
    mf_watermark_observe(r, 0, 8000, 0);
    CU_ASSERT_EQUAL(mf_watermark_get(r, 0), 2900);
    mf_watermark_observe(r, 1, 2000, 0);
    CU_ASSERT_EQUAL(mf_watermark_get(r, 0), 2900); /* never below the restored one */
    mf_watermark_observe(r, 1, 6000, 0);
    CU_ASSERT_EQUAL(mf_watermark_get(r, 0), 5900);

    /* refused: truncated, other magic, other version; nothing changes */
    CU_ASSERT_EQUAL(mf_watermark_restore(r, sa.data, sa.len - 1), MF_FATAL);
    sa.data[0] = 'X';
    CU_ASSERT_EQUAL(mf_watermark_restore(r, sa.data, sa.len), MF_FATAL);
    sa.data[0] = 'M';
    sa.data[4] = 2;
    CU_ASSERT_EQUAL(mf_watermark_restore(r, sa.data, sa.len), MF_FATAL);
    CU_ASSERT_EQUAL(mf_watermark_get(r, 0), 5900);

    /* a floor from elsewhere (mf_keyed_watermark) */
    mf_watermark *f = mf_watermark_new(0, 0);
    mf_watermark_set_floor(f, 700);
    CU_ASSERT_EQUAL(mf_watermark_get(f, 0), 700);
    mf_watermark_observe(f, 0, 500, 0);
    CU_ASSERT_EQUAL(mf_watermark_get(f, 0), 700);
    mf_watermark_free(f);
    mf_buffer_free(&sa);
    mf_buffer_free(&sb);
    mf_watermark_free(a);
    mf_watermark_free(b);
    mf_watermark_free(r);
}

/* Ended streams: a finite upstream that finished, having delivered nothing
 * (it was pending) or events older than the others' (it was the slowest),
 * stops holding the watermark back; the others go on deciding it. */
static void test_ended_streams(void)
{
    mf_watermark *w = mf_watermark_new(100, 0); /* never idle: only the end can release */
    mf_watermark_streams(w, 3, 0);
    mf_watermark_observe(w, 0, 5000, 0);
    mf_watermark_observe(w, 1, 1000, 0);
    CU_ASSERT_EQUAL(mf_watermark_get(w, 0), MF_TIME_UNSET); /* 2 pending */
    mf_watermark_end(w, 2);                                  /* finished without a record */
    CU_ASSERT_EQUAL(mf_watermark_get(w, 0), 900);
    mf_watermark_end(w, 1); /* the slowest finished */
    CU_ASSERT_EQUAL(mf_watermark_get(w, 0), 4900);
    mf_watermark_observe(w, 0, 8000, 0);
    CU_ASSERT_EQUAL(mf_watermark_get(w, 0), 7900);
    mf_watermark_end(w, 0); /* every stream ended: it stays */
    CU_ASSERT_EQUAL(mf_watermark_get(w, 0), 7900);
    CU_ASSERT_EQUAL(mf_watermark_max(w), 8000);
    mf_watermark_end(w, MF_STREAM_NONE); /* ignored */
    mf_watermark_end(w, 5);              /* unknown: added, ended */
    CU_ASSERT_EQUAL(mf_watermark_get(w, 0), 7900);
    mf_watermark_free(w);
}

/* A host with two streams: 0 open, 1 ended once `ended` is set. */
static bool fake_ended;
static uint32_t fake_count(mf_node *node)
{
    (void)node;
    return 2;
}
static bool fake_stream_ended(mf_node *node, uint32_t stream)
{
    (void)node;
    return stream == 1 && fake_ended;
}

/* mf_watermark_sync: the count and the ended streams from the host; an
 * older host without stream_ended gives only the count. */
static void test_sync_with_host(void)
{
    mf_host h = {0};
    h.struct_size = sizeof h;
    h.stream_count = fake_count;
    h.stream_ended = fake_stream_ended;
    mf_watermark *w = mf_watermark_new(0, 0);
    fake_ended = false;
    mf_watermark_sync(w, &h, NULL, 0);
    mf_watermark_observe(w, 0, 3000, 0);
    CU_ASSERT_EQUAL(mf_watermark_get(w, 0), MF_TIME_UNSET); /* 1 pending: the lost attempt's "stuck" */
    fake_ended = true;
    mf_watermark_sync(w, &h, NULL, 0);
    CU_ASSERT_EQUAL(mf_watermark_get(w, 0), 3000);

    mf_host old = h; /* an ABI 1.3 engine: its table ends before stream_ended */
    old.struct_size = offsetof(mf_host, stream_ended);
    mf_watermark *o = mf_watermark_new(0, 0);
    mf_watermark_sync(o, &old, NULL, 0);
    mf_watermark_observe(o, 0, 3000, 0);
    CU_ASSERT_EQUAL(mf_watermark_get(o, 0), MF_TIME_UNSET);
    mf_watermark_free(o);
    mf_watermark_free(w);
}

int main(void)
{
    static const mf_test tests[] = {
        {"the slowest stream rules", test_slowest_stream_rules},
        {"no event late across speeds", test_no_event_late_across_speeds},
        {"idle and timeless streams", test_idle_and_timeless},
        {"ended streams hold nothing back", test_ended_streams},
        {"sync with the host's streams", test_sync_with_host},
        {"snapshot and restore", test_snapshot_restore},
        {NULL, NULL},
    };
    static const mf_suite suites[] = {{"watermark", tests}, {NULL, NULL}};
    return mf_cunit_run(suites);
}
