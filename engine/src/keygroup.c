/* keygroup.c — key hashing and the key-group-to-worker mapping (martflow/keyed.h).
 * Everything here is part of the checkpoint format: a change moves keyed state
 * between workers, so the golden values in tests/unit/test_keyed_state.c must
 * never need updating. */
#include <martflow/keyed.h>

static uint32_t rotl32(uint32_t x, int r)
{
    return (x << r) | (x >> (32 - r));
}

/* MurmurHash3's block mix. */
static uint32_t mix_block(uint32_t k)
{
    k *= 0xcc9e2d51u;
    k = rotl32(k, 15);
    return k * 0x1b873593u;
}

/* MurmurHash3 x86_32 (Austin Appleby's algorithm, public domain), seed 0. Blocks
 * are read as little-endian words byte by byte, so the value is the same on
 * every host and needs no aligned input. */
uint32_t mf_key_hash(const void *key, size_t len)
{
    const uint8_t *p = key;
    uint32_t h = 0;
    size_t blocks = len / 4;
    for (size_t i = 0; i < blocks; i++, p += 4) {
        uint32_t k = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
        h ^= mix_block(k);
        h = rotl32(h, 13);
        h = h * 5 + 0xe6546b64u;
    }
    uint32_t tail = 0;
    switch (len & 3) {
    case 3:
        tail ^= (uint32_t)p[2] << 16;
        /* fall through */
    case 2:
        tail ^= (uint32_t)p[1] << 8;
        /* fall through */
    case 1:
        tail ^= p[0];
        h ^= mix_block(tail);
        break;
    default:
        break;
    }
    /* The length is mixed in modulo 2^32, as the reference does. */
    h ^= (uint32_t)len;
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    h ^= h >> 16;
    return h;
}

uint32_t mf_key_group(const void *key, size_t len)
{
    return mf_key_hash(key, len) % MF_KEY_GROUPS;
}

int mf_key_group_worker(uint32_t key_group, int n_workers)
{
    if (key_group >= MF_KEY_GROUPS || n_workers < 1 || n_workers > MF_KEY_MAX_WORKERS)
        return -1;
    return (int)((uint64_t)key_group * (uint64_t)n_workers / MF_KEY_GROUPS);
}

/* Worker w owns the groups g with w <= g*n/G < w+1, that is
 * ceil(w*G/n) <= g <= floor(((w+1)*G - 1)/n). */
int mf_key_group_range(int worker, int n_workers, uint32_t *first, uint32_t *last)
{
    if (n_workers < 1 || n_workers > MF_KEY_MAX_WORKERS || worker < 0 || worker >= n_workers)
        return -1;
    uint64_t n = (uint64_t)n_workers, w = (uint64_t)worker;
    if (first)
        *first = (uint32_t)((w * MF_KEY_GROUPS + n - 1) / n);
    if (last)
        *last = (uint32_t)(((w + 1) * MF_KEY_GROUPS - 1) / n);
    return 0;
}
