/*
 * Unit tests of mfk_fetched_no_headers (plugins/kafka/fetched_headers.c): it
 * answers "no headers" only for a v2 record laid out in place with a header
 * count of 0, and "ask librdkafka" for everything else.
 */
#include <string.h>

#include "cunit_main.h"
#include "fetched_headers.h"

/* A record batch's bytes and a message pointing into them, as librdkafka's are. */
struct fake {
    uint8_t buf[128];
    rd_kafka_message_t m;
};

static size_t varint(uint8_t *out, int64_t v)
{
    uint64_t z = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
    size_t n = 0;
    do {
        out[n++] = (uint8_t)((z & 0x7f) | (z >> 7 ? 0x80 : 0));
        z >>= 7;
    } while (z);
    return n;
}

/* [length][attributes][ts delta][offset delta][key len][key][value len][value][header count][headers] */
static void v2(struct fake *f, const char *key, const char *value, int headers)
{
    memset(f, 0, sizeof *f);
    uint8_t *p = f->buf + 8;
    *p++ = 0x50; /* a record length, not looked at */
    *p++ = 0;
    p += varint(p, 0);
    p += varint(p, 3);
    if (key) {
        p += varint(p, (int64_t)strlen(key));
        f->m.key = strlen(key) ? (void *)p : (void *)"";
        f->m.key_len = strlen(key);
        memcpy(p, key, strlen(key));
        p += strlen(key);
    } else {
        p += varint(p, -1);
    }
    if (value) {
        p += varint(p, (int64_t)strlen(value));
        f->m.payload = strlen(value) ? (void *)p : (void *)"";
        f->m.len = strlen(value);
        memcpy(p, value, strlen(value));
        p += strlen(value);
    } else {
        p += varint(p, -1);
    }
    p += varint(p, headers);
    for (int i = 0; i < headers; i++) {
        p += varint(p, 1);
        *p++ = 'h';
        p += varint(p, 0);
    }
}

static void test_v2_without_headers(void)
{
    struct fake f;
    v2(&f, "k1", "{\"a\":1}", 0);
    CU_ASSERT_TRUE(mfk_fetched_no_headers(&f.m));
    v2(&f, NULL, "{\"a\":1}", 0); /* null key */
    CU_ASSERT_TRUE(mfk_fetched_no_headers(&f.m));
    v2(&f, "", "{\"a\":1}", 0); /* empty key: librdkafka points it at "" */
    CU_ASSERT_TRUE(mfk_fetched_no_headers(&f.m));
    char big[100];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    v2(&f, "k", big, 0); /* a two-byte value length */
    CU_ASSERT_TRUE(mfk_fetched_no_headers(&f.m));
}

static void test_v2_with_headers(void)
{
    struct fake f;
    v2(&f, "k1", "{\"a\":1}", 1);
    CU_ASSERT_FALSE(mfk_fetched_no_headers(&f.m));
    v2(&f, NULL, "v", 2);
    CU_ASSERT_FALSE(mfk_fetched_no_headers(&f.m));
}

static void test_empty_or_null_value_asks(void)
{
    struct fake f;
    v2(&f, "k1", "", 0); /* librdkafka's payload is a constant "" here: nothing to read after it */
    CU_ASSERT_FALSE(mfk_fetched_no_headers(&f.m));
    v2(&f, "k1", "", 1);
    CU_ASSERT_FALSE(mfk_fetched_no_headers(&f.m));
    v2(&f, "k1", NULL, 0);
    CU_ASSERT_FALSE(mfk_fetched_no_headers(&f.m));
}

static void test_other_layouts_ask(void)
{
    struct fake f;
    /* v0/v1: key and value lengths are 4-byte big-endian integers, and what follows is the next message */
    memset(&f, 0, sizeof f);
    uint8_t *p = f.buf + 16;
    memcpy(p, "\0\0\0\2k1\0\0\0\3abc", 13);
    f.m.key = p + 4;
    f.m.key_len = 2;
    f.m.payload = p + 10;
    f.m.len = 3;
    CU_ASSERT_FALSE(mfk_fetched_no_headers(&f.m));
    /* a value copied away from its key (not in place) */
    struct fake g;
    v2(&f, "k1", "abc", 0);
    v2(&g, "k1", "abc", 0);
    f.m.key = g.m.key;
    CU_ASSERT_FALSE(mfk_fetched_no_headers(&f.m));
    /* a value length that is not m->len */
    v2(&f, "k1", "abcd", 0);
    f.m.len = 3;
    CU_ASSERT_FALSE(mfk_fetched_no_headers(&f.m));
}

static const mf_test tests[] = {
    {"v2 without headers", test_v2_without_headers},
    {"v2 with headers", test_v2_with_headers},
    {"an empty or null value asks librdkafka", test_empty_or_null_value_asks},
    {"other layouts ask librdkafka", test_other_layouts_ask},
    {NULL, NULL},
};

int main(void)
{
    static const mf_suite suites[] = {{"fetched headers", tests}, {NULL, NULL}};
    return mf_cunit_run(suites);
}
