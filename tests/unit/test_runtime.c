/* Unit tests: whole pipelines run in-process with the test plugins —
 * end-to-end acknowledgement, rejects, failure, retry, key routing, group
 * acks, backpressure and checkpoints. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <martflow/keyed.h>

#include "cunit_main.h"
#include "log.h"
#include "runtime.h"
#include "testplugins.h"

/* Run a pipeline given as YAML; returns the exit status (-1: did not load). */
static int run(const char *text)
{
    tp_reset();
    mf_registry *reg = mf_registry_new();
    tp_register(reg);
    mf_diag d = {0};
    mf_config *c = mf_config_load_text("rt.yaml", text, strlen(text), &d);
    mf_pipeline_def *def = c ? mf_pipeline_def_load(c, reg, &d) : NULL;
    if (!def) {
        fprintf(stderr, "%s", d.text.data);
        mf_diag_free(&d);
        mf_registry_free(reg);
        return -1;
    }
    mf_diag_free(&d);
    char *err = NULL;
    mf_runtime *rt = mf_runtime_new(def, &err);
    int rc = -1;
    if (rt) {
        rc = mf_runtime_run(rt);
        mf_runtime_free(rt);
    } else {
        fprintf(stderr, "%s\n", err);
        free(err);
    }
    mf_registry_free(reg);
    return rc;
}

/* SIGTERM to the running pipeline after a delay, as `kill` would: aimed at
 * the main thread, which waits for it in sigtimedwait. */
struct delayed_term {
    pthread_t target, thread;
    int after_ms;
    int64_t sent_at; /* monotonic ms */
};
static void *send_term(void *arg)
{
    struct delayed_term *t = arg;
    struct timespec ts = {.tv_sec = t->after_ms / 1000, .tv_nsec = (long)(t->after_ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    t->sent_at = mf_time_mono_ms();
    pthread_kill(t->target, SIGTERM);
    return NULL;
}
static void term_after(struct delayed_term *t, int ms)
{
    t->target = pthread_self();
    t->after_ms = ms;
    pthread_create(&t->thread, NULL, send_term, t);
}

static int count_acked(int64_t n, int want)
{
    int ok = 0;
    for (int64_t i = 0; i < n; i++)
        ok += tp.acked[i] == want;
    return ok;
}

static void test_acks_end_to_end(void)
{
    int rc = run("settings: {checkpoint_interval: 0}\n"
                 "sources:\n  g: {plugin: gen, count: 1000, batch: 7}\n"
                 "transforms:\n  p: {plugin: pass, inputs: [g]}\n"
                 "sinks:\n  c: {plugin: collect, inputs: [p]}\n");
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_EQUAL(tp.delivered, 1000);
    CU_ASSERT_EQUAL(count_acked(1000, 1), 1000); /* every record, exactly once */
    CU_ASSERT_EQUAL(tp.flushes_end, 1);         /* finite input: flushed for the end */
    CU_ASSERT_EQUAL(tp.order_violations, 0);
}

static void test_fan_out(void)
{
    int rc = run("sources:\n  g: {plugin: gen, count: 300, batch: 10}\n"
                 "sinks:\n  a: {plugin: collect, inputs: [g]}\n  b: {plugin: collect, inputs: [g]}\n");
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_EQUAL(tp.delivered, 600); /* each sink got every record */
    CU_ASSERT_EQUAL(count_acked(300, 1), 300);
}

static void test_rejects_wired(void)
{
    int rc = run("sources:\n  g: {plugin: gen, count: 100}\n"
                 "transforms:\n  p: {plugin: pass, inputs: [g], reject_odd: true}\n"
                 "sinks:\n  c: {plugin: collect, inputs: [p]}\n  e: {plugin: collect, inputs: [p.errors]}\n");
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_EQUAL(tp.delivered, 100); /* 50 + 50 rejects, none lost */
    CU_ASSERT_EQUAL(count_acked(100, 1), 100);
}

static void test_rejects_unwired_fail_the_run(void)
{
    int rc = run("sources:\n  g: {plugin: gen, count: 100}\n"
                 "transforms:\n  p: {plugin: pass, inputs: [g], reject_odd: true}\n"
                 "sinks:\n  c: {plugin: collect, inputs: [p]}\n");
    CU_ASSERT_EQUAL(rc, 1);
    CU_ASSERT_EQUAL(tp.delivered, 50);
}

static void test_fatal(void)
{
    int rc = run("sources:\n  g: {plugin: gen, count: 1000, batch: 10}\n"
                 "transforms:\n  p: {plugin: pass, inputs: [g], fail_at: 500}\n"
                 "sinks:\n  c: {plugin: collect, inputs: [p]}\n");
    CU_ASSERT_EQUAL(rc, 1);
    CU_ASSERT_EQUAL(tp.acked[500], 0); /* the failed batch is never acknowledged */
    CU_ASSERT(count_acked(1000, 1) < 1000);
    CU_ASSERT_EQUAL(count_acked(1000, 2), 0);
}

static void test_retry(void)
{
    int rc = run("settings: {retry_base: 1ms, retry_cap: 5ms}\n"
                 "sources:\n  g: {plugin: gen, count: 200, batch: 50}\n"
                 "sinks:\n  c: {plugin: collect, inputs: [g], retry_first: 3}\n");
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_EQUAL(tp.delivered, 200); /* nothing lost, nothing doubled */
    CU_ASSERT_EQUAL(count_acked(200, 1), 200);
    CU_ASSERT(tp.process_calls >= 3 + 1);
}

static void test_retry_limit(void)
{
    int rc = run("settings: {retry_base: 1ms, retry_cap: 2ms}\n"
                 "sources:\n  g: {plugin: gen, count: 20, batch: 20}\n"
                 "sinks:\n  c: {plugin: collect, inputs: [g], retry_first: 100, retry_max: 5}\n");
    CU_ASSERT_EQUAL(rc, 1);
    CU_ASSERT_EQUAL(tp.delivered, 0);
    CU_ASSERT_EQUAL(count_acked(20, 1), 0);
}

static void test_parallel_key_routing(void)
{
    int rc = run("settings: {batch_records: 32}\n"
                 "sources:\n  g: {plugin: gen, count: 4000, batch: 50, keys: 16}\n"
                 "transforms:\n  p: {plugin: pass, inputs: [g], parallelism: 4}\n"
                 "sinks:\n  c: {plugin: collect, inputs: [p]}\n");
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_EQUAL(tp.delivered, 4000);
    CU_ASSERT_EQUAL(count_acked(4000, 1), 4000);
    int used[4] = {0}, split = 0;
    for (int k = 0; k < 16; k++) {
        if (tp.worker_of_key[k] == -2)
            split++;
        else if (tp.worker_of_key[k] >= 0)
            used[tp.worker_of_key[k]] = 1;
    }
    CU_ASSERT_EQUAL(split, 0); /* a key always reaches the same worker */
    for (int k = 0; k < 16; k++) {
        /* ... the one that owns its key group, where keyed state lives */
        char key[8];
        int len = snprintf(key, sizeof key, "k%d", k);
        CU_ASSERT_EQUAL(tp.worker_of_key[k], mf_key_group_worker(mf_key_group(key, (size_t)len), 4));
    }
    CU_ASSERT(used[0] + used[1] + used[2] + used[3] >= 2);
    CU_ASSERT_EQUAL(tp.order_violations, 0); /* per-key order survives */
}

static void test_group_acks(void)
{
    int rc = run("sources:\n  g: {plugin: gen, count: 100, batch: 9}\n"
                 "transforms:\n  s: {plugin: group3, inputs: [g]}\n"
                 "sinks:\n  c: {plugin: collect, inputs: [s]}\n");
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_EQUAL(tp.delivered, 34); /* 33 groups of 3 + the last one at end of input */
    CU_ASSERT_EQUAL(count_acked(100, 1), 100);
}

static void test_backpressure_pauses_source(void)
{
    int rc = run("settings: {queue_records: 100, batch_records: 50}\n"
                 "sources:\n  g: {plugin: gen, count: 3000, batch: 50}\n"
                 "sinks:\n  c: {plugin: collect, inputs: [g], delay_ms: 2}\n");
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_EQUAL(tp.delivered, 3000);
    CU_ASSERT(tp.pauses > 0);
    CU_ASSERT(tp.resumes > 0);
    CU_ASSERT_EQUAL(count_acked(3000, 1), 3000);
}

static void test_checkpoint_releases_held(void)
{
    int rc = run("settings: {checkpoint_interval: 20ms, queue_records: 40, batch_records: 20}\n"
                 "sources:\n  g: {plugin: gen, count: 400, batch: 20}\n"
                 "sinks:\n  c: {plugin: collect, inputs: [g], hold: true, delay_ms: 15}\n");
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT(tp.flushes_checkpoint > 0); /* barriers reached the sink */
    CU_ASSERT_EQUAL(count_acked(400, 1), 400);
}

/* A source waiting for its acks inside poll (a Kafka revoke) must not block
 * the checkpoints that release them. */
static void test_ack_wait_lets_checkpoints_through(void)
{
    int rc = run("settings: {checkpoint_interval: 20ms}\n"
                 "sources:\n  g: {plugin: gen, count: 200, batch: 20, wait_acks_every: 3}\n"
                 "sinks:\n  c: {plugin: collect, inputs: [g], hold: true}\n");
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT(tp.ack_waits >= 2);
    CU_ASSERT_EQUAL(tp.ack_wait_left, 0); /* every wait ended with all batches acknowledged */
    CU_ASSERT_EQUAL(count_acked(200, 1), 200);
}

/* While a source drains its last acks it keeps ticking (a client to serve). */
static void test_source_ticks_while_draining(void)
{
    int rc = run("sources:\n  g: {plugin: gen, count: 300, batch: 50, tick_ms: 10}\n"
                 "sinks:\n  c: {plugin: collect, inputs: [g], delay_ms: 60}\n");
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT(tp.ticks_after_end > 0);
    CU_ASSERT_EQUAL(count_acked(300, 1), 300);
}

/* A transform that emits and then fails must not have that output kept:
 * the retry emits it again. Small batches make the failed attempt's output
 * fill staging batches mid-call, the case a plain discard would miss. */
static void test_retry_discards_failed_output(void)
{
    int rc = run("settings: {retry_base: 1ms, retry_cap: 2ms, batch_records: 4}\n"
                 "sources:\n  g: {plugin: gen, count: 300, batch: 30}\n"
                 "transforms:\n  p: {plugin: pass, inputs: [g], retry_after_emit: 3, reject_odd: true}\n"
                 "sinks:\n  c: {plugin: collect, inputs: [p]}\n  e: {plugin: collect, inputs: [p.errors]}\n");
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_EQUAL(tp.delivered, 300); /* 150 + 150 rejects, each once */
    CU_ASSERT_EQUAL(count_acked(300, 1), 300);
}

/* What a failed attempt emitted about records outside its batch (a sink
 * rejecting an earlier record whose delivery failed) is not dropped with the
 * attempt: dropping it would acknowledge a record that went nowhere. */
static void test_retry_keeps_output_about_earlier_records(void)
{
    int rc = run("settings: {retry_base: 1ms, retry_cap: 2ms}\n"
                 "sources:\n  g: {plugin: gen, count: 100, batch: 10}\n"
                 "sinks:\n  c: {plugin: collect, inputs: [g], late_reject: true}\n"
                 "  e: {plugin: collect, inputs: [c.errors]}\n");
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_EQUAL(tp.delivered, 100); /* 90 written, the first 10 rejected to e */
    CU_ASSERT_EQUAL(count_acked(100, 1), 100);
}

/* Output held during one process() call is bounded (16 MiB here): a call
 * emitting far more fails the node, and none of it reaches the sink. */
static void test_held_output_is_bounded(void)
{
    int rc = run("settings: {queue_bytes: 4KiB}\n"
                 "sources:\n  g: {plugin: gen, count: 1, batch: 1}\n"
                 "transforms:\n  p: {plugin: pass, inputs: [g], amplify: 300000}\n"
                 "sinks:\n  c: {plugin: collect, inputs: [p]}\n");
    CU_ASSERT_EQUAL(rc, 1);
    CU_ASSERT_EQUAL(tp.delivered, 0);
    CU_ASSERT_EQUAL(count_acked(1, 1), 0);
}

/* A sink in a long backoff keeps ticking, and SIGTERM ends the backoff at
 * once: the batch is left unacknowledged for the next run. */
static void test_backoff_serves_ticks_and_shutdown(void)
{
    struct delayed_term t;
    int64_t t0 = mf_time_mono_ms();
    term_after(&t, 300);
    int rc = run("settings: {retry_base: 60s, retry_cap: 60s, grace_period: 10s}\n"
                 "sources:\n  g: {plugin: gen, count: 50, batch: 50}\n"
                 "sinks:\n  c: {plugin: collect, inputs: [g], retry_first: 1000000, tick_ms: 10}\n");
    int64_t took = mf_time_mono_ms() - t0;
    pthread_join(t.thread, NULL);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT(took < 1500);
    CU_ASSERT(tp.collect_ticks >= 10); /* ~30 in 300 ms */
    CU_ASSERT_EQUAL(tp.delivered, 0);
    CU_ASSERT_EQUAL(count_acked(50, 1), 0);
    CU_ASSERT(tp.process_calls >= 2); /* the first try and the last one at shutdown */
}

/* Every stop() is given the one deadline the process exits at, not a
 * grace period of its own starting later. */
static void test_one_grace_deadline(void)
{
    struct delayed_term t;
    term_after(&t, 200);
    int rc = run("settings: {grace_period: 3s, queue_records: 20, batch_records: 10}\n"
                 "sources:\n  g: {plugin: gen, count: 100000, batch: 10}\n"
                 "sinks:\n  c: {plugin: collect, inputs: [g], delay_ms: 100}\n");
    pthread_join(t.thread, NULL);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_EQUAL(tp.stops, 1);
    /* the sink drains for a few hundred ms after the signal before it stops */
    CU_ASSERT(tp.stop_deadline >= t.sent_at + 3000 - 50);
    CU_ASSERT(tp.stop_deadline <= t.sent_at + 3000 + 50);
}

/* A node that started is stopped before it is freed, also when a later node
 * fails to start and the pipeline never runs. */
static void test_stop_before_free_when_start_fails(void)
{
    int rc = run("sources:\n  g: {plugin: gen, fail_init: true}\n"
                 "sinks:\n  c: {plugin: collect, inputs: [g]}\n");
    CU_ASSERT_EQUAL(rc, -1);
    CU_ASSERT_EQUAL(tp.stops, 1);
    CU_ASSERT_EQUAL(tp.frees_unstopped, 0);
}

/* record_value() of stack records: each result stays valid until the
 * callback returns (it used to share one scratch buffer). */
static void test_stack_record_values_stay_valid(void)
{
    int rc = run("sources:\n  g: {plugin: gen, count: 100, batch: 10}\n"
                 "transforms:\n  p: {plugin: pass, inputs: [g], stack_values: true}\n"
                 "sinks:\n  c: {plugin: collect, inputs: [p]}\n");
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_EQUAL(tp.delivered, 100);
    CU_ASSERT_EQUAL(tp.stack_value_bad, 0);
}

/* Key-less records from a parallel producer into a parallel consumer: each
 * producer worker round-robins on its own (ThreadSanitizer checks the race). */
static void test_parallel_producers_round_robin(void)
{
    int rc = run("settings: {batch_records: 8}\n"
                 "sources:\n  g: {plugin: gen, count: 3000, batch: 30}\n"
                 "transforms:\n  a: {plugin: pass, inputs: [g], parallelism: 3, null_keys: true}\n"
                 "  b: {plugin: pass, inputs: [a], parallelism: 2}\n"
                 "sinks:\n  c: {plugin: collect, inputs: [b]}\n");
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_EQUAL(tp.delivered, 3000);
    CU_ASSERT_EQUAL(count_acked(3000, 1), 3000);
}

/* record_stream: a stream per (upstream worker, origin partition), dense ids,
 * the same for every record of a stream; placeholders for the upstream
 * workers before anything arrives; a source's announced partitions expected
 * from the first record of its topic on. */
static void check_streams(bool announce)
{
    char yaml[400];
    snprintf(yaml, sizeof yaml,
             "settings: {batch_records: 16}\n"
             "sources:\n  g: {plugin: gen, count: 3000, batch: 40, keys: 16, partitions: 3, announce: %s}\n"
             "transforms:\n  p: {plugin: pass, inputs: [g], parallelism: 2}\n"
             "sinks:\n  c: {plugin: collect, inputs: [p]}\n",
             announce ? "true" : "false");
    CU_ASSERT_EQUAL_FATAL(run(yaml), 0);
    CU_ASSERT_EQUAL(tp.delivered, 3000);
    CU_ASSERT_EQUAL(tp.stack_stream, MF_STREAM_NONE);
    CU_ASSERT_EQUAL(tp.streams_at_start, 2); /* one per worker of p */
    CU_ASSERT_EQUAL(tp.streams_after_first, announce ? 4 : 2);
    CU_ASSERT_EQUAL(tp.streams_end, 6);
    uint32_t id_of[2][3];
    memset(id_of, 0xff, sizeof id_of);
    int bad = 0, distinct = 0;
    for (int i = 0; i < 3000; i++) {
        char key[8];
        int len = snprintf(key, sizeof key, "k%d", i % 16);
        int w = mf_key_group_worker(mf_key_group(key, (size_t)len), 2), part = i % 3;
        uint32_t s = tp.stream_of[i];
        if (s >= 6)
            bad++;
        else if (id_of[w][part] == UINT32_MAX) {
            id_of[w][part] = s;
            distinct++;
        } else if (id_of[w][part] != s)
            bad++;
    }
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_EQUAL(distinct, 6);
    bool seen[6] = {false};
    for (int w = 0; w < 2; w++)
        for (int part = 0; part < 3; part++)
            if (id_of[w][part] < 6) {
                CU_ASSERT_FALSE(seen[id_of[w][part]]); /* distinct streams, distinct ids */
                seen[id_of[w][part]] = true;
            }
}

static void test_record_streams(void)
{
    check_streams(false);
}

static void test_record_streams_announced(void)
{
    check_streams(true);
}

static const mf_test tests[] = {
    {"record_stream: per upstream worker and partition", test_record_streams},
    {"record_stream: announced partitions are expected", test_record_streams_announced},
    {"a failed attempt's output is discarded", test_retry_discards_failed_output},
    {"a failed attempt keeps output about earlier records", test_retry_keeps_output_about_earlier_records},
    {"held output is bounded", test_held_output_is_bounded},
    {"backoff serves ticks and ends at shutdown", test_backoff_serves_ticks_and_shutdown},
    {"one grace deadline for every stop", test_one_grace_deadline},
    {"stop before free when a start fails", test_stop_before_free_when_start_fails},
    {"stack record values stay valid", test_stack_record_values_stay_valid},
    {"parallel producers round-robin", test_parallel_producers_round_robin},
    {"ack_wait lets checkpoints through", test_ack_wait_lets_checkpoints_through},
    {"a draining source keeps ticking", test_source_ticks_while_draining},
    {"every record acknowledged exactly once", test_acks_end_to_end},
    {"fan-out to two sinks", test_fan_out},
    {"rejects to a wired errors port", test_rejects_wired},
    {"unwired rejects fail the run", test_rejects_unwired_fail_the_run},
    {"a fatal node stops the run unacknowledged", test_fatal},
    {"retry until success", test_retry},
    {"retry_max fails the node", test_retry_limit},
    {"parallel workers by key hash", test_parallel_key_routing},
    {"group acks", test_group_acks},
    {"backpressure pauses the source", test_backpressure_pauses_source},
    {"checkpoints release held acks", test_checkpoint_releases_held},
    {NULL, NULL},
};

int main(void)
{
    mf_log_set_level(MF_LOG_WARN);
    static const mf_suite suites[] = {{"runtime", tests}, {NULL, NULL}};
    return mf_cunit_run(suites);
}
