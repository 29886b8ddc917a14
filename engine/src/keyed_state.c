/* keyed_state.c — mf_keyed (martflow/keyed.h): the key table, per-key timers
 * and per-key ack holding. Snapshots are in keyed_snapshot.c. */
#include <stdlib.h>
#include <string.h>

#include "keyed_internal.h"
#include "util.h"

#define MIN_SLOTS 16

mf_keyed *mf_keyed_new(const mf_host *host, mf_node *node, const mf_keyed_ops *ops, void *arg)
{
    mf_keyed *k = mf_xcalloc(1, sizeof *k);
    k->host = host;
    k->node = node;
    k->ops = *ops;
    k->arg = arg;
    k->state_span = (ops->state_size + MF_KEYED_ALIGN - 1) / MF_KEYED_ALIGN * MF_KEYED_ALIGN;
    k->watermark = MF_TIME_UNSET;
    int count = 1;
    int worker = host->worker(node, &count);
    if (mf_key_group_range(worker, count, &k->kg_first, &k->kg_last) != 0) {
        host->log(node, MF_LOG_WARN, "keyed state: worker %d of %d is outside the key-group mapping; owning all groups",
                  worker, count);
        k->kg_first = 0;
        k->kg_last = MF_KEY_GROUPS - 1;
    }
    k->cap = MIN_SLOTS;
    k->slots = mf_xcalloc(k->cap, sizeof *k->slots);
    k->m_keys = host->gauge(node, "martflow_keyed_keys", NULL, "Keys held in keyed state");
    k->m_timers = host->gauge(node, "martflow_keyed_timers", NULL, "Event-time timers set in keyed state");
    k->m_fired = host->counter(node, "martflow_keyed_timers_fired_total", NULL, "Keyed-state timers fired");
    k->m_misrouted = host->counter(node, "martflow_keyed_misrouted_total", NULL,
                                   "Keys created on a worker that does not own their key group");
    return k;
}

void mf_keyed_publish(mf_keyed *k)
{
    double keys = (double)k->count, timers = (double)k->n_heap;
    if (keys != k->shown_keys)
        k->host->metric_add(k->m_keys, keys - k->shown_keys);
    if (timers != k->shown_timers)
        k->host->metric_add(k->m_timers, timers - k->shown_timers);
    k->shown_keys = keys;
    k->shown_timers = timers;
}

static void free_entry(mf_keyed *k, struct kentry *e)
{
    for (struct ktimer *t = e->timers, *next; t; t = next) {
        next = t->next;
        free(t);
    }
    if (k->ops.destroy)
        k->ops.destroy(k->arg, kentry_state(e));
    free(e);
}

void mf_keyed_free(mf_keyed *k)
{
    if (!k)
        return;
    /* Held groups are abandoned, not released: see the header. */
    for (size_t i = 0; i < k->cap; i++)
        if (k->slots[i].e)
            free_entry(k, k->slots[i].e);
    k->count = 0;
    k->n_heap = 0;
    mf_keyed_publish(k);
    free(k->slots);
    free(k->heap);
    free(k->covered); /* abandoned too: a checkpoint that never completed covers them */
    free(k);
}

/* ---- the table --------------------------------------------------------------------- */

/* The key group is the hash's low bits, and a worker owns a few contiguous
 * groups, so its keys share those bits: index by the other bits first. */
static size_t home_slot(const mf_keyed *k, uint32_t hash)
{
    uint32_t r = (hash >> 12) | (hash << 20);
    return r & (k->cap - 1);
}

static bool entry_is(const mf_keyed *k, const struct kentry *e, const void *key, size_t len)
{
    return e->key_len == len && (len == 0 || memcmp(kentry_key(k, e), key, len) == 0);
}

struct kentry *mf_keyed_find(const mf_keyed *k, uint32_t hash, const void *key, size_t len)
{
    size_t mask = k->cap - 1;
    for (size_t i = home_slot(k, hash);; i = (i + 1) & mask) {
        const struct kslot *s = &k->slots[i];
        if (!s->e)
            return NULL;
        if (s->hash == hash && entry_is(k, s->e, key, len))
            return s->e;
    }
}

static void place(mf_keyed *k, uint32_t hash, struct kentry *e)
{
    size_t mask = k->cap - 1, i = home_slot(k, hash);
    while (k->slots[i].e)
        i = (i + 1) & mask;
    k->slots[i].hash = hash;
    k->slots[i].e = e;
}

static void grow(mf_keyed *k)
{
    struct kslot *old = k->slots;
    size_t old_cap = k->cap;
    k->cap *= 2;
    k->slots = mf_xcalloc(k->cap, sizeof *k->slots);
    for (size_t i = 0; i < old_cap; i++)
        if (old[i].e)
            place(k, old[i].hash, old[i].e);
    free(old);
}

struct kentry *mf_keyed_insert(mf_keyed *k, uint32_t hash, const void *key, size_t len)
{
    if ((k->count + 1) * 10 > k->cap * 7) /* load factor 0.7 */
        grow(k);
    struct kentry *e = mf_xcalloc(1, MF_KEYED_HDR + k->state_span + len);
    e->hash = hash;
    e->key_len = (uint32_t)len;
    if (len)
        memcpy((uint8_t *)e + MF_KEYED_HDR + k->state_span, key, len);
    place(k, hash, e);
    k->count++;
    return e;
}

/* Backward-shift deletion: no tombstones, so lookups stay short after churn. */
static void unplace(mf_keyed *k, struct kentry *e)
{
    size_t mask = k->cap - 1, i = home_slot(k, e->hash);
    while (k->slots[i].e != e)
        i = (i + 1) & mask;
    for (size_t j = (i + 1) & mask; k->slots[j].e; j = (j + 1) & mask) {
        size_t home = home_slot(k, k->slots[j].hash);
        /* slot j may move back to the hole unless its home lies in (i, j] */
        if (((j - home) & mask) >= ((j - i) & mask)) {
            k->slots[i] = k->slots[j];
            i = j;
        }
    }
    k->slots[i].e = NULL;
    k->count--;
}

void *mf_keyed_get(mf_keyed *k, const void *key, size_t len)
{
    struct kentry *e = mf_keyed_find(k, mf_key_hash(key, len), key, len);
    return e ? kentry_state(e) : NULL;
}

void *mf_keyed_get_or_create(mf_keyed *k, const void *key, size_t len, bool *created)
{
    uint32_t hash = mf_key_hash(key, len);
    struct kentry *e = mf_keyed_find(k, hash, key, len);
    if (created)
        *created = !e;
    if (e)
        return kentry_state(e);
    uint32_t kg = hash % MF_KEY_GROUPS;
    if (kg < k->kg_first || kg > k->kg_last) {
        /* Routing and state placement disagree: a restore after rescaling
         * would lose this key. Counted; warned once. */
        k->host->metric_add(k->m_misrouted, 1);
        if (!k->warned_misrouted)
            k->host->log(k->node, MF_LOG_WARN,
                         "keyed state: a key of key group %u reached a worker owning groups %u..%u", kg,
                         k->kg_first, k->kg_last);
        k->warned_misrouted = true;
    }
    return kentry_state(mf_keyed_insert(k, hash, key, len));
}

const uint8_t *mf_keyed_key(const mf_keyed *k, const void *state, size_t *len)
{
    const struct kentry *e = kentry_of(state);
    if (len)
        *len = e->key_len;
    return kentry_key(k, e);
}

uint32_t mf_keyed_key_group(const mf_keyed *k, const void *state)
{
    MF_UNUSED(k);
    return kentry_of(state)->hash % MF_KEY_GROUPS;
}

size_t mf_keyed_count(const mf_keyed *k)
{
    return k->count;
}

size_t mf_keyed_timer_count(const mf_keyed *k)
{
    return k->n_heap;
}

int mf_keyed_key_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    int c = n ? memcmp(a, b, n) : 0;
    if (c)
        return c;
    return alen < blen ? -1 : alen > blen;
}

static int key_order(const void *pa, const void *pb)
{
    const struct ksorted *a = pa, *b = pb;
    return mf_keyed_key_cmp(a->key, a->key_len, b->key, b->key_len);
}

/* The keys of one key group by their bytes: a few dozen keys at 100,000 keys
 * in all, so insertion sort below a small size. */
static void sort_group(struct ksorted *v, size_t n)
{
    if (n > 32) {
        qsort(v, n, sizeof *v, key_order);
        return;
    }
    for (size_t i = 1; i < n; i++) {
        struct ksorted x = v[i];
        size_t j = i;
        for (; j > 0 && key_order(&v[j - 1], &x) > 0; j--)
            v[j] = v[j - 1];
        v[j] = x;
    }
}

/* Snapshot order without one sort of every key (a tenth of a checkpoint's
 * CPU with 100,000 keys): the entries are placed by key group in one pass
 * (counting sort; the group comes from the slot's hash), then each group is
 * sorted on its own. The same order as sorting by (group, key). */
struct ksorted *mf_keyed_sorted(const mf_keyed *k)
{
    struct ksorted *v = mf_xmalloc((k->count ? k->count : 1) * sizeof *v);
    size_t *end = mf_xcalloc(MF_KEY_GROUPS, sizeof *end);
    for (size_t i = 0; i < k->cap; i++)
        if (k->slots[i].e)
            end[k->slots[i].hash % MF_KEY_GROUPS]++;
    size_t at = 0;
    for (uint32_t g = 0; g < MF_KEY_GROUPS; g++) { /* end[g]: where group g starts, for now */
        size_t n = end[g];
        end[g] = at;
        at += n;
    }
    for (size_t i = 0; i < k->cap; i++) {
        struct kentry *e = k->slots[i].e;
        if (!e)
            continue;
        uint32_t g = k->slots[i].hash % MF_KEY_GROUPS;
        v[end[g]++] = (struct ksorted){.key = kentry_key(k, e), .e = e, .kg = g, .key_len = e->key_len};
    }
    for (size_t g = 0, begin = 0; g < MF_KEY_GROUPS; begin = end[g], g++) /* end[g]: its end now */
        sort_group(v + begin, end[g] - begin);
    free(end);
    return v;
}

int mf_keyed_each(mf_keyed *k, mf_keyed_each_fn fn, void *arg)
{
    size_t n = k->count;
    struct ksorted *v = mf_keyed_sorted(k);
    int st = MF_OK;
    for (size_t i = 0; i < n && st == MF_OK; i++)
        st = fn(arg, kentry_state(v[i].e));
    free(v);
    return st;
}

/* ---- timers: a binary min-heap of (time, key, id) ------------------------------------ */

static bool fires_before(const mf_keyed *k, const struct ktimer *a, const struct ktimer *b)
{
    if (a->time != b->time)
        return a->time < b->time;
    if (a->e != b->e) {
        int c = mf_keyed_key_cmp(kentry_key(k, a->e), a->e->key_len, kentry_key(k, b->e), b->e->key_len);
        if (c)
            return c < 0;
    }
    return a->id < b->id;
}

static void heap_put(mf_keyed *k, size_t pos, struct ktimer *t)
{
    k->heap[pos] = t;
    t->pos = pos;
}

static void sift_up(mf_keyed *k, size_t pos)
{
    struct ktimer *t = k->heap[pos];
    while (pos > 0) {
        size_t parent = (pos - 1) / 2;
        if (!fires_before(k, t, k->heap[parent]))
            break;
        heap_put(k, pos, k->heap[parent]);
        pos = parent;
    }
    heap_put(k, pos, t);
}

static void sift_down(mf_keyed *k, size_t pos)
{
    struct ktimer *t = k->heap[pos];
    for (;;) {
        size_t c = 2 * pos + 1;
        if (c >= k->n_heap)
            break;
        if (c + 1 < k->n_heap && fires_before(k, k->heap[c + 1], k->heap[c]))
            c++;
        if (!fires_before(k, k->heap[c], t))
            break;
        heap_put(k, pos, k->heap[c]);
        pos = c;
    }
    heap_put(k, pos, t);
}

static void heap_remove(mf_keyed *k, struct ktimer *t)
{
    size_t pos = t->pos;
    struct ktimer *last = k->heap[--k->n_heap];
    if (last == t)
        return;
    heap_put(k, pos, last);
    sift_down(k, pos);
    sift_up(k, last->pos);
}

static struct ktimer *find_timer(const struct kentry *e, uint32_t id, struct ktimer ***link)
{
    struct ktimer **l = (struct ktimer **)&e->timers;
    for (; *l; l = &(*l)->next)
        if ((*l)->id == id)
            break;
    if (link)
        *link = l;
    return *l;
}

void mf_keyed_timer_set(mf_keyed *k, void *state, uint32_t id, int64_t time_ms)
{
    struct kentry *e = kentry_of(state);
    struct ktimer *t = find_timer(e, id, NULL);
    if (t) {
        t->time = time_ms;
        sift_down(k, t->pos);
        sift_up(k, t->pos);
        return;
    }
    if (k->n_heap == k->cap_heap) {
        k->cap_heap = k->cap_heap ? k->cap_heap * 2 : 64;
        k->heap = mf_xrealloc(k->heap, k->cap_heap * sizeof *k->heap);
    }
    t = mf_xcalloc(1, sizeof *t);
    t->time = time_ms;
    t->e = e;
    t->id = id;
    t->next = e->timers;
    e->timers = t;
    k->heap[k->n_heap] = t;
    t->pos = k->n_heap++;
    sift_up(k, t->pos);
}

bool mf_keyed_timer_cancel(mf_keyed *k, void *state, uint32_t id)
{
    struct ktimer **link;
    struct ktimer *t = find_timer(kentry_of(state), id, &link);
    if (!t)
        return false;
    *link = t->next;
    heap_remove(k, t);
    free(t);
    return true;
}

int64_t mf_keyed_timer_get(const mf_keyed *k, const void *state, uint32_t id)
{
    MF_UNUSED(k);
    const struct ktimer *t = find_timer(kentry_of(state), id, NULL);
    return t ? t->time : MF_TIME_UNSET;
}

int64_t mf_keyed_next_timer(const mf_keyed *k)
{
    return k->n_heap ? k->heap[0]->time : MF_TIME_UNSET;
}

int64_t mf_keyed_watermark(const mf_keyed *k)
{
    return k->watermark;
}

int mf_keyed_advance(mf_keyed *k, int64_t watermark_ms, mf_keyed_timer_fn fn, void *arg)
{
    if (watermark_ms > k->watermark)
        k->watermark = watermark_ms;
    int st = MF_OK;
    uint64_t fired = 0;
    while (st == MF_OK && k->n_heap && k->heap[0]->time <= k->watermark) {
        struct ktimer *t = k->heap[0];
        void *state = kentry_state(t->e);
        uint32_t id = t->id;
        int64_t time = t->time;
        mf_keyed_timer_cancel(k, state, id);
        fired++;
        st = fn(arg, state, id, time);
    }
    if (fired)
        k->host->metric_add(k->m_fired, (double)fired);
    mf_keyed_publish(k);
    return st;
}

/* ---- removal and acknowledgement ------------------------------------------------------ */

void mf_keyed_drop(mf_keyed *k, struct kentry *e)
{
    for (struct ktimer *t = e->timers; t; t = t->next)
        heap_remove(k, t);
    unplace(k, e);
    free_entry(k, e);
}

void mf_keyed_absorb(mf_keyed *k, void *state, const mf_record *rec)
{
    struct kentry *e = kentry_of(state);
    if (!rec->ack)
        return;
    if (!e->group)
        e->group = k->host->ack_group_new(k->node);
    /* Records of one source batch share a token: the group holds it once. */
    if (rec->ack != e->last_input) {
        k->host->ack_group_add(k->node, e->group, rec);
        e->last_input = rec->ack;
    }
}

mf_ack *mf_keyed_ack_group(mf_keyed *k, void *state)
{
    struct kentry *e = kentry_of(state);
    if (!e->group)
        e->group = k->host->ack_group_new(k->node);
    return e->group;
}

void mf_keyed_ack_release(mf_keyed *k, void *state)
{
    struct kentry *e = kentry_of(state);
    if (!e->group)
        return;
    k->host->ack_release(k->node, e->group);
    e->group = NULL;
    e->last_input = NULL;
}

void mf_keyed_checkpoint(mf_keyed *k, uint64_t checkpoint_id)
{
    for (size_t i = 0; i < k->cap; i++) {
        struct kentry *e = k->slots[i].e;
        if (!e || !e->group)
            continue;
        if (k->n_covered == k->cap_covered) {
            k->cap_covered = k->cap_covered ? 2 * k->cap_covered : 64;
            k->covered = mf_xrealloc(k->covered, k->cap_covered * sizeof *k->covered);
        }
        k->covered[k->n_covered++] = (struct kcovered){.checkpoint = checkpoint_id, .group = e->group};
        e->group = NULL;
        e->last_input = NULL;
    }
}

void mf_keyed_commit(mf_keyed *k, uint64_t checkpoint_id)
{
    size_t done = 0;
    while (done < k->n_covered && k->covered[done].checkpoint <= checkpoint_id)
        k->host->ack_release(k->node, k->covered[done++].group);
    if (!done)
        return;
    k->n_covered -= done;
    memmove(k->covered, k->covered + done, k->n_covered * sizeof *k->covered);
}

int mf_keyed_snapshot_checkpoint(mf_keyed *k, uint64_t checkpoint_id, mf_buffer *out)
{
    int st = mf_keyed_snapshot(k, out);
    if (st == MF_OK)
        mf_keyed_checkpoint(k, checkpoint_id);
    return st;
}

void mf_keyed_remove(mf_keyed *k, void *state)
{
    mf_keyed_ack_release(k, state);
    mf_keyed_drop(k, kentry_of(state));
}

void mf_keyed_clear(mf_keyed *k)
{
    for (size_t i = 0; i < k->cap; i++) {
        struct kentry *e = k->slots[i].e;
        if (!e)
            continue;
        mf_keyed_ack_release(k, kentry_state(e));
        free_entry(k, e);
        k->slots[i].e = NULL;
    }
    k->count = 0;
    k->n_heap = 0;
    mf_keyed_publish(k);
}
