/* testplugins.c — see testplugins.h. */
#include "testplugins.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct tp_state tp;

void tp_reset(void)
{
    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    memset(&tp, 0, sizeof tp);
    tp.mu = mu;
    tp.streams_at_start = -1;
    for (int k = 0; k < 64; k++) {
        tp.worker_of_key[k] = -1;
        tp.last_i_of_key[k] = -1;
    }
}

static void sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---- source gen: emits {"i": n} with key "k<n % keys>" ---------------------- */
struct gen {
    int64_t count, batch, keys;
    int64_t wait_acks_every; /* call ack_wait from poll every N polls */
    int64_t tick_ms;
    bool fail_init;
    int64_t partitions; /* > 0: record i comes from partition i % partitions of topic "t" */
    bool announce;      /* and the source announces them (source_streams) */
    bool announced;
    int64_t polls;
    mf_node *node;
    const mf_host *host;
    int64_t next;
    bool paused;
};
struct gen_cookie {
    int64_t first, n;
    struct gen_cookie *prev, *next; /* outstanding: freed at free() if never acked */
};
static struct gen_cookie *outstanding;
static const mf_option gen_opts[] = {
    MF_OPTION(MF_OPT_INT, "count", "100", 0, struct gen, count, "records to emit"),
    MF_OPTION(MF_OPT_INT, "batch", "10", 0, struct gen, batch, "records per poll"),
    MF_OPTION(MF_OPT_INT, "keys", "8", 0, struct gen, keys, "distinct keys"),
    MF_OPTION(MF_OPT_INT, "wait_acks_every", "0", 0, struct gen, wait_acks_every, "ack_wait every N polls"),
    MF_OPTION(MF_OPT_INT, "tick_ms", "0", 0, struct gen, tick_ms, "tick interval"),
    MF_OPTION(MF_OPT_BOOL, "fail_init", "false", 0, struct gen, fail_init, "init fails"),
    MF_OPTION(MF_OPT_INT, "partitions", "0", 0, struct gen, partitions, "origin partitions of topic t"),
    MF_OPTION(MF_OPT_BOOL, "announce", "false", 0, struct gen, announce, "announce the partitions"),
    MF_OPTION_END,
};
static int gen_init(void *v, mf_node *node, const mf_host *host)
{
    struct gen *g = v;
    g->node = node;
    g->host = host;
    host->set_tick(node, g->tick_ms);
    return g->fail_init ? MF_FATAL : MF_OK;
}
static int gen_tick(void *v)
{
    struct gen *g = v;
    if (g->next >= g->count)
        __atomic_add_fetch(&tp.ticks_after_end, 1, __ATOMIC_SEQ_CST);
    return MF_OK;
}
static int gen_poll(void *v, int timeout_ms)
{
    struct gen *g = v;
    (void)timeout_ms;
    if (g->wait_acks_every && ++g->polls % g->wait_acks_every == 0 && g->next > 0) {
        __atomic_add_fetch(&tp.ack_waits, 1, __ATOMIC_SEQ_CST);
        __atomic_add_fetch(&tp.ack_wait_left, (int)g->host->ack_wait(g->node, 3000), __ATOMIC_SEQ_CST);
    }
    if (g->paused) {
        sleep_ms(1);
        return MF_OK;
    }
    if (g->next >= g->count)
        return MF_EOF;
    if (g->announce && !g->announced) {
        g->announced = true;
        mf_origin parts[16];
        for (int64_t p = 0; p < g->partitions && p < 16; p++)
            parts[p] = (mf_origin){.topic = "t", .partition = (int32_t)p};
        g->host->source_streams(g->node, parts, (size_t)(g->partitions < 16 ? g->partitions : 16));
    }
    struct gen_cookie *c = calloc(1, sizeof *c);
    c->first = g->next;
    c->next = outstanding;
    if (outstanding)
        outstanding->prev = c;
    outstanding = c;
    g->host->source_cookie(g->node, c);
    for (int64_t k = 0; k < g->batch && g->next < g->count; k++, g->next++) {
        char key[32], val[64];
        snprintf(key, sizeof key, "k%lld", (long long)(g->next % g->keys));
        snprintf(val, sizeof val, "{\"i\":%lld,\"k\":%lld}", (long long)g->next, (long long)(g->next % g->keys));
        mf_record r = {.key = (const uint8_t *)key, .key_len = (uint32_t)strlen(key),
                       .value = (const uint8_t *)val, .value_len = (uint32_t)strlen(val),
                       .time_ms = g->next, .origin = {.partition = -1, .offset = g->next}};
        if (g->partitions > 0) {
            r.origin.topic = "t";
            r.origin.partition = (int32_t)(g->next % g->partitions);
        }
        g->host->emit(g->node, MF_PORT_DEFAULT, &r, NULL);
        c->n++;
        __atomic_add_fetch(&tp.emitted, 1, __ATOMIC_SEQ_CST);
    }
    return MF_OK;
}
static void gen_ack(void *v, void *cookie)
{
    (void)v;
    struct gen_cookie *c = cookie;
    for (int64_t i = c->first; i < c->first + c->n && i < TP_MAX; i++)
        tp.acked[i]++;
    if (c->prev)
        c->prev->next = c->next;
    else
        outstanding = c->next;
    if (c->next)
        c->next->prev = c->prev;
    free(c);
}
static void gen_free(void *v)
{
    (void)v; /* batches never acknowledged (a failed run) are ours to release */
    while (outstanding) {
        struct gen_cookie *next = outstanding->next;
        free(outstanding);
        outstanding = next;
    }
}
static int gen_pause(void *v)
{
    ((struct gen *)v)->paused = true;
    __atomic_add_fetch(&tp.pauses, 1, __ATOMIC_SEQ_CST);
    return MF_OK;
}
static int gen_resume(void *v)
{
    ((struct gen *)v)->paused = false;
    __atomic_add_fetch(&tp.resumes, 1, __ATOMIC_SEQ_CST);
    return MF_OK;
}
static const mf_plugin_desc gen_desc = {
    MF_PLUGIN_HEADER, .kind = MF_KIND_SOURCE, .name = "gen", .version = "1", .description = "test generator",
    .options = gen_opts, .ctx_size = sizeof(struct gen), .init = gen_init, .free = gen_free, .poll = gen_poll,
    .ack = gen_ack, .tick = gen_tick,
    .pause = gen_pause, .resume = gen_resume,
};

/* ---- transform pass: forwards; optional reject/fail; records key->worker -- */
struct pass {
    int64_t fail_at;
    bool reject_odd;
    int64_t retry_after_emit; /* the first N calls emit everything, then say MF_RETRY */
    bool stack_values;
    bool null_keys;           /* emit without a key (round-robin downstream) */
    int64_t amplify;          /* emit each record this many times */
    mf_node *node;
    const mf_host *host;
    int worker;
};
static const mf_option pass_opts[] = {
    MF_OPTION(MF_OPT_INT, "fail_at", "-1", 0, struct pass, fail_at, "fail on this i"),
    MF_OPTION(MF_OPT_BOOL, "reject_odd", "false", 0, struct pass, reject_odd, "reject odd i"),
    MF_OPTION(MF_OPT_INT, "retry_after_emit", "0", 0, struct pass, retry_after_emit, "emit, then RETRY, N calls"),
    MF_OPTION(MF_OPT_BOOL, "stack_values", "false", 0, struct pass, stack_values, "check stack record values"),
    MF_OPTION(MF_OPT_BOOL, "null_keys", "false", 0, struct pass, null_keys, "emit without keys"),
    MF_OPTION(MF_OPT_INT, "amplify", "1", 0, struct pass, amplify, "emit each record N times"),
    MF_OPTION_END,
};
static int pass_init(void *v, mf_node *node, const mf_host *host)
{
    struct pass *p = v;
    p->node = node;
    p->host = host;
    p->worker = host->worker(node, NULL);
    return MF_OK;
}
/* Two stack records' serialised values, both read before either is used:
 * plugin.h promises each stays valid until the callback returns. */
static void pass_check_stack_values(struct pass *p)
{
    mf_record a = {.flags = MF_RECORD_KEY_NULL}, b = {.flags = MF_RECORD_KEY_NULL};
    p->host->record_set_json(p->node, &a, json_pack("{s:s}", "first", "aaaaaaaa"));
    p->host->record_set_json(p->node, &b, json_pack("{s:s}", "second", "bbbbbbbbbbbbbbbb"));
    size_t la, lb;
    const uint8_t *va = p->host->record_value(p->node, &a, &la);
    const uint8_t *vb = p->host->record_value(p->node, &b, &lb);
    if (la != strlen("{\"first\":\"aaaaaaaa\"}") || memcmp(va, "{\"first\":\"aaaaaaaa\"}", la) != 0 ||
        lb != strlen("{\"second\":\"bbbbbbbbbbbbbbbb\"}") || memcmp(vb, "{\"second\"", 9) != 0)
        __atomic_add_fetch(&tp.stack_value_bad, 1, __ATOMIC_SEQ_CST);
    json_decref(a.json);
    json_decref(b.json);
}
static int pass_process(void *v, mf_batch *b)
{
    struct pass *p = v;
    if (p->stack_values)
        pass_check_stack_values(p);
    for (size_t i = 0; i < b->count; i++) {
        mf_record *r = &b->records[i];
        const char *err;
        json_t *j = p->host->record_json(p->node, r, &err);
        int64_t n = json_integer_value(json_object_get(j, "i"));
        int k = (int)json_integer_value(json_object_get(j, "k"));
        pthread_mutex_lock(&tp.mu);
        if (k >= 0 && k < 64) {
            if (tp.worker_of_key[k] == -1)
                tp.worker_of_key[k] = p->worker;
            else if (tp.worker_of_key[k] != p->worker)
                tp.worker_of_key[k] = -2;
        }
        pthread_mutex_unlock(&tp.mu);
        if (n == p->fail_at)
            return MF_FATAL;
        if (p->reject_odd && n % 2) {
            p->host->reject(p->node, r, "odd %lld", (long long)n);
        } else if (p->null_keys) {
            mf_record copy = *r;
            copy.flags |= MF_RECORD_KEY_NULL;
            p->host->emit(p->node, MF_PORT_DEFAULT, &copy, NULL);
        } else {
            for (int64_t copy = 0; copy < p->amplify; copy++)
                p->host->emit(p->node, MF_PORT_DEFAULT, r, NULL);
        }
    }
    if (p->retry_after_emit > 0) {
        p->retry_after_emit--;
        return MF_RETRY;
    }
    return MF_OK;
}
static const mf_plugin_desc pass_desc = {
    MF_PLUGIN_HEADER, .kind = MF_KIND_TRANSFORM, .name = "pass", .version = "1", .description = "test pass",
    .options = pass_opts, .ctx_size = sizeof(struct pass), .init = pass_init, .process = pass_process,
};

/* ---- transform group3: one {"sum":..} per 3 inputs, acked as a group ------ */
struct group3 {
    mf_node *node;
    const mf_host *host;
    mf_ack *group;
    int n;
    int64_t sum;
};
static int group3_init(void *v, mf_node *node, const mf_host *host)
{
    struct group3 *g = v;
    g->node = node;
    g->host = host;
    return MF_OK;
}
static void group3_emit(struct group3 *g)
{
    char val[64];
    snprintf(val, sizeof val, "{\"i\":%lld,\"k\":0}", (long long)g->sum);
    mf_record r = {.flags = MF_RECORD_KEY_NULL, .value = (const uint8_t *)val, .value_len = (uint32_t)strlen(val),
                   .time_ms = MF_TIME_UNSET, .origin = {.partition = -1, .offset = -1}};
    g->host->emit(g->node, MF_PORT_DEFAULT, &r, g->group);
    g->host->ack_release(g->node, g->group);
    g->group = NULL;
    g->n = 0;
    g->sum = 0;
}
static int group3_process(void *v, mf_batch *b)
{
    struct group3 *g = v;
    for (size_t i = 0; i < b->count; i++) {
        const char *err;
        json_t *j = g->host->record_json(g->node, &b->records[i], &err);
        if (!g->group)
            g->group = g->host->ack_group_new(g->node);
        g->host->ack_group_add(g->node, g->group, &b->records[i]);
        g->sum += json_integer_value(json_object_get(j, "i"));
        if (++g->n == 3)
            group3_emit(g);
    }
    return MF_OK;
}
static int group3_flush(void *v, mf_flush_reason why)
{
    struct group3 *g = v;
    if (why == MF_FLUSH_END && g->group)
        group3_emit(g);
    return MF_OK;
}
static void group3_free(void *v)
{
    struct group3 *g = v;
    if (g->group)
        g->host->ack_release(g->node, g->group);
}
static const mf_plugin_desc group3_desc = {
    MF_PLUGIN_HEADER, .kind = MF_KIND_TRANSFORM, .name = "group3", .version = "1", .description = "test group",
    .ctx_size = sizeof(struct group3), .init = group3_init, .process = group3_process, .flush = group3_flush,
    .free = group3_free,
};

/* ---- sink collect ------------------------------------------------------------ */
struct collect {
    int64_t retry_first;
    int64_t delay_ms;
    int64_t tick_ms;
    bool hold;
    bool late_reject;     /* first batch: "delivery fails", rejected during the next call, which RETRYs */
    int late_stage;       /* 0: first batch not seen, 1: holding it, 2: rejected it */
    int64_t late_i[64];
    mf_ack *late_ack[64];
    size_t n_late;
    bool inited, stopped;
    mf_node *node;
    const mf_host *host;
    mf_ack **held;
    size_t n_held, cap;
};
static const mf_option collect_opts[] = {
    MF_OPTION(MF_OPT_INT, "retry_first", "0", 0, struct collect, retry_first, "RETRY this many calls"),
    MF_OPTION(MF_OPT_INT, "tick_ms", "0", 0, struct collect, tick_ms, "tick interval"),
    MF_OPTION(MF_OPT_INT, "delay_ms", "0", 0, struct collect, delay_ms, "sleep per batch"),
    MF_OPTION(MF_OPT_BOOL, "hold", "false", 0, struct collect, hold, "hold acks until flush"),
    MF_OPTION(MF_OPT_BOOL, "late_reject", "false", 0, struct collect, late_reject,
              "reject the first batch during the next call, then RETRY that call once"),
    MF_OPTION_END,
};
static int collect_init(void *v, mf_node *node, const mf_host *host)
{
    struct collect *c = v;
    c->node = node;
    c->host = host;
    c->inited = true;
    host->set_tick(node, c->tick_ms);
    return MF_OK;
}
static int collect_tick(void *v)
{
    (void)v;
    __atomic_add_fetch(&tp.collect_ticks, 1, __ATOMIC_SEQ_CST);
    return MF_OK;
}
static int collect_stop(void *v, int64_t deadline_ms)
{
    struct collect *c = v;
    c->stopped = true;
    pthread_mutex_lock(&tp.mu);
    tp.stops++;
    tp.stop_deadline = deadline_ms;
    pthread_mutex_unlock(&tp.mu);
    return MF_OK;
}
/* As a sink whose writes fail asynchronously: the first batch is held, its
 * failure is learnt during the next call, which rejects those records (the
 * acks it held) and then fails transiently itself. */
static int collect_late_reject(struct collect *c, mf_batch *b)
{
    if (c->late_stage == 0) {
        for (size_t i = 0; i < b->count && c->n_late < 64; i++) {
            const char *err;
            json_t *j = c->host->record_json(c->node, &b->records[i], &err);
            c->late_i[c->n_late] = json_integer_value(json_object_get(j, "i"));
            c->late_ack[c->n_late++] = c->host->ack_hold(c->node, &b->records[i]);
        }
        c->late_stage = 1;
        return MF_OK;
    }
    if (c->late_stage == 1) {
        for (size_t i = 0; i < c->n_late; i++) {
            char val[64];
            int n = snprintf(val, sizeof val, "{\"i\":%lld}", (long long)c->late_i[i]);
            mf_record r = {.flags = MF_RECORD_KEY_NULL, .value = (const uint8_t *)val, .value_len = (uint32_t)n,
                           .time_ms = MF_TIME_UNSET, .origin = {.partition = -1, .offset = -1},
                           .ack = c->late_ack[i]};
            c->host->reject(c->node, &r, "delivery failed");
            c->host->ack_release(c->node, c->late_ack[i]);
        }
        c->n_late = 0;
        c->late_stage = 2;
        return MF_RETRY;
    }
    return -1; /* go on as usual */
}
static int collect_process(void *v, mf_batch *b)
{
    struct collect *c = v;
    __atomic_add_fetch(&tp.process_calls, 1, __ATOMIC_SEQ_CST);
    if (c->late_reject) {
        int st = collect_late_reject(c, b);
        if (st >= 0)
            return st;
    }
    if (c->retry_first > 0) {
        c->retry_first--;
        return MF_RETRY;
    }
    if (c->delay_ms)
        sleep_ms((int)c->delay_ms);
    /* Under the lock: with parallelism > 1 two workers race to be first. */
    pthread_mutex_lock(&tp.mu);
    if (tp.streams_at_start < 0) {
        mf_record stack = {.flags = MF_RECORD_KEY_NULL | MF_RECORD_VALUE_NULL, .time_ms = MF_TIME_UNSET};
        tp.stack_stream = c->host->record_stream(c->node, &stack);
        tp.streams_at_start = c->host->stream_count(c->node);
        c->host->record_stream(c->node, &b->records[0]);
        tp.streams_after_first = c->host->stream_count(c->node);
    }
    pthread_mutex_unlock(&tp.mu);
    for (size_t i = 0; i < b->count; i++) {
        const char *err;
        json_t *j = c->host->record_json(c->node, &b->records[i], &err);
        int64_t n = json_integer_value(json_object_get(j, "i"));
        int k = (int)json_integer_value(json_object_get(j, "k"));
        uint32_t stream = c->host->record_stream(c->node, &b->records[i]);
        pthread_mutex_lock(&tp.mu);
        if (n >= 0 && n < TP_MAX)
            tp.stream_of[n] = stream;
        tp.streams_end = c->host->stream_count(c->node);
        if (tp.delivered < TP_MAX)
            tp.values[tp.delivered] = n;
        tp.delivered++;
        if (k >= 0 && k < 64) {
            if (n < tp.last_i_of_key[k])
                tp.order_violations++;
            tp.last_i_of_key[k] = n;
        }
        pthread_mutex_unlock(&tp.mu);
        if (c->hold) {
            if (c->n_held == c->cap) {
                c->cap = c->cap ? c->cap * 2 : 64;
                c->held = realloc(c->held, c->cap * sizeof *c->held);
            }
            c->held[c->n_held++] = c->host->ack_hold(c->node, &b->records[i]);
        }
    }
    return MF_OK;
}
static int collect_flush(void *v, mf_flush_reason why)
{
    struct collect *c = v;
    if (why == MF_FLUSH_END)
        __atomic_add_fetch(&tp.flushes_end, 1, __ATOMIC_SEQ_CST);
    else if (why == MF_FLUSH_STOP)
        __atomic_add_fetch(&tp.flushes_stop, 1, __ATOMIC_SEQ_CST);
    else
        __atomic_add_fetch(&tp.flushes_checkpoint, 1, __ATOMIC_SEQ_CST);
    for (size_t i = 0; i < c->n_held; i++)
        c->host->ack_release(c->node, c->held[i]);
    c->n_held = 0;
    return MF_OK;
}
static void collect_free(void *v)
{
    struct collect *c = v;
    for (size_t i = 0; i < c->n_late; i++)
        c->host->ack_release(c->node, c->late_ack[i]);
    if (c->inited && !c->stopped)
        __atomic_add_fetch(&tp.frees_unstopped, 1, __ATOMIC_SEQ_CST);
    free(c->held);
}
static const mf_plugin_desc collect_desc = {
    MF_PLUGIN_HEADER, .kind = MF_KIND_SINK, .name = "collect", .version = "1", .description = "test sink",
    .options = collect_opts, .ctx_size = sizeof(struct collect), .init = collect_init, .process = collect_process,
    .flush = collect_flush, .free = collect_free, .tick = collect_tick, .stop = collect_stop,
};

void tp_register(mf_registry *reg)
{
    const mf_plugin_desc *all[] = {&gen_desc, &pass_desc, &group3_desc, &collect_desc};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) {
        char *err = NULL;
        if (!mf_registry_add_builtin(reg, all[i], &err)) {
            fprintf(stderr, "tp_register: %s\n", err);
            abort();
        }
    }
}
