/* backoff.c — see backoff.h. */
#include "backoff.h"

uint64_t mf_rand_next(uint64_t *state)
{
    /* xorshift64*: fast, good enough to spread retries */
    uint64_t x = *state ? *state : 0x9E3779B97F4A7C15ull;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1Dull;
}

int64_t mf_backoff_delay_ms(unsigned attempt, int64_t base_ms, int64_t cap_ms, uint64_t *rng)
{
    if (base_ms <= 0)
        base_ms = 1;
    if (cap_ms < base_ms)
        cap_ms = base_ms;
    int64_t ceiling = cap_ms;
    if (attempt < 62 && base_ms <= (cap_ms >> attempt))
        ceiling = base_ms << attempt;
    return (int64_t)(mf_rand_next(rng) % (uint64_t)(ceiling + 1));
}
