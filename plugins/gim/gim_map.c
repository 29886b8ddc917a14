/*
 * gim_map.c — string -> int32 hash map (see gim_map.h).
 */
#include "gim_map.h"

#include <stdlib.h>
#include <string.h>

#include <martflow/alloc.h>

/* FNV-1a over 8-byte words (then the tail bytes), finished by a multiply-shift
 * so the low bits the table uses mix every byte: a byte at a time was a
 * tenth of a cycle's client time on keys of 20-60 bytes. */
static uint64_t hash(const char *k, size_t len)
{
    uint64_t h = UINT64_C(1469598103934665603);
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, k + i, 8);
        h = (h ^ w) * UINT64_C(1099511628211);
    }
    for (; i < len; i++)
        h = (h ^ (uint8_t)k[i]) * UINT64_C(1099511628211);
    h ^= h >> 32;
    h *= UINT64_C(0x9e3779b97f4a7c15);
    return h ^ (h >> 29);
}

static gim_map_entry *slot(const gim_map *m, const char *k, size_t len)
{
    for (size_t i = hash(k, len) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        gim_map_entry *e = &m->e[i];
        if (!e->k || (e->klen == len && !memcmp(e->k, k, len)))
            return e;
    }
}

bool gim_map_get(const gim_map *m, const char *k, size_t len, int32_t *v)
{
    if (!m->cap)
        return false;
    const gim_map_entry *e = slot(m, k, len);
    if (!e->k)
        return false;
    *v = e->v;
    return true;
}

static void grow(gim_map *m)
{
    gim_map old = *m;
    m->cap = m->cap ? m->cap * 2 : 256;
    m->e = mf_xcalloc(m->cap, sizeof *m->e);
    m->n = 0;
    for (size_t i = 0; i < old.cap; i++)
        if (old.e[i].k)
            gim_map_put_owned(m, old.e[i].k, old.e[i].klen, old.e[i].v);
    free(old.e);
}

void gim_map_put_owned(gim_map *m, char *k, size_t len, int32_t v)
{
    if ((m->n + 1) * 2 > m->cap)
        grow(m);
    gim_map_entry *e = slot(m, k, len);
    if (e->k) {
        free(k);
        e->v = v;
        return;
    }
    *e = (gim_map_entry){.k = k, .klen = (uint32_t)len, .v = v};
    m->n++;
}

void gim_map_put(gim_map *m, const char *k, size_t len, int32_t v)
{
    gim_map_put_owned(m, mf_xstrndup(k, len), len, v);
}

void gim_map_move(gim_map *dst, gim_map *src)
{
    for (size_t i = 0; i < src->cap; i++)
        if (src->e[i].k) {
            gim_map_put_owned(dst, src->e[i].k, src->e[i].klen, src->e[i].v);
            src->e[i].k = NULL;
        }
    gim_map_clear(src);
}

void gim_map_clear(gim_map *m)
{
    for (size_t i = 0; i < m->cap; i++)
        free(m->e[i].k);
    free(m->e);
    *m = (gim_map){0};
}
