/* keyed_snapshot.c — mf_keyed_snapshot and mf_keyed_restore: the keyed-state
 * snapshot format, version 1 (docs/plugin-api.md, "Keyed state snapshot
 * format"). Integers are little-endian; a restore checks every length, order
 * and the checksum before it adds anything, so bad bytes never reach
 * ops.load or the table half-way. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <martflow/helpers.h>

#include "keyed_internal.h"
#include "util.h"

#define SNAP_MAGIC "MFKS"
#define SNAP_VERSION 1
#define HEADER_LEN 24 /* magic, version, flags, key groups, sections, watermark */
#define CRC_LEN 4
#define PREFETCH_AHEAD 8 /* keys */

/* CRC-32C (Castagnoli, reflected 0x82f63b78) of a whole snapshot, which can
 * be tens of MB: with the SSE4.2 instruction where the CPU has it (a
 * checkpoint of 100,000 open calls spent a third of its CPU in the table
 * loop below), else four bits at a time (small table, no set-up). Both give
 * the same value. */
static uint32_t crc32c_table(uint32_t c, const uint8_t *p, size_t n)
{
    static const uint32_t t[16] = {
        0x00000000u, 0x105ec76fu, 0x20bd8edeu, 0x30e349b1u, 0x417b1dbcu, 0x5125dad3u, 0x61c69362u, 0x7198540du,
        0x82f63b78u, 0x92a8fc17u, 0xa24bb5a6u, 0xb21572c9u, 0xc38d26c4u, 0xd3d3e1abu, 0xe330a81au, 0xf36e6f75u,
    };
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        c = (c >> 4) ^ t[c & 15];
        c = (c >> 4) ^ t[c & 15];
    }
    return c;
}

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("sse4.2"))) static uint32_t crc32c_sse42(uint32_t c, const uint8_t *p, size_t n)
{
    uint64_t c64 = c;
    for (; n >= 8; p += 8, n -= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        c64 = __builtin_ia32_crc32di(c64, v);
    }
    c = (uint32_t)c64;
    for (; n; p++, n--)
        c = __builtin_ia32_crc32qi(c, *p);
    return c;
}
#endif

static uint32_t crc32c(const uint8_t *p, size_t n)
{
#if defined(__x86_64__) && defined(__GNUC__)
    if (__builtin_cpu_supports("sse4.2"))
        return crc32c_sse42(0xffffffffu, p, n) ^ 0xffffffffu;
#endif
    return crc32c_table(0xffffffffu, p, n) ^ 0xffffffffu;
}

/* ---- writing --------------------------------------------------------------------------- */

static inline void le_store(uint8_t *at, uint64_t v, int bytes)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(at, &v, (size_t)bytes); /* one store: bytes is a constant where this is inlined */
#else
    for (int i = 0; i < bytes; i++)
        at[i] = (uint8_t)(v >> (8 * i));
#endif
}

static size_t put(mf_buffer *b, uint64_t v, int bytes)
{
    uint8_t tmp[8];
    le_store(tmp, v, bytes);
    size_t at = b->len;
    mf_buffer_append(b, tmp, (size_t)bytes);
    return at;
}

static int timer_by_id(const void *pa, const void *pb)
{
    uint32_t a = (*(struct ktimer *const *)pa)->id, b = (*(struct ktimer *const *)pb)->id;
    return a < b ? -1 : a > b;
}

/* One key: length, bytes, timers by id, state. *tv is scratch space. All
 * but the state in one reserve: per-field appends were a quarter of a
 * checkpoint's CPU with 100,000 keys. */
static int write_entry(mf_keyed *k, mf_buffer *out, const struct ksorted *s, struct ktimer ***tv, size_t *tcap)
{
    size_t n = 0;
    for (const struct ktimer *t = s->e->timers; t; t = t->next)
        n++;
    if (n > *tcap) {
        *tcap = n;
        *tv = mf_xrealloc(*tv, n * sizeof **tv);
    }
    n = 0;
    for (struct ktimer *t = s->e->timers; t; t = t->next)
        (*tv)[n++] = t;
    if (n > 1)
        qsort(*tv, n, sizeof **tv, timer_by_id);
    size_t head = 4 + (size_t)s->key_len + 4 + 12 * n + 4;
    uint8_t *p = mf_buffer_reserve(out, head);
    le_store(p, s->key_len, 4);
    if (s->key_len)
        memcpy(p + 4, s->key, s->key_len);
    p += 4 + s->key_len;
    le_store(p, n, 4);
    p += 4;
    for (size_t i = 0; i < n; i++, p += 12) {
        le_store(p, (*tv)[i]->id, 4);
        le_store(p + 4, (uint64_t)(*tv)[i]->time, 8);
    }
    out->len += head; /* the state's length, 4 bytes, last: filled in below */
    size_t len_at = out->len - 4, before = out->len;
    if (k->ops.save(k->arg, kentry_state(s->e), out) != MF_OK || out->len - before > UINT32_MAX)
        return MF_FATAL;
    le_store(out->data + len_at, out->len - before, 4);
    return MF_OK;
}

int mf_keyed_snapshot(mf_keyed *k, mf_buffer *out)
{
    size_t start = out->len;
    if (k->count && !k->ops.save) {
        k->host->log(k->node, MF_LOG_ERROR, "keyed state: snapshot needs a save callback");
        return MF_FATAL;
    }
    struct ksorted *v = mf_keyed_sorted(k);
    struct ktimer **tv = NULL;
    size_t tcap = 0;
    mf_buffer_append(out, SNAP_MAGIC, 4);
    put(out, SNAP_VERSION, 2);
    put(out, 0, 2); /* flags */
    put(out, MF_KEY_GROUPS, 4);
    size_t sections_at = put(out, 0, 4);
    put(out, (uint64_t)k->watermark, 8);
    uint32_t sections = 0;
    for (size_t i = 0; i < k->count;) {
        uint32_t kg = v[i].kg;
        size_t j = i;
        while (j < k->count && v[j].kg == kg)
            j++;
        put(out, kg, 4);
        put(out, j - i, 4);
        size_t bytes_at = put(out, 0, 8), body = out->len;
        for (; i < j; i++) {
            /* The entries are scattered in memory: ask for one a few keys
             * ahead (its header, timers, state) while this one is written. */
            if (i + PREFETCH_AHEAD < k->count) {
                const struct kentry *e = v[i + PREFETCH_AHEAD].e;
                __builtin_prefetch(e);
                __builtin_prefetch((const char *)e + MF_KEYED_HDR);
            }
            if (i + PREFETCH_AHEAD / 2 < k->count && v[i + PREFETCH_AHEAD / 2].e->timers)
                __builtin_prefetch(v[i + PREFETCH_AHEAD / 2].e->timers);
            if (write_entry(k, out, &v[i], &tv, &tcap) != MF_OK)
                goto fail;
        }
        le_store(out->data + bytes_at, out->len - body, 8);
        sections++;
    }
    le_store(out->data + sections_at, sections, 4);
    put(out, crc32c(out->data + start, out->len - start), 4);
    free(tv);
    free(v);
    mf_keyed_publish(k);
    return MF_OK;
fail:
    out->len = start;
    free(tv);
    free(v);
    k->host->log(k->node, MF_LOG_ERROR, "keyed state: the save callback failed; no snapshot");
    return MF_FATAL;
}

/* ---- reading --------------------------------------------------------------------------- */

struct reader {
    const uint8_t *p, *end;
};

static uint64_t le_load(const uint8_t *at, int bytes)
{
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++)
        v |= (uint64_t)at[i] << (8 * i);
    return v;
}

static bool get(struct reader *r, int bytes, uint64_t *v)
{
    if ((size_t)(r->end - r->p) < (size_t)bytes)
        return false;
    *v = le_load(r->p, bytes);
    r->p += bytes;
    return true;
}

static bool get_bytes(struct reader *r, uint64_t n, const uint8_t **at)
{
    if ((uint64_t)(r->end - r->p) < n)
        return false;
    *at = r->p;
    r->p += n;
    return true;
}

/* A key of the snapshot this worker takes, found by the checking pass. */
struct snap_key {
    const uint8_t *key, *timers, *state;
    uint32_t hash, key_len, n_timers, state_len;
};

struct restore {
    mf_keyed *k;
    struct snap_key *keys;
    size_t n, cap;
    char why[160];
};

static bool bad(struct restore *rs, const char *why)
{
    snprintf(rs->why, sizeof rs->why, "%s", why);
    return false;
}

/* Check one key of section kg and, when owned, note it. */
static bool check_key(struct restore *rs, struct reader *r, uint32_t kg, bool owned, struct snap_key *prev)
{
    struct snap_key s = {0};
    uint64_t v;
    if (!get(r, 4, &v) || !get_bytes(r, v, &s.key))
        return bad(rs, "truncated key");
    s.key_len = (uint32_t)v;
    s.hash = mf_key_hash(s.key, s.key_len);
    if (s.hash % MF_KEY_GROUPS != kg)
        return bad(rs, "a key is not in the key group of its section");
    if (prev->key && mf_keyed_key_cmp(prev->key, prev->key_len, s.key, s.key_len) >= 0)
        return bad(rs, "keys out of order or repeated");
    if (!get(r, 4, &v) || !get_bytes(r, v * 12, &s.timers))
        return bad(rs, "truncated timers");
    s.n_timers = (uint32_t)v;
    for (uint32_t i = 1; i < s.n_timers; i++)
        if (le_load(s.timers + 12 * i, 4) <= le_load(s.timers + 12 * (i - 1), 4))
            return bad(rs, "timer ids out of order or repeated");
    if (!get(r, 4, &v) || !get_bytes(r, v, &s.state))
        return bad(rs, "truncated state");
    s.state_len = (uint32_t)v;
    *prev = s;
    if (!owned)
        return true;
    if (mf_keyed_find(rs->k, s.hash, s.key, s.key_len))
        return bad(rs, "a key of the snapshot is already present");
    if (rs->n == rs->cap) {
        rs->cap = rs->cap ? rs->cap * 2 : 64;
        rs->keys = mf_xrealloc(rs->keys, rs->cap * sizeof *rs->keys);
    }
    rs->keys[rs->n++] = s;
    return true;
}

/* The checking pass: the whole snapshot, owned or not. */
static bool check(struct restore *rs, const uint8_t *data, size_t len, int64_t *watermark)
{
    if (!data || len < HEADER_LEN + CRC_LEN)
        return bad(rs, "truncated header");
    if (memcmp(data, SNAP_MAGIC, 4) != 0)
        return bad(rs, "not a keyed-state snapshot");
    uint64_t version = le_load(data + 4, 2), groups = le_load(data + 8, 4);
    if (version != SNAP_VERSION) {
        snprintf(rs->why, sizeof rs->why, "format version %u; this build reads version %d", (unsigned)version,
                 SNAP_VERSION);
        return false;
    }
    if (le_load(data + 6, 2) != 0)
        return bad(rs, "unknown flags");
    if (groups != MF_KEY_GROUPS) {
        snprintf(rs->why, sizeof rs->why, "written with %u key groups; this build has %u", (unsigned)groups,
                 MF_KEY_GROUPS);
        return false;
    }
    if (le_load(data + len - CRC_LEN, 4) != crc32c(data, len - CRC_LEN))
        return bad(rs, "checksum mismatch (corrupt or truncated)");
    uint64_t sections = le_load(data + 12, 4);
    *watermark = (int64_t)le_load(data + 16, 8);
    struct reader r = {data + HEADER_LEN, data + len - CRC_LEN};
    int64_t prev_kg = -1;
    for (uint64_t i = 0; i < sections; i++) {
        uint64_t kg, n_keys, bytes;
        struct reader sec;
        if (!get(&r, 4, &kg) || !get(&r, 4, &n_keys) || !get(&r, 8, &bytes) || !get_bytes(&r, bytes, &sec.p))
            return bad(rs, "truncated section");
        sec.end = sec.p + bytes;
        if (kg >= MF_KEY_GROUPS || (int64_t)kg <= prev_kg)
            return bad(rs, "key groups out of order or repeated");
        if (n_keys == 0)
            return bad(rs, "an empty section");
        prev_kg = (int64_t)kg;
        bool owned = kg >= rs->k->kg_first && kg <= rs->k->kg_last;
        struct snap_key prev = {0};
        for (uint64_t j = 0; j < n_keys; j++)
            if (!check_key(rs, &sec, (uint32_t)kg, owned, &prev))
                return false;
        if (sec.p != sec.end)
            return bad(rs, "a section's length does not match its keys");
    }
    if (r.p != r.end)
        return bad(rs, "bytes after the last section");
    if (rs->n && !rs->k->ops.load)
        return bad(rs, "no load callback");
    return true;
}

int mf_keyed_restore(mf_keyed *k, const uint8_t *data, size_t len)
{
    struct restore rs = {.k = k};
    struct kentry **added = NULL;
    size_t n_added = 0;
    int64_t watermark;
    if (!check(&rs, data, len, &watermark))
        goto fail;
    added = mf_xmalloc((rs.n ? rs.n : 1) * sizeof *added);
    for (size_t i = 0; i < rs.n; i++) {
        const struct snap_key *s = &rs.keys[i];
        struct kentry *e = mf_keyed_insert(k, s->hash, s->key, s->key_len);
        added[n_added++] = e;
        if (k->ops.load(k->arg, kentry_state(e), s->state, s->state_len) != MF_OK) {
            bad(&rs, "the load callback refused a key's state");
            goto rollback;
        }
        for (uint32_t t = 0; t < s->n_timers; t++)
            mf_keyed_timer_set(k, kentry_state(e), (uint32_t)le_load(s->timers + 12 * t, 4),
                               (int64_t)le_load(s->timers + 12 * t + 4, 8));
    }
    /* After a rescale a worker merges the snapshots of several old workers:
     * the lowest watermark fires no timer early. */
    if (!k->restored || watermark < k->watermark)
        k->watermark = watermark;
    k->restored = true;
    free(added);
    free(rs.keys);
    mf_keyed_publish(k);
    return MF_OK;
rollback:
    for (size_t i = 0; i < n_added; i++)
        mf_keyed_drop(k, added[i]);
fail:
    k->host->log(k->node, MF_LOG_ERROR, "keyed state: snapshot rejected: %s", rs.why);
    free(added);
    free(rs.keys);
    return MF_FATAL;
}
