/* Key groups and keyed state (martflow/keyed.h). The keyed-state tests run a
 * small stateful transform ("kcount", defined here) in the plugin harness, so
 * the ack groups are the engine's own and acknowledgements are real. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <martflow/keyed.h>

#include "cunit_main.h"
#include "harness.h"

/* ---- deterministic random keys ----------------------------------------------------- */

static uint64_t rng_state;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* ---- key groups ---------------------------------------------------------------------- */

/* The placement of state in checkpoints depends on these: they never change.
 * (The hashes are MurmurHash3 x86_32 with seed 0, as other implementations
 * compute it.) */
static void test_key_hash_golden(void)
{
    static const struct {
        const char *key;
        uint32_t hash, group;
    } golden[] = {
        {"", 0x00000000u, 0},
        {"a", 0x3c2569b2u, 2482},
        {"test", 0xba6bd213u, 531},
        {"Hello, world!", 0xc0363e43u, 3651},
        {"The quick brown fox jumps over the lazy dog", 0x2e4ff723u, 1827},
        {"tenant1:call-0001", 0x6f38fb0fu, 2831},
        {"acme:7f3a2c", 0x219bb7c5u, 1989},
    };
    for (size_t i = 0; i < sizeof golden / sizeof golden[0]; i++) {
        size_t len = strlen(golden[i].key);
        CU_ASSERT_EQUAL(mf_key_hash(golden[i].key, len), golden[i].hash);
        CU_ASSERT_EQUAL(mf_key_group(golden[i].key, len), golden[i].group);
    }
    CU_ASSERT_EQUAL(mf_key_hash(NULL, 0), 0);
    /* bytes, not text: a NUL inside the key counts */
    CU_ASSERT_NOT_EQUAL(mf_key_hash("a\0b", 3), mf_key_hash("a", 1));
    CU_ASSERT_EQUAL(MF_KEY_GROUPS, 4096);
}

static void test_key_group_ranges(void)
{
    for (int n = 1; n <= MF_KEY_MAX_WORKERS; n++) {
        uint32_t next = 0;
        for (int w = 0; w < n; w++) {
            uint32_t first = 99999, last = 99999;
            CU_ASSERT_EQUAL_FATAL(mf_key_group_range(w, n, &first, &last), 0);
            CU_ASSERT_EQUAL_FATAL(first, next); /* contiguous, no gap, no overlap */
            CU_ASSERT_FATAL(last >= first);
            /* balanced: every worker owns floor or ceil of G/n groups */
            uint32_t owned = last - first + 1;
            CU_ASSERT(owned == MF_KEY_GROUPS / (unsigned)n || owned == (MF_KEY_GROUPS + (unsigned)n - 1) / (unsigned)n);
            CU_ASSERT_EQUAL(mf_key_group_worker(first, n), w);
            CU_ASSERT_EQUAL(mf_key_group_worker(last, n), w);
            next = last + 1;
        }
        CU_ASSERT_EQUAL(next, MF_KEY_GROUPS); /* the ranges cover [0, G) exactly */
    }
    /* and the forward mapping agrees everywhere for a few parallelisms */
    static const int ns[] = {1, 2, 3, 7, 100, 255, 256};
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++)
        for (uint32_t kg = 0; kg < MF_KEY_GROUPS; kg++) {
            uint32_t first, last;
            int w = mf_key_group_worker(kg, ns[i]);
            CU_ASSERT_FATAL(w >= 0 && w < ns[i]);
            mf_key_group_range(w, ns[i], &first, &last);
            CU_ASSERT_FATAL(kg >= first && kg <= last);
        }
    uint32_t f = 7, l = 7;
    CU_ASSERT_EQUAL(mf_key_group_worker(MF_KEY_GROUPS, 4), -1);
    CU_ASSERT_EQUAL(mf_key_group_worker(0, 0), -1);
    CU_ASSERT_EQUAL(mf_key_group_worker(0, MF_KEY_MAX_WORKERS + 1), -1);
    CU_ASSERT_EQUAL(mf_key_group_range(4, 4, &f, &l), -1);
    CU_ASSERT_EQUAL(mf_key_group_range(-1, 4, &f, &l), -1);
    CU_ASSERT_EQUAL(mf_key_group_range(0, 0, &f, &l), -1);
    CU_ASSERT(f == 7 && l == 7);
}

#define N_BALANCE 100000

/* Random and sequential keys spread over 1..256 workers within a tolerance,
 * and over the key groups as a uniform distribution would (chi-square). */
static void check_balance(const uint32_t *groups, const char *what)
{
    static unsigned per_group[MF_KEY_GROUPS];
    memset(per_group, 0, sizeof per_group);
    for (size_t i = 0; i < N_BALANCE; i++)
        per_group[groups[i]]++;
    double expect = (double)N_BALANCE / MF_KEY_GROUPS, chi2 = 0;
    for (unsigned g = 0; g < MF_KEY_GROUPS; g++)
        chi2 += (per_group[g] - expect) * (per_group[g] - expect) / expect;
    /* 4095 degrees of freedom: mean 4095, standard deviation about 90 */
    if (chi2 > 4095 + 5 * 90)
        fprintf(stderr, "\n%s: chi-square %.0f\n", what, chi2);
    CU_ASSERT(chi2 < 4095 + 5 * 90);

    /* Per worker: within 5 standard deviations of a uniform spread (sqrt(mean)
     * keys) plus one key group's share (the ranges differ by one group). */
    double worst = 0;
    for (int n = 1; n <= MF_KEY_MAX_WORKERS; n++) {
        unsigned per_worker[MF_KEY_MAX_WORKERS] = {0};
        for (unsigned g = 0; g < MF_KEY_GROUPS; g++)
            per_worker[mf_key_group_worker(g, n)] += per_group[g];
        double mean = (double)N_BALANCE / n, group_share = (double)N_BALANCE / MF_KEY_GROUPS;
        for (int w = 0; w < n; w++) {
            double off = per_worker[w] > mean ? per_worker[w] - mean : mean - per_worker[w];
            off = off > group_share ? off - group_share : 0;
            double z2 = off * off / mean; /* squared deviations in sigmas */
            if (z2 > worst)
                worst = z2;
            if (z2 > 25)
                fprintf(stderr, "\n%s: %d workers, worker %d has %u keys (mean %.0f)\n", what, n, w, per_worker[w],
                        mean);
            CU_ASSERT(z2 <= 25);
        }
    }
    if (getenv("MF_TEST_VERBOSE"))
        fprintf(stderr, "\n%s: chi-square %.0f, worst worker z^2 %.1f\n", what, chi2, worst);
}

static void test_key_group_balance(void)
{
    uint32_t *groups = malloc(N_BALANCE * sizeof *groups);
    char key[64];
    rng_state = 0x9e3779b97f4a7c15u;
    for (size_t i = 0; i < N_BALANCE; i++) {
        int n = snprintf(key, sizeof key, "t%u:%016" PRIx64, (unsigned)(rng() % 7), rng());
        groups[i] = mf_key_group(key, (size_t)n);
    }
    check_balance(groups, "random keys");
    for (size_t i = 0; i < N_BALANCE; i++) {
        int n = snprintf(key, sizeof key, "acme:call-%06zu", i);
        groups[i] = mf_key_group(key, (size_t)n);
    }
    check_balance(groups, "sequential keys");
    free(groups);
}

/* ---- the test transform ------------------------------------------------------------- */

/* Each record's value is a command for the state of the record's key:
 *   "add N"   fold N into the state, absorbing the record;
 *   "emit"    emit the state with the key's ack group, keep holding;
 *   "release" emit, then release the key's group (the key stays);
 *   "close"   absorb, emit, remove the key;
 *   "drop"    remove the key without output. */
struct kstate {
    int64_t count, sum;
    char *note; /* heap-allocated: destroy must free it */
};

struct kcount {
    const mf_host *host;
    mf_node *node;
    mf_host fake; /* the host, but with the worker index of the test */
    mf_keyed *k;
};

static int g_worker, g_workers = 1, g_destroyed;

static int fake_worker(const mf_node *node, int *count)
{
    (void)node;
    if (count)
        *count = g_workers;
    return g_worker;
}

static void st_destroy(void *arg, void *state)
{
    (void)arg;
    struct kstate *s = state;
    free(s->note);
    g_destroyed++;
}

static int st_save(void *arg, const void *state, mf_buffer *out)
{
    struct kcount *c = arg;
    const struct kstate *s = state;
    uint32_t note_len = s->note ? (uint32_t)strlen(s->note) : 0;
    c->host->buffer_append(out, &s->count, sizeof s->count);
    c->host->buffer_append(out, &s->sum, sizeof s->sum);
    c->host->buffer_append(out, &note_len, sizeof note_len);
    if (note_len)
        c->host->buffer_append(out, s->note, note_len);
    return MF_OK;
}

static int st_load(void *arg, void *state, const uint8_t *data, size_t len)
{
    (void)arg;
    struct kstate *s = state;
    uint32_t note_len;
    if (len < 20)
        return MF_FATAL;
    memcpy(&s->count, data, 8);
    memcpy(&s->sum, data + 8, 8);
    memcpy(&note_len, data + 16, 4);
    if (len != 20 + (size_t)note_len)
        return MF_FATAL;
    if (note_len) {
        s->note = strndup((const char *)data + 20, note_len);
        if (strcmp(s->note, "BAD") == 0)
            return MF_FATAL; /* a state this version refuses: destroy frees the note */
    }
    return MF_OK;
}

static const mf_keyed_ops kstate_ops = {
    .state_size = sizeof(struct kstate), .destroy = st_destroy, .save = st_save, .load = st_load};

static int kc_init(void *ctx, mf_node *node, const mf_host *host)
{
    struct kcount *c = ctx;
    c->host = host;
    c->node = node;
    c->fake = *host;
    c->fake.worker = fake_worker;
    c->k = mf_keyed_new(&c->fake, node, &kstate_ops, c);
    return MF_OK;
}

static void kc_free(void *ctx)
{
    struct kcount *c = ctx;
    mf_keyed_free(c->k);
}

static int emit_state(struct kcount *c, struct kstate *s)
{
    size_t klen;
    const uint8_t *key = mf_keyed_key(c->k, s, &klen);
    char text[128];
    int n = snprintf(text, sizeof text, "%.*s=%" PRId64 "/%" PRId64, (int)klen, (const char *)key, s->count, s->sum);
    mf_record out = {.key = key, .key_len = (uint32_t)klen, .value = (const uint8_t *)text,
                     .value_len = (uint32_t)n, .time_ms = MF_TIME_UNSET};
    return c->host->emit(c->node, MF_PORT_DEFAULT, &out, mf_keyed_ack_group(c->k, s));
}

static int kc_process(void *ctx, mf_batch *batch)
{
    struct kcount *c = ctx;
    for (size_t i = 0; i < batch->count; i++) {
        mf_record *r = &batch->records[i];
        size_t len;
        const char *cmd = (const char *)c->host->record_value(c->node, r, &len);
        struct kstate *s = mf_keyed_get_or_create(c->k, r->key, r->key_len, NULL);
        if (strncmp(cmd, "add ", 4) == 0) {
            s->count++;
            s->sum += strtoll(cmd + 4, NULL, 10);
            mf_keyed_absorb(c->k, s, r);
        } else if (strncmp(cmd, "emit", len) == 0) {
            emit_state(c, s);
        } else if (strncmp(cmd, "release", len) == 0) {
            emit_state(c, s);
            mf_keyed_ack_release(c->k, s);
        } else if (strncmp(cmd, "close", len) == 0) {
            mf_keyed_absorb(c->k, s, r);
            emit_state(c, s);
            mf_keyed_remove(c->k, s);
        } else if (strncmp(cmd, "drop", len) == 0) {
            mf_keyed_remove(c->k, s);
        }
    }
    return MF_OK;
}

static int kc_snapshot(void *ctx, uint64_t id, mf_buffer *out)
{
    (void)id;
    return mf_keyed_snapshot(((struct kcount *)ctx)->k, out);
}

static int kc_restore(void *ctx, const uint8_t *data, size_t len)
{
    return mf_keyed_restore(((struct kcount *)ctx)->k, data, len);
}

static const mf_plugin_desc kcount_desc = {
    MF_PLUGIN_HEADER,
    .kind = MF_KIND_TRANSFORM,
    .name = "kcount",
    .version = "1.0.0",
    .description = "keyed-state test transform",
    .ctx_size = sizeof(struct kcount),
    .init = kc_init,
    .free = kc_free,
    .process = kc_process,
    .snapshot = kc_snapshot,
    .restore = kc_restore,
};

static mfh *open_kcount(int worker, int workers)
{
    g_worker = worker;
    g_workers = workers;
    char *err = NULL;
    mfh *h = mfh_open_desc(&kcount_desc, NULL, &err);
    if (!h)
        fprintf(stderr, "\n%s\n", err);
    free(err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    CU_ASSERT_EQUAL_FATAL(mfh_init(h), MF_OK);
    return h;
}

static mf_keyed *keyed_of(mfh *h)
{
    return ((struct kcount *)mfh_ctx(h))->k;
}

static struct kstate *put_key(mf_keyed *k, const char *key, int64_t count, int64_t sum, const char *note)
{
    bool created = false;
    struct kstate *s = mf_keyed_get_or_create(k, key, strlen(key), &created);
    CU_ASSERT(created);
    s->count = count;
    s->sum = sum;
    s->note = note ? strdup(note) : NULL;
    return s;
}

/* ---- table ------------------------------------------------------------------------------ */

#define N_KEYS 100000

static void test_keyed_many_keys(void)
{
    mfh *h = open_kcount(0, 1);
    mf_keyed *k = keyed_of(h);
    struct kstate **where = calloc(N_KEYS, sizeof *where);
    char key[32];
    for (int i = 0; i < N_KEYS; i++) {
        int n = snprintf(key, sizeof key, "acme:%d", i);
        CU_ASSERT_PTR_NULL(mf_keyed_get(k, key, (size_t)n)); /* get never creates */
        bool created = false;
        where[i] = mf_keyed_get_or_create(k, key, (size_t)n, &created);
        CU_ASSERT(created);
        CU_ASSERT_EQUAL(where[i]->count, 0); /* zeroed */
        where[i]->count = i;
    }
    CU_ASSERT_EQUAL(mf_keyed_count(k), N_KEYS);
    /* states never move while the table grows; keys are kept */
    bool all = true;
    for (int i = 0; i < N_KEYS; i++) {
        int n = snprintf(key, sizeof key, "acme:%d", i);
        bool created = true;
        struct kstate *s = mf_keyed_get_or_create(k, key, (size_t)n, &created);
        size_t klen;
        const uint8_t *kb = mf_keyed_key(k, s, &klen);
        all = all && !created && s == where[i] && s->count == i && klen == (size_t)n && memcmp(kb, key, klen) == 0 &&
              mf_keyed_key_group(k, s) == mf_key_group(key, (size_t)n);
    }
    CU_ASSERT(all);
    /* remove every other key (backward-shift deletion), the rest stay found */
    for (int i = 0; i < N_KEYS; i += 2)
        mf_keyed_remove(k, where[i]);
    CU_ASSERT_EQUAL(mf_keyed_count(k), N_KEYS / 2);
    all = true;
    for (int i = 0; i < N_KEYS; i++) {
        int n = snprintf(key, sizeof key, "acme:%d", i);
        struct kstate *s = mf_keyed_get(k, key, (size_t)n);
        all = all && (i % 2 == 0 ? s == NULL : s == where[i]);
    }
    CU_ASSERT(all);
    /* churn: re-create the removed half */
    for (int i = 0; i < N_KEYS; i += 2) {
        int n = snprintf(key, sizeof key, "acme:%d", i);
        where[i] = mf_keyed_get_or_create(k, key, (size_t)n, NULL);
        where[i]->count = i;
    }
    all = true;
    for (int i = 0; i < N_KEYS; i++) {
        int n = snprintf(key, sizeof key, "acme:%d", i);
        struct kstate *s = mf_keyed_get(k, key, (size_t)n);
        all = all && s == where[i] && s->count == i;
    }
    CU_ASSERT(all);
    /* empty keys and keys that differ only after a NUL are keys too */
    struct kstate *e0 = mf_keyed_get_or_create(k, NULL, 0, NULL);
    struct kstate *e1 = mf_keyed_get_or_create(k, "a\0b", 3, NULL);
    struct kstate *e2 = mf_keyed_get_or_create(k, "a", 1, NULL);
    CU_ASSERT(e0 != e1 && e1 != e2 && e0 != e2);
    CU_ASSERT_PTR_EQUAL(mf_keyed_get(k, "", 0), e0);
    CU_ASSERT_EQUAL(mf_keyed_count(k), N_KEYS + 3);
    g_destroyed = 0;
    mf_keyed_clear(k);
    CU_ASSERT_EQUAL(g_destroyed, N_KEYS + 3);
    CU_ASSERT_EQUAL(mf_keyed_count(k), 0);
    CU_ASSERT_PTR_NULL(mf_keyed_get(k, "acme:1", 6));
    free(where);
    mfh_close(h);
}

/* ---- timers ---------------------------------------------------------------------------- */

struct fired {
    mf_keyed *k;
    char log[4096];
    int remove_on; /* remove the key when this timer id fires */
    int rearm;     /* timer id 7 sets timer 8 this much later */
};

static int on_timer(void *arg, void *state, uint32_t id, int64_t time_ms)
{
    struct fired *f = arg;
    size_t klen;
    const uint8_t *key = mf_keyed_key(f->k, state, &klen);
    size_t at = strlen(f->log);
    snprintf(f->log + at, sizeof f->log - at, "%s%.*s/%u@%" PRId64, at ? " " : "", (int)klen, (const char *)key, id,
             time_ms);
    CU_ASSERT_EQUAL(mf_keyed_timer_get(f->k, state, id), MF_TIME_UNSET); /* unset before the call */
    if (id == 7)
        mf_keyed_timer_set(f->k, state, 8, time_ms + f->rearm);
    if (f->remove_on && (int)id == f->remove_on)
        mf_keyed_remove(f->k, state);
    return MF_OK;
}

static void test_keyed_timers_order(void)
{
    mfh *h = open_kcount(0, 1);
    mf_keyed *k = keyed_of(h);
    struct fired f = {.k = k};
    CU_ASSERT_EQUAL(mf_keyed_next_timer(k), MF_TIME_UNSET);
    CU_ASSERT_EQUAL(mf_keyed_watermark(k), MF_TIME_UNSET);
    struct kstate *b = put_key(k, "b", 0, 0, NULL), *a = put_key(k, "a", 0, 0, NULL);
    struct kstate *c = put_key(k, "c", 0, 0, NULL), *ab = put_key(k, "ab", 0, 0, NULL);
    mf_keyed_timer_set(k, b, 1, 100);
    mf_keyed_timer_set(k, a, 2, 100);
    mf_keyed_timer_set(k, ab, 1, 100);
    mf_keyed_timer_set(k, a, 1, 100);
    mf_keyed_timer_set(k, c, 1, 50);
    mf_keyed_timer_set(k, b, 2, 200);
    mf_keyed_timer_set(k, c, 1, 150); /* replaces c/1 */
    CU_ASSERT_EQUAL(mf_keyed_timer_count(k), 6); /* c/1 was replaced, not added */
    CU_ASSERT_TRUE(mf_keyed_timer_cancel(k, b, 2));
    CU_ASSERT_FALSE(mf_keyed_timer_cancel(k, b, 2));
    CU_ASSERT_EQUAL(mf_keyed_timer_get(k, c, 1), 150);
    CU_ASSERT_EQUAL(mf_keyed_next_timer(k), 100);

    CU_ASSERT_EQUAL(mf_keyed_advance(k, 99, on_timer, &f), MF_OK);
    CU_ASSERT_STRING_EQUAL(f.log, "");
    CU_ASSERT_EQUAL(mf_keyed_advance(k, 100, on_timer, &f), MF_OK);
    /* equal times: by key bytes ("a" < "ab" < "b"), then id */
    CU_ASSERT_STRING_EQUAL(f.log, "a/1@100 a/2@100 ab/1@100 b/1@100");
    /* a lower watermark keeps the current one; a timer set in the past fires next */
    f.log[0] = 0;
    mf_keyed_timer_set(k, a, 3, 90);
    CU_ASSERT_EQUAL(mf_keyed_advance(k, 10, on_timer, &f), MF_OK);
    CU_ASSERT_EQUAL(mf_keyed_watermark(k), 100);
    CU_ASSERT_STRING_EQUAL(f.log, "a/3@90");
    /* a timer set from a callback at or before the watermark fires in the same call;
     * removing a key from a callback cancels its other timers */
    f.log[0] = 0;
    f.rearm = 5;
    f.remove_on = 9;
    mf_keyed_timer_set(k, b, 7, 140);
    mf_keyed_timer_set(k, ab, 9, 145);
    mf_keyed_timer_set(k, ab, 10, 146);
    CU_ASSERT_EQUAL(mf_keyed_advance(k, 1000, on_timer, &f), MF_OK);
    CU_ASSERT_STRING_EQUAL(f.log, "b/7@140 ab/9@145 b/8@145 c/1@150");
    CU_ASSERT_PTR_NULL(mf_keyed_get(k, "ab", 2));
    CU_ASSERT_EQUAL(mf_keyed_timer_count(k), 0);
    CU_ASSERT_EQUAL(mf_keyed_next_timer(k), MF_TIME_UNSET);
    mf_keyed_advance(k, 1000, on_timer, &f); /* publishes the gauges */
    CU_ASSERT_EQUAL(mfh_metric(h, "martflow_keyed_timers_fired_total"), 9);
    CU_ASSERT_EQUAL(mfh_metric(h, "martflow_keyed_keys"), 3);
    CU_ASSERT_EQUAL(mfh_metric(h, "martflow_keyed_timers"), 0);
    mfh_close(h);
}

/* The heap against a brute-force model: random sets, replacements and
 * cancels over many keys; every live timer fires once, in (time, key, id)
 * order, whatever order they were set in. */
struct model_fire {
    struct kstate *last;
    int64_t last_time;
    uint32_t last_id;
    int64_t fired;
    bool ordered;
    mf_keyed *k;
};

static int on_model(void *arg, void *state, uint32_t id, int64_t time_ms)
{
    struct model_fire *m = arg;
    struct kstate *s = state;
    if (m->last) {
        size_t la, lb;
        const uint8_t *ka = mf_keyed_key(m->k, m->last, &la), *kb = mf_keyed_key(m->k, s, &lb);
        int c = memcmp(ka, kb, la < lb ? la : lb);
        if (!c)
            c = la < lb ? -1 : la > lb;
        bool after = time_ms > m->last_time || (time_ms == m->last_time && (c < 0 || (c == 0 && id > m->last_id)));
        m->ordered = m->ordered && after;
    }
    m->last = s;
    m->last_time = time_ms;
    m->last_id = id;
    CU_ASSERT_EQUAL(s->sum & (1ll << id), 1ll << id); /* a live timer */
    s->sum &= ~(1ll << id);
    m->fired++;
    return MF_OK;
}

static void test_keyed_timers_model(void)
{
    mfh *h = open_kcount(0, 1);
    mf_keyed *k = keyed_of(h);
    enum { KEYS = 500, OPS = 20000 };
    struct kstate *st[KEYS];
    char key[16];
    for (int i = 0; i < KEYS; i++) {
        snprintf(key, sizeof key, "k%d", i);
        st[i] = put_key(k, key, 0, 0, NULL); /* sum: bit per live timer id */
    }
    rng_state = 12345;
    int64_t live = 0;
    for (int i = 0; i < OPS; i++) {
        struct kstate *s = st[rng() % KEYS];
        uint32_t id = (uint32_t)(rng() % 8);
        if (rng() % 4 == 0) {
            bool was = (s->sum >> id) & 1;
            CU_ASSERT_EQUAL(mf_keyed_timer_cancel(k, s, id), was);
            live -= was;
            s->sum &= ~(1ll << id);
        } else {
            live += !((s->sum >> id) & 1);
            s->sum |= 1ll << id;
            mf_keyed_timer_set(k, s, id, (int64_t)(rng() % 300)); /* many equal times */
        }
    }
    CU_ASSERT_EQUAL(mf_keyed_timer_count(k), (size_t)live);
    struct model_fire m = {.ordered = true, .k = k, .last_time = INT64_MIN};
    for (int64_t wm = 0; wm < 300; wm += 37)
        mf_keyed_advance(k, wm, on_model, &m);
    mf_keyed_advance(k, 300, on_model, &m);
    CU_ASSERT(m.ordered);
    CU_ASSERT_EQUAL(m.fired, live);
    CU_ASSERT_EQUAL(mf_keyed_timer_count(k), 0);
    bool none_left = true;
    for (int i = 0; i < KEYS; i++)
        none_left = none_left && st[i]->sum == 0;
    CU_ASSERT(none_left);
    mfh_close(h);
}

/* ---- acknowledgement holding ---------------------------------------------------------- */

static void test_keyed_ack_holding(void)
{
    mfh *h = open_kcount(0, 1);
    mfh_push(h, "A", "add 1"); /* 0 */
    mfh_push(h, "A", "add 2"); /* 1 */
    mfh_push(h, "B", "add 3"); /* 2 */
    CU_ASSERT_EQUAL(mfh_process(h), MF_OK);
    for (size_t i = 0; i < 3; i++)
        CU_ASSERT_FALSE(mfh_input_acked(h, i)); /* absorbed: held */

    /* an output derived from A while A keeps its state: A's inputs stay held
     * even once the output is handled */
    mfh_push(h, "A", "emit"); /* 3: not absorbed, handled at once */
    CU_ASSERT_EQUAL(mfh_process(h), MF_OK);
    CU_ASSERT_EQUAL_FATAL(mfh_count(h, "default"), 1);
    CU_ASSERT_STRING_EQUAL(mfh_value(h, "default", 0), "A=2/3");
    CU_ASSERT_TRUE(mfh_input_acked(h, 3));
    mfh_consume(h);
    CU_ASSERT_FALSE(mfh_input_acked(h, 0));
    CU_ASSERT_FALSE(mfh_input_acked(h, 1));

    /* A closes: its inputs are acknowledged when the final output is, not before */
    mfh_push(h, "A", "add 4"); /* 4 */
    mfh_push(h, "A", "close"); /* 5 */
    CU_ASSERT_EQUAL(mfh_process(h), MF_OK);
    CU_ASSERT_EQUAL_FATAL(mfh_count(h, "default"), 1);
    CU_ASSERT_STRING_EQUAL(mfh_value(h, "default", 0), "A=3/7");
    CU_ASSERT_PTR_NULL(mf_keyed_get(keyed_of(h), "A", 1));
    for (size_t i = 0; i < 6; i++)
        if (i != 3)
            CU_ASSERT_FALSE(mfh_input_acked(h, i));
    mfh_consume(h);
    CU_ASSERT_TRUE(mfh_input_acked(h, 0));
    CU_ASSERT_TRUE(mfh_input_acked(h, 1));
    CU_ASSERT_TRUE(mfh_input_acked(h, 4));
    CU_ASSERT_TRUE(mfh_input_acked(h, 5));
    CU_ASSERT_FALSE(mfh_input_acked(h, 2)); /* B untouched */

    /* release keeps the key: what it absorbed so far is acknowledged with the
     * output; what it absorbs next goes into a new group */
    mfh_push(h, "B", "release"); /* 6 */
    mfh_push(h, "B", "add 5");   /* 7 */
    CU_ASSERT_EQUAL(mfh_process(h), MF_OK);
    CU_ASSERT_FALSE(mfh_input_acked(h, 2));
    mfh_consume(h);
    CU_ASSERT_TRUE(mfh_input_acked(h, 2));
    CU_ASSERT_FALSE(mfh_input_acked(h, 7));

    /* removing a key with nothing emitted acknowledges its inputs at once */
    mfh_push(h, "B", "drop"); /* 8 */
    CU_ASSERT_EQUAL(mfh_process(h), MF_OK);
    CU_ASSERT_TRUE(mfh_input_acked(h, 7));
    CU_ASSERT_EQUAL(mfh_count(h, "default"), 0);

    /* open state when the keyed state goes away */
    mfh_push(h, "C", "add 1"); /* 9 */
    mfh_push(h, "D", "add 1"); /* 10 */
    CU_ASSERT_EQUAL(mfh_process(h), MF_OK);
    /* freeing the keyed state acknowledges nothing: open state is replayed */
    struct kcount *c = mfh_ctx(h);
    mf_keyed_free(c->k);
    c->k = NULL;
    CU_ASSERT_FALSE(mfh_input_acked(h, 9));
    CU_ASSERT_FALSE(mfh_input_acked(h, 10));
    mfh_close(h); /* the harness frees the abandoned tokens (ASan: no leak) */
}

/* With a checkpoint store: a snapshot sets the pending groups aside for its
 * checkpoint; commit(N) releases those of N and earlier, while the keys stay
 * open; a key's later inputs wait for a later checkpoint. */
static void test_keyed_ack_checkpoint(void)
{
    mfh *h = open_kcount(0, 1);
    struct kcount *c = mfh_ctx(h);
    mfh_push(h, "A", "add 1"); /* 0 */
    mfh_push(h, "B", "add 2"); /* 1 */
    CU_ASSERT_EQUAL(mfh_process(h), MF_OK);
    mf_buffer snap = {0};
    CU_ASSERT_EQUAL(mf_keyed_snapshot_checkpoint(c->k, 1, &snap), MF_OK);
    CU_ASSERT(snap.len > 0);
    mfh_push(h, "A", "add 3"); /* 2: after snapshot 1 */
    CU_ASSERT_EQUAL(mfh_process(h), MF_OK);
    mf_keyed_checkpoint(c->k, 2);
    mfh_push(h, "A", "add 4"); /* 3: after snapshot 2 */
    CU_ASSERT_EQUAL(mfh_process(h), MF_OK);
    for (size_t i = 0; i < 4; i++)
        CU_ASSERT_FALSE(mfh_input_acked(h, i)); /* nothing committed yet */
    mf_keyed_commit(c->k, 1);
    CU_ASSERT_TRUE(mfh_input_acked(h, 0));
    CU_ASSERT_TRUE(mfh_input_acked(h, 1));
    CU_ASSERT_FALSE(mfh_input_acked(h, 2));
    CU_ASSERT_PTR_NOT_NULL(mf_keyed_get(c->k, "A", 1)); /* the keys stay open */
    CU_ASSERT_PTR_NOT_NULL(mf_keyed_get(c->k, "B", 1));
    /* checkpoint 3 failed, 4 never taken: commit(4) covers 2 and 3 */
    mf_keyed_checkpoint(c->k, 3);
    mf_keyed_commit(c->k, 4);
    CU_ASSERT_TRUE(mfh_input_acked(h, 2));
    CU_ASSERT_TRUE(mfh_input_acked(h, 3));
    /* an output emitted before the checkpoint holds the inputs until handled */
    mfh_push(h, "B", "add 5"); /* 4 */
    mfh_push(h, "B", "emit");  /* 5 */
    CU_ASSERT_EQUAL(mfh_process(h), MF_OK);
    mf_keyed_checkpoint(c->k, 5);
    mf_keyed_commit(c->k, 5);
    CU_ASSERT_FALSE(mfh_input_acked(h, 4));
    mfh_consume(h);
    CU_ASSERT_TRUE(mfh_input_acked(h, 4));
    mf_buffer_free(&snap);
    mfh_close(h);
}

/* ---- snapshots ----------------------------------------------------------------------------- */

static void fill(mf_keyed *k, int n)
{
    char key[32], note[32];
    for (int i = 0; i < n; i++) {
        snprintf(key, sizeof key, "acme:call-%d", i);
        snprintf(note, sizeof note, "note %d", i);
        struct kstate *s = put_key(k, key, i, 3 * i, i % 3 ? note : NULL);
        if (i % 2)
            mf_keyed_timer_set(k, s, 1, 1000 + i);
        if (i % 5 == 0)
            mf_keyed_timer_set(k, s, 4, 2000 - i);
    }
}

/* Every key of `from` is in `to` with the same state and timers. */
static bool same_keys(mf_keyed *from, mf_keyed *to, int n, int *found)
{
    char key[32];
    bool ok = true;
    for (int i = 0; i < n; i++) {
        int len = snprintf(key, sizeof key, "acme:call-%d", i);
        struct kstate *a = mf_keyed_get(from, key, (size_t)len), *b = mf_keyed_get(to, key, (size_t)len);
        if (!a || !b)
            continue;
        (*found)++;
        ok = ok && a->count == b->count && a->sum == b->sum && (a->note ? b->note && !strcmp(a->note, b->note) : !b->note);
        for (uint32_t id = 0; id < 6; id++)
            ok = ok && mf_keyed_timer_get(from, a, id) == mf_keyed_timer_get(to, b, id);
    }
    return ok;
}

static void test_keyed_snapshot_roundtrip(void)
{
    mfh *h1 = open_kcount(0, 1);
    mf_keyed *k1 = keyed_of(h1);
    fill(k1, 1000);
    CU_ASSERT_EQUAL(mf_keyed_advance(k1, 500, on_timer, &(struct fired){.k = k1}), MF_OK);
    mf_buffer snap = {0};
    CU_ASSERT_EQUAL_FATAL(mfh_snapshot(h1, 1, &snap), MF_OK);

    mfh *h2 = open_kcount(0, 1);
    mf_keyed *k2 = keyed_of(h2);
    CU_ASSERT_EQUAL_FATAL(mfh_restore(h2, snap.data, snap.len), MF_OK);
    CU_ASSERT_EQUAL(mf_keyed_count(k2), 1000);
    CU_ASSERT_EQUAL(mf_keyed_timer_count(k2), mf_keyed_timer_count(k1));
    CU_ASSERT_EQUAL(mf_keyed_watermark(k2), 500);
    int found = 0;
    CU_ASSERT(same_keys(k1, k2, 1000, &found));
    CU_ASSERT_EQUAL(found, 1000);
    /* deterministic: the restored state snapshots to the same bytes */
    mf_buffer again = {0};
    CU_ASSERT_EQUAL(mfh_snapshot(h2, 2, &again), MF_OK);
    CU_ASSERT(again.len == snap.len && memcmp(again.data, snap.data, snap.len) == 0);
    /* and fires the same timers in the same order */
    struct fired f1 = {.k = k1}, f2 = {.k = k2};
    mf_keyed_advance(k1, 1040, on_timer, &f1);
    mf_keyed_advance(k2, 1040, on_timer, &f2);
    CU_ASSERT_STRING_EQUAL(f1.log, f2.log);
    CU_ASSERT_PTR_NOT_NULL(strstr(f1.log, "acme:call-1/1@1001 acme:call-3/1@1003"));
    /* restoring a key that is already there is refused, nothing changes */
    CU_ASSERT_EQUAL(mfh_restore(h2, snap.data, snap.len), MF_FATAL);
    CU_ASSERT_EQUAL(mf_keyed_count(k2), 1000);
    CU_ASSERT_PTR_NOT_NULL(strstr(mfh_log(h2), "already present"));
    /* an empty keyed state round-trips too */
    mf_buffer empty = {0};
    mfh *h3 = open_kcount(0, 1);
    CU_ASSERT_EQUAL(mfh_snapshot(h3, 1, &empty), MF_OK);
    CU_ASSERT_EQUAL(empty.len, 28);
    CU_ASSERT_EQUAL(mfh_restore(h3, empty.data, empty.len), MF_OK);
    CU_ASSERT_EQUAL(mf_keyed_count(keyed_of(h3)), 0);
    mf_buffer_free(&empty);
    mf_buffer_free(&again);
    mf_buffer_free(&snap);
    mfh_close(h3);
    mfh_close(h2);
    mfh_close(h1);
}

/* Keys crowded into two key groups (more than the snapshot's insertion sort
 * handles, so its qsort too), of different lengths, one a prefix of another:
 * the snapshot lists them by group, then bytes, the shorter first (a restore
 * checks that order and refuses anything else), whatever the order they were
 * added in, and two tables holding them in opposite orders give the same
 * bytes. */
static void test_keyed_snapshot_order(void)
{
    enum { N = 150 };
    static char keys[N][24];
    int n = 0;
    for (int i = 0; n < N; i++) {
        char key[24];
        snprintf(key, sizeof key, i % 2 ? "c%d" : "crowd-%d", i / 2);
        uint32_t g = mf_key_hash(key, strlen(key)) % MF_KEY_GROUPS;
        if (g == 7 || (g == 8 && n % 4 == 0))
            snprintf(keys[n++], sizeof keys[0], "%s", key);
    }
    mfh *h1 = open_kcount(0, 1), *h2 = open_kcount(0, 1);
    mf_keyed *k1 = keyed_of(h1), *k2 = keyed_of(h2);
    for (int i = 0; i < N; i++) {
        put_key(k1, keys[i], i, 0, NULL);
        put_key(k2, keys[N - 1 - i], N - 1 - i, 0, NULL);
    }
    put_key(k1, "crowd", -1, 0, NULL); /* wherever its group is */
    put_key(k2, "crowd", -1, 0, NULL);
    mf_buffer a = {0}, b = {0};
    CU_ASSERT_EQUAL_FATAL(mfh_snapshot(h1, 1, &a), MF_OK);
    CU_ASSERT_EQUAL_FATAL(mfh_snapshot(h2, 1, &b), MF_OK);
    CU_ASSERT(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
    /* the sections (group, keys, bytes: 16 bytes, then the keys) after the
     * 24-byte header: group 7's holds its n7 keys (more than 32) */
    uint32_t n7 = 0, seen7 = 0;
    for (int i = 0; i < N; i++)
        n7 += mf_key_hash(keys[i], strlen(keys[i])) % MF_KEY_GROUPS == 7;
    CU_ASSERT(n7 > 32);
    for (const uint8_t *p = a.data + 24; p + 16 <= a.data + a.len - 4;) {
        uint32_t kg, nk;
        uint64_t bytes;
        memcpy(&kg, p, 4); /* little-endian hosts: the format is little-endian */
        memcpy(&nk, p + 4, 4);
        memcpy(&bytes, p + 8, 8);
        if (kg == 7)
            seen7 = nk;
        p += 16 + bytes;
    }
    CU_ASSERT_EQUAL(seen7, n7);
    mfh *h3 = open_kcount(0, 1);
    CU_ASSERT_EQUAL_FATAL(mfh_restore(h3, a.data, a.len), MF_OK); /* refuses keys out of order */
    CU_ASSERT_EQUAL(mf_keyed_count(keyed_of(h3)), N + 1);
    mf_buffer c = {0};
    CU_ASSERT_EQUAL(mfh_snapshot(h3, 2, &c), MF_OK);
    CU_ASSERT(c.len == a.len && memcmp(c.data, a.data, a.len) == 0);
    mf_buffer_free(&c);
    mf_buffer_free(&b);
    mf_buffer_free(&a);
    mfh_close(h3);
    mfh_close(h2);
    mfh_close(h1);
}

/* Scale out 1 -> 2 -> 3 workers and back to 1: every key lands on exactly
 * the worker owning its key group, none lost, none doubled. */
static void test_keyed_restore_rescale(void)
{
    enum { N = 2000 };
    mfh *h1 = open_kcount(0, 1);
    fill(keyed_of(h1), N);
    mf_keyed_advance(keyed_of(h1), 700, on_timer, &(struct fired){.k = keyed_of(h1)});
    mf_buffer snap = {0};
    CU_ASSERT_EQUAL_FATAL(mfh_snapshot(h1, 1, &snap), MF_OK);

    mfh *two[2];
    mf_buffer part[2] = {{0}};
    int found = 0;
    size_t total = 0;
    for (int w = 0; w < 2; w++) {
        two[w] = open_kcount(w, 2);
        mf_keyed *k = keyed_of(two[w]);
        CU_ASSERT_EQUAL_FATAL(mfh_restore(two[w], snap.data, snap.len), MF_OK);
        CU_ASSERT(mf_keyed_count(k) > N / 3);
        total += mf_keyed_count(k);
        CU_ASSERT(same_keys(keyed_of(h1), k, N, &found));
        uint32_t first, last;
        mf_key_group_range(w, 2, &first, &last);
        bool owned = true;
        char key[32];
        for (int i = 0; i < N; i++) {
            int len = snprintf(key, sizeof key, "acme:call-%d", i);
            uint32_t kg = mf_key_group(key, (size_t)len);
            owned = owned && (mf_keyed_get(k, key, (size_t)len) != NULL) == (kg >= first && kg <= last);
        }
        CU_ASSERT(owned);
        CU_ASSERT_EQUAL(mf_keyed_watermark(k), 700);
        CU_ASSERT_EQUAL(mfh_snapshot(two[w], 2, &part[w]), MF_OK);
    }
    CU_ASSERT_EQUAL(total, N);
    CU_ASSERT_EQUAL(found, N); /* each key found exactly once over the workers */

    /* 2 -> 3: each new worker restores both old snapshots */
    total = 0;
    found = 0;
    for (int w = 0; w < 3; w++) {
        mfh *h = open_kcount(w, 3);
        CU_ASSERT_EQUAL(mfh_restore(h, part[0].data, part[0].len), MF_OK);
        CU_ASSERT_EQUAL(mfh_restore(h, part[1].data, part[1].len), MF_OK);
        total += mf_keyed_count(keyed_of(h));
        CU_ASSERT(same_keys(keyed_of(h1), keyed_of(h), N, &found));
        mfh_close(h);
    }
    CU_ASSERT_EQUAL(total, N);
    CU_ASSERT_EQUAL(found, N);

    /* 2 -> 1: the merged state is the original, byte for byte */
    mfh *one = open_kcount(0, 1);
    CU_ASSERT_EQUAL(mfh_restore(one, part[1].data, part[1].len), MF_OK);
    CU_ASSERT_EQUAL(mfh_restore(one, part[0].data, part[0].len), MF_OK);
    mf_buffer merged = {0};
    CU_ASSERT_EQUAL(mfh_snapshot(one, 4, &merged), MF_OK);
    CU_ASSERT(merged.len == snap.len && memcmp(merged.data, snap.data, snap.len) == 0);
    mfh_close(one);

    /* parts at different watermarks: the lowest wins, whatever the order */
    mf_keyed_advance(keyed_of(two[1]), 900, on_timer, &(struct fired){.k = keyed_of(two[1])});
    mf_buffer_reset(&part[1]);
    CU_ASSERT_EQUAL(mfh_snapshot(two[1], 3, &part[1]), MF_OK);
    one = open_kcount(0, 1);
    CU_ASSERT_EQUAL(mfh_restore(one, part[1].data, part[1].len), MF_OK);
    CU_ASSERT_EQUAL(mf_keyed_watermark(keyed_of(one)), 900);
    CU_ASSERT_EQUAL(mfh_restore(one, part[0].data, part[0].len), MF_OK);
    CU_ASSERT_EQUAL(mf_keyed_watermark(keyed_of(one)), 700);
    CU_ASSERT_EQUAL(mf_keyed_count(keyed_of(one)), N);
    mf_buffer_free(&merged);
    mfh_close(one);
    for (int w = 0; w < 2; w++) {
        mf_buffer_free(&part[w]);
        mfh_close(two[w]);
    }
    mf_buffer_free(&snap);
    mfh_close(h1);
}

/* ---- malformed snapshots ------------------------------------------------------------------ */

/* CRC-32C bit by bit: an independent check of the format's checksum. */
static uint32_t crc32c_bitwise(const uint8_t *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int b = 0; b < 8; b++)
            c = (c >> 1) ^ (0x82f63b78u & (0u - (c & 1)));
    }
    return ~c;
}

static void put_le(uint8_t *at, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        at[i] = (uint8_t)(v >> (8 * i));
}

/* Edit a copy of snap, fix its checksum, and expect the restore to refuse it
 * with `why` in the log and nothing added. */
static void expect_refused(const mf_buffer *snap, size_t at, uint64_t value, int bytes, const char *why)
{
    uint8_t *copy = malloc(snap->len);
    memcpy(copy, snap->data, snap->len);
    put_le(copy + at, value, bytes);
    put_le(copy + snap->len - 4, crc32c_bitwise(copy, snap->len - 4), 4);
    mfh *h = open_kcount(0, 1);
    CU_ASSERT_EQUAL(mfh_restore(h, copy, snap->len), MF_FATAL);
    CU_ASSERT_EQUAL(mf_keyed_count(keyed_of(h)), 0);
    CU_ASSERT_EQUAL(mf_keyed_timer_count(keyed_of(h)), 0);
    if (!strstr(mfh_log(h), why))
        fprintf(stderr, "\nexpected '%s' in: %s\n", why, mfh_log(h));
    CU_ASSERT_PTR_NOT_NULL(strstr(mfh_log(h), why));
    mfh_close(h);
    free(copy);
}

static void test_keyed_restore_malformed(void)
{
    mfh *h = open_kcount(0, 1);
    mf_keyed *k = keyed_of(h);
    /* two keys of different key groups, one with a timer */
    struct kstate *s = put_key(k, "test", 1, 2, "x");
    mf_keyed_timer_set(k, s, 3, 42);
    put_key(k, "a", 5, 6, NULL);
    mf_buffer snap = {0};
    CU_ASSERT_EQUAL_FATAL(mfh_snapshot(h, 1, &snap), MF_OK);
    /* the documented layout: header, "test" (group 531) before "a" (2482), crc */
    CU_ASSERT_EQUAL_FATAL(snap.len, 24 + (16 + 4 + 4 + 4 + 12 + 4 + 21) + (16 + 4 + 1 + 4 + 4 + 20) + 4);
    CU_ASSERT_EQUAL(memcmp(snap.data, "MFKS\1\0\0\0\0\x10\0\0\2\0\0\0", 16), 0);
    CU_ASSERT_EQUAL(snap.data[24], 531 & 0xff);
    CU_ASSERT_EQUAL(crc32c_bitwise(snap.data, snap.len - 4),
                    (uint32_t)snap.data[snap.len - 4] | (uint32_t)snap.data[snap.len - 3] << 8 |
                        (uint32_t)snap.data[snap.len - 2] << 16 | (uint32_t)snap.data[snap.len - 1] << 24);

    /* every truncation and every flipped byte is refused, nothing is added */
    mfh *r = open_kcount(0, 1);
    bool refused = true;
    for (size_t len = 0; len < snap.len; len++)
        refused = refused && mfh_restore(r, snap.data, len) == MF_FATAL;
    uint8_t *copy = malloc(snap.len);
    for (size_t i = 0; i < snap.len; i++) {
        memcpy(copy, snap.data, snap.len);
        copy[i] ^= 0x5a;
        refused = refused && mfh_restore(r, copy, snap.len) == MF_FATAL;
    }
    CU_ASSERT(refused);
    CU_ASSERT_EQUAL(mf_keyed_count(keyed_of(r)), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(mfh_log(r), "checksum mismatch"));
    CU_ASSERT_PTR_NOT_NULL(strstr(mfh_log(r), "truncated header"));
    CU_ASSERT_EQUAL(mfh_restore(r, NULL, 0), MF_FATAL);
    CU_ASSERT_EQUAL(mfh_restore(r, snap.data, snap.len), MF_OK); /* the intact bytes still do */
    CU_ASSERT_EQUAL(mf_keyed_count(keyed_of(r)), 2);
    mfh_close(r);
    free(copy);

    /* well-checksummed but wrong structure */
    size_t sec1 = 24, key1 = sec1 + 16, sec2 = key1 + 4 + 4 + 4 + 12 + 4 + 21;
    expect_refused(&snap, 0, 'X', 1, "not a keyed-state snapshot");
    expect_refused(&snap, 4, 2, 2, "format version 2; this build reads version 1");
    expect_refused(&snap, 6, 1, 2, "unknown flags");
    expect_refused(&snap, 8, 8192, 4, "written with 8192 key groups");
    expect_refused(&snap, 12, 3, 4, "truncated section");
    expect_refused(&snap, 12, 1, 4, "bytes after the last section");
    expect_refused(&snap, sec1, 532, 4, "not in the key group of its section");
    expect_refused(&snap, sec2, 531, 4, "key groups out of order");
    expect_refused(&snap, sec2, MF_KEY_GROUPS, 4, "key groups out of order");
    expect_refused(&snap, sec1 + 4, 0, 4, "an empty section");
    expect_refused(&snap, sec1 + 4, 2, 4, "truncated key");
    expect_refused(&snap, sec1 + 8, 1000, 8, "truncated section");
    expect_refused(&snap, sec1 + 8, 10, 8, "truncated");
    expect_refused(&snap, key1, 0xffffffffu, 4, "truncated key");
    expect_refused(&snap, key1 + 8, 1000, 4, "truncated timers");
    expect_refused(&snap, key1 + 8 + 4 + 12, 0xfffffff0u, 4, "truncated state");
    expect_refused(&snap, key1 + 8 + 4 + 12, 3, 4, "does not match its keys");
    expect_refused(&snap, key1 + 8 + 4 + 12 + 4 + 16, 5, 4, "load callback refused"); /* note length */
    mf_buffer_free(&snap);

    /* timer ids must ascend: header, section, key "t2", timer count, 1@10, 2@20 */
    mf_keyed_clear(k);
    struct kstate *t2 = put_key(k, "t2", 0, 0, NULL);
    mf_keyed_timer_set(k, t2, 2, 20);
    mf_keyed_timer_set(k, t2, 1, 10);
    CU_ASSERT_EQUAL_FATAL(mfh_snapshot(h, 3, &snap), MF_OK);
    CU_ASSERT_EQUAL(snap.data[24 + 16 + 4 + 2 + 4], 1);
    expect_refused(&snap, 24 + 16 + 4 + 2 + 4 + 12, 1, 4, "timer ids out of order");
    mf_buffer_free(&snap);

    /* the load callback refusing one key adds none of them (and frees both) */
    mf_keyed_clear(k);
    put_key(k, "test", 1, 2, "fine");
    put_key(k, "a", 1, 2, "BAD");
    mf_buffer bad = {0};
    CU_ASSERT_EQUAL_FATAL(mfh_snapshot(h, 2, &bad), MF_OK);
    mfh *r2 = open_kcount(0, 1);
    g_destroyed = 0;
    CU_ASSERT_EQUAL(mfh_restore(r2, bad.data, bad.len), MF_FATAL);
    CU_ASSERT_EQUAL(g_destroyed, 2);
    CU_ASSERT_EQUAL(mf_keyed_count(keyed_of(r2)), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(mfh_log(r2), "load callback refused"));
    mfh_close(r2);
    mf_buffer_free(&bad);
    mfh_close(h);
}

/* A key created on a worker that does not own its group is counted. */
static void test_keyed_misrouted(void)
{
    mfh *h = open_kcount(1, 2); /* owns groups 2048..4095 */
    mf_keyed *k = keyed_of(h);
    mf_keyed_get_or_create(k, "a", 1, NULL);    /* group 2482: owned */
    mf_keyed_get_or_create(k, "test", 4, NULL); /* group 531: not */
    mf_keyed_get_or_create(k, "test", 4, NULL); /* existing: not counted again */
    CU_ASSERT_EQUAL(mfh_metric(h, "martflow_keyed_misrouted_total"), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(mfh_log(h), "key group 531 reached a worker owning groups 2048..4095"));
    mfh_close(h);
}

static int each_close(void *arg, void *state)
{
    struct fired *f = arg;
    size_t klen;
    const uint8_t *key = mf_keyed_key(f->k, state, &klen);
    size_t at = strlen(f->log);
    snprintf(f->log + at, sizeof f->log - at, "%s%.*s", at ? " " : "", (int)klen, (const char *)key);
    mf_keyed_remove(f->k, state); /* allowed: the key given */
    return klen == 4 ? MF_FATAL : MF_OK;
}

static void test_keyed_each(void)
{
    mfh *h = open_kcount(0, 1);
    mf_keyed *k = keyed_of(h);
    put_key(k, "a", 0, 0, NULL);    /* group 2482 */
    put_key(k, "test", 0, 0, NULL); /* group 531 */
    put_key(k, "Hello, world!", 0, 0, NULL); /* group 3651 */
    struct fired f = {.k = k};
    /* snapshot order: by key group; a status other than MF_OK stops the walk */
    CU_ASSERT_EQUAL(mf_keyed_each(k, each_close, &f), MF_FATAL);
    CU_ASSERT_STRING_EQUAL(f.log, "test");
    f.log[0] = 0;
    CU_ASSERT_EQUAL(mf_keyed_each(k, each_close, &f), MF_OK);
    CU_ASSERT_STRING_EQUAL(f.log, "a Hello, world!");
    CU_ASSERT_EQUAL(mf_keyed_count(k), 0);
    mfh_close(h);
}

int main(void)
{
    static const mf_test key_groups[] = {
        {"hash golden values", test_key_hash_golden},
        {"ranges partition the key groups", test_key_group_ranges},
        {"balance over 1..256 workers", test_key_group_balance},
        {NULL, NULL},
    };
    static const mf_test keyed[] = {
        {"100k keys: create, lookup, remove, growth", test_keyed_many_keys},
        {"timers fire in order, ties deterministic", test_keyed_timers_order},
        {"timer heap against a model", test_keyed_timers_model},
        {"inputs acked only after derived outputs", test_keyed_ack_holding},
        {"acks held until a committed checkpoint covers them", test_keyed_ack_checkpoint},
        {"snapshot and restore round trip", test_keyed_snapshot_roundtrip},
        {"snapshot order: by group, then key bytes", test_keyed_snapshot_order},
        {"restore into other parallelisms", test_keyed_restore_rescale},
        {"malformed snapshots are refused", test_keyed_restore_malformed},
        {"misrouted keys are counted", test_keyed_misrouted},
        {"each walks in snapshot order", test_keyed_each},
        {NULL, NULL},
    };
    static const mf_suite suites[] = {
        {"key groups", key_groups},
        {"keyed state", keyed},
        {NULL, NULL},
    };
    return mf_cunit_run(suites);
}
