/* Unit tests: martflow/crypto.h against published vectors (FIPS 180-2,
 * RFC 4231, RFC 4648), and the envelope's base64 for bytes that are not
 * UTF-8. Links only the public libmartflow. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <martflow/crypto.h>
#include <martflow/helpers.h>

#include "cunit_main.h"

static void hex_of(const uint8_t d[MF_SHA256_LEN], char out[2 * MF_SHA256_LEN + 1])
{
    mf_hex_encode(d, MF_SHA256_LEN, out);
}

static void test_sha256_vectors(void)
{
    uint8_t d[MF_SHA256_LEN];
    char hex[2 * MF_SHA256_LEN + 1];
    mf_sha256("abc", 3, d);
    hex_of(d, hex);
    CU_ASSERT_STRING_EQUAL(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    mf_sha256(NULL, 0, d);
    hex_of(d, hex);
    CU_ASSERT_STRING_EQUAL(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    const char *two_blocks = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    mf_sha256(two_blocks, strlen(two_blocks), d);
    hex_of(d, hex);
    CU_ASSERT_STRING_EQUAL(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

/* The streamed digest equals the one-shot one whatever the pieces, and a
 * context is reusable after final. */
static void test_sha256_stream(void)
{
    const char *two_blocks = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    size_t n = strlen(two_blocks);
    uint8_t d[MF_SHA256_LEN];
    char hex[2 * MF_SHA256_LEN + 1];
    mf_sha256_ctx *c = mf_sha256_new();
    for (size_t step = 1; step <= n; step += 7) {
        for (size_t i = 0; i < n; i += step)
            mf_sha256_update(c, two_blocks + i, i + step <= n ? step : n - i);
        mf_sha256_final(c, d);
        hex_of(d, hex);
        CU_ASSERT_STRING_EQUAL(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    }
    mf_sha256_update(c, NULL, 0);
    mf_sha256_final(c, d);
    hex_of(d, hex);
    CU_ASSERT_STRING_EQUAL(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    mf_sha256_free(c);
    mf_sha256_free(NULL);
}

/* mf_sha256 keeps one context per thread: threads hashing at once, each
 * alternating inputs of different lengths, still get the vectors. */
static void *hash_many(void *arg)
{
    (void)arg;
    static const char *const two_blocks = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    uintptr_t bad = 0;
    uint8_t d[MF_SHA256_LEN];
    char hex[2 * MF_SHA256_LEN + 1];
    for (int i = 0; i < 2000; i++) {
        if (i % 2)
            mf_sha256("abc", 3, d);
        else
            mf_sha256(two_blocks, strlen(two_blocks), d);
        hex_of(d, hex);
        bad += strcmp(hex, i % 2 ? "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
                                 : "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1") != 0;
    }
    return (void *)bad;
}

static void test_sha256_threads(void)
{
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        CU_ASSERT_EQUAL_FATAL(pthread_create(&t[i], NULL, hash_many, NULL), 0);
    uintptr_t bad = (uintptr_t)hash_many(NULL);
    for (int i = 0; i < 4; i++) {
        void *r;
        CU_ASSERT_EQUAL(pthread_join(t[i], &r), 0);
        bad += (uintptr_t)r;
    }
    CU_ASSERT_EQUAL(bad, 0);
}

static void test_hmac_vectors(void)
{
    uint8_t d[MF_SHA256_LEN];
    char hex[2 * MF_SHA256_LEN + 1];
    uint8_t key1[20];
    memset(key1, 0x0b, sizeof key1);
    mf_hmac_sha256(key1, sizeof key1, "Hi There", 8, d); /* RFC 4231 test case 1 */
    hex_of(d, hex);
    CU_ASSERT_STRING_EQUAL(hex, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    const char *data2 = "what do ya want for nothing?"; /* test case 2 */
    mf_hmac_sha256("Jefe", 4, data2, strlen(data2), d);
    hex_of(d, hex);
    CU_ASSERT_STRING_EQUAL(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    uint8_t key6[131]; /* test case 6: a key longer than the block is hashed first */
    memset(key6, 0xaa, sizeof key6);
    const char *data6 = "Test Using Larger Than Block-Size Key - Hash Key First";
    mf_hmac_sha256(key6, sizeof key6, data6, strlen(data6), d);
    hex_of(d, hex);
    CU_ASSERT_STRING_EQUAL(hex, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
    /* an empty key and empty data are valid (python: hmac.new(b"", b"", sha256)) */
    mf_hmac_sha256(NULL, 0, NULL, 0, d);
    hex_of(d, hex);
    CU_ASSERT_STRING_EQUAL(hex, "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

static void test_hex(void)
{
    char out[9];
    mf_hex_encode("\x00\x7f\x80\xff", 4, out);
    CU_ASSERT_STRING_EQUAL(out, "007f80ff");
    mf_hex_encode("", 0, out);
    CU_ASSERT_STRING_EQUAL(out, "");
}

/* RFC 4648 section 10. */
static const char *const b64_vectors[][2] = {
    {"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"}, {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="},
    {"foobar", "Zm9vYmFy"},
};

static void test_base64_vectors(void)
{
    for (size_t i = 0; i < sizeof b64_vectors / sizeof b64_vectors[0]; i++) {
        const char *plain = b64_vectors[i][0], *text = b64_vectors[i][1];
        char enc[16];
        CU_ASSERT_EQUAL(MF_BASE64_ENCODED_LEN(strlen(plain)), strlen(text));
        CU_ASSERT_EQUAL(mf_base64_encode(plain, strlen(plain), enc), strlen(text));
        CU_ASSERT_STRING_EQUAL(enc, text);
        uint8_t dec[16];
        size_t n = 99;
        CU_ASSERT_TRUE(mf_base64_decode(text, strlen(text), dec, &n));
        CU_ASSERT_EQUAL(n, strlen(plain));
        CU_ASSERT_EQUAL(memcmp(dec, plain, n), 0);
    }
    /* every byte value, and the two characters beyond [A-Za-z0-9] */
    uint8_t all[256], back[256];
    for (int i = 0; i < 256; i++)
        all[i] = (uint8_t)i;
    char text[MF_BASE64_ENCODED_LEN(256) + 1];
    size_t len = mf_base64_encode(all, sizeof all, text);
    CU_ASSERT_EQUAL(len, MF_BASE64_ENCODED_LEN(256));
    CU_ASSERT_PTR_NOT_NULL(strchr(text, '+'));
    CU_ASSERT_PTR_NOT_NULL(strchr(text, '/'));
    size_t n = 0;
    CU_ASSERT_TRUE(mf_base64_decode(text, len, back, &n));
    CU_ASSERT_EQUAL(n, 256);
    CU_ASSERT_EQUAL(memcmp(all, back, 256), 0);
}

static void test_base64_rejects(void)
{
    static const char *const bad[] = {
        "Zg=",      /* not a multiple of 4 */
        "Zg",       /* unpadded */
        "Z===",     /* three '=' */
        "====",     /* padding only */
        "Zg=a",     /* '=' inside */
        "Zm9v Yg==", "Zm9v\nYg==", /* whitespace */
        " Zm9v",    /* leading space (libcrypto alone would skip it) */
        "Zm-_",     /* the URL-safe alphabet */
        "Zm9\x80",  /* not ASCII */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t out[16];
        size_t n = 99;
        CU_ASSERT_FALSE(mf_base64_decode(bad[i], strlen(bad[i]), out, &n));
        CU_ASSERT_EQUAL(n, 0);
    }
}

/* The envelope writes a key that is not UTF-8 as key_base64. */
static void test_envelope_base64(void)
{
    mf_record r = {0};
    r.key = (const uint8_t *)"\xff\xfe\x00\x01";
    r.key_len = 4;
    r.time_ms = MF_TIME_UNSET;
    r.origin.partition = -1;
    r.origin.offset = -1;
    mf_buffer out = {0};
    mf_envelope_append(&out, &r, (const uint8_t *)"1", 1, true);
    mf_buffer_append(&out, "", 1);
    CU_ASSERT_PTR_NOT_NULL(strstr((const char *)out.data, "\"key_base64\":\"//4AAQ==\""));
    mf_buffer_free(&out);
}

static const mf_test tests[] = {
    {"sha256: FIPS 180-2 vectors", test_sha256_vectors},
    {"sha256: from several threads at once", test_sha256_threads},
    {"sha256: streamed in pieces", test_sha256_stream},
    {"hmac_sha256: RFC 4231 cases 1, 2, 6 and an empty key", test_hmac_vectors},
    {"hex encoding", test_hex},
    {"base64: RFC 4648 vectors and every byte", test_base64_vectors},
    {"base64: strict decoding", test_base64_rejects},
    {"envelope: key_base64", test_envelope_base64},
    {NULL, NULL},
};

int main(void)
{
    static const mf_suite suites[] = {{"crypto", tests}, {NULL, NULL}};
    return mf_cunit_run(suites);
}
