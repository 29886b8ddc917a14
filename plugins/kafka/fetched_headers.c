/* fetched_headers.c — see fetched_headers.h. */
#include "fetched_headers.h"

#include <stdint.h>
#include <string.h>

/* Kafka's varint: zigzag, then 7 bits a byte, low first. */
static size_t put_varint(uint8_t out[10], int64_t v)
{
    uint64_t z = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
    size_t n = 0;
    do {
        out[n] = (uint8_t)(z & 0x7f);
        z >>= 7;
        if (z)
            out[n] |= 0x80;
        n++;
    } while (z);
    return n;
}

bool mfk_fetched_layout_known(void)
{
    return rd_kafka_version() >> 24 == 2;
}

bool mfk_fetched_no_headers(const rd_kafka_message_t *m)
{
    /* an empty value points at a constant "" in librdkafka, not into the record */
    if (!m->payload || m->len == 0 || m->len > INT32_MAX)
        return false;
    const uint8_t *value = m->payload;
    uint8_t len[10];
    size_t n = put_varint(len, (int64_t)m->len);
    if (memcmp(value - n, len, n) != 0)
        return false;
    const uint8_t *key_end = value - n;
    if (!m->key) {
        if (key_end[-1] != 0x01) /* key length -1 */
            return false;
    } else if (m->key_len == 0) {
        if (key_end[-1] != 0x00)
            return false;
    } else if ((const uint8_t *)m->key + m->key_len != key_end) {
        return false;
    }
    return value[m->len] == 0x00; /* header count 0 */
}
